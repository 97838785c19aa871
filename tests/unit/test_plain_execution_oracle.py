"""The plain-data completion (api/graphql/execution.py) against graphql-core's own execution, on
the service's real answer types (impact page, audit trail, decision trace, suspects, neighbours,
accountability, nodes stored and not, path steps shared within a reply) and on generated
selections: aliases, inline and named fragments (on the interface and on its kinds),
__typename, @include/@skip by literal and by variable, nested objects, lists of lists. The
values are generated too, broken ones among them: a null where the schema says non-null, an Int
past 32 bits, a string where an Int goes, an enum value that is none of its members, a JSON map
anywhere. Both executions must give the same data, byte for byte once encoded (the order of the
keys included), and the same errors: messages, paths and locations, in the same order."""

from __future__ import annotations

import json
from typing import Any

import strawberry
from graphql import (
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    get_named_type,
    is_leaf_type,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from strawberry.scalars import JSON
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.base import StrawberryList, StrawberryOptional
from strawberry.types.enum import StrawberryEnumDefinition

from lineage_kg.api.graphql.execution import PlainDataExecutionContext
from lineage_kg.api.graphql.questions import Accountability, DecisionLineage, SuspectType
from lineage_kg.api.graphql.schema import AuditTrail, ImpactConnection
from lineage_kg.api.graphql.types import (
    NODE_TYPES,
    NeighborConnection,
    Node,
    PathStep,
    to_node,
)
from lineage_kg.graph.model import NodeKey, NodeKind
from lineage_kg.graph.records import StoredNode


@strawberry.type
class Query:
    values: strawberry.Private[dict[str, Any]]

    @strawberry.field
    def impact(self) -> ImpactConnection | None:
        return self.values["impact"]

    @strawberry.field
    def trail(self) -> AuditTrail:
        return self.values["trail"]

    @strawberry.field
    def trace(self) -> DecisionLineage | None:
        return self.values["trace"]

    @strawberry.field
    def suspects(self) -> list[SuspectType] | None:
        return self.values["suspects"]

    @strawberry.field
    def neighbors(self) -> NeighborConnection | None:
        return self.values["neighbors"]

    @strawberry.field
    def accountability(self) -> Accountability | None:
        return self.values["accountability"]

    @strawberry.field
    def nodes(self) -> list[Node | None]:
        return self.values["nodes"]

    @strawberry.field
    def paths(self) -> list[list[PathStep]] | None:  # lists of lists, steps shared among them
        return self.values["paths"]


def _schema(execution_context_class: type) -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        types=list(NODE_TYPES.values()),
        execution_context_class=execution_context_class,
    )


FAST = _schema(PlainDataExecutionContext)
ORDINARY = _schema(StrawberryGraphQLCoreExecutionContext)
GRAPHQL = FAST._schema
ROOTS = sorted(GRAPHQL.query_type.fields)
ROOT_TYPES = {f.python_name: f.type for f in Query.__strawberry_definition__.fields}
DIRECTIVES = (
    *([""] * 6),
    "@include(if: $yes)",
    "@include(if: $no)",
    "@skip(if: $yes)",
    "@skip(if: $no)",
    "@include(if: true)",
    "@skip(if: true)",
)


# ---- selections -------------------------------------------------------------------------------
def _plain_fields(named: GraphQLObjectType | GraphQLInterfaceType) -> list[str]:
    """The fields a selection may name: none with arguments or a resolver of its own (a node's
    owners and neighbours read the store; the fast road leaves those to graphql-core)."""
    out = []
    for name, field in named.fields.items():
        definition = (field.extensions or {}).get("strawberry-definition")
        if not field.args and (definition is None or definition.base_resolver is None):
            out.append(name)
    return sorted(out)


class _Document:
    def __init__(self, draw: Any) -> None:
        self.draw = draw
        self.fragments: list[str] = []

    def selection_set(self, named: GraphQLNamedType, depth: int) -> str:
        assert isinstance(named, GraphQLObjectType | GraphQLInterfaceType)
        items = [self.item(named, depth) for _ in range(self.draw(st.integers(1, 4)))]
        return "{ " + " ".join(items) + " }"

    def item(self, named: GraphQLObjectType | GraphQLInterfaceType, depth: int) -> str:
        draw = self.draw
        directive = draw(st.sampled_from(DIRECTIVES))
        what = draw(st.sampled_from(["field"] * 5 + ["typename", "inline", "spread"]))
        if what == "typename":
            alias = draw(st.sampled_from(["", "", "t_typename:"]))
            return f"{alias} __typename {directive}".strip()
        if what in ("inline", "spread") and depth > 0:
            condition = self.condition(named)
            inner = self.selection_set(GRAPHQL.get_type(condition), depth - 1)
            if what == "spread":
                name = f"f{len(self.fragments)}"
                self.fragments.append(f"fragment {name} on {condition} {inner}")
                return f"...{name} {directive}"
            on = draw(st.sampled_from([f"on {condition}", ""])) if condition == named.name else ""
            return f"... {on or f'on {condition}'} {directive} {inner}"
        name = draw(st.sampled_from(_plain_fields(named)))
        field: GraphQLField = named.fields[name]
        inner_type = get_named_type(field.type)
        if not is_leaf_type(inner_type) and depth <= 0:
            return "__typename"
        alias = draw(st.sampled_from(["", "", f"x_{name}:", f"y_{name}:"]))
        tail = "" if is_leaf_type(inner_type) else self.selection_set(inner_type, depth - 1)
        return f"{alias} {name} {directive} {tail}".strip()

    def condition(self, named: GraphQLObjectType | GraphQLInterfaceType) -> str:
        """A type the fragment may be on: the type itself, an interface it implements, or one
        of the interface's kinds."""
        if isinstance(named, GraphQLInterfaceType):
            kinds = sorted(t.name for t in GRAPHQL.get_possible_types(named))
            return self.draw(st.sampled_from([named.name, *kinds[:3]]))
        return self.draw(st.sampled_from([named.name, *(i.name for i in named.interfaces)]))


@st.composite
def documents(draw: Any) -> tuple[str, list[str]]:
    doc = _Document(draw)
    # a root may be asked twice, under two aliases: the same objects completed for two
    # selections (a path step's completed map is kept per selection)
    roots = draw(st.lists(st.sampled_from(ROOTS), min_size=1, max_size=3))
    body = []
    for i, root in enumerate(roots):
        named = get_named_type(GRAPHQL.query_type.fields[root].type)
        again = root in roots[:i]
        alias = f"r{i}_{root}:" if again else draw(st.sampled_from(["", f"r{i}_{root}:"]))
        body.append(f"{alias} {root} {doc.selection_set(named, 4)}")
    text = (
        "query($yes: Boolean!, $no: Boolean!) { __typename @include(if: $yes) @skip(if: $no) "
        + " ".join(body)
        + " }\n"
        + "\n".join(doc.fragments)
    )
    return text, roots


# ---- values -----------------------------------------------------------------------------------
def _mostly(good: st.SearchStrategy[Any], *bad: st.SearchStrategy[Any], one_in: int = 12) -> Any:
    """`good`, or about once in `one_in` one of `bad` (`good` is the simplest: the draw
    hypothesis makes most, and shrinks to)."""
    return st.integers(1, one_in).flatmap(lambda n: st.one_of(*bad) if n == one_in else good)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=2), inner),
    max_leaves=4,
)
INT_BOUNDS = st.sampled_from([2**31 - 1, -(2**31), 2**31, -(2**31) - 1, 2**40])  # Int: 32 bits
TEXT = _mostly(st.text(max_size=3), st.none(), st.integers(-2, 2), st.just({"a": 1}))
LEAVES: dict[Any, Any] = {
    str: TEXT,
    strawberry.ID: TEXT,
    int: _mostly(
        st.one_of(st.integers(-3, 3), INT_BOUNDS),
        st.none(),
        st.just("x"),
        st.just(True),
        st.just(2.0),
    ),
    float: _mostly(st.floats(-2, 2), st.none(), st.just(float("nan")), st.just("x"), st.just(3)),
    bool: _mostly(st.booleans(), st.none(), st.just(0), st.just("x")),
    JSON: JSON_VALUES,
}


def _stored_nodes() -> Any:
    names = st.text(min_size=1, max_size=3)
    keys = st.one_of(
        st.builds(lambda a, b: NodeKey.of(NodeKind.DATASET, namespace=a, name=b), names, names),
        st.builds(
            lambda a, b, c: NodeKey.of(NodeKind.COLUMN, namespace=a, name=b, field=c),
            names,
            names,
            names,
        ),
    )
    props = st.dictionaries(st.sampled_from(["aliases", "x", "y"]), JSON_VALUES, max_size=2)
    text = st.text(max_size=3)
    stored = st.builds(
        StoredNode,
        keys,
        props,
        st.lists(text, max_size=2).map(tuple),
        text,
        text,
        text,
        text,
    )
    return stored.map(to_node)  # the service's own lazy node, its fields read as properties


def values_of(kind: Any, depth: int = 3, rate: int = 12) -> Any:
    """Values for a Strawberry type, mostly sound: about one leaf in `rate` broken, one
    object or list in `2 * rate` missing."""
    if isinstance(kind, StrawberryOptional):
        return st.one_of(st.none(), values_of(kind.of_type, depth, rate))
    if isinstance(kind, StrawberryList):
        items = st.lists(
            values_of(kind.of_type, depth, rate), min_size=1, max_size=3 if depth else 1
        )
        return _mostly(items, st.just([]), st.none(), items.map(tuple), one_in=2 * rate)
    if kind in LEAVES:
        return _mostly(LEAVES[kind], st.none(), st.just({"a": 1}), one_in=rate)
    if isinstance(kind, StrawberryEnumDefinition):
        return _mostly(st.sampled_from([v.value for v in kind.values]), st.just("sideways"))
    if kind is Node:
        if depth <= 0:
            return _mostly(_stored_nodes(), st.none(), one_in=2 * rate)
        kinds = [values_of(t, depth - 1, rate) for t in list(NODE_TYPES.values())[:3]]
        return _mostly(st.one_of(_stored_nodes(), *kinds), st.none(), one_in=2 * rate)
    definition = kind.__strawberry_definition__
    fields = {
        f.python_name: values_of(f.type, depth - 1, rate)
        for f in definition.fields
        if f.base_resolver is None
    }
    return _mostly(st.builds(kind, **fields), st.none(), one_in=2 * rate)


@st.composite
def roots(draw: Any, names: list[str], rate: int) -> Query:
    values: dict[str, Any] = {}
    for name in dict.fromkeys(names):  # each root's value once
        if name == "paths":  # the same step objects on several paths, as in an impact page
            pool = draw(st.lists(values_of(PathStep, rate=rate), min_size=1, max_size=3))
            path = st.lists(st.sampled_from(pool), max_size=3)
            values[name] = draw(st.one_of(st.none(), st.lists(path, max_size=3)))
        else:
            values[name] = draw(values_of(ROOT_TYPES[name], rate=rate))
    return Query(values=values)


# ---- the oracle -------------------------------------------------------------------------------
def _answer(schema: strawberry.Schema, document: str, root: Query, variables: Any) -> Any:
    result = schema.execute_sync(document, variable_values=variables, root_value=root)
    errors = [
        (e.message, e.path, [(x.line, x.column) for x in e.locations or ()])
        for e in result.errors or ()
    ]
    return json.dumps(result.data), errors


@settings(max_examples=200)  # 300 took ~28 s of CI (session 34: CI at its limit)
@given(st.data(), documents(), st.booleans(), st.sampled_from([12, 3]))
def test_plain_completion_answers_what_graphql_core_answers(
    data: Any, document: tuple[str, list[str]], yes: bool, rate: int
) -> None:
    # rate: mostly sound values (the fast road completes them whole), or often broken ones
    text, names = document
    root = data.draw(roots(names, rate))
    variables = {"yes": yes, "no": not yes}
    want = _answer(ORDINARY, text, root, variables)
    assert all(path is not None for _, path, _ in want[1]), f"not a valid document: {want[1]}"
    assert _answer(FAST, text, root, variables) == want


def _step(n: int) -> PathStep:
    return PathStep(
        kind="FEEDS",
        from_id=strawberry.ID(f"a{n}"),
        from_display=f"a{n}",
        to_id=strawberry.ID(f"b{n}"),
        to_display=f"b{n}",
        props={"n": n},
        last_event=f"e{n}",
    )


STEP_A, STEP_B = _step(1), _step(2)
VARIABLES = {"yes": True, "no": False}
HEAD = "query($yes: Boolean!, $no: Boolean!) { __typename @include(if: $yes) @skip(if: $no) "
CASES = {
    # the same step objects completed for two selections: each its own map
    "steps_twice": (
        HEAD + "a: paths { kind fromId } b: paths { toId kind props } }",
        {"paths": [[STEP_A, STEP_B], [STEP_A], [STEP_B, STEP_A]]},
    ),
    # a null where a non-null list goes ([String!]!), and where a non-null item goes
    "null_list": (
        HEAD + "nodes { id aliases sources } }",
        {
            "nodes": [
                NODE_TYPES[NodeKind.DATASET](
                    id=strawberry.ID("d"),
                    kind="Dataset",
                    display="d",
                    key={},
                    props={},
                    aliases=None,  # type: ignore[arg-type]
                    sources=["s", None],  # type: ignore[list-item]
                    first_seen="",
                    last_seen="",
                    first_event="",
                    last_event="",
                ),
                None,
            ]
        },
    ),
}


def test_cases_the_generator_draws_seldom() -> None:
    for name, (text, values) in CASES.items():
        root = Query(values=values)
        want = _answer(ORDINARY, text, root, VARIABLES)
        assert all(path is not None for _, path, _ in want[1]), name
        assert _answer(FAST, text, root, VARIABLES) == want, name
