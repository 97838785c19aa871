"""The one-statement walk on Neo4j (`Neo4jStore.reach`) against a plain reference BFS written
here, on random graphs and on a diamond lattice of 2^40 paths; the walks built on it answer as
the level-by-level walk does, in a constant number of round trips, charged to a request's budget
as before.

The reference knows nothing of our traversal: it walks (node, state) pairs over the edges the
store holds (read back whole, retired ones too), with its own validity test, and says which
nodes a walk may expand within the depth and which edges their states follow."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from lineage_kg.api.graphql.traversal_budget import RequestBudgetSpent, TraversalBudget, budgeted
from lineage_kg.graph.model import COLUMN_LINEAGE, TRANSFORMATION_TYPES, EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction, EdgeRetire, MutationBatch, Provenance
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.graph.neo4j_walk_statements import (
    PATHS_CHUNK,
    REACH_CHUNK,
    reach_statement,
    walk_chunk,
)
from lineage_kg.graph.records import StoredEdge
from lineage_kg.graph.store import EdgeTest, GraphStore, Moves, Neighborhood
from lineage_kg.queries.impact import IMPACT_STEPS, impact
from lineage_kg.queries.impact_steps import COVERS, WHOLE
from lineage_kg.queries.traversal import Traversal, moves, traverse
from tests.neo4j_plans import assert_seeks_without_scans

pytestmark = pytest.mark.neo4j

OUT, IN = Direction.OUT, Direction.IN
KINDS = (EdgeKind.FEEDS, EdgeKind.INPUT_TO, EdgeKind.PRODUCES, EdgeKind.HAS_COLUMN)
STATES = ("", "a", "b")
TIMES = [f"2026-01-{d:02d}T00:00:00Z" for d in range(1, 29)]


class LevelByLevel:
    """The store without its read-ahead: the walk reads one level per round trip (the old way)."""

    def __init__(self, inner: GraphStore) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def reach(self, *args: Any, **kwargs: Any) -> None:
        return None


def node(i: int) -> NodeKey:
    """Datasets, columns and jobs in turn (each edge kind joins only some kinds of node)."""
    if i % 3 == 0:
        return NodeKey.of(NodeKind.DATASET, namespace="rg", name=f"d{i}")
    if i % 3 == 1:
        return NodeKey.of(NodeKind.COLUMN, namespace="rg", name=f"d{i - 1}", field=f"n{i}")
    return NodeKey.of(NodeKind.JOB, namespace="rg", name=f"j{i}")


def joining(a: NodeKey, b: NodeKey) -> list[EdgeKind]:
    return [k for k in KINDS if a.kind in k.spec.sources and b.kind in k.spec.targets]


def random_graph(rng: random.Random, n: int) -> list[MutationBatch]:
    """Edges from lower to higher index (a DAG) of random kinds, each asserted at its own time;
    some anchors then retire part of their edges of a kind (as a later event would)."""
    batches = []
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n) if joining(node(i), node(j))]
    for i, j in rng.sample(pairs, min(len(pairs), 3 * n)):
        batch = MutationBatch()
        prov = Provenance("test", f"e{i}-{j}", rng.choice(TIMES[:20]))
        flagged = {"flag": True} if rng.random() < 0.4 else {}
        batch.edge(node(i), rng.choice(joining(node(i), node(j))), node(j), prov, **flagged)
        batches.append(batch)
    for anchor in rng.sample(range(n), n // 4):
        kind, direction = rng.choice(KINDS), rng.choice((OUT, IN))
        keep = frozenset(node(k) for k in rng.sample(range(n), n // 2))
        prov = Provenance("test", f"retire-{anchor}", rng.choice(TIMES[10:]))
        batches.append(MutationBatch([EdgeRetire(node(anchor), kind, direction, keep, prov)]))
    return batches


def random_test(rng: random.Random) -> EdgeTest | None:
    kinds = (NodeKind.DATASET, NodeKind.COLUMN, NodeKind.JOB)
    return rng.choice(
        [
            None,
            None,
            EdgeTest(src=frozenset(rng.sample(kinds, rng.randint(1, 2)))),
            EdgeTest(dst=frozenset(rng.sample(kinds, rng.randint(1, 2)))),
            EdgeTest(unset="flag"),
        ]
    )


def random_moves(rng: random.Random) -> Moves:
    """A random policy: from each state, some kinds one way or both, into some states, some only
    over edges passing a test."""
    found: dict[tuple[str, Direction, EdgeKind], frozenset[tuple[str, EdgeTest | None]]] = {}
    for state in STATES:
        for kind in rng.sample(KINDS, rng.randint(1, len(KINDS))):
            for way in rng.sample((OUT, IN), rng.randint(1, 2)):
                thens = rng.sample(STATES, rng.randint(1, 2))
                found[state, way, kind] = frozenset((t, random_test(rng)) for t in thens)
    return found


def passes(edge: StoredEdge, test: EdgeTest | None) -> bool:
    """The reference's own reading of a test."""
    if test is None:
        return True
    if test.src is not None and edge.key.src.kind not in test.src:
        return False
    if test.dst is not None and edge.key.dst.kind not in test.dst:
        return False
    return test.unset is None or edge.props.get(test.unset) in (None, False)


def valid(edge: StoredEdge, as_of: str | None) -> bool:
    if as_of is None:
        return edge.valid_to is None
    return edge.first_seen <= as_of and (edge.valid_to is None or as_of < edge.valid_to)


def reference(
    edges: list[StoredEdge],
    start: list[str],
    *,
    start_state: str,
    policy: Moves,
    depth: int,
    as_of: str | None,
) -> tuple[set[str], set[tuple[tuple[str, str, str, str], Direction]]]:
    """(nodes within depth - 1 moves of a start, the edges their states follow) by plain BFS."""
    leaving: dict[tuple[str, Direction], list[StoredEdge]] = defaultdict(list)
    for e in edges:
        if valid(e, as_of):
            leaving[e.key.src.id, OUT].append(e)
            leaving[e.key.dst.id, IN].append(e)
    seen = {(s, start_state) for s in start}
    frontier = list(seen)
    for _ in range(depth - 1):
        next_frontier = []
        for at, state in frontier:
            for way in (OUT, IN):
                for e in leaving[at, way]:
                    far = e.key.dst.id if way is OUT else e.key.src.id
                    for then, test in policy.get((state, way, e.key.kind), ()):
                        if passes(e, test) and (far, then) not in seen:
                            seen.add((far, then))
                            next_frontier.append((far, then))
        frontier = next_frontier
    followed = {
        (e.key.id, way)
        for at, state in seen
        for way in (OUT, IN)
        for e in leaving[at, way]
        if any(passes(e, test) for _, test in policy.get((state, way, e.key.kind), ()))
    }
    return {at for at, _ in seen}, followed


def held(ahead: Neighborhood) -> set[tuple[tuple[str, str, str, str], Direction]]:
    return {
        (e.key.id, way)
        for (_, way), by_kind in ahead.edges.items()
        for found in by_kind.values()
        for e in found
    }


# 8 graphs x 6 random policies: each new policy is a statement Neo4j plans anew (seconds each
# on a loaded machine), so the count is CI's time; 12 graphs in the runs before 2026-12-05
@pytest.mark.parametrize("seed", range(8))
def test_reach_matches_reference_bfs_on_random_graphs(neo4j_store: Neo4jStore, seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(8, 30)
    for batch in random_graph(rng, n):
        neo4j_store.apply(batch)
    edges = list(neo4j_store.iter_edges())
    print(f"{len(edges)} edges, {sum(e.valid_to is not None for e in edges)} retired")
    for _ in range(6):
        policy = random_moves(rng)
        start = [node(i).id for i in rng.sample(range(n), rng.randint(1, 2))]
        start_state = rng.choice(STATES)
        depth = rng.randint(1, 6)
        as_of = rng.choice([None, None, *TIMES])
        nodes, followed = reference(
            edges, start, start_state=start_state, policy=policy, depth=depth, as_of=as_of
        )
        ahead = neo4j_store.reach(
            start, policy, start_state=start_state, max_depth=depth, as_of=as_of, limit=10_000
        )
        assert ahead is not None
        # the starts are covered whether or not the store holds them (no edges: nothing to read)
        assert ahead.covered == nodes | set(start)
        assert held(ahead) == followed
        # more nodes than the limit: no read-ahead at all (the walk then reads level by level)
        if len(ahead.covered) > 1:
            limit = len(ahead.covered) - 1
            assert (
                neo4j_store.reach(
                    start,
                    policy,
                    start_state=start_state,
                    max_depth=depth,
                    as_of=as_of,
                    limit=limit,
                )
                is None
            )


def shape(walk: Traversal) -> tuple[Any, ...]:
    reached = {
        k: (r.distance, r.certainty, [(h.edge.key.id, h.direction) for h in r.path])
        for k, r in walk.reached.items()
    }
    return reached, walk.truncated, walk.led_on


def impact_graph(rng: random.Random, datasets: int) -> MutationBatch:
    """Datasets with columns, column lineage between them, jobs between datasets (some outputs
    with authoritative column lineage), versions read by runs: impact's rules all get a say."""
    prov = Provenance("test", "e1", "2026-01-01T00:00:00Z")
    batch = MutationBatch()
    ds = [NodeKey.of(NodeKind.DATASET, namespace="ig", name=f"d{i}") for i in range(datasets)]
    cols = {
        i: [NodeKey.of(NodeKind.COLUMN, namespace="ig", name=f"d{i}", field=f"c{c}") for c in "xyz"]
        for i in range(datasets)
    }
    for i, d in enumerate(ds):
        for c in cols[i]:
            batch.edge(d, EdgeKind.HAS_COLUMN, c, prov)
    for _ in range(3 * datasets):
        i, j = sorted(rng.sample(range(datasets), 2))
        types = rng.choice([[], ["DIRECT"], ["INDIRECT"]])
        dst = rng.choice([*cols[j], ds[j]])
        props = {TRANSFORMATION_TYPES: types} if types else {}
        batch.edge(rng.choice(cols[i]), EdgeKind.FEEDS, dst, prov, **props)
    for k in range(datasets // 2):
        job = NodeKey.of(NodeKind.JOB, namespace="ig", name=f"j{k}")
        i, j = sorted(rng.sample(range(datasets), 2))
        batch.edge(ds[i], EdgeKind.INPUT_TO, job, prov)
        authoritative = {COLUMN_LINEAGE: True} if rng.random() < 0.5 else {}
        batch.edge(job, EdgeKind.PRODUCES, ds[j], prov, **authoritative)
        version = NodeKey.of(NodeKind.DATASET_VERSION, namespace="ig", name=f"d{i}", version="1")
        run = NodeKey.of(NodeKind.RUN, run_id=f"r{k}")
        batch.edge(ds[i], EdgeKind.HAS_VERSION, version, prov)
        batch.edge(version, EdgeKind.READ_BY, run, prov)
    return batch


@pytest.mark.parametrize("seed", range(6))
def test_walks_answer_as_the_level_by_level_walk(neo4j_store: Neo4jStore, seed: int) -> None:
    rng = random.Random(seed)
    neo4j_store.apply(impact_graph(rng, rng.randint(4, 12)))
    starts = [n.id for n in neo4j_store.iter_nodes()]
    for start in rng.sample(starts, min(6, len(starts))):
        depth, max_nodes = rng.randint(1, 8), rng.choice([2, 5, 100_000])
        walks = [
            traverse(
                store,
                [start],
                IMPACT_STEPS,
                max_depth=depth,
                max_nodes=max_nodes,
                start_state=WHOLE,
                covers=COVERS,
            )
            for store in (neo4j_store, LevelByLevel(neo4j_store))
        ]
        assert shape(walks[0]) == shape(walks[1])


def test_truncation_is_the_same_with_the_read_ahead(neo4j_store: Neo4jStore) -> None:
    prov = Provenance("test", "e1", "2026-01-01T00:00:00Z")
    batch = MutationBatch()
    hub = lattice_column(0, 0)
    for i in range(11):
        batch.edge(hub, EdgeKind.FEEDS, lattice_column(1, i), prov)
    neo4j_store.apply(batch)
    policy = moves(IMPACT_STEPS, WHOLE)
    # depth 1: the read-ahead covers the hub alone, and the walk stops at 3 of its 11 children
    ahead = neo4j_store.reach([hub.id], policy, start_state=WHOLE, max_depth=1, as_of=None, limit=4)
    assert ahead is not None and ahead.covered == {hub.id}
    walks = [
        traverse(s, [hub.id], IMPACT_STEPS, max_depth=1, max_nodes=3, start_state=WHOLE)
        for s in (neo4j_store, LevelByLevel(neo4j_store))
    ]
    assert walks[0].truncated and len(walks[0].reached) == 3
    assert shape(walks[0]) == shape(walks[1])


def lattice_column(layer: int, i: int) -> NodeKey:
    return NodeKey.of(NodeKind.COLUMN, namespace="lat", name=f"t{layer}", field=f"c{i}")


def lattice(layers: int) -> MutationBatch:
    """Two columns a layer, each feeding both of the next: 2**(layers - 1) paths end to end."""
    prov = Provenance("test", "e1", "2026-01-01T00:00:00Z")
    batch = MutationBatch()
    for layer in range(layers - 1):
        for a in range(2):
            for b in range(2):
                batch.edge(
                    lattice_column(layer, a), EdgeKind.FEEDS, lattice_column(layer + 1, b), prov
                )
    return batch


def db_hits(plan: Mapping[str, Any]) -> Iterator[int]:
    yield plan.get("dbHits", 0)
    for child in plan.get("children", []):
        yield from db_hits(child)


def profiled_hits(store: Neo4jStore, start: str, depth: int) -> int:
    """The db hits of the whole walk: its statement PROFILEd chunk by chunk, driven as `reach`
    drives it (the frontier and marks of one chunk fed to the next)."""
    query, params = reach_statement(
        [start], moves(IMPACT_STEPS, WHOLE), start_state=WHOLE, as_of=None, limit=100_000
    )
    frontier, seen, left, hits = [[start, WHOLE]], [f"{start}|{WHOLE}"], depth, 0
    with store._driver.session(database=store.database) as session:
        while left > 0 and frontier:
            levels = min(REACH_CHUNK, left)
            chunk = {**params, **walk_chunk(frontier, seen, levels)}
            result = session.run("PROFILE " + query, chunk)  # type: ignore[arg-type]
            row = result.single(strict=True)
            summary = result.consume()
            assert summary.profile is not None
            hits += sum(db_hits(summary.profile))
            frontier, seen, left = row["pending"], seen + row["marks"], left - levels
    return hits


def test_lattice_of_2_to_the_40_paths_reads_its_nodes_not_its_paths(
    neo4j_store: Neo4jStore,
) -> None:
    neo4j_store.apply(lattice(41))
    start = NodeKey.of(NodeKind.COLUMN, namespace="lat", name="t0", field="c0").id
    policy = moves(IMPACT_STEPS, WHOLE)
    ahead = neo4j_store.reach(
        [start], policy, start_state=WHOLE, max_depth=25, as_of=None, limit=10**5
    )
    edges = list(neo4j_store.iter_edges())
    nodes, followed = reference(
        edges, [start], start_state=WHOLE, policy=policy, depth=25, as_of=None
    )
    assert ahead is not None and ahead.covered == nodes and held(ahead) == followed
    assert len(nodes) == 1 + 2 * 24  # the start, both columns of layers 1..24
    answer = impact(neo4j_store, start, depth=25)
    assert sorted(i.distance for i in answer.items) == sorted([*range(1, 26)] * 2)
    # PROFILE: the work grows with the layers walked, not the paths (2**12 vs 2**24 paths here)
    shallow, deep = profiled_hits(neo4j_store, start, 13), profiled_hits(neo4j_store, start, 25)
    print(f"lattice read-ahead: {shallow} db hits at depth 13, {deep} at depth 25")
    assert deep <= 3 * shallow
    assert deep <= 60 * len(edges)  # a few hits per relationship and walk state


def test_impact_makes_a_constant_number_of_round_trips(
    neo4j_store: Neo4jStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[str] = []
    real = neo4j_store._read

    def counted(query: Any, **params: Any) -> list[Any]:
        reads.append(query)
        return real(query, **params)

    monkeypatch.setattr(neo4j_store, "_read", counted)
    neo4j_store.apply(lattice(21))
    counts, walks = {}, set()
    for depth in (3, 20):
        for store in (neo4j_store, LevelByLevel(neo4j_store)):
            reads.clear()
            start = NodeKey.of(NodeKind.COLUMN, namespace="lat", name="t0", field="c0").id
            impact(store, start, depth=depth)  # type: ignore[arg-type]
            counts[depth, store is neo4j_store] = len(reads)
            walks.update(reads)
    print("round trips (depth, read ahead):", counts)
    assert counts[3, True] <= 6
    # one walk statement whatever the depth: Neo4j compiles it once (unrolled per depth, a plan
    # took seconds to compile for every new depth)
    assert len({q for q in walks if "$chunk" in q}) == 1
    # impact's walk (with paths) reads PATHS_CHUNK levels a round trip: depth 3 in one, 20 in two
    assert counts[20, True] - counts[3, True] == math.ceil(20 / PATHS_CHUNK) - 1 == 1
    assert counts[20, False] > counts[20, True]  # the level-by-level walk: one per level


def test_a_request_budget_is_charged_as_before(neo4j_store: Neo4jStore) -> None:
    neo4j_store.apply(impact_graph(random.Random(3), 10))
    start = NodeKey.of(NodeKind.DATASET, namespace="ig", name="d0").id
    spent = []
    for store in (neo4j_store, LevelByLevel(neo4j_store)):
        budget = TraversalBudget(10**6)
        impact(budgeted(store, budget), start, depth=8)  # type: ignore[arg-type]
        spent.append(budget.spent)
    assert spent[0] == spent[1] > 0
    for store in (neo4j_store, LevelByLevel(neo4j_store)):
        with pytest.raises(RequestBudgetSpent):
            impact(budgeted(store, TraversalBudget(spent[0] - 1)), start, depth=8)  # type: ignore[arg-type]


def test_the_walk_statement_seeks_its_starts_and_scans_nothing(neo4j_store: Neo4jStore) -> None:
    neo4j_store.apply(impact_graph(random.Random(1), 6))
    start = NodeKey.of(NodeKind.DATASET, namespace="ig", name="d0").id
    query, params = reach_statement(
        [start], moves(IMPACT_STEPS, WHOLE), start_state=WHOLE, as_of=None, limit=100_000
    )
    chunk = {**params, **walk_chunk([], [], 5, starts=[start], state=WHOLE)}
    assert_seeks_without_scans(neo4j_store, query, chunk)
