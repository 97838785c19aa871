"""The per-request shortcuts of issue 19 (target 2, the fixed cost) change no answer:

- a `NodeRef` argument built by its own `from_input` (api/graphql/types.py) equals what
  Strawberry's generic conversion builds, for any set of fields, and a ref still reaches the
  resolver as every question resolves it (missing fields: an error with the field's path);
- the validation kept by the parsed document's identity (api/graphql/validation_cache.py)
  answers what validating answers, for valid and invalid documents and the limits' rules, under
  another schema or other rules it is another entry, and the number kept is bounded.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import strawberry
from fastapi.testclient import TestClient
from graphql import parse, specified_rules, validate
from hypothesis import given
from hypothesis import strategies as st
from strawberry.schema.config import StrawberryConfig
from strawberry.types.arguments import convert_argument

from lineage_kg.api.app import create_app
from lineage_kg.api.graphql import validation_cache
from lineage_kg.api.graphql.limits import LIMIT_RULES
from lineage_kg.api.graphql.schema import _Schema, schema
from lineage_kg.api.graphql.types import NodeKindEnum, NodeRef
from lineage_kg.api.graphql.validation_cache import validated
from lineage_kg.graph.model import NodeKind
from lineage_kg.settings import Settings

REF_FIELDS = [
    "id",
    "namespace",
    "name",
    "field",
    "version",
    "project",
    "view",
    "registry",
    "runId",
    "ownerId",
    "decisionId",
]
texts = st.one_of(st.none(), st.text(max_size=8))
inputs = st.fixed_dictionaries(
    {},
    optional={
        "kind": st.one_of(st.none(), st.sampled_from(list(NodeKindEnum))),
        **{name: texts for name in REF_FIELDS},
    },
)


def generic(value: dict[str, Any]) -> Any:
    """What Strawberry builds for the value without the type's own `from_input`."""
    definition = NodeRef.__strawberry_definition__  # type: ignore[attr-defined]
    own, definition.from_input = definition.from_input, None
    try:
        return convert_argument(value, NodeRef, schema.schema_converter.scalar_registry, CONFIG)
    finally:
        definition.from_input = own


CONFIG = StrawberryConfig()


@given(inputs)
def test_a_ref_from_its_input_equals_the_generic_conversion(value: dict[str, Any]) -> None:
    registry = schema.schema_converter.scalar_registry
    built = convert_argument(value, NodeRef, registry, schema.config)
    assert isinstance(built, NodeRef)
    assert built == generic(value)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data = tmp_path_factory.mktemp("data")
    with TestClient(create_app(Settings(data_dir=data, auth="off", snapshot=False))) as c:
        yield c


def gql(client: TestClient, query: str, **variables: object) -> dict[str, Any]:
    response = client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()


def test_refs_reach_the_resolvers_as_before(client: TestClient) -> None:
    # by kind and fields, from a variable: resolved as before (an empty store: no such node)
    query = """query($ns: String!) {
      node(ref: {kind: Dataset, namespace: $ns, name: "t"}) { id }
    }"""
    assert gql(client, query, ns="pg://h:5432/db") == {"data": {"node": None}}
    # a ref naming nothing: the resolver's own error, at the question's path
    body = gql(client, "{ impact(ref: {}) { summary { total } } }")
    assert body["errors"][0]["path"] == ["impact"]
    assert "ref needs either id or kind" in body["errors"][0]["message"]
    # a kind without its identity fields: named, at the path
    body = gql(client, '{ impact(ref: {kind: Column, namespace: "n"}) { summary { total } } }')
    assert body["errors"][0]["path"] == ["impact"]
    assert "a Column ref needs" in body["errors"][0]["message"]
    # a value of the wrong type: refused by graphql-core's coercion, before any resolver
    body = gql(client, 'query($k: NodeKind) { node(ref: {kind: $k, id: "x"}) { id } }', k="Nope")
    assert body["data"] is None and "Nope" in body["errors"][0]["message"]


def test_a_ref_keeps_its_enum_member() -> None:
    built = convert_argument(
        {"kind": NodeKindEnum.Column, "namespace": "n", "name": "t", "field": "c"},  # type: ignore[attr-defined]
        NodeRef,
        schema.schema_converter.scalar_registry,
        schema.config,
    )
    assert NodeKind(built.kind.value) is NodeKind.COLUMN
    assert built.to_key().kind is NodeKind.COLUMN


# ---- the validation kept by the document's identity ------------------------------------------
RULES = (*specified_rules, *LIMIT_RULES)
_inner = "id"
for _ in range(5):
    _inner = f"neighbors {{ edges {{ node {{ {_inner} }} }} }}"
DEEP = f'{{ node(ref: {{id: "a"}}) {{ {_inner} }} }}'
DOCUMENTS = [
    "{ version }",
    "{ nope }",  # an unknown field
    "query($x: Int) { version }",  # an unused variable
    '{ impact(ref: {id: "a"}) { edges { node { path { kind } } } } }',
    DEEP,  # deeper than the depth limit
    # more aliases than allowed
    "{ " + " ".join(f"v{i}: version" for i in range(20)) + " }",
]


def _messages(errors: list[Any]) -> list[str]:
    return [e.message for e in errors]


@pytest.mark.parametrize("text", DOCUMENTS)
def test_a_kept_validation_answers_what_validating_answers(text: str) -> None:
    graphql_schema = schema._schema
    document = parse(text)
    first = validated(graphql_schema, document, RULES)
    again = validated(graphql_schema, document, RULES)  # kept
    fresh = validated(graphql_schema, parse(text), RULES)  # another document: validated anew
    expected = _messages(validate(graphql_schema, document, list(RULES)))
    assert _messages(first) == _messages(again) == _messages(fresh) == expected


def test_other_rules_or_another_schema_are_other_entries() -> None:
    document = parse("{ " + " ".join(f"v{i}: version" for i in range(20)) + " }")
    with_limits = validated(schema._schema, document, RULES)
    without = validated(schema._schema, document, tuple(specified_rules))
    assert with_limits and "aliases" in with_limits[0].message
    assert without == []

    @strawberry.type
    class Other:
        other: int = 1

    other_schema = _Schema(query=Other)._schema
    assert validated(other_schema, parse("{ version }"), RULES)  # no such field there
    assert validated(schema._schema, parse("{ version }"), RULES) == []


def test_the_kept_validations_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validation_cache, "MAX_VALIDATIONS", 5)
    validation_cache._clear()
    for i in range(12):
        validated(schema._schema, parse(f"{{ a{i}: version }}"), RULES)
    assert validation_cache.kept_count() == 5


def test_requests_are_still_validated_with_the_limits(client: TestClient) -> None:
    for text, problem in [
        (DOCUMENTS[4], "exceeds maximum operation depth"),
        (DOCUMENTS[5], "aliases"),
    ]:
        for _ in range(2):  # the second time from the kept validation
            body = gql(client, text)
            assert body["data"] is None
            assert problem in body["errors"][0]["message"]
