"""Neo4j's walk on ids reads its first chunk's level 1 along the start state's own moves alone
(graph/neo4j_walk_statements.py `reach_statement(first=True)`, `_FIRST_WAYS`: typed, directed
expansions from the starts), not along every kind of the policy both ways (`_BOTH_WAYS`). The
frontier there is the starts, all in the start state, so the rows kept must be the same: the
statement's answer (rows, nodes, pending pairs, marks, what it left out, per origin too) equal to
the statement every chunk sends, on generated graphs (self-loops, retirements, `as_of`) and
policies; and the walk equal to the walk on every row (`LEAVE_OUT` off: the old statement, no
row left out) in visits, truncation and `visited_edges`."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lineage_kg.graph import neo4j_walk_statements as ws
from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.ends_walk import walkable
from lineage_kg.graph.model import Certainty, NodeKey
from lineage_kg.graph.model import EdgeKind as E
from lineage_kg.graph.model import NodeKind as K
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.graph.store import WalkStep
from lineage_kg.queries.closeness import closeness
from lineage_kg.queries.impact import IMPACT_STEPS
from lineage_kg.queries.impact_steps import COVERS, WHOLE
from lineage_kg.queries.traversal import _walk_steps
from tests.contract.test_closeness_property import POOL, Edge, load, policies
from tests.contract.test_store_walk_property import retire_some
from tests.contract.test_walk_left_out_neo4j import POLICIES, _same, estates
from tests.neo4j_plans import assert_seeks_without_scans


def _answer(row: dict[str, Any]) -> dict[str, Any]:
    """A chunk's answer, the order of rows within a level left aside (the walk sorts them)."""
    return {
        "found": sorted(json.dumps(f, default=str) for f in row["found"]),
        "nodes": sorted(row["nodes"]),
        "pending": sorted(map(tuple, row["pending"])),
        "marks": sorted(row["marks"]),
        "dropped": [row["dropped"][0], sorted(map(tuple, row["dropped"][1]))],
    }


def _first_chunks(
    store: Neo4jStore,
    steps: tuple[WalkStep, ...],
    state: str,
    covers: dict[str, frozenset[str]],
    ids: list[str],
    *,
    levels: int,
    as_of: str | None,
    cap: int,
    again: list[str],
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """A first chunk as `Neo4jStore._reach_rows` sends it (the starts, the rule's rows left out),
    and a one-level re-read from some starts counted per origin (`left_out`), each answered by
    the statement every chunk sends and by `first=True`."""
    policy = ws.walk_policy(steps, state)
    assert policy.moves and policy.keyed is not None
    drop = policy.drop_rule(covers)
    asked = {"start_state": state, "as_of": as_of, "limit": cap, "keyed": policy.keyed}
    every, params = ws.reach_statement(ids, policy.moves, **asked)
    first, same_params = ws.reach_statement(ids, policy.moves, **asked, first=True)
    assert same_params == params
    assert (first == every) is (policy.keyed[2].get(state) is None)
    chunks = [
        ws.walk_chunk(
            [], [], levels, policy.tested, None if drop is None else drop.param,
            skip=None if drop is None else drop.skip, starts=ids, state=state,
        )
    ]  # fmt: skip
    if drop is not None and again:
        marks = [f"{key}|{state}" for key in ids]
        frontier = [[key, state] for key in again]
        by_origin = drop.param | {"by_origin": True}
        chunks.append(ws.walk_chunk(frontier, marks, 1, policy.tested, by_origin))
    return [
        (
            _answer(store._read(every, **params, **chunk)[0]),
            _answer(store._read(first, **params, **chunk)[0]),
        )
        for chunk in chunks
    ]


WALKS = {name: policy for name, policy in POLICIES.items()}


@st.composite
def walk_policies(draw: st.DrawFn) -> tuple[tuple[WalkStep, ...], str, dict[str, frozenset[str]]]:
    """The left-out test's policies (impact's among them), or any generated one on ids."""
    if draw(st.booleans()):
        return WALKS[draw(st.sampled_from(sorted(WALKS)))]
    steps, state, covers = draw(policies())
    walk = _walk_steps(steps)
    assume(walkable(walk))
    return walk, state, covers


@pytest.mark.neo4j
def test_the_first_level_along_the_start_states_moves_answers_alike(
    neo4j_store: Neo4jStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Generated estates (datasets with their columns as starts, columns feeding columns and
    datasets, self-loops among them), generated policies, retirements and `as_of`: the first
    chunk's statement with its level 1 along the start state's moves answers as the one along
    every kind both ways, row for row; the walk answers as the walk on every row."""
    seen = {"rows": 0, "left_out": 0, "loops": 0}

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        estates(),
        walk_policies(),
        st.tuples(
            st.integers(1, 6),
            st.sampled_from([1, 3, 10_000, 10_000]),
            st.lists(st.integers(0, 39), max_size=4),
            st.sampled_from([None, "2026-01-15T00:00:00Z"]),
        ),
        st.data(),
    )
    def check(
        estate: tuple[list[Edge], list[NodeKey]],
        policy: tuple[tuple[WalkStep, ...], str, dict[str, frozenset[str]]],
        asked: Any,
        data: st.DataObject,
    ) -> None:
        edges, starts = estate
        depth, cap, retired, as_of = asked
        steps, state, covers = policy
        load(neo4j_store, edges)
        retire_some(neo4j_store, edges, retired)
        ids = list(dict.fromkeys(s.id for s in starts))
        seen["loops"] += sum(1 for src, _, dst, _ in edges if src == dst)
        if ids and ws.walk_policy(steps, state).moves:
            again = data.draw(st.lists(st.sampled_from(ids), max_size=3, unique=True))
            for every, first in _first_chunks(
                neo4j_store, steps, state, covers, ids, levels=min(depth, ws.REACH_CHUNK),
                as_of=as_of, cap=cap + len(ids), again=again,
            ):  # fmt: skip
                assert first == every
                seen["rows"] += len(every["found"])
                seen["left_out"] += every["dropped"][0]
        args: dict[str, Any] = {"max_depth": depth, "as_of": as_of, "max_nodes": cap}
        monkeypatch.setattr(ws, "LEAVE_OUT", False)
        every_row = neo4j_store._walk_ids(ids, steps, start_state=state, covers=covers, **args)
        monkeypatch.setattr(ws, "LEAVE_OUT", True)
        monkeypatch.setattr(ws, "FIRST_LEVEL_OWN_MOVES", False)
        old_first = neo4j_store._walk_ids(ids, steps, start_state=state, covers=covers, **args)
        monkeypatch.setattr(ws, "FIRST_LEVEL_OWN_MOVES", True)
        now = neo4j_store._walk_ids(ids, steps, start_state=state, covers=covers, **args)
        _same(now, every_row)
        _same(now, old_first)

    check()
    # the examples had rows, rows left out and self-loops, or they proved little
    assert seen["rows"] > 0 and seen["left_out"] > 0 and seen["loops"] > 0


@pytest.mark.neo4j
def test_a_self_loop_and_edges_against_the_start_states_ways(neo4j_store: Neo4jStore) -> None:
    """Impact from dataset d and its columns c1, c2 (WHOLE): c1 feeds itself (a self-loop, read
    out and in: FEEDS out is a move, FEEDS in is none), c2 feeds c1 (into a start: left out from
    c2, not a row from c1's side, whose FEEDS in no move takes), c1 feeds x (kept), d has its
    columns out (no move of WHOLE) and a version (HAS_VERSION out, into no start: kept). Both
    statements: the same rows; level 1 keeps c1 -> c1 (FIELD at a start is blocked: left out),
    c1 -> x, d -> v."""
    d = POOL[K.DATASET][0]
    c1, c2, x = POOL[K.COLUMN][:3]
    v = POOL[K.DATASET_VERSION][0]
    load(
        neo4j_store,
        [
            (d, E.HAS_COLUMN, c1, {}),
            (d, E.HAS_COLUMN, c2, {}),
            (c1, E.FEEDS, c1, {}),
            (c2, E.FEEDS, c1, {}),
            (c1, E.FEEDS, x, {}),
            (d, E.HAS_VERSION, v, {}),
        ],
    )
    steps, state, covers = POLICIES["impact"]
    ids = [d.id, c1.id, c2.id]
    ((every, first),) = _first_chunks(
        neo4j_store, steps, state, covers, ids, levels=1, as_of=None, cap=100, again=[]
    )
    assert first == every
    kept = sorted((f[0], f[1], f[2]) for f in map(json.loads, every["found"]))
    assert kept == sorted([(c1.id, "FEEDS", x.id), (d.id, "HAS_VERSION", v.id)])
    # left out: c1 -> d and c2 -> d (HAS_COLUMN in), c1 -> c1 and c2 -> c1 (FEEDS into a start)
    assert every["dropped"][0] == 4


@pytest.mark.neo4j
def test_the_first_chunks_statement_seeks_its_starts_and_scans_nothing(
    neo4j_store: Neo4jStore,
) -> None:
    """The statement with its level 1 along the start state's moves plans as the other: the
    starts by the key index, no label or relationship scan."""
    d = POOL[K.DATASET][0]
    c = POOL[K.COLUMN][0]
    load(neo4j_store, [(d, E.HAS_COLUMN, c, {}), (c, E.FEEDS, POOL[K.COLUMN][1], {})])
    steps, state, covers = POLICIES["impact"]
    policy = ws.walk_policy(steps, state)
    drop = policy.drop_rule(covers)
    assert drop is not None and policy.keyed is not None
    query, params = ws.reach_statement(
        [d.id, c.id], policy.moves, start_state=state, as_of=None, limit=100,
        keyed=policy.keyed, first=True,
    )  # fmt: skip
    chunk = ws.walk_chunk(
        [], [], 5, policy.tested, drop.param, skip=drop.skip, starts=[d.id, c.id], state=state
    )
    assert_seeks_without_scans(neo4j_store, query, {**params, **chunk})


def test_a_part_start_leads_where_its_asset_does_not() -> None:
    """Why the map's part starts are each read at level 1 (the brief's idea of skipping a column
    whose dataset is a start does not hold): from WHOLE a dataset does not walk to its columns
    (HAS_COLUMN out is EVERY_COLUMN's alone), so a column's own FEEDS reach what its dataset
    reaches later or not at all. On the embedded store (`traverse`'s answers): from d and its
    column c1, x (fed by c1) is at distance 1, exact; from d alone it is not reached."""
    d = POOL[K.DATASET][0]
    c1, x = POOL[K.COLUMN][:2]
    job, out = POOL[K.JOB][0], POOL[K.DATASET][1]
    store = EmbeddedStore()
    load(
        store,
        [
            (d, E.HAS_COLUMN, c1, {}),
            (c1, E.FEEDS, x, {}),
            (d, E.INPUT_TO, job, {}),
            (job, E.PRODUCES, out, {}),
        ],
    )
    both = closeness(store, [d.id, c1.id], IMPACT_STEPS, start_state=WHOLE, covers=COVERS)
    alone = closeness(store, [d.id], IMPACT_STEPS, start_state=WHOLE, covers=COVERS)
    assert (both.reached[x.id].distance, both.reached[x.id].certainty) == (1, Certainty.EXACT)
    assert x.id not in alone.reached and out.id in alone.reached
