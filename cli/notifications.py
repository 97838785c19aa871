"""`lkg notifications list|retry`: the outbox of changes told to their owners (issue 20).

`list` shows the outbox's rows (the change, its status, attempts, last error, who was told);
`retry` puts failed rows back to pending, due at once: a running service's delivery picks them
up within seconds. Neither opens the store: they read the outbox in the data dir.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from lineage_kg.cli.common import console, err
from lineage_kg.graph.sides.outbox import Outbox, OutboxRow, Status
from lineage_kg.runtime import Runtime
from lineage_kg.settings import Settings

notifications_app = typer.Typer(help="The outbox of changes told to their owners: list, retry.")


def _outbox(runtime: Runtime) -> Outbox:
    outbox = runtime.outbox
    if outbox is None:  # pragma: no cover - every service keeps one
        err.print("this service keeps no outbox")
        raise typer.Exit(1)
    return outbox


def _summary(row: OutboxRow) -> str:
    d = row.detail
    match row.kind:
        case "schema_change":
            retyped = [f"{n} {t['from']}→{t['to']}" for n, t in d["retyped"].items()]
            return f"{d['dataset']}: " + ", ".join([*(f"-{n}" for n in d["dropped"]), *retyped])
        case "run_failed":
            return f"{d['job']} run {d['run']} {d['state']}"
        case "quality_failed":
            return f"{d['target']}: {d['failed']} failed"
        case "check_failing":
            return f"{d['check']} on {d['subject']}"
        case "alias_moved":
            return f"{d['model']} @{d['alias']}: {d['from']} → {d['to']}"
        case "deployment_started":
            return f"{d['version']} → {d['decision_point']} ({d['mode']})"
    return row.subject


@notifications_app.command("list")
def list_rows(
    status: Annotated[Status | None, typer.Option(help="only the rows in this state")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document on stdout")] = False,
    limit: Annotated[int, typer.Option(min=1, help="at most this many rows, oldest first")] = 1000,
) -> None:
    """The outbox's changes, oldest first: status, attempts, last error, owners told."""
    with Runtime.open(Settings()) as runtime:
        outbox = _outbox(runtime)
        rows = outbox.rows(status.value if status else None, limit)
        counts = outbox.counts()
    if as_json:
        print(json.dumps({"counts": counts, "changes": [r.as_json() for r in rows]}, indent=2))
        return
    table = Table("change", "kind", "what", "status", "tries", "owners", "last error")
    for r in rows:
        owners = ", ".join((r.audience or {}).get("owners", [])) if r.audience else "-"
        table.add_row(
            r.change_id[:12],
            r.kind,
            _summary(r),
            r.status,
            str(r.attempts),
            owners or "(none)",
            r.last_error or "",
        )
    console.print(table)
    console.print(", ".join(f"{s}: {n}" for s, n in counts.items()) or "the outbox is empty")


@notifications_app.command("retry")
def retry(
    change_id: Annotated[
        str | None, typer.Argument(help="a failed change's id (or its first characters)")
    ] = None,
    all_failed: Annotated[bool, typer.Option("--all-failed", help="every failed change")] = False,
) -> None:
    """Put failed changes back to pending, due now (their attempts counted from zero)."""
    if (change_id is None) == (not all_failed):
        err.print("give a change id or --all-failed (not both)")
        raise typer.Exit(2)
    with Runtime.open(Settings()) as runtime:
        outbox = _outbox(runtime)
        if all_failed:
            done = outbox.retry(None)
        else:
            assert change_id is not None
            failed = [r.change_id for r in outbox.rows(Status.FAILED.value, 1_000_000)]
            matching = [i for i in failed if i.startswith(change_id)]
            if len(matching) != 1:
                why = "no failed change" if not matching else f"{len(matching)} failed changes"
                err.print(f"{why} with an id starting {change_id!r}")
                raise typer.Exit(1)
            done = outbox.retry(matching)
    console.print(f"{done} change(s) back to pending")
