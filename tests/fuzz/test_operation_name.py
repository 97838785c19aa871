"""Several operations and no operationName: the spec's error, as graphql-core answers it.

Strawberry took the first operation's name when none was given and ran it; the spec
("GetOperation") requires an error. The oracle is graphql-core's own `execute` on the same
document against the same schema.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from graphql import execute, parse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.api.graphql import validation_cache
from lineage_kg.api.graphql.schema import schema

TWO = "query A { version } query B { __typename }"


def graphql_core_errors(query: str, operation_name: str | None) -> list[str]:
    result = execute(schema._schema, parse(query), operation_name=operation_name)
    return [e.message for e in result.errors or []]


def test_two_operations_without_a_name(client: TestClient) -> None:
    body = client.post("/graphql", json={"query": TWO}).json()
    assert body["data"] is None
    assert [e["message"] for e in body["errors"]] == graphql_core_errors(TWO, None)
    got = client.get("/graphql", params={"query": TWO}, headers={"accept": "application/json"})
    assert got.json()["errors"][0]["message"] == validation_cache.MANY_OPERATIONS


def test_named_and_single_operations_run(client: TestClient) -> None:
    body = client.post("/graphql", json={"query": TWO, "operationName": "B"}).json()
    assert body == {"data": {"__typename": "Query"}}
    assert client.post("/graphql", json={"query": "{ __typename }"}).json() == {
        "data": {"__typename": "Query"}
    }


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    names=st.lists(st.sampled_from(["A", "B", "C", None]), min_size=1, max_size=3),
    pick=st.sampled_from([None, "A", "B"]),
)
def test_as_graphql_core_answers(client: TestClient, names: list, pick: str | None) -> None:
    # documents of 1-3 operations, some anonymous, with or without an operationName: whether
    # an operation runs, and which, as graphql-core's executor decides
    query = " ".join(f"query {n} {{ __typename }}" if n else "{ __typename }" for n in names)
    anonymous_among_many = len(names) > 1 and None in names
    if anonymous_among_many or len(set(names)) < len(names):
        return  # invalid documents: validation's own errors (LoneAnonymous, UniqueNames)
    response = client.post("/graphql", json={"query": query, "operationName": pick})
    expected = graphql_core_errors(query, pick)
    if not expected:
        assert response.json() == {"data": {"__typename": "Query"}}
    elif pick is None:
        assert [e["message"] for e in response.json()["errors"]] == expected
    else:  # an unknown operation name: Strawberry's 400, as before
        assert response.status_code == 400 and f'"{pick}"' in response.text


@pytest.fixture
def old_validation(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def on_validate(self):  # the old code, verbatim
        context = self.execution_context
        assert context.graphql_document is not None
        context.pre_execution_errors = validation_cache.validated(
            context.schema._schema, context.graphql_document, tuple(context.validation_rules)
        )
        yield

    monkeypatch.setattr(validation_cache.DocumentValidationCache, "on_validate", on_validate)
    yield


def test_breakage_the_old_validation_runs_the_first(client: TestClient, old_validation) -> None:
    body = client.post("/graphql", json={"query": TWO}).json()
    assert body == {"data": {"version": body["data"]["version"]}}  # the first one ran
