"""The decision trace's last read on Neo4j with its path edges' events alone (issue 19, target 1,
session 27: graph/neo4j_trace_evidence.py), against an independent reading: each pending path
edge of the feature chain's walk gets the first, last and retiring events of its record as
`iter_edges` reads it, the path edges stay pending, and the rest of the answer is
`nodes_assets_and_owners`'. (The trace's steps built from them are held to `events` of the edges on
both stores by tests/contract/test_trace_feature_steps.py.)"""

from __future__ import annotations

import pytest

from lineage_kg.graph.model import KEY_FIELDS, NodeKey, NodeKind
from lineage_kg.graph.model import EdgeKind as E
from lineage_kg.graph.mutations import Direction, MutationBatch, Provenance
from lineage_kg.graph.neo4j_path_edges import PathEdges
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.queries import decision_trace
from lineage_kg.queries.assets import PART_KINDS, PART_OF
from lineage_kg.queries.traversal import walk_visits
from tests.contract.conftest import ValueChain, value_chain_batches
from tests.contract.test_trace_feature_steps import THEN, _owned_parts_and_a_retired_edge

pytestmark = pytest.mark.neo4j


def test_the_path_edges_events_alone(neo4j_store: Neo4jStore) -> None:
    v = ValueChain()
    for batch in value_chain_batches(v):
        neo4j_store.apply(batch)
    _owned_parts_and_a_retired_edge(neo4j_store, v)
    again = MutationBatch()  # a path edge asserted twice: its first and last events differ
    again.edge(v.feature, E.FEEDS, v.mv4, Provenance("test", "ev-again", "2026-07-01T00:00:00Z"))
    neo4j_store.apply(again)
    visits = walk_visits(
        neo4j_store, [v.mv4.id], decision_trace._FEATURE_STEPS, max_depth=10, as_of=THEN
    )
    paths = visits.path_edges
    assert isinstance(paths, PathEdges) and paths.pending
    pending = set(paths.pending)
    node_ids = sorted(set(visits.node))
    parts: dict[Direction, list[str]] = {}
    for node_id in node_ids:
        if (kind := NodeKey.from_id(node_id).kind) in PART_OF:
            parts.setdefault(PART_OF[kind][1], []).append(node_id)
    assert parts
    kinds = PART_KINDS
    *rest, evidence = neo4j_store.nodes_assets_owners_and_evidence(
        node_ids, node_ids, parts, kinds, as_of=THEN, path_edges=paths
    )
    assert set(paths.pending) == pending  # not filled: their records were not read
    every = {e.key.id: e for e in neo4j_store.iter_edges()}
    assert evidence == {
        eid: (every[eid].first_event, every[eid].last_event, every[eid].retired_by)
        for eid in pending
    }
    assert any(retired for _, _, retired in evidence.values())  # the FEEDS edge retired since
    assert any(first != last for first, last, _ in evidence.values())
    whole = neo4j_store.nodes_assets_and_owners(node_ids, node_ids, parts, kinds, THEN)
    assert tuple(rest) == whole
    assert rest[1] and rest[2]  # assets and owners found
    # `only`: those of the pending edges alone
    some = sorted(pending)[::2]
    *_, part = neo4j_store.nodes_assets_owners_and_evidence(
        node_ids, node_ids, parts, kinds, as_of=THEN, path_edges=paths, only=[*some, *some]
    )
    assert part == {eid: evidence[eid] for eid in some} and 0 < len(part) < len(evidence)


def test_the_nodes_rows_are_their_records(neo4j_store: Neo4jStore) -> None:
    """The evidence form answers each node as a row of scalars (`NODE_ROW`, its props filtered on
    the server by its kind): a node of every kind, holding as props the key fields of the other
    kinds and values of every type, is `get_nodes`' (`StoredNode.from_record`), props in order."""
    p = Provenance("test", "ev-kinds", "2026-05-01T00:00:00Z")
    others = {name for fields in KEY_FIELDS.values() for name in fields}
    b, keys = MutationBatch(), []
    for i, kind in enumerate(NodeKind):
        key = NodeKey(kind, tuple(f"{kind.value}-{j}" for j in range(len(KEY_FIELDS[kind]))))
        props = {name: f"{name}-{i}" for name in sorted(others - set(KEY_FIELDS[kind]))}
        props |= {"zeta": [1, 2], "alpha": i % 2 == 0, "mid": 1.5 * i, "count": i}
        keys.append(b.node(key, p, **props))
    bare = b.node(NodeKey.of(NodeKind.COLUMN, namespace="n", name="t", field="c"), p)
    neo4j_store.apply(b)
    ids = [k.id for k in [*keys, bare]]
    nodes, *_ = neo4j_store.nodes_assets_owners_and_evidence(ids, ids, {}, {})
    expected = neo4j_store.get_nodes(ids)
    assert [(n, list(n.props.items())) for n in nodes] == [
        (n, list(n.props.items())) for n in expected
    ]
    assert len(nodes) == len(ids) and nodes[-1].props == {} and all(n.props for n in nodes[:-1])
