"""`lkg ingest-decisions FILE...`: decision logs from NDJSON, CSV or Parquet files into the
durable log, streamed in batches (one log event per batch, as over HTTP); a running service's
projection fills the decisions table from there, or `--project` does it now.

Exit code 0: all stored (or already there); 2: some rows were rejected (listed by file:line and
field); 1: a file is missing or unreadable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.common import MAX_LISTED, console, project_now
from ingest.decisions.records import ItemError, decision_event, validate_items
from ingest.eventlog import EventLog
from lineage_kg.runtime import Runtime
from lineage_kg.settings import Settings

commands = typer.Typer()


@dataclass(slots=True)
class _Tally:
    """What the files gave: appended, already logged, rejected (with where and why)."""

    log: EventLog
    stored: int = 0
    duplicates: int = 0
    events: int = 0
    rejected: list[ItemError] = field(default_factory=list)

    def flush(self, pending: list[tuple[int, str, Any]]) -> None:
        """Validate a batch; append its valid decisions as one durable log event."""
        checked = validate_items(pending)
        self.rejected.extend(checked.rejected)
        if checked.decisions:
            (appended,) = self.log.append([decision_event(checked.decisions)])
            self.events += 1
            if appended.duplicate:
                self.duplicates += len(checked.decisions)
            else:
                self.stored += len(checked.decisions)
        pending.clear()

    def print(self, files: int) -> None:
        table = Table("what", "count", title=f"decisions from {files} file(s)")
        table.add_row("appended", str(self.stored))
        table.add_row("already logged", str(self.duplicates))
        table.add_row("rejected", str(len(self.rejected)))
        table.add_row("log events", str(self.events))
        console.print(table)
        for item in self.rejected[:MAX_LISTED]:
            reasons = "; ".join(f"{path}: {message}" for path, message in item.errors)
            console.print(f"[yellow]rejected[/yellow] {item.where} {reasons}", soft_wrap=True)
        if len(self.rejected) > MAX_LISTED:
            console.print(f"… and {len(self.rejected) - MAX_LISTED} more")


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
    from ingest.decisions.files import kind_of, read_decisions, row_count

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
    tally = _Tally(runtime.log)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=console, transient=True) as progress:
        for path in paths:
            task = progress.add_task(path.name, total=row_count(path))
            pending: list[tuple[int, str, Any]] = []
            for index, (where, item) in enumerate(read_decisions(path)):
                pending.append((index, where, item))
                if len(pending) >= batch:
                    tally.flush(pending)
                    progress.advance(task, batch)
            progress.advance(task, len(pending))
            if pending:
                tally.flush(pending)
    tally.print(len(paths))
    with runtime:
        if project:
            project_now(runtime)
    if tally.rejected:
        raise typer.Exit(2)
