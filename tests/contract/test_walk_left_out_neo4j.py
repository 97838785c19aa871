"""Neo4j's walk on ids leaves rows out of its read-ahead's first level (graph/ends_walk.py
`DropRule`, graph/neo4j_walk_statements.py `_GONE`): an edge from a start into a start whose every
next state is one the starts are blocked in from the beginning is counted, not sent. The walk
must answer exactly as it does with every row: both passes' visits in order, truncation and
`visited_edges` — and leave nothing out where the policy's covers do not allow it."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.graph import neo4j_walk_statements as ws
from lineage_kg.graph.ends_walk import DropRule, simulates, walk_moves
from lineage_kg.graph.model import EdgeKind as E
from lineage_kg.graph.model import NodeKey
from lineage_kg.graph.model import NodeKind as K
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.graph.store import EdgeTest, Walked, WalkStep
from lineage_kg.queries.impact import IMPACT_STEPS
from lineage_kg.queries.impact_steps import COVERS, EVERY_COLUMN, FIELD, WHOLE
from lineage_kg.queries.traversal import _walk_steps
from tests.contract.test_closeness_property import NODES, POOL, Edge, graphs, load
from tests.contract.test_store_walk_property import retire_some

OUT, IN = Direction.OUT, Direction.IN
IMPACT = _walk_steps(IMPACT_STEPS)
A, B = frozenset({"a"}), frozenset({"b"})
# two states, "a" covering "b" and reading all "b" reads (a simulates b): rows may be left out
COVERED_ALIKE = (
    WalkStep(E.FEEDS, OUT, True, then="b"),
    WalkStep(E.HAS_COLUMN, IN, True, then="b"),
    WalkStep(E.INPUT_TO, OUT, False, then="a", only_from=A),
    WalkStep(E.INPUT_TO, OUT, False, only_from=B),
    WalkStep(E.PRODUCES, OUT, False, then="a"),
)
# "b" follows INPUT_TO to any node, "a" only to a dataset (never: INPUT_TO leads to jobs), so
# what (start, b) reads, (start, a) does not: nothing may be left out
COVERED_UNLIKE = (
    WalkStep(E.FEEDS, OUT, True, then="b", only_from=A),
    WalkStep(E.INPUT_TO, OUT, False, only_from=B),
    WalkStep(E.INPUT_TO, OUT, False, only_from=A, accepts=EdgeTest(dst=frozenset({K.DATASET}))),
)
# three states, "a" covering "b" as above; "c", reached along FEEDS, reads FEEDS alone: a start
# reached again in "c" does not read again what was left out of it (counted per origin)
AB = frozenset({"a", "b"})
THREE_STATES = (
    WalkStep(E.HAS_COLUMN, IN, True, then="b", only_from=AB),
    WalkStep(E.FEEDS, OUT, True, then="c", only_from=AB),
    WalkStep(E.FEEDS, OUT, False, then="a", only_from=frozenset({"c"})),
    WalkStep(E.INPUT_TO, OUT, False, then="b"),
)
POLICIES: dict[str, tuple[tuple[WalkStep, ...], str, dict[str, frozenset[str]]]] = {
    "three-states": (THREE_STATES, "a", {"a": B}),
    "impact": (IMPACT, WHOLE, COVERS),
    "impact-from-every-column": (IMPACT, EVERY_COLUMN, COVERS),
    "covered-alike": (COVERED_ALIKE, "a", {"a": B}),
    "covered-unlike": (COVERED_UNLIKE, "a", {"a": B}),
}


def test_a_state_simulates_what_it_covers_only_if_it_reads_all_it_reads() -> None:
    """Impact's WHOLE reads every edge FIELD reads, into states that again read all: rows may be
    left out from WHOLE's starts. EVERY_COLUMN covers FIELD without following PRODUCES, so from
    there nothing is left out; nor in a policy whose covering state's test is narrower."""
    impact = walk_moves(IMPACT, WHOLE)
    assert simulates(impact, WHOLE, FIELD)
    assert not simulates(impact, EVERY_COLUMN, FIELD)
    assert DropRule.make(impact, WHOLE, COVERS, ()) is not None
    assert DropRule.make(walk_moves(IMPACT, EVERY_COLUMN), EVERY_COLUMN, COVERS, ()) is None
    assert DropRule.make(walk_moves(COVERED_ALIKE, "a"), "a", {"a": B}, ()) is not None
    assert DropRule.make(walk_moves(COVERED_UNLIKE, "a"), "a", {"a": B}, ()) is None
    # the relation is the greatest one: "a" reaches "a" where "b" reaches "b", and a simulates b
    # only because a simulates b again there
    loops = walk_moves(
        (WalkStep(E.FEEDS, OUT, True, only_from=A), WalkStep(E.FEEDS, OUT, True, only_from=B)), "a"
    )
    assert simulates(loops, "a", "b") and simulates(loops, "b", "a")


@st.composite
def estates(draw: st.DrawFn) -> tuple[list[Edge], list[NodeKey]]:
    """A generated graph where every column is in a dataset and columns feed columns and
    datasets, and starts as the accountability map has them: some datasets with all their
    columns, and other nodes (rows into starts, starts reached again in other states)."""
    edges = draw(graphs())
    columns, datasets = POOL[K.COLUMN], POOL[K.DATASET]
    holder = {c: draw(st.sampled_from(datasets)) for c in columns}
    edges += [(d, E.HAS_COLUMN, c, {}) for c, d in holder.items()]
    for _ in range(draw(st.integers(0, 12))):
        src = draw(st.sampled_from(columns))
        edges.append((src, E.FEEDS, draw(st.sampled_from([*columns, *datasets])), {}))
    owned = draw(st.lists(st.sampled_from(datasets), max_size=3))
    starts = [*owned, *(c for c, d in holder.items() if d in owned)]
    return edges, starts + draw(st.lists(st.sampled_from(NODES), max_size=4))


def _walk(store: Neo4jStore, ids: list[str], policy: str, **asked: Any) -> Walked | None:
    steps, state, covers = POLICIES[policy]
    return store._walk_ids(ids, steps, start_state=state, covers=covers, **asked)


def _same(left: Walked | None, right: Walked | None) -> None:
    assert (left is None) is (right is None)
    if left is None or right is None:
        return
    for one, other in ((left.exact, right.exact), (left.every, right.every)):
        assert (one.node, one.state, one.level) == (other.node, other.state, other.level)
    assert (left.truncated, left.visited_edges) == (right.truncated, right.visited_edges)


class _Spy:
    """The walk statements' `dropped` answers (what each first level left out)."""

    def __init__(self, store: Neo4jStore, monkeypatch: pytest.MonkeyPatch) -> None:
        self.left_out: list[int] = []
        self.by_origin: list[list[Any]] = []
        read = store._read

        def spied(query: Any, **params: Any) -> list[Any]:
            rows = read(query, **params)
            if (chunk := params.get("chunk")) and (drop := chunk.get("drop")) is not None:
                if drop["by_origin"]:
                    self.by_origin.append(rows[0]["dropped"][1])
                else:
                    self.left_out.append(rows[0]["dropped"][0])
            return rows

        monkeypatch.setattr(store, "_read", spied)


@pytest.mark.neo4j
def test_rows_left_out_change_no_answer(
    neo4j_store: Neo4jStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Generated graphs (retirements, `as_of`), many starts, caps and depths: the walk with rows
    left out answers as the walk with every row — or both give the walk up. And some rows were
    left out along the way, or the test would prove nothing."""
    spy = _Spy(neo4j_store, monkeypatch)

    @settings(
        max_examples=80,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        estates(),
        # mostly the policies that leave rows out (the others must not)
        st.sampled_from(["impact", "covered-alike", "three-states"] * 2 + sorted(POLICIES)),
        st.tuples(
            st.integers(0, 6),
            st.sampled_from([1, 2, 5, 10_000, 10_000, 10_000]),
            st.lists(st.integers(0, 39), max_size=4),
            st.sampled_from([None, "2026-01-15T00:00:00Z"]),
        ),
    )
    def check(estate: tuple[list[Edge], list[NodeKey]], policy: str, asked: Any) -> None:
        edges, starts = estate
        depth, cap, retired, as_of = asked
        load(neo4j_store, edges)
        retire_some(neo4j_store, edges, retired)
        ids = list(dict.fromkeys(s.id for s in starts))
        args: dict[str, Any] = {"max_depth": depth, "as_of": as_of, "max_nodes": cap}
        monkeypatch.setattr(ws, "LEAVE_OUT", False)
        every_row = _walk(neo4j_store, ids, policy, **args)
        monkeypatch.setattr(ws, "LEAVE_OUT", True)
        _same(_walk(neo4j_store, ids, policy, **args), every_row)

    check()
    assert sum(spy.left_out) > 0


@pytest.mark.neo4j
def test_a_start_walked_again_is_counted_once(
    neo4j_store: Neo4jStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Impact from datasets d1, d2, their columns c1, c2 and job j (all starts, in WHOLE); c1
    feeds d2 as a whole and c3, c2 feeds c3, d2 is input to j. Left out at level 1: c1 -> d1 and
    c2 -> d2 (HAS_COLUMN in, to FIELD), d2 -> j (INPUT_TO, WHOLE). c1 -> d2 reaches d2 in
    EVERY_COLUMN, which it is not blocked in: the walk takes d2 up again at level 2 and reads
    d2 -> j again there (now sent). d2's left-out rows are counted per origin by a second,
    one-level statement from d2 alone, and none twice: 6 edges read at level 1 (c1 3, c2 2,
    d2 1), 2 at level 2 (d2's columns and its job)."""
    d1, d2 = POOL[K.DATASET][:2]
    c1, c2, c3 = POOL[K.COLUMN][:3]
    j = POOL[K.JOB][0]
    load(
        neo4j_store,
        [
            (d1, E.HAS_COLUMN, c1, {}),
            (d2, E.HAS_COLUMN, c2, {}),
            (c1, E.FEEDS, d2, {}),
            (c1, E.FEEDS, c3, {}),
            (c2, E.FEEDS, c3, {}),
            (d2, E.INPUT_TO, j, {}),
        ],
    )
    ids = [k.id for k in (d1, c1, d2, c2, j)]
    args: dict[str, Any] = {"max_depth": 4, "as_of": None, "max_nodes": 100}
    monkeypatch.setattr(ws, "LEAVE_OUT", False)
    every_row = _walk(neo4j_store, ids, "impact", **args)
    monkeypatch.setattr(ws, "LEAVE_OUT", True)
    spy = _Spy(neo4j_store, monkeypatch)
    _same(_walk(neo4j_store, ids, "impact", **args), every_row)
    assert every_row is not None and every_row.visited_edges == 8
    assert spy.left_out == [3]
    assert spy.by_origin == [[[d2.id, True, "INPUT_TO", 1]]]


@pytest.mark.neo4j
def test_where_a_cover_reads_less_nothing_is_left_out(
    neo4j_store: Neo4jStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`COVERED_UNLIKE`: from starts c1 (state a) and d2, c1 -> d2 leads to (d2, b), blocked at
    a start: a row that could be left out, but (d2, b) reads d2's INPUT_TO, which (d2, a) does not
    read, and level 1 counts it among d2's edges. Left out, the count would be one short: so no
    rule is made for this policy, and with one forced on, the count is indeed wrong."""
    c1, d2 = POOL[K.COLUMN][0], POOL[K.DATASET][1]
    job = POOL[K.JOB][0]
    load(neo4j_store, [(c1, E.FEEDS, d2, {}), (d2, E.INPUT_TO, job, {})])
    ids = [c1.id, d2.id]
    args: dict[str, Any] = {"max_depth": 3, "as_of": None, "max_nodes": 100}
    monkeypatch.setattr(ws, "LEAVE_OUT", False)
    every_row = _walk(neo4j_store, ids, "covered-unlike", **args)
    monkeypatch.setattr(ws, "LEAVE_OUT", True)
    spy = _Spy(neo4j_store, monkeypatch)
    _same(_walk(neo4j_store, ids, "covered-unlike", **args), every_row)
    assert spy.left_out == []  # no rule: the statement was not asked to leave anything out
    assert every_row is not None and every_row.visited_edges == 2

    def forced(self: ws.WalkPolicy, covers: Any) -> DropRule:
        return DropRule(self.moves, self.start_state, frozenset({"a", "b"}), self.tested)

    monkeypatch.setattr(ws.WalkPolicy, "drop_rule", forced)
    wrong = _walk(neo4j_store, ids, "covered-unlike", **args)
    assert spy.left_out == [1]
    assert wrong is not None and wrong.visited_edges == 1


@pytest.mark.neo4j
def test_a_pair_is_skipped_only_in_a_state_the_start_state_covers(
    neo4j_store: Neo4jStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The read-ahead does not walk (node, FIELD) where (node, WHOLE) is walked already (WHOLE
    simulates FIELD), and must walk (node, EVERY_COLUMN) though (node, WHOLE) is: only it reads a
    dataset's columns. From job j and column s: j produces dataset d (WHOLE, level 1); s feeds
    column x (FIELD, 1), which feeds d as a whole (EVERY_COLUMN, 2); d's column c is reached
    from there alone (FIELD, 3)."""
    j, d = POOL[K.JOB][0], POOL[K.DATASET][0]
    s, x, c = POOL[K.COLUMN][:3]
    load(
        neo4j_store,
        [
            (j, E.PRODUCES, d, {}),
            (s, E.FEEDS, x, {}),
            (x, E.FEEDS, d, {}),
            (d, E.HAS_COLUMN, c, {}),
        ],
    )
    args: dict[str, Any] = {"max_depth": 5, "as_of": None, "max_nodes": 100}
    monkeypatch.setattr(ws, "LEAVE_OUT", False)
    every_row = _walk(neo4j_store, [j.id, s.id], "impact", **args)
    monkeypatch.setattr(ws, "LEAVE_OUT", True)
    left_out = _walk(neo4j_store, [j.id, s.id], "impact", **args)
    _same(left_out, every_row)
    assert left_out is not None
    visits = zip(left_out.every.node, left_out.every.state, left_out.every.level, strict=True)
    assert (c.id, FIELD, 3) in visits
