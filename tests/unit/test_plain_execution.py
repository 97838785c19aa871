"""PlainDataExecutionContext (api/graphql/execution.py) answers exactly what graphql-core's
ordinary execution answers — data, and errors with their messages, paths and locations — for
generated plain data, the broken kinds included (a null where the schema says non-null, a value
that does not coerce, an object of no type of the schema), through lists, interfaces, aliases,
fragments, __typename and @skip/@include; and that a document's completers, kept across requests
when it has no directives (the parser's cache hands every request the same document), still
answer each request's own data, while a document whose selections depend on variables is
compiled per request."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
import strawberry
from graphql.execution.executor import Executor
from hypothesis import given
from hypothesis import strategies as st
from strawberry.extensions import ParserCache

from lineage_kg.api.graphql.execution import PlainDataExecutionContext, _Plan


@strawberry.interface
class Thing:
    id: str


@strawberry.type
class Box(Thing):
    size: int
    tags: list[str]
    sizes: list[int] = strawberry.field(default_factory=list)  # a list of a built-in scalar


@strawberry.type
class Bag(Thing):
    owner: str | None


@strawberry.type
class Row:
    name: str
    count: int
    things: list[Thing]
    best: Thing | None = None


@dataclass
class Stranger:  # an object of no type of the schema, where an interface is expected
    id: str


@strawberry.type
class Query:
    rows: strawberry.Private[list[Any]]

    @strawberry.field
    def table(self) -> list[Row | None]:
        return self.rows


def _schema(fast: bool, cached: bool = False) -> strawberry.Schema:
    # cached: every request gets the same parsed document, as in the service (schema.py)
    extensions = [lambda: ParserCache(maxsize=16)] if cached else []
    if fast:
        return strawberry.Schema(
            query=Query,
            types=[Box, Bag],
            execution_context_class=PlainDataExecutionContext,
            extensions=extensions,
        )
    return strawberry.Schema(query=Query, types=[Box, Bag], extensions=extensions)


FAST, ORDINARY, FAST_CACHED = _schema(True), _schema(False), _schema(True, cached=True)

DOCUMENT = """
query($withCount: Boolean!, $skipTags: Boolean!) {
  table {
    __typename
    name
    n: count @include(if: $withCount)
    things {
      __typename id
      ... on Box { size tags @skip(if: $skipTags) sizes }
      ...bag
    }
    again: things { id }
    best { __typename id ... on Box { size } }
  }
}
fragment bag on Bag { owner who: owner }
"""
PLAIN_DOCUMENT = """
{
  table {
    __typename name n: count
    things { __typename id ... on Box { size tags sizes } ...bag }
    again: things { id }
    best { __typename id ... on Box { size } }
  }
}
fragment bag on Bag { owner who: owner }
"""


def _run(
    schema: strawberry.Schema,
    rows: list[Any],
    variables: dict[str, Any],
    document: str = DOCUMENT,
) -> Any:
    # on a thread of its own: in a worker that ran the browser tests, the main thread already
    # has a running event loop (a session-wide sync_playwright), and asyncio.run refuses it
    with ThreadPoolExecutor(1) as pool:
        result = pool.submit(
            asyncio.run, schema.execute(document, variables, root_value=Query(rows=rows))
        ).result()
    errors = sorted(
        (e.message, tuple(e.path or ()), tuple((x.line, x.column) for x in e.locations or ()))
        for e in result.errors or ()
    )
    return result.data, errors


names = st.one_of(st.text(max_size=3), st.none())  # None: non-null violated
counts = st.one_of(st.integers(-5, 5), st.just("x"), st.just(2**40), st.none())
boxes = st.builds(
    Box,
    id=names,
    size=counts,
    tags=st.one_of(st.lists(names, max_size=3), st.none()),
    sizes=st.one_of(st.lists(counts, max_size=3), st.none()),  # out of Int's range, not ints
)
bags = st.builds(Bag, id=names, owner=names)
things = st.lists(
    st.one_of(boxes, bags, st.builds(Stranger, id=st.text(max_size=2)), st.none()), max_size=3
)
best = st.one_of(boxes, bags, st.builds(Stranger, id=st.text(max_size=2)), st.none())
rows = st.lists(
    st.one_of(st.builds(Row, name=names, count=counts, things=things, best=best), st.none()),
    max_size=4,
)


@given(rows, st.booleans(), st.booleans())
def test_fast_completion_answers_what_graphql_core_answers(
    table: list[Any], with_count: bool, skip_tags: bool
) -> None:
    variables = {"withCount": with_count, "skipTags": skip_tags}
    assert _run(FAST, table, variables) == _run(ORDINARY, table, variables)


def test_sound_data_takes_the_fast_road_and_answers_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slow: list[str] = []
    ordinary = Executor.complete_value

    def counted(self: Any, return_type: Any, *args: Any) -> Any:
        if isinstance(self, PlainDataExecutionContext):
            slow.append(str(return_type))
        return ordinary(self, return_type, *args)

    monkeypatch.setattr(Executor, "complete_value", counted)
    table = [
        Row(
            name="r",
            count=2,
            things=[Box(id="b", size=1, tags=["t"], sizes=[3, 4]), Bag(id="g", owner=None)],
        )
    ]
    variables = {"withCount": True, "skipTags": False}
    data, errors = _run(FAST, table, variables)
    assert errors == []
    assert data == {
        "table": [
            {
                "__typename": "Row",
                "name": "r",
                "n": 2,
                "things": [
                    {"__typename": "Box", "id": "b", "size": 1, "tags": ["t"], "sizes": [3, 4]},
                    {"__typename": "Bag", "id": "g", "owner": None, "who": None},
                ],
                "again": [{"id": "b"}, {"id": "g"}],
                "best": None,
            }
        ]
    }
    assert slow == [], "sound plain data should need no field-by-field completion"
    assert (data, errors) == _run(ORDINARY, table, variables)


@given(rows, st.booleans(), st.booleans())
def test_completers_kept_across_requests_answer_each_requests_data(
    table: list[Any], with_count: bool, skip_tags: bool
) -> None:
    # the same parsed documents again and again, with other data and other variables
    variables = {"withCount": with_count, "skipTags": skip_tags}
    assert _run(FAST_CACHED, table, {}, PLAIN_DOCUMENT) == _run(ORDINARY, table, {}, PLAIN_DOCUMENT)
    assert _run(FAST_CACHED, table, variables) == _run(ORDINARY, table, variables)


def test_a_document_is_compiled_once_unless_variables_shape_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compiled: list[str] = []
    compile_ = _Plan._compile

    def counted(self: Any, return_type: Any, details: Any) -> Any:
        compiled.append(str(return_type))
        return compile_(self, return_type, details)

    monkeypatch.setattr(_Plan, "_compile", counted)
    table = [Row(name="r", count=2, things=[Box(id="b", size=1, tags=["t"])])]
    document = PLAIN_DOCUMENT + "# a text of this test's own: a document not parsed before\n"
    _run(FAST_CACHED, table, {}, document)
    assert compiled, "the first request compiles its completers"
    compiled.clear()
    other = [
        Row(name="s", count=3, things=[Bag(id="g", owner="o")], best=Box(id="x", size=1, tags=[]))
    ]
    assert _run(FAST_CACHED, other, {}, document) == _run(ORDINARY, other, {}, document)
    assert "Row" not in compiled, "a second request of the same document reuses the completers"
    # @include/@skip read variables: each request compiles its own, and gets its own fields
    answers = []
    for with_count in (True, False):
        compiled.clear()
        variables = {"withCount": with_count, "skipTags": not with_count}
        answers.append(_run(FAST_CACHED, table, variables))
        assert "Row" in compiled
        assert answers[-1] == _run(ORDINARY, table, variables)
    assert "n" in answers[0][0]["table"][0] and "n" not in answers[1][0]["table"][0]


@pytest.mark.parametrize(
    ("sizes", "tags"),
    [
        ([1, 2**40], ["a"]),  # past Int's 32 bits: an error at the item's path
        ([1, -(2**31) - 1], ["a"]),
        ([2**31 - 1, -(2**31)], ["a"]),  # Int's bounds: sent as they are
        ([True, 2], ["a", 3]),  # a bool as an Int, an int as a String: coerced
        ([1, "x"], ["a", None]),  # not an int; a null where the item is non-null
        ([None], []),
    ],
)
def test_lists_of_built_in_scalars_answer_what_graphql_core_answers(
    sizes: list[Any], tags: list[Any]
) -> None:
    table = [Row(name="r", count=1, things=[Box(id="b", size=1, tags=tags, sizes=sizes)])]
    for variables in (
        {"withCount": True, "skipTags": False},
        {"withCount": False, "skipTags": True},
    ):
        assert _run(FAST, table, variables) == _run(ORDINARY, table, variables)
