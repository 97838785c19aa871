"""Impact's reads on Neo4j (issue 19, target 1): the walk with paths on edge ids (`Neo4jStore.walk`
with `edges=True`: the read-ahead answering ids and tested values, walked by graph/ends_walk.py
with parent pointers, then the visits' edges' records by id) and the nodes with their owners in
one read (`GraphStore.nodes_and_owners`).

On generated graphs of every lineage kind, from many starts, under the questions' policies whose
tests are `EdgeTest`s and generated ones (states, covers), now and at an earlier time: `traverse`
and `walk_visits` give the level loop's answer (nodes, distances, certainty, explaining paths
edge for edge, `led_on`, truncation, edges read), on both stores. On Neo4j the store does walk
them itself, and impact answers without the record read-ahead (`reach`)."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.graph.errors import InvalidArgument, NotFound
from lineage_kg.graph.model import EdgeKind as E
from lineage_kg.graph.model import NodeKey
from lineage_kg.graph.model import NodeKind as K
from lineage_kg.graph.mutations import Direction, EdgeRetire, MutationBatch, Provenance
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.impact import IMPACT_STEPS, impact, training_rows
from lineage_kg.queries.impact_steps import COVERS, WHOLE
from lineage_kg.queries.traversal import _walk_steps, traverse, walk_visits
from tests.contract.test_closeness_property import NODES, POLICIES, POOL, Edge, graphs, load
from tests.contract.test_store_walk_property import LevelByLevel as StoreWithoutWalk
from tests.contract.test_store_walk_property import everything, retire_some
from tests.contract.test_walk_by_ids import _tests_are_edge_tests
from tests.contract.test_walk_visits_property import rows_of


class LevelByLevel(StoreWithoutWalk):
    """The store without its own walk: `traverse` walks level by level (on Neo4j over the record
    read-ahead, `reach`, as impact did before), and impact reads the nodes and their owners the
    long way (`GraphStore.nodes_and_owners`' default: the reads it stands for)."""

    def nodes_and_owners(
        self, node_ids: Any, ids: Any, as_of: Any = None, *, path_edges: Any = None
    ) -> Any:
        return GraphStore.nodes_and_owners(self, node_ids, ids, as_of)  # type: ignore[arg-type]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    graphs(),
    st.lists(st.sampled_from(NODES), min_size=1, max_size=8),
    # the questions' policies (a generated one is a new plan on Neo4j: seconds each)
    st.sampled_from(sorted(POLICIES)).filter(_tests_are_edge_tests),
    st.tuples(  # depth, max_nodes, edges retired later, the time asked
        st.integers(1, 6),
        st.sampled_from([1, 2, 5, 10_000]),
        st.lists(st.integers(0, 39), max_size=4),
        st.sampled_from([None, "2026-01-15T00:00:00Z"]),
    ),
)
def test_the_walk_with_paths_is_the_level_loop(
    store: GraphStore,
    edges: list[Edge],
    starts: list[NodeKey],
    policy: Any,
    asked: tuple[int, int, list[int], str | None],
) -> None:
    depth, cap, retired, as_of = asked
    load(store, edges)
    retire_some(store, edges, retired)
    steps, state, covers = POLICIES[policy]
    ids = [s.id for s in starts]
    args: dict[str, Any] = {
        "max_depth": depth, "max_nodes": cap, "start_state": state, "covers": covers,
        "as_of": as_of,
    }  # fmt: skip
    walked = store.walk(
        list(dict.fromkeys(ids)), _walk_steps(steps), start_state=state, covers=covers or {},
        max_depth=depth, as_of=as_of, max_nodes=cap, edges=True,
    )  # fmt: skip
    # the store walks it (a read-ahead past a small max_nodes is given up: the level loop then)
    assert walked is not None or cap < 10_000, "the store left a walk with paths to the loop"
    loop = traverse(LevelByLevel(store), ids, steps, **args)  # type: ignore[arg-type]
    assert everything(traverse(store, ids, steps, **args)) == everything(loop)
    visits = walk_visits(store, ids, steps, **args)
    by_loop = walk_visits(LevelByLevel(store), ids, steps, **args)  # type: ignore[arg-type]
    assert rows_of(visits) == rows_of(by_loop)
    assert sorted(visits.led_on) == sorted(by_loop.led_on)
    assert training_rows(visits, depth) == training_rows(by_loop, depth)


def test_the_walk_with_paths_for_any_policy(store: GraphStore) -> None:
    """Generated policies over three states with covers (`EdgeTest`s only): few examples, each
    is a new plan on Neo4j."""
    from tests.contract.test_closeness_property import policies

    @settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        graphs(),
        st.lists(st.sampled_from(NODES), min_size=1, max_size=6),
        policies().filter(_tests_are_edge_tests),
        st.tuples(st.integers(1, 5), st.sampled_from([3, 10_000])),
    )
    def check(edges: list[Edge], starts: list[NodeKey], policy: Any, bounds: Any) -> None:
        load(store, edges)
        steps, state, covers = policy
        depth, cap = bounds
        ids = [s.id for s in starts]
        args: dict[str, Any] = {
            "max_depth": depth, "max_nodes": cap, "start_state": state, "covers": covers,
        }  # fmt: skip
        loop = traverse(LevelByLevel(store), ids, steps, **args)  # type: ignore[arg-type]
        assert everything(traverse(store, ids, steps, **args)) == everything(loop)

    check()


LATER = Provenance("test", "e2", "2026-02-01T00:00:00Z")
P = Provenance("test", "e1", "2026-01-01T00:00:00Z")


def _owned_estate(store: GraphStore) -> tuple[list[str], dict[str, Any]]:
    """Columns and datasets with owners, owners that are aliases of others (two aliases of one,
    an alias of two), an OWNS edge retired later."""
    d1, d2 = POOL[K.DATASET][:2]
    c1, c2 = POOL[K.COLUMN][:2]
    team, person, alias, alias2 = (NodeKey.of(K.OWNER, owner_id=o) for o in ("t", "p", "a", "b"))
    batch = MutationBatch()
    for src, kind, dst in (
        (d1, E.HAS_COLUMN, c1),
        (d2, E.HAS_COLUMN, c2),
        (c1, E.FEEDS, c2),
        (d2, E.HAS_VERSION, POOL[K.DATASET_VERSION][0]),  # history: `training_rows` looks
        (team, E.OWNS, d1),
        (alias, E.OWNS, d2),
        (alias2, E.OWNS, d2),
        (person, E.OWNS, c2),
        (alias, E.ALIAS_OF, person),
        (alias2, E.ALIAS_OF, team),
        (alias2, E.ALIAS_OF, person),
    ):
        batch.edge(src, kind, dst, P)
    store.clear()
    store.apply(batch)
    store.apply([EdgeRetire(person, E.OWNS, Direction.OUT, frozenset(), LATER)])
    return [c1.id, c2.id, d1.id, d2.id, "no-such-node"], {"c1": c1.id, "d1": d1.id, "p": person.id}


@pytest.mark.parametrize("as_of", [None, "2026-01-15T00:00:00Z"])
def test_nodes_and_owners_are_the_reads_they_stand_for(store: GraphStore, as_of: Any) -> None:
    ids, named = _owned_estate(store)
    asked = [*ids[::-1], named["p"]]
    nodes, owns, aliases = store.nodes_and_owners(asked, ids, as_of)
    base_nodes, base_owns, base_aliases = GraphStore.nodes_and_owners(store, asked, ids, as_of)
    assert [n.id for n in nodes] == [n.id for n in base_nodes] == [*ids[3::-1], named["p"]]
    assert nodes == base_nodes
    assert sorted(owns) == sorted(base_owns) and owns
    assert aliases == base_aliases and aliases  # by edge id
    assert (named["p"] in {o for o, _ in owns}) is (as_of is not None)  # retired since
    assert store.nodes_and_owners([], [], as_of) == ([], [], [])
    nodes, owns, aliases = store.nodes_and_owners([named["p"]], [], as_of)
    assert [n.id for n in nodes] == [named["p"]] and owns == aliases == []


@pytest.mark.parametrize("as_of", [None, "2026-01-15T00:00:00Z"])
def test_impact_reads_as_before(
    store: GraphStore, as_of: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Impact's answer (owners through aliases included) is the level loop's with the reads
    impact made before; on Neo4j it is answered without the record read-ahead (`reach`)."""
    _, named = _owned_estate(store)
    del named["p"]
    before = {k: impact(LevelByLevel(store), n, as_of=as_of) for k, n in named.items()}  # type: ignore[arg-type]
    if store.name == "neo4j":
        monkeypatch.setattr(store, "reach", _refused)
    for key, node in named.items():
        after = impact(store, node, as_of=as_of)
        assert after == before[key]
        assert after.items and any(i.owners for i in after.items)
    if store.name != "neo4j":
        return
    # a column's node is read with the answer's nodes, not before the walk (a dataset's first:
    # its columns start the walk too)
    monkeypatch.setattr(store, "get_nodes", _refused)
    assert impact(store, named["c1"], as_of=as_of) == before["c1"]
    with pytest.raises(AssertionError):
        impact(store, named["d1"], as_of=as_of)


def _refused(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("impact read ahead with records (`reach`), or the start on its own")


@pytest.mark.parametrize("start", ["x", POOL[K.COLUMN][3].id, POOL[K.DATASET][2].id])
def test_impact_of_no_node_is_not_found(store: GraphStore, start: str) -> None:
    """Whatever it would walk from; before a bad argument too, as ever."""
    _owned_estate(store)
    with pytest.raises(NotFound):
        impact(store, start)
    with pytest.raises(NotFound):
        impact(store, start, depth=0)
    with pytest.raises(InvalidArgument):
        impact(store, POOL[K.COLUMN][0].id, depth=0)


def test_impact_steps_are_walked_by_the_store_on_neo4j(store: GraphStore) -> None:
    """Impact's policy (`EdgeTest`s only) is walked by the store with paths on both stores."""
    c1 = POOL[K.COLUMN][0]
    load(store, [(POOL[K.DATASET][0], E.HAS_COLUMN, c1, {})])
    walked = store.walk(
        [c1.id], _walk_steps(IMPACT_STEPS), start_state=WHOLE, covers=COVERS, max_depth=3,
        as_of=None, max_nodes=10, edges=True,
    )  # fmt: skip
    assert walked is not None
    assert walked.every.node == [c1.id, POOL[K.DATASET][0].id]
    edge = walked.edges[walked.every.edge[1]]
    assert edge.key.src == POOL[K.DATASET][0] and edge.key.kind is E.HAS_COLUMN


@pytest.mark.neo4j
def test_impact_of_a_column_is_one_read_on_neo4j(
    neo4j_store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The walk (one statement to depth 5), which also reads the answer's nodes with the start,
    their owners and every edge's record (graph/walk_ahead.py; it was a read after the walk).
    `traverse` reads its paths' edges on its own, when first looked at."""
    _, named = _owned_estate(neo4j_store)
    expected = impact(LevelByLevel(neo4j_store), named["c1"], depth=5)  # type: ignore[arg-type]
    statements: list[str] = []
    read = neo4j_store._read  # type: ignore[attr-defined]

    def counted(query: str, **params: Any) -> Any:
        statements.append(query)
        return read(query, **params)

    monkeypatch.setattr(neo4j_store, "_read", counted)
    assert impact(neo4j_store, named["c1"], depth=5) == expected
    assert len(statements) == 1, statements
    walked = walk_visits(neo4j_store, [named["c1"]], IMPACT_STEPS, max_depth=5, covers=COVERS,
                         start_state=WHOLE)  # fmt: skip
    assert POOL[K.DATASET_VERSION][0].id in walked.node  # held out of the answer by its path
    statements.clear()
    walk = traverse(neo4j_store, [named["c1"]], IMPACT_STEPS, max_depth=5, covers=COVERS,
                    start_state=WHOLE)  # fmt: skip
    assert walk.reached and all(r.path for r in walk.reached.values())
    assert len(statements) == 1  # the paths' edges are not read until looked at
    hops = [h for r in walk.reached.values() for h in r.path]
    loop = traverse(LevelByLevel(neo4j_store), [named["c1"]], IMPACT_STEPS, max_depth=5,  # type: ignore[arg-type]
                    covers=COVERS, start_state=WHOLE)  # fmt: skip
    assert [h.edge for r in loop.reached.values() for h in r.path] == [h.edge for h in hops]
    assert len(statements) == 3  # then all at once (the loop's walk is one more)


def _chain(store: GraphStore, length: int) -> list[str]:
    """Columns feeding one another in a line: a walk from the first goes `length - 1` levels."""
    columns = [NodeKey.of(K.COLUMN, namespace="ch", name="t", field=f"c{i}") for i in range(length)]
    batch = MutationBatch()
    for a, b in pairwise(columns):
        batch.edge(a, E.FEEDS, b, P)
    store.clear()
    store.apply(batch)
    return [c.id for c in columns]


@pytest.mark.neo4j
def test_impact_to_depth_10_is_one_read_on_neo4j_past_level_5(
    neo4j_store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The walk to impact's depth (10) is one statement even when it goes past level 5 (it was
    two: 5 levels a statement), and the answer's nodes come with it: one read. Deeper, one more
    per ten. A walk not followed by the owners' read (no `owners_next`) hands its path edges to
    `nodes_and_owners`, which reads them by the element ids the walk read."""
    chain = _chain(neo4j_store, 13)
    expected = {d: impact(LevelByLevel(neo4j_store), chain[0], depth=d) for d in (10, 12)}  # type: ignore[arg-type]
    assert max(i.distance for i in expected[10].items) == 10  # past level 5
    statements: list[str] = []
    sent: list[dict[str, Any]] = []
    read = neo4j_store._read  # type: ignore[attr-defined]

    def counted(query: str, **params: Any) -> Any:
        statements.append(query)
        sent.append(params)
        return read(query, **params)

    monkeypatch.setattr(neo4j_store, "_read", counted)
    assert impact(neo4j_store, chain[0]) == expected[10]  # depth 10 by default
    assert len(statements) == 1, statements
    statements.clear()
    assert impact(neo4j_store, chain[0], depth=12) == expected[12]
    assert len(statements) == 2, statements
    walk = walk_visits(neo4j_store, chain[:1], IMPACT_STEPS, max_depth=10, covers=COVERS,
                       start_state=WHOLE)  # fmt: skip
    statements.clear()
    sent.clear()
    neo4j_store.nodes_and_owners(chain, chain, path_edges=walk.path_edges)
    assert len(sent) == 1 and len(sent[0]["eids"]) == 10 and sent[0]["rows"] == []


@pytest.mark.neo4j
def test_a_walk_statement_first_run_in_a_store_may_take_longer(
    neo4j_store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its plan may be compiled then (seconds on a cold server, more under load): the first run
    of a walk statement in a store is bounded by PLAN_TIMEOUT, the next ones by the store's
    query timeout, as every other read."""
    from lineage_kg.graph.neo4j_walk_statements import PLAN_TIMEOUT

    chain = _chain(neo4j_store, 3)
    timeouts: list[tuple[str, float | None]] = []
    session = neo4j_store._session

    class Spy:
        def run(self, query: Any, params: Any) -> Any:
            timeouts.append((query.text, query.timeout))
            return session().run(query, params)

    monkeypatch.setattr(neo4j_store, "_planned", set())
    monkeypatch.setattr(neo4j_store, "_session", Spy)
    for _ in range(2):
        impact(neo4j_store, chain[0])  # one read each: the walk (graph/walk_ahead.py)
    neo4j_store.nodes_and_owners(chain, chain)  # and one other read
    walks = [t for q, t in timeouts if "$chunk" in q]
    others = {t for q, t in timeouts if "$chunk" not in q}
    assert walks == [max(PLAN_TIMEOUT, neo4j_store._query_timeout), neo4j_store._query_timeout]
    assert others == {neo4j_store._query_timeout}
    assert PLAN_TIMEOUT > neo4j_store._query_timeout is not None
