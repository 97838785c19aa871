"""Neo4j's walk on (node, state) pairs (`Neo4jStore._reach_rows`): a later chunk sends the starts
as keys (`$chunk.marked`, their marks made on the server) and only the marks found since, not
every mark again (graph/neo4j_walk_statements.py `LATER_STARTS_AS_KEYS`). Held to the same walk
sending every mark (the switch off): on generated graphs, with rows left out or not, retirements
and `as_of`, caps and depths past one chunk, the walk on ids answers alike (both passes' visits
in order, truncation, edges read), and so do the read-ahead's rows and `reach`'s neighborhood.
The later chunks did take the new form (or the test would prove nothing)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.graph import neo4j_walk_statements as ws
from lineage_kg.graph.ends_walk import walk_moves
from lineage_kg.graph.model import EdgeKind as E
from lineage_kg.graph.model import NodeKey
from lineage_kg.graph.model import NodeKind as K
from lineage_kg.graph.neo4j_store import Neo4jStore
from tests.contract.test_closeness_property import POOL, Edge, load
from tests.contract.test_store_walk_property import retire_some
from tests.contract.test_walk_left_out_neo4j import POLICIES, _same, _walk, estates

c0, c1, c2, c3 = POOL[K.COLUMN]
d0, d1, d2 = POOL[K.DATASET]
j0, j1 = POOL[K.JOB]
# a chain longer than one chunk for every policy here (FEEDS, HAS_COLUMN in, INPUT_TO, PRODUCES):
# from c0, c3 at level 3, d1 at 4, j0 at 5, then d0 at level 6 — in the second chunk, and a start
# (in "a", the start state of "covered-alike" and "three-states", reached again along PRODUCES):
# its mark must be known there (`$chunk.marked`), or it is walked again
CHAIN: list[Edge] = [
    (c0, E.FEEDS, c1, {}), (c1, E.FEEDS, c2, {}), (c2, E.FEEDS, c3, {}), (d1, E.HAS_COLUMN, c3, {}),
    (d1, E.INPUT_TO, j0, {}), (j0, E.PRODUCES, d0, {}), (d0, E.INPUT_TO, j1, {}),
    (j1, E.PRODUCES, d2, {}),
]  # fmt: skip


class _Spy:
    """The later chunks' `$chunk.marked` and `$chunk.seen` as sent."""

    def __init__(self, store: Neo4jStore, monkeypatch: pytest.MonkeyPatch) -> None:
        self.marked: list[int] = []
        read = store._read

        def spied(query: Any, **params: Any) -> list[Any]:
            chunk = params.get("chunk")
            if chunk and "state" in chunk and not chunk["starts"] and chunk["frontier"]:
                self.marked.append(len(chunk["marked"]))
            return read(query, **params)

        monkeypatch.setattr(store, "_read", spied)


@pytest.mark.neo4j
def test_a_later_chunk_with_the_starts_as_keys_changes_no_answer(
    neo4j_store: Neo4jStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = _Spy(neo4j_store, monkeypatch)

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        estates(),
        st.sampled_from(sorted(POLICIES)),
        st.tuples(
            st.integers(ws.REACH_CHUNK + 1, 3 * ws.REACH_CHUNK),  # past one chunk
            st.sampled_from([1, 3, 10_000, 10_000]),
            st.lists(st.integers(0, 39), max_size=4),
            st.sampled_from([None, "2026-01-15T00:00:00Z"]),
            st.booleans(),  # rows left out of the first level (where the policy allows)
        ),
    )
    def check(estate: tuple[list[Edge], list[NodeKey]], policy: str, asked: Any) -> None:
        edges, starts = estate
        # the chain's middle kept apart from the generated edges (no shortcut past it)
        apart = {c1, c2, c3}
        edges = [e for e in edges if e[0] not in apart and e[2] not in apart] + CHAIN
        starts = [s for s in starts if s not in apart] + [c0, d0]
        depth, cap, retired, as_of, leave_out = asked
        load(neo4j_store, edges)
        retire_some(neo4j_store, edges, retired)
        ids = list(dict.fromkeys(s.id for s in starts))
        args: dict[str, Any] = {"max_depth": depth, "as_of": as_of, "max_nodes": cap}
        monkeypatch.setattr(ws, "LEAVE_OUT", leave_out)
        steps, state, _ = POLICIES[policy]
        moves = walk_moves(steps, state)
        got: dict[bool, Any] = {}
        for keyed in (False, True):
            monkeypatch.setattr(ws, "LATER_STARTS_AS_KEYS", keyed)
            rows = neo4j_store._reach_rows(
                ids, moves, start_state=state, max_depth=depth, as_of=as_of, limit=cap,
                tested=None,
            )  # fmt: skip
            near = neo4j_store.reach(
                ids, moves, start_state=state, max_depth=depth, as_of=as_of, limit=cap
            )
            # the rows as a set: the same statement and data, but no order is promised
            read = None if rows is None else (sorted(rows[0]), sorted(map(repr, rows[1])), rows[2])
            got[keyed] = (_walk(neo4j_store, ids, policy, **args), read, near)
        _same(got[True][0], got[False][0])
        assert got[True][1:] == got[False][1:]

    check()
    assert any(spy.marked), "no later chunk sent its starts as keys"


@pytest.mark.neo4j
@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_a_start_reached_again_in_a_later_chunk(
    neo4j_store: Neo4jStore, monkeypatch: pytest.MonkeyPatch, policy: str
) -> None:
    """The chain alone (no shortcut through a column's dataset): from c0 and d0, a walk in
    "covered-alike" reaches d0 again in its start state at level 6, in the second chunk, which
    must know d0's mark from `$chunk.marked`; every policy answers alike either way."""
    spy = _Spy(neo4j_store, monkeypatch)
    load(neo4j_store, CHAIN)
    ids = [c0.id, d0.id]
    steps, state, _ = POLICIES[policy]
    moves = walk_moves(steps, state)
    got = {}
    for keyed in (False, True):
        monkeypatch.setattr(ws, "LATER_STARTS_AS_KEYS", keyed)
        rows = neo4j_store._reach_rows(
            ids, moves, start_state=state, max_depth=10, as_of=None, limit=100, tested=None
        )
        assert rows is not None
        walked = _walk(neo4j_store, ids, policy, max_depth=10, as_of=None, max_nodes=100)
        got[keyed] = (walked, sorted(rows[0]), sorted(map(repr, rows[1])), rows[2])
    _same(got[True][0], got[False][0])
    assert got[True][1:] == got[False][1:]
    if policy == "covered-alike":
        assert any(spy.marked), "the second chunk sent its starts as keys"
        assert d0.id in got[True][1]
