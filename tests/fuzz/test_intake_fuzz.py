"""Property-based fuzzing of the OpenLineage intake: whatever comes in, never a 5xx, and every
4xx names the field (a JSON path) or the reason."""

from __future__ import annotations

import copy
import json
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

VALID = {
    "eventType": "COMPLETE",
    "eventTime": "2026-03-01T10:00:00.000Z",
    "run": {"runId": "3f1f4a4e-3a6e-4a52-9f8e-4d9c8a1b2c3d"},
    "job": {"namespace": "fuzz", "name": "job"},
    "inputs": [
        {
            "namespace": "fuzz",
            "name": "in",
            "facets": {"schema": {"fields": [{"name": "a", "type": "int"}]}},
        }
    ],
    "outputs": [
        {
            "namespace": "fuzz",
            "name": "out",
            "facets": {
                "columnLineage": {
                    "fields": {"b": {"inputFields": [{"namespace": "fuzz", "name": "in",
                                                      "field": "a"}]}}
                }
            },
        }
    ],
    "producer": "https://example.com/fuzz",
}  # fmt: skip

FUZZ = settings(
    max_examples=200,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# unicode of every category, lone surrogates included (valid in JSON as \ud800 escapes)
text = st.text(st.characters(codec=None), max_size=50) | st.sampled_from(
    ["", " ", "\x00", "\ud800", "é", "🙂" * 20, "x" * 100_000, "2026-13-45T99:99:99Z"]
)
scalars = st.none() | st.booleans() | st.integers() | st.floats() | text
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=20,
)


def paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path into a JSON value (dict keys and list indexes)."""
    found = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            found += paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            found += paths(v, (*prefix, i))
    return found


@st.composite
def mutated_events(draw: st.DrawFn) -> Any:
    """A valid event with one to three places replaced by any JSON value, or removed."""
    event = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(paths(event)))
        if not where:
            return draw(json_values)
        parent = event
        for step in where[:-1]:
            parent = parent[step]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[where[-1]]
        else:
            parent[where[-1]] = draw(json_values)
        if not paths(event)[1:]:
            break
    return event


def deep(depth: int) -> bytes:
    """A valid event with a run facet nested `depth` levels (built as text: too deep to dump)."""
    event = copy.deepcopy(VALID)
    event["run"]["facets"] = {"deep": "NESTED"}
    nested = '{"n": [' * depth + '"bottom"' + "]}" * depth
    return json.dumps(event).replace('"NESTED"', nested).encode()


def check(response: Any) -> None:
    """No 5xx; a 4xx says what is wrong: field errors with a JSON path, or a reason."""
    assert response.status_code < 500, (response.status_code, response.text[:500])
    if response.status_code >= 400:
        body = response.json()
        assert body["error"], body
        if response.status_code == 422:  # one event's errors, or a bulk's rejected events
            assert body.get("errors") or body.get("rejected"), body
            rejected = [e for r in body.get("rejected", []) for e in r["errors"]]
            for error in body.get("errors", rejected):
                assert error["path"].startswith("$") and error["message"], error


def post_json(client: TestClient, obj: Any) -> None:
    raw = json.dumps(obj, allow_nan=True).encode()
    check(client.post("/api/v1/lineage", content=raw, headers={"content-type": "application/json"}))
    bulk = client.post("/api/v1/lineage/bulk", content=b"[" + raw + b"]")
    check(bulk)
    if bulk.status_code in (200, 422):
        for rejected in bulk.json()["rejected"]:
            assert all(e["path"].startswith("$") and e["message"] for e in rejected["errors"])


@FUZZ
@given(obj=json_values)
def test_random_json_never_5xx(client: TestClient, obj: Any) -> None:
    post_json(client, obj)


@FUZZ
@given(obj=mutated_events())
def test_mutated_events_never_5xx(client: TestClient, obj: Any) -> None:
    post_json(client, obj)


@FUZZ
@given(raw=st.binary(max_size=2000) | st.text(max_size=2000).map(str.encode))
def test_random_bytes_never_5xx(client: TestClient, raw: bytes) -> None:
    check(client.post("/api/v1/lineage", content=raw))
    check(client.post("/api/v1/lineage/bulk", content=raw))
    check(client.post("/api/v1/lineage", content=raw, headers={"content-encoding": "gzip"}))


def test_deep_nesting_and_huge_bodies_get_4xx_or_201(client: TestClient) -> None:
    for depth in (10, 100, 1_000, 100_000):
        check(client.post("/api/v1/lineage", content=deep(depth)))
        check(client.post("/api/v1/lineage/bulk", content=deep(depth)))
    raw = b"[" * 200_000 + b"]" * 200_000
    check(client.post("/api/v1/lineage", content=raw))
    check(client.post("/api/v1/lineage/bulk", content=raw))
    big = copy.deepcopy(VALID)
    big["job"]["name"] = "j" * 5_000_000
    post_json(client, big)
