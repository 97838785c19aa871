"""Ownership patterns (CODEOWNERS-style) → explicit ownership records, at sync time.

Mappers are pure functions of one logged record, so a pattern cannot be matched there: it is
matched here, against the nodes the store holds now (and the KPIs and decision points the
catalog itself defines), and each match is logged as an `ownership` record naming the pattern.
Assets that appear later are picked up by the next sync of the catalog; an unchanged match is a
duplicate record and writes nothing.

As in CODEOWNERS, for one asset and one ownership type the last matching assignment wins; an
assignment of another type (business, steward, …) adds to it.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import Any

from lineage_kg.graph.model import NodeKey
from lineage_kg.graph.store import GraphStore
from lineage_kg.ingest.catalog.owners import Aliases
from lineage_kg.ingest.catalog.records import Assignment, OwnershipRecord, Row, validated
from lineage_kg.ingest.source_sync import SyncReport


def ownership_records(
    rows: list[Row],
    store: GraphStore,
    canon: Aliases,
    report: SyncReport,
    defined: Iterable[NodeKey] = (),
) -> list[dict[str, Any]]:
    """One `ownership` record body per (asset, ownership type) some assignment matches."""
    assignments = validated(Assignment, rows, report)
    if not assignments:
        return []
    kinds = {k for a in assignments for k in a.kinds}
    candidates = {n.key for n in store.iter_nodes() if n.key.kind in kinds}
    candidates.update(k for k in defined if k.kind in kinds)
    winner: dict[tuple[NodeKey, str], Assignment] = {}
    matched = 0
    for assignment in assignments:
        hits = [
            key
            for key in candidates
            if key.kind in assignment.kinds and fnmatchcase(key.display, assignment.pattern)
        ]
        matched += bool(hits)
        for key in hits:
            winner[(key, assignment.type)] = assignment
    report.count("ownership patterns", len(assignments))
    report.count("patterns matching nothing", len(assignments) - matched)
    report.count("assets matched by patterns", len({key for key, _ in winner}))
    return [
        OwnershipRecord(
            asset=key.id, owners=canon.all(a.owners), type=kind, pattern=a.pattern
        ).model_dump(mode="json")
        for (key, kind), a in sorted(winner.items(), key=lambda item: (item[0][0].id, item[0][1]))
    ]
