"""Reading the plans Neo4j makes for our statements, for the tests that check a statement starts
from a unique index seek and scans no label or relationship type (one copy, used by
tests/integration/test_neo4j_plans.py, test_neo4j_read_plans.py, test_neo4j_walk_oracle.py and
tests/contract/test_walk_by_ids.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lineage_kg.graph.neo4j_store import Neo4jStore

# matched as parts of operator names: covers the Directed/Undirected and Partitioned variants
SCANS = ("AllNodesScan", "NodeByLabelScan", "RelationshipTypeScan", "RelationshipIndexScan")
UNIQUE_SEEK = "NodeUniqueIndexSeek"


def operators(plan: Mapping[str, Any]) -> list[str]:
    found = [str(plan["operatorType"]).split("@")[0]]
    for child in plan.get("children", []):
        found += operators(child)
    return found


def explain(store: Neo4jStore, query: str, **params: Any) -> list[str]:
    """The operators of the plan Neo4j makes for `query` on the graph as it is now: the indexes
    resampled and the plan cache emptied first (`db.prepareForReplanning`), so neither a plan
    cached by an earlier test nor index statistics left by an earlier, larger graph is what is
    checked (ci17 and ci37 each saw a read without its index seek on a worker's long-used
    server, after thousands of nodes came and went; never reproduced alone)."""
    with store._driver.session(database=store.database) as session:
        session.run("CALL db.prepareForReplanning()").consume()
        plan = session.run("EXPLAIN " + query, params).consume().plan  # type: ignore[arg-type]
    assert plan is not None, "EXPLAIN gave no plan"
    return operators(plan)


def scans_in(ops: list[str]) -> list[str]:
    return [op for op in ops if any(scan in op for scan in SCANS)]


def seeks_without_scans(ops: list[str], seeks: int = 1, seek: str = UNIQUE_SEEK) -> bool:
    """At least `seeks` index seeks of the kind given, and no scan of a label or a type."""
    return ops.count(seek) >= seeks and not scans_in(ops)


def assert_seeks_without_scans(
    store: Neo4jStore, query: str, params: Mapping[str, Any], seeks: int = 1
) -> None:
    ops = explain(store, query, **params)
    assert seeks_without_scans(ops, seeks), f"{seeks} unique seek(s), no scan; the plan: {ops}"
