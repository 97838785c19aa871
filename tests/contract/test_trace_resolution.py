"""The decision trace from a side-table decision (issue 19, target 1, session 25): the version that
made it is found from edges alone (`queries.decisions.resolve_unread`) and its record read with
the data chain's read-ahead. On both stores the trace's model versions are exactly what
`resolve` answers (node, edge, resolution, detail), whatever the read-ahead holds; on Neo4j the
resolution costs its edge reads only (one or two), and `resolve` itself one node read more.

The decisions and graph are test_decisions.py's: every way a version is resolved (named, alias,
alias unset, deployment, two deployed, none deployed then)."""

from __future__ import annotations

import pytest

from lineage_kg.graph.model import EdgeKind as E
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.graph.sides.decisions import DecisionTable
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries import decision_trace
from lineage_kg.queries.decision_trace import decision_lineage
from lineage_kg.queries.decisions import Resolution, Unread, resolve, resolve_unread
from tests.contract.test_decisions import table  # noqa: F401  (the fixture)
from tests.integration.test_trace_reads_neo4j import Counted

DECISIONS = [
    "sd-named",
    "sd-alias-early",
    "sd-alias-late",
    "sd-alias-before",
    "sd-alias-unset",
    "sd-deployed-v4",
    "sd-deployed-v5",
    "sd-canary",
    "sd-undeployed",
]


@pytest.mark.parametrize("decision_id", DECISIONS)
def test_the_traces_versions_are_what_resolve_answers(
    store: GraphStore,
    table: DecisionTable,  # noqa: F811
    decision_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    row = table.get(decision_id)
    assert row is not None
    want = resolve(store, row)
    trace = decision_lineage(store, decision_id, decisions=table)
    assert [(s.node, s.resolution, s.detail, s.edge, s.via) for s in trace.model_versions] == [
        (
            link.node,
            want.resolution,
            want.detail,
            link.edge.key.kind if link.edge is not None else E.DECIDED,
            trace.start.id,
        )
        for link in want.versions
    ]
    # the versions' evidence: their records' events and the linking edge's
    for step, link in zip(trace.model_versions, want.versions, strict=True):
        assert link.node.first_event in step.evidence
        assert link.edge is None or link.edge.first_event in step.evidence
    # the same with the read-ahead off (the versions' records read from the store)
    with monkeypatch.context() as m:
        m.setattr(decision_trace, "read_ahead", lambda *a: None)
        assert decision_lineage(store, decision_id, decisions=table) == trace


def test_a_named_version_missing_from_the_graph_is_unresolved(
    store: GraphStore,
    table: DecisionTable,  # noqa: F811
) -> None:
    row = table.get("sd-named")
    assert row is not None and row.version_key is not None
    found = resolve_unread(store, row)
    assert isinstance(found, Unread) and found.ids == [row.version_key.id]
    missing = found.read({})  # its record not found
    assert (missing.resolution, missing.versions, missing.detail) == (
        Resolution.UNRESOLVED, [], "mlflow/credit-risk@4 is not in the graph",
    )  # fmt: skip


# the resolution's edge reads on Neo4j: a named version's DECIDED edges; an alias's ALIAS edges;
# the decision point's deployments now and then (and, none serving, its deployments at all);
# an alias unset then: its ALIAS edges, then the model's versions and their records (it
# filters on them)
_EDGE_READS = {
    "sd-named": 1,
    "sd-alias-early": 1,
    "sd-alias-late": 1,
    "sd-alias-unset": 3,
    "sd-deployed-v4": 2,
    "sd-deployed-v5": 2,
    "sd-canary": 2,
    "sd-undeployed": 3,
}

# ... and the trace's own (session 31, the same answers: tests/integration/
# test_trace_resolution_s31.py): a named version's DECIDED edges come with the read-ahead's nodes;
# the point's deployments now and then (and now again, none serving) are one read
_TRACE_EDGE_READS = _EDGE_READS | {
    "sd-named": 0,
    "sd-deployed-v4": 1,
    "sd-deployed-v5": 1,
    "sd-canary": 1,
    "sd-undeployed": 1,
}


@pytest.mark.neo4j
@pytest.mark.parametrize("store", ["neo4j"], indirect=True)  # the table is on the store's graph
@pytest.mark.parametrize("decision_id", sorted(_EDGE_READS))
def test_the_versions_records_come_with_the_read_ahead(
    store: GraphStore,
    table: DecisionTable,  # noqa: F811
    decision_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    row = table.get(decision_id)
    assert row is not None and isinstance(store, Neo4jStore)
    neo4j_store = store
    reads = Counted(neo4j_store, monkeypatch)
    found = resolve_unread(neo4j_store, row)
    assert (reads.reads, reads.walks) == (_EDGE_READS[decision_id], 0)
    reads = Counted(neo4j_store, monkeypatch)
    assert resolve(neo4j_store, row).versions
    # `resolve` reads the versions' records once (a deployment's were read twice before)
    assert (reads.reads, reads.walks) == (_EDGE_READS[decision_id] + isinstance(found, Unread), 0)
    counted = Counted(neo4j_store, monkeypatch)
    decision_lineage(neo4j_store, decision_id, decisions=table)
    # the resolution's edges; the data chain's nodes with the versions' (read ahead); the
    # feature nodes with the owners and the feature chain's parts' assets (v4's: v5 and v6 have
    # no features, and the data chain's are read ahead) (walk statements apart)
    assert counted.walks >= 1
    want = _TRACE_EDGE_READS[decision_id] + 2
    assert counted.reads == want, (counted.reads, counted.walks)
