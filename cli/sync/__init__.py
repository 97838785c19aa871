"""`lkg sync <source>`: read a source system's metadata into the durable log, then (with
`--project`) apply it to the configured store. A running service picks the records up itself.

Each source's command lives in its own module of this package (cli/sync/<source>.py, its own
`commands`); cli/app.py adds them to this group. They share `finish`, which prints the summary
and sets the exit code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from lineage_kg.cli.common import MAX_LISTED, console, project_now

if TYPE_CHECKING:
    from lineage_kg.ingest.source_sync import SyncReport
    from lineage_kg.runtime import Runtime

sync_app = typer.Typer(help="Read a source's metadata (MLflow, Feast, dbt, catalogs) into the log.")


def finish(runtime: Runtime, report: SyncReport, *, project: bool) -> None:
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
    with runtime:
        if project:
            project_now(runtime)
    if report.skipped:
        raise typer.Exit(2)
