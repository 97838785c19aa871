"""Append a generated estate's source files (everything but the OpenLineage events) to an event
log through the real syncs, in the order the CLI would run them: catalog, Feast dump, MLflow
export, deployments, decisions. No subprocess, no server: for benchmarks and tests.

Deployments are checked against the decision points the catalog defined, as `lkg sync
deployments` checks them against the store; here the store is a scratch one holding only the
catalog's records, so the OpenLineage events need not be projected first.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.synthetic import write
from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.ingest.catalog.deployments import deployment_records
from lineage_kg.ingest.catalog.mapping import map_entry as map_catalog
from lineage_kg.ingest.catalog.sync import catalog_records
from lineage_kg.ingest.decisions.source import DecisionFiles
from lineage_kg.ingest.eventlog import EventLog
from lineage_kg.ingest.feast.read import read_repo
from lineage_kg.ingest.feast.sync import sync_feast
from lineage_kg.ingest.mlflow.dump import MlflowDumpClient
from lineage_kg.ingest.mlflow.sync import sync_mlflow
from lineage_kg.ingest.source_sync import RecordsSource, SyncReport, run_source
from lineage_kg.ingest.sources import CATALOG, DEPLOYMENT

PAGE = 1_000


def _catalog_store(log: EventLog) -> EmbeddedStore:
    """A store with the catalog's records in the log applied (and nothing else)."""
    store, after = EmbeddedStore(), 0
    while entries := log.read(after, PAGE, source=CATALOG):
        for entry in entries:
            store.apply(map_catalog(entry))
        after = entries[-1].seq
    return store


def _decisions(path: Path, log: EventLog) -> SyncReport:
    """As `lkg ingest-decisions` does: validated in batches, one log event per batch."""
    return run_source(log, DecisionFiles([path]))


def load_sources(out_dir: Path, log: EventLog) -> dict[str, SyncReport]:
    """Every source file of the estate in `out_dir` appended to `log`; each sync's report."""
    reports: dict[str, SyncReport] = {}
    empty = EmbeddedStore()  # ownership patterns match nothing: the estate's catalog has none
    catalog = [out_dir / write.OWNERS, out_dir / write.KPIS]
    report = SyncReport(CATALOG)
    records = catalog_records(catalog, empty, report)
    reports["catalog"] = run_source(log, RecordsSource(CATALOG, records), report)

    reports["feast"] = sync_feast(log, read_repo(dump_file=out_dir / write.FEAST))

    with MlflowDumpClient(out_dir / write.MLFLOW) as client:
        reports["mlflow"] = sync_mlflow(
            client,  # type: ignore[arg-type]  # the dump client has the REST client's reads
            log,
            observed_ms=client.exported_ms,
        )

    report = SyncReport(DEPLOYMENT)
    records = deployment_records(out_dir / write.DEPLOYMENTS, _catalog_store(log), report)
    reports["deployments"] = run_source(log, RecordsSource(DEPLOYMENT, records), report)

    reports["decisions"] = _decisions(out_dir / write.DECISIONS, log)
    return reports
