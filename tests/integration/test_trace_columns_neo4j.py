"""The decision trace's read by path edges answers in columns (session 30:
graph/neo4j_trace_evidence.py `by_path_edges_query`): a list per field of the path edges, the
nodes and the part edges, the nodes' props as three flat lists. Pinned here on a chain asked
before its path edges were retired (the walk walks them: their `retired_by`, a value the
statement takes by a list comprehension, null for the others, must stay in its place), with a
column of two datasets (its asset: the first part edge by edge id), nodes with and without
props, a node and path edges seen again later (their first and last differ): the read's answer
is the embedded store's `nodes_assets_and_owners` (an independent implementation), each path
edge's events are `iter_edges`', the statement by path edges ran alone, and the whole trace on
Neo4j is the embedded store's."""

from __future__ import annotations

import pytest

from lineage_kg.graph import neo4j_trace_evidence
from lineage_kg.graph.mutations import Direction, EdgeRetire, MutationBatch, Provenance
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.assets import PART_KINDS
from lineage_kg.queries.decision_trace import decision_lineage
from tests.integration.test_trace_by_path_edges_neo4j import (
    COLUMNS,
    DATASETS,
    FEATURES,
    MV,
    OWNERS,
    SERVICE,
    TIMES,
    VIEWS,
    E,
    _asked,
    _same_answer,
    _Statements,
    _walked,
)

pytestmark = pytest.mark.neo4j


def _chain() -> list[MutationBatch]:
    first, later = MutationBatch(), MutationBatch()
    p = Provenance("test", "e-first", TIMES[0])
    first.node(MV, p, description="the model version")
    first.node(FEATURES[0], p, dtype="Int64", tags=["a", "b"])
    first.node(VIEWS[0], p, ttl_seconds=86400, online=True, entities=["customer"])
    first.edge(SERVICE, E.FEEDS, MV, p)
    first.edge(COLUMNS[0], E.FEEDS, MV, p)
    first.edge(COLUMNS[4], E.FEEDS, COLUMNS[0], p)
    first.edge(VIEWS[0], E.SERVES_FEATURES, SERVICE, p)
    first.edge(FEATURES[0], E.SERVES_FEATURES, SERVICE, p)
    first.edge(VIEWS[0], E.HAS_FEATURE, FEATURES[0], p)
    first.edge(DATASETS[2], E.SOURCES, VIEWS[0], p)
    for dataset in (DATASETS[1], DATASETS[0]):  # a column of two datasets
        first.edge(dataset, E.HAS_COLUMN, COLUMNS[0], p)
    first.edge(DATASETS[1], E.HAS_COLUMN, COLUMNS[4], p)
    first.edge(OWNERS[0], E.OWNS, DATASETS[0], p)
    first.edge(OWNERS[1], E.OWNS, DATASETS[1], p)
    first.edge(OWNERS[2], E.OWNS, FEATURES[0], p)
    first.edge(OWNERS[2], E.ALIAS_OF, OWNERS[1], p)
    # seen again (first and last seen and events differ), then the model version's FEEDS
    # edges retired: walked when asked before
    again = MutationBatch()
    m = Provenance("test", "e-again", TIMES[2])
    again.node(FEATURES[0], m, dtype="Int64", tags=["a", "b", "c"])
    again.edge(COLUMNS[4], E.FEEDS, COLUMNS[0], m)
    again.edge(FEATURES[0], E.SERVES_FEATURES, SERVICE, m)
    q = Provenance("test", "e-later", TIMES[3])
    later.add(EdgeRetire(MV, E.FEEDS, Direction.IN, frozenset(), q))
    return [first, again, later]


@pytest.mark.parametrize("as_of", [TIMES[1], None])
def test_the_columns_hold_each_value_in_its_place(
    both_stores: tuple[GraphStore, GraphStore], as_of: str | None
) -> None:
    embedded, neo4j = both_stores
    assert isinstance(neo4j, Neo4jStore)
    for store in (embedded, neo4j):
        for batch in _chain():
            store.apply(batch)
    walked = _walked(neo4j, 6, as_of)
    node_ids, ids, parts, only = _asked(walked)
    every = {e.key.id: e for e in embedded.iter_edges()}
    if as_of is not None:  # the retired edges are walked, and shown
        assert len(node_ids) >= 5 and sum(every[e].retired_by is not None for e in only) == 2
        assert COLUMNS[0].id in parts[Direction.IN]
    paths = walked.visits.path_edges if walked is not None and walked.visits else None
    statements = _Statements(neo4j)
    *got, evidence = neo4j.nodes_assets_owners_and_evidence(
        node_ids, ids, parts, PART_KINDS, as_of, path_edges=paths, only=only
    )
    _same_answer(got, embedded.nodes_assets_and_owners(node_ids, ids, parts, PART_KINDS, as_of))
    assert evidence == {
        eid: (every[eid].first_event, every[eid].last_event, every[eid].retired_by) for eid in only
    }
    if only:
        in_kinds = frozenset(PART_KINDS[Direction.IN])
        assert statements.ran == [neo4j_trace_evidence.by_path_edges_query(in_kinds)]
    neo4j._read = statements._inner  # type: ignore[method-assign]
    assert decision_lineage(neo4j, MV.id, depth=6, as_of=as_of) == decision_lineage(
        embedded, MV.id, depth=6, as_of=as_of
    )
