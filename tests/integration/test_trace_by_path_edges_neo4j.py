"""The decision trace's last read on Neo4j with the feature nodes found by their path edges
(session 29: graph/neo4j_trace_evidence.py `by_path_edges_query`), on generated feature chains —
features, views, a feature service, columns (some of two datasets) feeding each other, a KPI,
owners of nodes and of parts, aliases, edges retired, asked now and earlier, at several depths:

- the read answers what the embedded store's `nodes_assets_and_owners` answers (an independent
  implementation: its reads one by one) and each path edge's events as `iter_edges` reads them,
  and on Neo4j it is the statement that ran;
- the whole trace on Neo4j is the embedded store's;
- an element id that no longer names the edge asked (reused since the walk) is refused: the read
  falls back to the statement by keys, whose answer it then is.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from lineage_kg.graph import neo4j_trace_evidence
from lineage_kg.graph.model import EdgeKind, NodeKey
from lineage_kg.graph.model import NodeKind as K
from lineage_kg.graph.mutations import Direction, EdgeRetire, MutationBatch, Provenance
from lineage_kg.graph.neo4j_path_edges import PathEdges
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.graph.store import GraphStore
from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.queries import decision_trace
from lineage_kg.queries.assets import PART_KINDS, PART_OF
from lineage_kg.queries.decision_trace import decision_lineage

pytestmark = pytest.mark.neo4j

E = EdgeKind
TIMES = [canonical_time(f"2026-04-0{d}T0{h}:00:00Z") for d in (1, 2, 3) for h in (1, 5)]
MV = NodeKey.of(K.MODEL_VERSION, registry="mlflow", name="m", version="1")
SERVICE = NodeKey.of(K.FEATURE_SERVICE, project="p", name="svc")
KPI = NodeKey.of(K.KPI, name="k")
VIEWS = [NodeKey.of(K.FEATURE_VIEW, project="p", name=f"v{i}") for i in range(2)]
FEATURES = [NodeKey.of(K.FEATURE, project="p", view=f"v{i % 2}", name=f"f{i}") for i in range(4)]
DATASETS = [NodeKey.of(K.DATASET, namespace="db", name=f"t{i}") for i in range(3)]
COLUMNS = [
    NodeKey.of(K.COLUMN, namespace="db", name=f"t{i}", field=f"c{j}")
    for i in range(3)
    for j in range(3)
]
OWNERS = [NodeKey.of(K.OWNER, owner_id=f"team:{i}") for i in range(3)]
OWNED = [MV, SERVICE, *VIEWS, *FEATURES, *DATASETS, *COLUMNS]
# (kind, sources, targets): what a feature chain is made of
EDGES = [
    (E.FEEDS, [SERVICE, *FEATURES, *COLUMNS[:3], KPI], [MV]),
    (E.SERVES_FEATURES, [*VIEWS, *FEATURES], [SERVICE]),
    (E.HAS_FEATURE, VIEWS, FEATURES),
    (E.SOURCES, DATASETS, VIEWS),
    (E.FEEDS, COLUMNS, [*FEATURES, *COLUMNS]),
    (E.HAS_COLUMN, DATASETS, COLUMNS),
    (E.OWNS, OWNERS, OWNED),
    (E.ALIAS_OF, OWNERS, OWNERS),
]


@st.composite
def feature_chains(draw: st.DrawFn) -> list[MutationBatch]:
    """A batch per event time: each column in its own dataset (and now and then a second), a
    feature in its view, then random edges of the chain's kinds, owners and aliases among them,
    and some of them retired at a later time."""
    batches: dict[str, MutationBatch] = {}

    def at(time: str) -> tuple[MutationBatch, Provenance]:
        return batches.setdefault(time, MutationBatch()), Provenance("test", f"e-{time}", time)

    b, p = at(TIMES[0])
    b.node(MV, p, description="the model version")
    for column in COLUMNS:
        b, p = at(draw(st.sampled_from(TIMES)))
        b.edge(DATASETS[int(column.parts[1][1])], E.HAS_COLUMN, column, p, note=column.parts[2])
    for i, feature in enumerate(FEATURES):
        b, p = at(draw(st.sampled_from(TIMES)))
        b.edge(VIEWS[i % 2], E.HAS_FEATURE, feature, p)
    b, p = at(TIMES[0])
    b.edge(draw(st.sampled_from([SERVICE, *FEATURES])), E.FEEDS, MV, p)
    for _ in range(draw(st.integers(4, 40))):
        kind, srcs, dsts = draw(st.sampled_from(EDGES))
        src, dst = draw(st.sampled_from(srcs)), draw(st.sampled_from(dsts))
        if src == dst:
            continue
        b, p = at(draw(st.sampled_from(TIMES)))
        b.edge(src, kind, dst, p, disc=draw(st.sampled_from(["", "business"])))
    for _ in range(draw(st.integers(0, 3))):  # retired from the third time on
        kind, srcs, dsts = draw(st.sampled_from(EDGES))
        b, p = at(draw(st.sampled_from(TIMES[3:])))
        b.add(EdgeRetire(draw(st.sampled_from(dsts)), kind, Direction.IN, frozenset(), p))
    return [batches[t] for t in sorted(batches)]


def _walked(store: GraphStore, depth: int, as_of: str | None) -> Any:
    top = SimpleNamespace(distance=0, node=SimpleNamespace(id=MV.id))
    return decision_trace._feature_walk(store, [top], depth, as_of, 100_000)  # type: ignore[list-item]


def _asked(walked: Any) -> tuple[list[str], list[str], dict[Direction, list[str]], list[Any]]:
    """What the trace asks of the read: its feature nodes, the ids owned (those and a few
    others), their parts, and the path edges the steps show."""
    node_ids = decision_trace._feature_ids(walked)
    ids = [*node_ids, MV.id, DATASETS[0].id, OWNED[-1].id]
    parts: dict[Direction, list[str]] = {}
    for node_id in node_ids:
        if (kind := NodeKey.from_id(node_id).kind) in PART_OF:
            parts.setdefault(PART_OF[kind][1], []).append(node_id)
    return node_ids, ids, parts, decision_trace._edges_shown(walked)


class _Statements:
    """The statements a store runs (their text)."""

    def __init__(self, store: Neo4jStore) -> None:
        self.ran: list[str] = []
        self._inner = store._read

        def read(query: Any, **params: Any) -> list[Any]:
            self.ran.append(query)
            return self._inner(query, **params)

        store._read = read  # type: ignore[method-assign]


def _same_answer(got: Any, want: Any) -> None:
    nodes, asset_of, owns, aliases = got
    assert nodes == want[0]
    assert asset_of == want[1]
    assert sorted(owns) == sorted(want[2])
    assert sorted(aliases) == sorted(want[3])


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(feature_chains(), st.integers(1, 6), st.sampled_from([None, TIMES[2], TIMES[4]]))
def test_the_read_by_path_edges_is_the_reads_it_stands_for(
    both_stores: tuple[GraphStore, GraphStore],
    batches: list[MutationBatch],
    depth: int,
    as_of: Any,
) -> None:
    embedded, neo4j = both_stores
    assert isinstance(neo4j, Neo4jStore)
    for store in (embedded, neo4j):
        store.clear()
        for batch in batches:
            store.apply(batch)
    walked = _walked(neo4j, depth, as_of)
    node_ids, ids, parts, only = _asked(walked)
    event(f"feature nodes: {min(len(node_ids), 10)}+, parts: {len(parts.get(Direction.IN, []))}")
    paths = walked.visits.path_edges if walked is not None and walked.visits else None
    statements = _Statements(neo4j)
    *got, evidence = neo4j.nodes_assets_owners_and_evidence(
        node_ids, ids, parts, PART_KINDS, as_of, path_edges=paths, only=only
    )
    want = embedded.nodes_assets_and_owners(node_ids, ids, parts, PART_KINDS, as_of)
    _same_answer(got, want)
    every = {e.key.id: e for e in embedded.iter_edges()}
    assert evidence == {
        eid: (every[eid].first_event, every[eid].last_event, every[eid].retired_by) for eid in only
    }
    if only and parts.get(Direction.IN):  # the read by path edges, alone
        event("by path edges")
        assert statements.ran == [
            neo4j_trace_evidence.by_path_edges_query(frozenset(PART_KINDS[Direction.IN]))
        ]
    # the whole trace, on each store
    neo4j._read = statements._inner  # type: ignore[method-assign]
    assert decision_lineage(neo4j, MV.id, depth=depth, as_of=as_of) == decision_lineage(
        embedded, MV.id, depth=depth, as_of=as_of
    )


def test_an_element_id_reused_falls_back_to_the_read_by_keys(
    both_stores: tuple[GraphStore, GraphStore],
) -> None:
    """One path edge's element id pointed at another edge (an OWNS edge, not asked): its row is
    refused, its node is then unanswered, and the read by keys answers (with that edge's evidence
    absent, as that read leaves it: read whole if asked)."""
    embedded, neo4j = both_stores
    assert isinstance(neo4j, Neo4jStore)
    b, p = MutationBatch(), Provenance("test", "e-1", TIMES[0])
    b.node(MV, p)
    b.edge(SERVICE, E.FEEDS, MV, p)
    b.edge(VIEWS[0], E.SERVES_FEATURES, SERVICE, p)
    b.edge(DATASETS[0], E.SOURCES, VIEWS[0], p)
    b.edge(OWNERS[0], E.OWNS, DATASETS[0], p)
    b.edge(OWNERS[1], E.OWNS, SERVICE, p)
    b.edge(COLUMNS[0], E.FEEDS, MV, p)
    b.edge(DATASETS[0], E.HAS_COLUMN, COLUMNS[0], p)
    for store in (embedded, neo4j):
        store.apply(b)
    walked = _walked(neo4j, 5, None)
    node_ids, ids, parts, only = _asked(walked)
    paths = walked.visits.path_edges
    assert isinstance(paths, PathEdges) and parts and len(only) == len(node_ids) == 4
    (owns_eid,) = [
        eid
        for eid in [e.key.id for e in neo4j.iter_edges()]
        if eid[1] == "OWNS" and eid[2] == SERVICE.id
    ]
    (row,) = neo4j._read(
        "MATCH (a:Node {key: $src})-[r:OWNS]->(b:Node {key: $dst}) RETURN elementId(r) AS e",
        src=owns_eid[0],
        dst=owns_eid[2],
    )
    reused = next(e for e in only if e[0] == SERVICE.id)
    paths.elements[reused] = row["e"]
    statements = _Statements(neo4j)
    *got, evidence = neo4j.nodes_assets_owners_and_evidence(
        node_ids, ids, parts, PART_KINDS, None, path_edges=paths, only=only
    )
    by_edges = neo4j_trace_evidence.by_path_edges_query(frozenset(PART_KINDS[Direction.IN]))
    assert statements.ran[0] == by_edges and len(statements.ran) == 2  # then by keys
    _same_answer(got, embedded.nodes_assets_and_owners(node_ids, ids, parts, PART_KINDS, None))
    every = {e.key.id: e for e in embedded.iter_edges()}
    assert evidence == {
        eid: (every[eid].first_event, every[eid].last_event, every[eid].retired_by)
        for eid in only
        if eid != reused
    }
