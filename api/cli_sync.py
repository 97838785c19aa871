"""`lkg sync <source>`: read a source system's metadata into the durable log, then (with
`--project`) apply it to the configured store. A running service picks the records up itself.

Each source's command lives in its own module (api/sync_<source>.py) and registers itself on
`sync_app`; they share `finish`, which prints the summary and sets the exit code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from lineage_kg.settings import Settings

if TYPE_CHECKING:
    from ingest.eventlog import EventLog
    from ingest.source_sync import SyncReport

sync_app = typer.Typer(help="Read a source's metadata (MLflow, Feast, dbt, catalogs) into the log.")
console = Console()
MAX_LISTED = 50


def open_log(settings: Settings) -> EventLog:
    from ingest.eventlog import EventLog

    return EventLog(settings.data_dir / "events.sqlite3")


def finish(settings: Settings, log: EventLog, report: SyncReport, *, project: bool) -> None:
    """Print the summary; project if asked; exit 2 if anything was skipped as bad data."""
    table = Table("what", "count", title=f"sync {report.source}")
    for what, n in report.counts.items():
        table.add_row(what, str(n))
    table.add_row("records appended", str(report.appended))
    table.add_row("records unchanged", str(report.duplicates))
    table.add_row("skipped (bad data)", str(len(report.skipped)))
    console.print(table)
    for skipped in report.skipped[:MAX_LISTED]:
        console.print(f"[yellow]skipped[/yellow] {skipped.where}: {skipped.why}")
    if len(report.skipped) > MAX_LISTED:
        console.print(f"… and {len(report.skipped) - MAX_LISTED} more")
    if project:
        from api.cli import _project

        _project(settings, log)
    log.close()
    if report.skipped:
        raise typer.Exit(2)
