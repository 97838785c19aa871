"""Property-based fuzzing of every argument of every GraphQL query field, generated from the
schema itself (so a new field or argument is fuzzed without touching this file): random strings,
ints far out of range, bad NodeRefs, bad times, bad cursors. Never an HTTP 5xx, never an
"internal error"; every error says where (a path, or the location in the query)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    get_named_type,
    is_leaf_type,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.api.graphql.schema import schema

GRAPHQL = schema._schema  # graphql-core's view: argument types as the server checks them
QUERY = GRAPHQL.query_type
assert QUERY is not None

strings = st.text(max_size=30) | st.sampled_from(
    [
        "", "2026-01-01", "2026-01-01T00:00:00Z", "2026-13-45T99:99:99Z", "yesterday",
        "-1", "bm9wZQ==", "Y3Vyc29yOi0x", "0" * 500, "\x00", "🙂", "Dataset", "node:x",
        "dataset:postgres://warehouse:5432/analytics.marts.daily_revenue",
    ]
)  # fmt: skip
ints = st.integers(-(2**40), 2**40) | st.sampled_from([0, -1, 1, 10, 201, 2**31, 10**6])


def values(type_: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values for an argument of this GraphQL type, mostly plausible, often wrong."""
    if isinstance(type_, GraphQLNonNull):
        return values(type_.of_type, depth)
    nullable = st.none() if depth < 3 else st.nothing()
    if isinstance(type_, GraphQLList):
        return nullable | st.lists(values(type_.of_type, depth + 1), max_size=3)
    if isinstance(type_, GraphQLEnumType):
        return nullable | st.sampled_from(list(type_.values)) | strings
    if isinstance(type_, GraphQLInputObjectType):
        fields = {name: values(f.type, depth + 1) for name, f in type_.fields.items()}
        return nullable | st.fixed_dictionaries({}, optional=fields)
    assert isinstance(type_, GraphQLScalarType), type_
    by_name = {
        "Int": ints,
        "Float": st.floats(allow_nan=False),
        "Boolean": st.booleans(),
        "String": strings,
        "ID": strings,
    }
    return nullable | by_name.get(type_.name, strings)


def selection(field: GraphQLField) -> str:
    return "" if is_leaf_type(get_named_type(field.type)) else " { __typename }"


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """One query field with fuzzed arguments, passed as typed variables."""
    name = draw(st.sampled_from(sorted(QUERY.fields)))
    field = QUERY.fields[name]
    variables = {arg: draw(values(a.type)) for arg, a in field.args.items()}
    if not field.args:
        return f"{{ {name}{selection(field)} }}", {}
    declared = ", ".join(f"${arg}: {a.type}" for arg, a in field.args.items())
    passed = ", ".join(f"{arg}: ${arg}" for arg in field.args)
    return f"query({declared}) {{ {name}({passed}){selection(field)} }}", variables


@settings(
    max_examples=300,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(request=requests())
def test_every_argument_of_every_query_field(
    client: TestClient, request: tuple[str, dict[str, Any]]
) -> None:
    query, variables = request
    response = client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code < 500, (response.status_code, response.text[:300])
    for error in response.json().get("errors", []):
        assert error["message"] != "internal error", (query, variables, error)
        assert error.get("path") or error.get("locations"), error
