"""`lkg ingest-decisions FILE...`: decision logs from NDJSON, CSV or Parquet files into the
durable log, streamed in batches (one log event per batch, as over HTTP); a running service's
projection fills the decisions table from there, or `--project` does it now.

Exit code 0: all stored (or already there); 2: some rows were rejected (listed by file:line and
field); 1: a file is missing or unreadable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from lineage_kg.cli.common import MAX_LISTED, console, project_now
from lineage_kg.ingest.decisions.source import DecisionFiles
from lineage_kg.runtime import Runtime
from lineage_kg.settings import Settings

commands = typer.Typer()


def _print(source: DecisionFiles, files: int) -> None:
    table = Table("what", "count", title=f"decisions from {files} file(s)")
    table.add_row("appended", str(source.stored))
    table.add_row("already logged", str(source.duplicates))
    table.add_row("rejected", str(len(source.rejected)))
    table.add_row("log events", str(source.events))
    console.print(table)
    for item in source.rejected[:MAX_LISTED]:
        reasons = "; ".join(f"{path}: {message}" for path, message in item.errors)
        console.print(f"[yellow]rejected[/yellow] {item.where} {reasons}", soft_wrap=True)
    if len(source.rejected) > MAX_LISTED:
        console.print(f"… and {len(source.rejected) - MAX_LISTED} more")


@commands.command("ingest-decisions")
def ingest_decisions(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="decision files: .ndjson .jsonl .json .csv .parquet (text ones may be .gz)"
        ),
    ],
    project: Annotated[
        bool, typer.Option(help="also apply the log to the configured store now")
    ] = False,
    batch: Annotated[
        int, typer.Option(min=1, max=10_000, help="decisions per log event (durable write)")
    ] = 10_000,
) -> None:
    """Append decisions from files to the durable log; a running service picks them up."""
    from lineage_kg.ingest.decisions.files import kind_of, row_count
    from lineage_kg.ingest.source_sync import run_source

    missing = [p for p in paths if not p.is_file()]
    if missing:
        console.print(f"[red]not found:[/red] {', '.join(map(str, missing))}")
        raise typer.Exit(1)
    try:
        for path in paths:
            kind_of(path)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    runtime = Runtime.open(Settings())
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=console, transient=True) as progress:
        task: list[TaskID] = []

        def started(path: Path) -> None:
            task.append(progress.add_task(path.name, total=row_count(path)))

        source = DecisionFiles(
            paths, batch, started=started, advanced=lambda n: progress.advance(task[-1], n)
        )
        run_source(runtime.log, source, on_appended=source.appended)
    _print(source, len(paths))
    with runtime:
        if project:
            project_now(runtime)
    if source.rejected:
        raise typer.Exit(2)
