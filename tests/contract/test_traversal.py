"""Traversal against a plain reference BFS (networkx) on random DAGs and on a diamond lattice,
on both stores: same nodes, same distances, same certainty, valid explaining paths.

The reference knows impact's rules on its own terms (not through the step table): it walks a
graph of (node, state) pairs, where a dataset entered from a column only reaches the outputs of
its jobs that have no authoritative column lineage, and a column feeding a whole dataset reaches
each of its columns."""

from __future__ import annotations

from typing import Any

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.graph.model import COLUMN_LINEAGE, Certainty, EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import MutationBatch, Provenance
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.impact import IMPACT_STEPS, impact, walk_downstream
from lineage_kg.queries.traversal import traverse
from tests.contract.work import WORK_PER_NODE, counted, nodes_in

P = Provenance("test", "e1", "2026-01-01T00:00:00Z")
DATASETS = [NodeKey.of(NodeKind.DATASET, namespace="ns", name=f"d{i}") for i in range(4)]
JOBS = [NodeKey.of(NodeKind.JOB, namespace="ns", name=f"j{i}") for i in range(3)]
TYPES = [[], ["DIRECT"], ["INDIRECT"], ["DIRECT", "INDIRECT"]]

Edge = tuple[NodeKey, EdgeKind, NodeKey, dict[str, Any]]


def column(d: int, c: int) -> NodeKey:
    return NodeKey.of(NodeKind.COLUMN, namespace="ns", name=f"d{d}", field=f"c{c}")


COLUMNS = [column(d, c) for d in range(4) for c in range(3)]


def index(key: NodeKey) -> int:
    return int(key.parts[1][1:])


@st.composite
def dags(draw: st.DrawFn) -> tuple[list[Edge], NodeKey]:
    """Column FEEDS edges only from lower to higher dataset index (acyclic), to columns or to a
    whole dataset, with transformation types; dataset-level lineage through jobs, some outputs
    with authoritative column lineage; and every column in its dataset."""
    edges: list[Edge] = [(DATASETS[index(c)], EdgeKind.HAS_COLUMN, c, {}) for c in COLUMNS]
    pairs = [(a, b) for a in COLUMNS for b in COLUMNS if a.parts[1] < b.parts[1]]
    wide = [(a, d) for a in COLUMNS for d in DATASETS if index(a) < index(d)]
    feeds = draw(st.lists(st.sampled_from(pairs), max_size=12, unique=True))
    feeds += draw(st.lists(st.sampled_from(wide), max_size=3, unique=True))  # dataset-wide
    for a, b in feeds:
        types = draw(st.sampled_from(TYPES))
        edges.append((a, EdgeKind.FEEDS, b, {"transformation_types": types} if types else {}))
    for job in JOBS:
        ins = draw(st.lists(st.sampled_from(DATASETS[:3]), max_size=2, unique=True))
        outs = draw(st.lists(st.sampled_from(DATASETS[1:]), max_size=2, unique=True))
        edges += [(d, EdgeKind.INPUT_TO, job, {}) for d in ins]
        edges += [
            (job, EdgeKind.PRODUCES, d, {COLUMN_LINEAGE: True} if draw(st.booleans()) else {})
            for d in outs
        ]
    return edges, draw(st.sampled_from(COLUMNS[:6]))  # from d0 or d1: something downstream


def reference(
    edges: list[Edge], start: NodeKey, depth: int, include_indirect: bool = True
) -> tuple[dict[str, int], dict[str, int]]:
    """Distances over all impact steps and over exact ones, by networkx — no store involved.

    States: W (the whole node may change), F (entered from one column), A (every column of a
    dataset may change). A node's distance is its shortest over its states."""
    every, exact = nx.DiGraph(), nx.DiGraph()
    states = ("W", "F", "A")
    for src, kind, dst, props in edges:
        a, b = src.id, dst.id
        types = props.get("transformation_types") or []
        indirect = dst.kind is NodeKind.DATASET or (bool(types) and set(types) == {"INDIRECT"})
        links: list[tuple[tuple[str, str], tuple[str, str], bool]] = []  # (from, to, exact)
        if kind is EdgeKind.HAS_COLUMN:
            links += [((b, s), (a, "F"), True) for s in states]  # a column into its dataset
            links.append(((a, "A"), (b, "F"), True))  # every column of a dataset
        elif kind is EdgeKind.FEEDS and (include_indirect or not indirect):
            into = "A" if dst.kind is NodeKind.DATASET else "F"
            links += [((a, s), (b, into), True) for s in states]
        elif kind is EdgeKind.INPUT_TO:
            links += [((a, "W"), (b, "W"), False), ((a, "F"), (b, "F"), False)]
            links.append(((a, "A"), (b, "F"), False))
        elif kind is EdgeKind.PRODUCES:
            links.append(((a, "W"), (b, "W"), False))
            if not props.get(COLUMN_LINEAGE):  # column lineage is authoritative
                links.append(((a, "F"), (b, "W"), False))
        for x, y, is_exact in links:
            every.add_edge(x, y)
            if is_exact:
                exact.add_edge(x, y)

    def lengths(g: nx.DiGraph) -> dict[str, int]:
        if (start.id, "W") not in g:
            return {}
        found = nx.single_source_shortest_path_length(g, (start.id, "W"), cutoff=depth)
        best: dict[str, int] = {}
        for (node, _state), d in found.items():
            if node != start.id:
                best[node] = min(d, best.get(node, d))
        return best

    return lengths(every), lengths(exact)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(dags(), st.integers(1, 6), st.booleans())
def test_traversal_matches_reference_bfs(
    store: GraphStore, dag, depth: int, include_indirect: bool
) -> None:
    edges, start = dag
    store.clear()
    batch = MutationBatch()
    for src, kind, dst, props in edges:
        batch.edge(src, kind, dst, P, **props)
    batch.node(start, P)
    store.apply(batch)

    walk = walk_downstream(
        store, [start.id], depth=depth, as_of=None, max_nodes=10_000,
        include_indirect=include_indirect,
    )  # fmt: skip
    every, exact = reference(edges, start, depth, include_indirect)
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
    counting = counted(store)
    answer = impact(counting.store, start.id, depth=25)
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
