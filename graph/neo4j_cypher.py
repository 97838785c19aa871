"""Cypher fragments every Neo4j statement of the store shares: which edges are valid now or as
of a time, what a read returns of a record, the seek by key, the typed relationship pattern,
and the chunking of UNWIND rows. Built from the vocabulary's enums only; nothing from input.
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from typing import Any, LiteralString

from lineage_kg.graph.model import EdgeKind
from lineage_kg.graph.neo4j_params import QuietList

CHUNK = 5_000  # rows per UNWIND statement: large enough to amortise, small enough for the heap


# Without $as_of: current edges only. With it: edges known by then and not yet retired then.
VALID_NOW_OR_AS_OF: LiteralString = (
    "CASE WHEN $as_of IS NULL THEN r.valid_to IS NULL "
    "ELSE r.first_seen <= $as_of AND (r.valid_to IS NULL OR $as_of < r.valid_to) END "
)


def typed(kinds: AbstractSet[EdgeKind]) -> str:
    """`:A|B|C` — relationship types from the vocabulary's enum only, so Neo4j reads just those
    relationship chains of a node instead of all of them (a dataset has a HAS_VERSION per run)."""
    return ":" + "|".join(sorted(EdgeKind(k).value for k in kinds))


# What a read returns of a record: all of it but the merge's bookkeeping, which no reader gets
# (`StoredNode.from_record` and `StoredEdge.from_record` drop it, graph/records.py): `_stamps`,
# the per-property stamps as a JSON string (about a fifth of a walk's answer in bytes at 10k:
# docs/benchmarks.md), and `_retired` (a node's remembered retirements). Neo4j 5 has no map
# exclusion without APOC: the map projection sets them to null. The merge's own loads
# (`Neo4jUnitOfWork`) read whole records.
NODE_VIEW: LiteralString = "n {.*, _stamps: null, _retired: null}"
EDGE_VIEW: LiteralString = "r {.*, _stamps: null}"


# Seek each id by the unique index, then expand from it: hinted, and the expansion in a subquery.
# Left to itself the planner sometimes started an OWNS read from the owners' side (a team owns
# thousands of assets): 460 ms a call instead of 5 (measured at 10k nodes, in about half the runs).
SEEK: LiteralString = "UNWIND $ids AS id MATCH (a:Node {key: id}) USING INDEX a:Node(key) "


def chunks(rows: list[Any]) -> Iterator[QuietList]:
    """`rows` a statement's worth at a time, each chunk a `QuietList`: packed as the list it is,
    never turned into text for the driver's debug log (graph/neo4j_params.py)."""
    for i in range(0, len(rows), CHUNK):
        yield QuietList(rows[i : i + CHUNK])
