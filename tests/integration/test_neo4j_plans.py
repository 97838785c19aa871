"""Every neighbour read on Neo4j starts from the unique index on the ids it is given and expands
from there. The planner once chose otherwise for OWNS (starting from the owners, whose teams
own thousands of assets): an impact answer took 400 ms instead of 60, in about half the runs.
The statements are hinted now; this checks the plans Neo4j actually makes for them."""

from __future__ import annotations

from typing import Any

import pytest

from lineage_kg.graph.model import EdgeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.neo4j_store import Neo4jStore, _each_way_query, _neighbors_query
from lineage_kg.graph.neo4j_unit_of_work import (
    _LOAD_AROUND,
    _LOAD_IN,
    _LOAD_NODES_AND_ALIASES,
    _LOAD_OUT,
    LOAD_ALIASES,
    LOAD_ALIASES_TO,
)
from lineage_kg.ingest.demo import demo_batch
from lineage_kg.queries.impact import IMPACT_STEPS
from tests.neo4j_plans import explain, seeks_without_scans

pytestmark = pytest.mark.neo4j


def statements() -> list[tuple[str, str, dict[str, Any]]]:
    ids = {"ids": ["x"], "as_of": None}
    found = [
        (f"neighbors {d} {k}", _neighbors_query(d, frozenset([k])), ids)
        for d in Direction
        for k in EdgeKind
    ]
    found.append(("neighbors any kind", _neighbors_query(Direction.OUT, None), ids))
    out = frozenset(s.kind for s in IMPACT_STEPS if s.direction is Direction.OUT)
    into = frozenset(s.kind for s in IMPACT_STEPS if s.direction is Direction.IN)
    found.append(("impact level", _each_way_query(out, into), ids))
    found += [(f"load out {k}", q, {"anchors": ["x"]}) for k, q in _LOAD_OUT.items()]
    found += [(f"load in {k}", q, {"anchors": ["x"]}) for k, q in _LOAD_IN.items()]
    return found


def test_every_neighbour_read_seeks_its_ids_then_expands(neo4j_store: Neo4jStore) -> None:
    neo4j_store.apply(demo_batch())  # statistics with owners, columns and flow edges in them
    bad = {}
    for name, query, params in statements():
        ops = explain(neo4j_store, query, **params)
        if not seeks_without_scans(ops):
            bad[name] = ops
    assert bad == {}, "\n".join(f"{name}: {ops}" for name, ops in bad.items())


def test_alias_table_reads_seek_by_index(neo4j_store: Neo4jStore) -> None:
    """The statements of symlinked names (graph/merge.py): the batch's nodes and its names' alias
    rows in one statement, each half by its unique index; the rarer reads by theirs."""
    neo4j_store.apply(demo_batch())
    both = {"ids": ["x"], "names": ["y"]}
    checked = [
        ("nodes and aliases", _LOAD_NODES_AND_ALIASES, both, 2),
        ("aliases", LOAD_ALIASES, {"names": ["y"]}, 1),
        ("around", _LOAD_AROUND, {"ids": ["x"]}, 1),
    ]
    bad = {}
    for name, query, params, seeks in checked:
        ops = explain(neo4j_store, query, **params)
        if not seeks_without_scans(ops, seeks):
            bad[name] = ops
    ops = explain(neo4j_store, LOAD_ALIASES_TO, ids=["x"])
    if not seeks_without_scans(ops, seek="NodeIndexSeek"):
        bad["aliases to"] = ops
    assert bad == {}, "\n".join(f"{name}: {ops}" for name, ops in bad.items())


def test_the_check_sees_a_scan_and_a_missing_seek(neo4j_store: Neo4jStore) -> None:
    """The plan check itself can fail: a read by a property no index covers scans the label."""
    neo4j_store.apply(demo_batch())
    ops = explain(neo4j_store, "MATCH (n:Node) WHERE n.kind = $kind RETURN n.id", kind="dataset")
    assert "NodeByLabelScan" in ops
    assert not seeks_without_scans(ops)
    seek = explain(neo4j_store, "MATCH (n:Node {key: $key}) RETURN n.key", key="x")
    assert seeks_without_scans(seek)
