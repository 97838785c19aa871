"""Traversal against a plain reference BFS (networkx) on random DAGs and on a diamond lattice,
on both stores: same nodes, same distances, same certainty, valid explaining paths."""

from __future__ import annotations

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph.model import Certainty, EdgeKind, NodeKey, NodeKind
from graph.mutations import MutationBatch, Provenance
from graph.store import GraphStore
from queries.impact import IMPACT_STEPS, impact
from queries.traversal import traverse
from tests.contract.work import WORK_PER_NODE, CountingStore, nodes_in

P = Provenance("test", "e1", "2026-01-01T00:00:00Z")
DATASETS = [NodeKey.of(NodeKind.DATASET, namespace="ns", name=f"d{i}") for i in range(4)]
JOBS = [NodeKey.of(NodeKind.JOB, namespace="ns", name=f"j{i}") for i in range(3)]


def column(d: int, c: int) -> NodeKey:
    return NodeKey.of(NodeKind.COLUMN, namespace="ns", name=f"d{d}", field=f"c{c}")


COLUMNS = [column(d, c) for d in range(4) for c in range(3)]


@st.composite
def dags(draw: st.DrawFn) -> tuple[list[tuple[NodeKey, EdgeKind, NodeKey]], NodeKey]:
    """Column FEEDS edges only from lower to higher dataset index (acyclic), dataset-level
    lineage through jobs, and every column in its dataset."""
    edges = [(DATASETS[int(c.parts[1][1:])], EdgeKind.HAS_COLUMN, c) for c in COLUMNS]
    pairs = [(a, b) for a in COLUMNS for b in COLUMNS if a.parts[1] < b.parts[1]]
    edges += [
        (a, EdgeKind.FEEDS, b) for a, b in draw(st.lists(st.sampled_from(pairs), max_size=12))
    ]
    for job in JOBS:
        ins = draw(st.lists(st.sampled_from(DATASETS[:3]), max_size=2))
        outs = [d for d in draw(st.lists(st.sampled_from(DATASETS[1:]), max_size=2))]
        edges += [(d, EdgeKind.INPUT_TO, job) for d in ins]
        edges += [(job, EdgeKind.PRODUCES, d) for d in outs]
    return edges, draw(st.sampled_from(COLUMNS))


def reference(edges, start: NodeKey, depth: int) -> tuple[dict[str, int], dict[str, int]]:
    """Distances over all impact steps and over exact ones, by networkx — no store involved."""
    every, exact = nx.DiGraph(), nx.DiGraph()
    for src, kind, dst in edges:
        a, b = (dst.id, src.id) if kind is EdgeKind.HAS_COLUMN else (src.id, dst.id)
        every.add_edge(a, b)
        if kind in (EdgeKind.FEEDS, EdgeKind.HAS_COLUMN):
            exact.add_edge(a, b)

    def lengths(g: nx.DiGraph) -> dict[str, int]:
        if start.id not in g:
            return {}
        found = nx.single_source_shortest_path_length(g, start.id, cutoff=depth)
        return {k: v for k, v in found.items() if k != start.id}

    return lengths(every), lengths(exact)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(dags(), st.integers(1, 6))
def test_traversal_matches_reference_bfs(store: GraphStore, dag, depth: int) -> None:
    edges, start = dag
    store.clear()
    batch = MutationBatch()
    for src, kind, dst in edges:
        batch.edge(src, kind, dst, P)
    batch.node(start, P)
    store.apply(batch)

    walk = traverse(store, [start.id], IMPACT_STEPS, max_depth=depth)
    every, exact = reference(edges, start, depth)
    assert set(walk.reached) == set(every)
    for node_id, reached in walk.reached.items():
        if node_id in exact:
            assert (reached.certainty, reached.distance) == (Certainty.EXACT, exact[node_id])
        else:
            assert (reached.certainty, reached.distance) == (Certainty.POSSIBLE, every[node_id])
        # the explaining path is a real chain of edges from the start, as long as the distance
        assert len(reached.path) == reached.distance
        at = start.id
        for hop in reached.path:
            here = hop.edge.key.src.id if hop.direction.value == "out" else hop.edge.key.dst.id
            assert here == at
            at = hop.to
        assert at == node_id


def lattice(layers: int, width: int) -> MutationBatch:
    """Every column of a layer feeds every column of the next: width**layers paths."""
    batch = MutationBatch()
    for layer in range(layers - 1):
        for a in range(width):
            for b in range(width):
                batch.edge(
                    NodeKey.of(NodeKind.COLUMN, namespace="lat", name=f"t{layer}", field=f"c{a}"),
                    EdgeKind.FEEDS,
                    NodeKey.of(
                        NodeKind.COLUMN, namespace="lat", name=f"t{layer + 1}", field=f"c{b}"
                    ),
                    P,
                )
    return batch


def test_diamond_lattice_visits_each_node_once(store: GraphStore) -> None:
    store.apply(lattice(layers=41, width=2))  # 2**40 paths from one corner to the far end
    start = NodeKey.of(NodeKind.COLUMN, namespace="lat", name="t0", field="c0")
    counting = CountingStore(store)
    answer = impact(counting, start.id, depth=25)
    columns = [i for i in answer.items if i.node.key.kind is NodeKind.COLUMN]
    assert len(columns) == 2 * 25  # both columns of layers 1..25; nothing joins t0.c0 to t0.c1
    assert all(i.certainty is Certainty.EXACT for i in columns)
    assert sorted({i.distance for i in columns}) == list(range(1, 26))
    assert answer.truncated is False
    # work, not time: each node's neighbours read a few times at most (2**40 paths otherwise)
    print(f"lattice impact read {counting.ids_read} ids for {nodes_in(store)} nodes")
    assert counting.ids_read <= WORK_PER_NODE * nodes_in(store)


def test_depth_and_size_bounds(store: GraphStore) -> None:
    store.apply(lattice(layers=6, width=2))
    start = NodeKey.of(NodeKind.COLUMN, namespace="lat", name="t0", field="c0")
    assert max(i.distance for i in impact(store, start.id, depth=2).items) == 2
    capped = traverse(store, [start.id], IMPACT_STEPS, max_depth=10, max_nodes=3)
    assert capped.truncated and len(capped.reached) == 3
    with pytest.raises(ValueError, match="depth must be between 1 and 25"):
        traverse(store, [start.id], IMPACT_STEPS, max_depth=0)
