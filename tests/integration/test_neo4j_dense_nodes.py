"""A table everyone reads or writes (a dimension, a shared sink) is a dense node: the projector's
loads of edges at it must read from the pair's sparse end, whichever end that is.

Measured in Neo4j's own units (PROFILE db hits), not time: a load of R edges at a node with D
relationships of the kind must cost about R, not R x D. Written as one MATCH, the planner
expanded every relationship of one end and filtered on the other (1.5M db hits for 500 rows at
3,000 readers); it did so for whichever end it happened to plan from.
"""

from __future__ import annotations

from typing import Any

import neo4j
import pytest

from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import MutationBatch, Provenance
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.graph.neo4j_unit_of_work import _LOAD_EDGES
from tests.conftest import Neo4jInfo

pytestmark = pytest.mark.neo4j

DEGREE = 2_000  # relationships of the kind at the dense end
ROWS = 200  # edges loaded at once
PER_ROW = 40  # db hits a row may cost: seeks, the pair's check from its sparse end, properties


def dataset(name: str) -> NodeKey:
    return NodeKey.of(NodeKind.DATASET, namespace="dense", name=name)


def job(i: int) -> NodeKey:
    return NodeKey.of(NodeKind.JOB, namespace="dense", name=f"job{i}")


def db_hits(plan: Any) -> int:
    return int(plan.get("dbHits", 0)) + sum(db_hits(c) for c in plan.get("children", []))


@pytest.fixture
def dense(neo4j_store: Neo4jStore) -> Neo4jStore:
    """`hub` read by every job (dense at the source), `sink` written by every job (dense at the
    destination)."""
    p = Provenance("test", "e1", "2026-11-01T00:00:00Z")
    batch = MutationBatch()
    for i in range(DEGREE):
        batch.edge(dataset("hub"), EdgeKind.INPUT_TO, job(i), p)
        batch.edge(job(i), EdgeKind.PRODUCES, dataset("sink"), p)
    neo4j_store.apply(batch)
    return neo4j_store


@pytest.mark.parametrize(
    ("kind", "pair"),
    [
        (EdgeKind.INPUT_TO, lambda i: (dataset("hub"), job(i))),  # the dense end is the source
        (EdgeKind.PRODUCES, lambda i: (job(i), dataset("sink"))),  # the dense end is the target
    ],
)
def test_loading_edges_at_a_dense_node_reads_from_the_sparse_end(
    dense: Neo4jStore, neo4j_server: Neo4jInfo, kind: EdgeKind, pair: Any
) -> None:
    rows = [{"src": a.id, "dst": b.id, "disc": ""} for a, b in map(pair, range(0, DEGREE, 10))]
    assert len(rows) == ROWS
    with neo4j.GraphDatabase.driver(
        neo4j_server.uri, auth=(neo4j_server.user, neo4j_server.password)
    ) as driver:
        found = driver.execute_query(_LOAD_EDGES[kind], rows=rows).records
        assert len(found) == ROWS  # every edge asked for, found
        summary = driver.execute_query("PROFILE " + _LOAD_EDGES[kind], rows=rows).summary
    assert summary.profile is not None
    hits = db_hits(summary.profile)
    assert hits <= PER_ROW * ROWS, f"{hits} db hits for {ROWS} rows at degree {DEGREE}"
