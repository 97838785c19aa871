"""Monitoring check results (drift, performance, data checks) → `check_result` records.

Read from NDJSON, CSV (`subject.model`, `subject.version`, `subject.decision_point`,
`subject.dataset` headers) or YAML. Each result is one record dated by its `checked_at`, so
every result stays in the log and in the subject's audit trail, and the Check node shows the
latest one (the merge keeps, per property, what the latest event said). As for deployments, a
decision point must be defined before a check names it; model versions and datasets need not be
known yet.
"""

from __future__ import annotations

from pathlib import Path

from lineage_kg.graph.store import GraphStore
from lineage_kg.ingest.catalog.mapping import CHECK_RESULT
from lineage_kg.ingest.catalog.reading import read_rows
from lineage_kg.ingest.catalog.records import CheckResult, DecisionPointSubject, parse_rows
from lineage_kg.ingest.source_sync import SourceRecord, SyncReport


def check_records(path: Path, store: GraphStore, report: SyncReport) -> list[SourceRecord]:
    rows = list(read_rows(path, "checks"))
    report.count("check results read", len(rows))
    results = parse_rows(CheckResult, rows, report)
    points = sorted(
        {r.subject.key().id for _, r in results if isinstance(r.subject, DecisionPointSubject)}
    )
    known = {n.id for n in store.get_nodes(points)}
    records = []
    for where, result in results:
        if (
            isinstance(result.subject, DecisionPointSubject)
            and result.subject.key().id not in known
        ):
            name = result.subject.decision_point
            report.skip(
                where, f"subject.decision_point: {name!r} is not defined (sync the catalog)"
            )
            continue
        body = result.model_dump(mode="json", exclude_none=True)
        records.append(SourceRecord(CHECK_RESULT, result.checked_at, body))
    return records
