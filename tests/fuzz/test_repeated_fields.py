"""One field repeated hundreds of times: an error naming the limit, not "Validation aborted."

graphql-core's overlapping-fields rule recursed per copy: ~708 copies of `version` met Python's
recursion limit and the answer said only "Validation aborted." (~1.3 s of CPU for 700 `impact`
fields). Now more than MAX_REPEATED_FIELD copies of one response name in one selection set are
refused first, naming the limit.
"""

from __future__ import annotations

from collections import Counter

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.api.graphql import validation_cache
from lineage_kg.api.graphql.limits import MAX_REPEATED_FIELD


def ask(client: TestClient, query: str) -> dict:
    response = client.post("/graphql", json={"query": query})
    assert response.status_code == 200, response.text
    return response.json()


def test_800_copies_name_the_limit(client: TestClient) -> None:
    body = ask(client, "{ " + "version " * 800 + "}")
    [error] = body["errors"]
    assert "MAX_REPEATED_FIELD" in error["message"] and str(MAX_REPEATED_FIELD) in error["message"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "limit": MAX_REPEATED_FIELD}


def test_the_recursion_fallback_names_its_limit(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # without the first check, graphql-core's RecursionError is named (not "Validation aborted.")
    monkeypatch.setattr(validation_cache, "repeated_field", lambda document: None)
    body = ask(client, "{ " + "version " * 801 + "}")
    assert "recursion limit" in body["errors"][0]["message"]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(st.sampled_from(["version", "__typename", "v: version"]), st.integers(1, 60)),
        min_size=1,
        max_size=4,
    ),
    st.booleans(),
)
def test_refused_exactly_past_the_limit(
    client: TestClient, runs: list[tuple[str, int]], nested: bool
) -> None:
    # oracle: a Counter of response names over the set (inline fragments' fields included)
    fields = [f for f, n in runs for _ in range(n)]
    counts = Counter(f.split(":")[0] for f in fields)
    body_text = " ".join(fields)
    query = f"{{ ... on Query {{ {body_text} }} }}" if nested else f"{{ {body_text} }}"
    body = ask(client, query)
    if max(counts.values()) > MAX_REPEATED_FIELD:
        assert "MAX_REPEATED_FIELD" in body["errors"][0]["message"], body
    else:
        assert "errors" not in body or all(
            "MAX_REPEATED_FIELD" not in e["message"] for e in body["errors"]
        )
