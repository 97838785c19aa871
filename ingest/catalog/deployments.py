"""Deployment records: which model version serves which decision point, in which mode, when.

Read from YAML, NDJSON or CSV (ingest/catalog/reading.py). A decision point must be defined (by
the catalog) before a deployment names it: a deployment to an unknown decision point is skipped
by name — most likely a typo, which would otherwise create a decision point nobody owns. The
model version need not be known yet: deployment tools often learn of a version before the
registry sync does, and the registry fills the node in when it does.

A deployment is one DEPLOYED_TO edge per (model version, decision point, mode); a later record
for the same three with `valid_until` ends it (the record's time is its end, so it wins).
"""

from __future__ import annotations

from pathlib import Path

from lineage_kg.graph.store import GraphStore
from lineage_kg.ingest.catalog.mapping import DEPLOYMENT_KIND
from lineage_kg.ingest.catalog.reading import read_rows
from lineage_kg.ingest.catalog.records import Deployment, parse_rows
from lineage_kg.ingest.source_sync import SourceRecord, SyncReport


def deployment_records(path: Path, store: GraphStore, report: SyncReport) -> list[SourceRecord]:
    rows = list(read_rows(path, "deployments"))
    report.count("deployments read", len(rows))
    deployments = parse_rows(Deployment, rows, report)
    wanted = sorted({d.decision_point_key().id for _, d in deployments})
    known = {n.id for n in store.get_nodes(wanted)}
    records = []
    for where, deployment in deployments:
        if deployment.decision_point_key().id not in known:
            why = f"decision_point: {deployment.decision_point!r} is not defined (sync the catalog)"
            report.skip(where, why)
            continue
        body = deployment.model_dump(mode="json", exclude_none=True)
        records.append(SourceRecord(DEPLOYMENT_KIND, deployment.event_time, body))
    return records
