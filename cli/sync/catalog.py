"""`lkg sync catalog FILE...`, `lkg sync deployments FILE`, `lkg sync monitoring FILE`.

The catalog (owners, teams, KPIs, decision points, ownership patterns) is YAML; deployments are
YAML, NDJSON or CSV; check results NDJSON, CSV or YAML. Ownership patterns and the decision
points deployments and checks name are checked against the configured store: the embedded store
is first rebuilt from the log (it lives in memory only), Neo4j is read as the service keeps it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import yaml

from lineage_kg.cli.common import console
from lineage_kg.cli.sync import finish
from lineage_kg.runtime import Runtime
from lineage_kg.settings import Settings

commands = typer.Typer()

if TYPE_CHECKING:
    from lineage_kg.graph.store import GraphStore
    from lineage_kg.ingest.source_sync import SourceRecord, SyncReport

Project = Annotated[bool, typer.Option(help="also apply the log to the configured store now")]


@contextmanager
def current_store(runtime: Runtime) -> Iterator[GraphStore]:
    """The configured store, up to date with the log as far as this process can make it."""
    if (
        runtime.rebuild_embedded() is None
        and (behind := runtime.log.last_seq() - runtime.store.checkpoint()) > 0
    ):
        console.print(
            f"[yellow]the store is {behind} event(s) behind the log[/yellow]: matches "
            "against what they add are missed (run the service, or sync with --project)"
        )
    yield runtime.store


def _sync(
    source: str,
    paths: list[Path],
    read: Callable[[GraphStore, SyncReport], list[SourceRecord]],
    project: bool,
) -> None:
    from lineage_kg.ingest.source_sync import RecordsSource, SyncReport, run_source

    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        console.print(f"[red]not found:[/red] {', '.join(missing)}")
        raise typer.Exit(1)
    runtime = Runtime.open(Settings())
    report = SyncReport(source)
    with current_store(runtime) as store:
        try:
            records = read(store, report)
        except (OSError, TypeError, ValueError, yaml.YAMLError) as exc:
            report.skip(", ".join(p.name for p in paths), f"cannot read: {exc}")
            records = []
    run_source(runtime.log, RecordsSource(source, records), report)
    finish(runtime, report, project=project)


@commands.command("catalog")
def sync_catalog(
    files: Annotated[list[Path], typer.Argument(help="catalog YAML files, read as one catalog")],
    project: Project = False,
) -> None:
    """Owners, teams, KPIs, decision points and ownership patterns from catalog YAML files.

    Patterns are matched against the nodes in the store now: sync again to cover assets that
    appeared since. Exit code 0: all synced; 2: some entries skipped as bad data (listed).
    """
    from lineage_kg.ingest.catalog.sync import catalog_records
    from lineage_kg.ingest.sources import CATALOG

    _sync(CATALOG, files, partial(catalog_records, files), project)


@commands.command("deployments")
def sync_deployments(
    file: Annotated[Path, typer.Argument(help="deployments: .yaml, .ndjson or .csv")],
    project: Project = False,
) -> None:
    """Which model version serves which decision point (champion, canary, shadow), when."""
    from lineage_kg.ingest.catalog.deployments import deployment_records
    from lineage_kg.ingest.sources import DEPLOYMENT

    _sync(DEPLOYMENT, [file], partial(deployment_records, file), project)


@commands.command("monitoring")
def sync_monitoring(
    file: Annotated[Path, typer.Argument(help="check results: .ndjson, .csv or .yaml")],
    project: Project = False,
) -> None:
    """Monitoring check results (drift, performance) on model versions, decision points and
    datasets; every result is kept, the Check node shows the latest."""
    from lineage_kg.ingest.catalog.monitoring import check_records
    from lineage_kg.ingest.sources import MONITORING

    _sync(MONITORING, [file], partial(check_records, file), project)
