"""A catalog (one or more YAML files) → the records to log: people, teams, KPIs, decision
points, and the ownership its patterns find in the store now.

The records carry the catalog's `as_of:` time when it has one, else the time of the sync: the
latest catalog wins over what an older one said, and an unchanged entry is a duplicate record
(its identity is its content) that writes nothing.
"""

from __future__ import annotations

from pathlib import Path

from lineage_kg.graph.model import NodeKey, NodeKind
from lineage_kg.graph.store import GraphStore
from lineage_kg.graph.timefmt import now
from lineage_kg.ingest.catalog.kpis import catalog_kpis
from lineage_kg.ingest.catalog.mapping import DECISION_POINT, KPI, OWNERSHIP, PERSON, TEAM
from lineage_kg.ingest.catalog.owners import catalog_owners
from lineage_kg.ingest.catalog.patterns import ownership_records
from lineage_kg.ingest.catalog.reading import read_catalog
from lineage_kg.ingest.catalog.records import canonical_as_of
from lineage_kg.ingest.source_sync import SourceRecord, SyncReport


def catalog_records(paths: list[Path], store: GraphStore, report: SyncReport) -> list[SourceRecord]:
    doc = read_catalog(paths)
    for where, why in doc.problems:
        report.skip(where, why)
    at = now()
    if doc.as_of is not None:
        try:
            at = canonical_as_of(doc.as_of)
        except (TypeError, ValueError) as exc:
            report.skip("catalog as_of", f"as_of: {exc}; the time of the sync is used")
    owners, people, teams = catalog_owners(doc.sections["people"], doc.sections["teams"], report)
    kpis, points = catalog_kpis(
        doc.sections["kpis"], doc.sections["decision_points"], owners.aliases, report
    )
    defined = [NodeKey.of(NodeKind.KPI, name=k["name"]) for k in kpis] + [
        NodeKey.of(NodeKind.DECISION_POINT, name=d["name"]) for d in points
    ]
    owned = ownership_records(doc.sections["assign"], store, owners.aliases, report, defined)
    return [
        *(SourceRecord(kind, at, body) for kind, bodies in (
            (PERSON, people), (TEAM, teams), (KPI, kpis), (DECISION_POINT, points),
            (OWNERSHIP, owned),
        ) for body in bodies),
    ]  # fmt: skip
