"""`lkg verify`, `lkg backup DEST`, `lkg restore SRC`, `lkg rebuild`, `lkg bulk-load HOME`:
checking the event log's hash chain, copying the data dir while the service runs, putting a copy
back, refilling the configured store from the log, and filling an empty Neo4j from it offline
(cli/bulk.py).

Copies go through SQLite's online backup API: a consistent snapshot of each file even while the
service writes to it, and a restore that is a proper SQLite write, never a file copied under a
reader. "In use" means another process has the log open (SQLite's own locks tell).

Exit codes: 0 done; 1 refused or failed (what and why printed).
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel, Field, ValidationError
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from lineage_kg.api.auth import KEYS_FILE
from lineage_kg.cli.common import console
from lineage_kg.graph.timefmt import now
from lineage_kg.ingest import chain, logcheck
from lineage_kg.ingest.decisions.projection import DECISIONS_FILE
from lineage_kg.ingest.notifications.projection import OUTBOX_FILE
from lineage_kg.runtime import GOVERNANCE_FILE, LOG_FILE, Runtime, open_log_at
from lineage_kg.settings import Settings

LOG, DECISIONS, KEYS = LOG_FILE, DECISIONS_FILE, KEYS_FILE
# copied in this order: the log last, so it is at least as new as every table that follows it
# (the outbox too: its delivery marks are not derivable from the log, a restore without them
# would notify again; the governance log too: when a violation was seen is not in the log)
FILES = (KEYS, DECISIONS, OUTBOX_FILE, GOVERNANCE_FILE, LOG)
MANIFEST = "backup.json"
commands = typer.Typer()


class Manifest(BaseModel):
    """What a backup holds, and the log's head when it was taken (to compare on restore)."""

    created_at: str
    files: list[str]
    entries: int = Field(ge=0)
    head_seq: int = Field(ge=0)
    head_hash: str = Field(pattern=r"^[0-9a-f]{64}$")


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]{message}[/red]", soft_wrap=True)
    return typer.Exit(1)


def _progress() -> Progress:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TaskProgressColumn(), TimeRemainingColumn())  # fmt: skip
    return Progress(*columns, console=console, transient=True)


def check_chain(path: Path, what: str) -> chain.ChainReport:
    """Verify the log at `path` with a progress bar; print the verdict."""
    try:
        report = _walk(path, what)
    except sqlite3.DatabaseError as exc:
        raise _fail(f"{path} is not a readable event log: {exc}") from None
    if report.broken is None:
        console.print(
            f"{report.entries} entries, chain intact; head seq {report.head_seq} "
            f"hash {report.head_hash}",
            soft_wrap=True,
        )
    else:
        broken = report.broken
        event = f" (event {broken.event_id})" if broken.event_id else ""
        console.print(
            f"[red]chain broken at seq {broken.seq}{event}:[/red] {broken.problem}\n"
            f"{report.entries} entries before it are intact",
            soft_wrap=True,
        )
    return report


def _walk(path: Path, what: str) -> chain.ChainReport:
    if not chain_present(path):
        console.print(f"{path}: no hash chain yet (written before it); adding it now")
        open_log_at(path).close()
    with closing(sqlite3.connect(path, isolation_level=None)) as db, _progress() as progress:
        total = db.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]
        task = progress.add_task(what, total=total)
        return chain.verify(db, lambda n: progress.advance(task, n))


def chain_present(path: Path) -> bool:
    with closing(sqlite3.connect(path)) as db:
        return chain.chained(db)


def in_use(path: Path) -> bool:
    """Whether another connection (a running service, an ingest) has this SQLite file open:
    taking it exclusively fails then, at once. Nothing is written either way."""
    if not path.exists():
        return False
    with closing(sqlite3.connect(path, isolation_level=None, timeout=0)) as db:
        try:
            db.execute("PRAGMA locking_mode=EXCLUSIVE")
            db.execute("BEGIN EXCLUSIVE")
        except sqlite3.OperationalError:
            return True
        db.execute("ROLLBACK")
        return False


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of `source` into `target` (replacing its content) via the backup API."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


@commands.command()
def verify(
    log_file: Annotated[
        Path | None,
        typer.Argument(help="the log to check (default: events.sqlite3 in the data dir)"),
    ] = None,
) -> None:
    """Run SQLite's integrity_check on the event log and walk its hash chain; report the
    damage or the first broken entry (exit 1), or the head."""
    path = log_file or Settings().data_dir / LOG
    if not path.is_file():
        raise _fail(f"no event log at {path}")
    sound = check_integrity(path)  # both run: a damaged index and a forged entry are apart
    if not (check_chain(path, "verifying").intact and sound):
        raise typer.Exit(1)


def check_integrity(path: Path) -> bool:
    """SQLite's integrity_check (every page, every index against its table); print the verdict."""
    try:
        with closing(sqlite3.connect(path)) as db, console.status("SQLite integrity_check"):
            problems = logcheck.integrity_problems(db, quick=False)
    except sqlite3.DatabaseError as exc:
        raise _fail(logcheck.describe_damage(path, exc)) from None
    if problems:
        console.print(f"SQLite integrity_check failed: {'; '.join(problems)}", style="red",
                      markup=False, soft_wrap=True)  # fmt: skip
    else:
        console.print("SQLite integrity_check: ok")
    return not problems


@commands.command()
def backup(
    dest: Annotated[Path, typer.Argument(help="a new or empty folder for the copy")],
) -> None:
    """Copy the event log (and the decisions and keys tables) while the service may run, then
    verify the copy's chain and write its head into DEST/backup.json."""
    data = Settings().data_dir
    if not (data / LOG).is_file():
        raise _fail(f"no event log at {data / LOG}")
    if dest.exists() and any(dest.iterdir()):
        raise _fail(f"{dest} is not empty: a backup goes into a new or empty folder")
    dest.mkdir(parents=True, exist_ok=True)
    copied = [name for name in FILES if (data / name).is_file()]
    with console.status("copying"):
        for name in copied:
            copy_database(data / name, dest / name)
    report = check_chain(dest / LOG, "verifying the copy")
    if not report.intact:
        raise _fail("the copy's chain is broken: the log itself is (run `lkg verify`)")
    manifest = Manifest(created_at=now(), files=copied, entries=report.entries,
                        head_seq=report.head_seq, head_hash=report.head_hash)  # fmt: skip
    (dest / MANIFEST).write_text(manifest.model_dump_json(indent=2) + "\n")
    table = Table("file", "MiB", title=f"backup in {dest}")
    for name in copied:
        table.add_row(name, f"{(dest / name).stat().st_size / 2**20:.1f}")
    console.print(table)


@commands.command()
def restore(
    src: Annotated[Path, typer.Argument(help="a folder made by `lkg backup`")],
    force: Annotated[
        bool, typer.Option(help="overwrite the data dir's log even if it exists or is in use")
    ] = False,
) -> None:
    """Put a backup into the data dir, after verifying its chain (and its manifest's head)."""
    data = Settings().data_dir
    if not (src / LOG).is_file():
        raise _fail(f"no event log at {src / LOG}")
    report = check_chain(src / LOG, "verifying the backup")
    if not report.intact:
        raise _fail("not restoring a backup whose chain is broken")
    _check_manifest(src, report)
    target = data / LOG
    if in_use(target) and not force:
        raise _fail(
            f"{target} is in use by another process (a running service?): stop it first, "
            "or --force (then restart it and run `lkg rebuild`)"
        )
    if target.exists() and not force:
        raise _fail(f"{target} exists: --force to replace it with the backup")
    data.mkdir(parents=True, exist_ok=True)
    with console.status("restoring"):
        for name in FILES:
            if (src / name).is_file():
                copy_database(src / name, data / name)
            elif (data / name).exists():
                console.print(f"[yellow]kept[/yellow] {data / name}: not in the backup")
    logcheck.store_head(target, report.head_seq, report.head_hash)  # verified just above
    console.print(
        f"restored {report.entries} entries into {data}; "
        "refill the graph with `lkg rebuild` (Neo4j) or a restart (embedded)"
    )


def _check_manifest(src: Path, report: chain.ChainReport) -> None:
    path = src / MANIFEST
    if not path.is_file():
        console.print(f"[yellow]no {MANIFEST}[/yellow]: the head cannot be compared")
        return
    try:
        manifest = Manifest.model_validate_json(path.read_text())
    except ValidationError as exc:
        raise _fail(f"{path}: {exc}") from None
    if (manifest.head_seq, manifest.head_hash) != (report.head_seq, report.head_hash):
        raise _fail(
            f"the backup's log ends at seq {report.head_seq} ({report.head_hash[:12]}…) but "
            f"{MANIFEST} says seq {manifest.head_seq} ({manifest.head_hash[:12]}…): "
            "entries were cut off or rewritten since it was taken"
        )


@commands.command()
def rebuild(
    batch: Annotated[int | None, typer.Option(min=1, max=50_000, help="events per batch")] = None,
    force: Annotated[bool, typer.Option(help="even if the log is in use")] = False,
) -> None:
    """Clear the configured store and project the whole log into it again (after verifying
    the chain). Stop the service first: its projector writes the same store."""
    from lineage_kg.graph.store import StoreUnavailable

    settings = Settings()
    if settings.projector != "on":  # it clears and writes the graph other processes write
        raise _fail(
            f"LKG_PROJECTOR={settings.projector}: this process does not write the shared graph; "
            "run lkg rebuild with LKG_PROJECTOR=on, every projector candidate stopped"
        )
    path = settings.data_dir / LOG
    if not path.is_file():
        raise _fail(f"no event log at {path}")
    if in_use(path) and not force:
        raise _fail(f"{path} is in use by another process (a running service?): stop it first")
    if not check_chain(path, "verifying the log").intact:
        raise _fail("not rebuilding from a broken log: restore a backup (`lkg restore`)")
    try:
        _rebuild(settings, batch or settings.projector_batch_size)
    except StoreUnavailable as exc:
        raise _fail(f"store unavailable: {exc}; the store is partly filled, run again") from None


def _rebuild(settings: Settings, batch: int) -> None:
    with Runtime.open(settings.model_copy(update={"projector_batch_size": batch})) as runtime:
        log, store = runtime.log, runtime.store
        store.clear()  # the nodes, the edges and the checkpoint
        unparked = log.unpark_all()  # mapped afresh; parked again if they still fail
        projector = runtime.projector
        with _progress() as progress:
            task = progress.add_task("re-projecting", total=log.last_seq())
            while done := projector.step():
                progress.advance(task, done)
        status = projector.status()
        stats = store.stats()
        where = store.describe()
    console.print(
        f"rebuilt {where}: log position {status.projected_seq} of {status.log_seq}, "
        f"{status.parked} parked ({unparked} were parked before), "
        f"{sum(stats.nodes.values())} nodes, {sum(stats.edges.values())} edges",
        soft_wrap=True,
    )


@commands.command("bulk-load")
def bulk_load(
    neo4j_home: Annotated[
        Path, typer.Argument(help="the launcher's data dir (`lkg neo4j --data-dir`)")
    ],
    batch: Annotated[int | None, typer.Option(min=1, max=50_000, help="events per batch")] = None,
    work_dir: Annotated[
        Path | None, typer.Option(help="where the CSV files go meanwhile (default: temporary)")
    ] = None,
) -> None:
    """Fill an EMPTY Neo4j database (the launcher's NEO4J_HOME, server stopped) from the event
    log with Neo4j's offline importer; serve it then with `lkg neo4j --data-dir NEO4J_HOME`."""
    from lineage_kg.cli.bulk import bulk_load as load

    try:  # a development tool: the importer runs from neo4j-launcher/'s classpath (source checkout)
        from tools.neo4j_import import ImportRefused
    except ModuleNotFoundError as exc:
        console.print(f"[red]the Neo4j launcher is not installed:[/red] {exc} (run from source)")
        raise typer.Exit(1) from exc
    try:
        report = load(Settings(), neo4j_home, batch=batch, work_dir=work_dir)
    except ImportRefused as exc:
        console.print(f"[red]refused:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(1) from None
    steps = ", ".join(f"{k} {v:.1f}s" for k, v in report["seconds"].items())
    console.print(
        f"bulk-loaded {neo4j_home}: {report['nodes']} nodes, {report['edges']} edges, "
        f"{report['aliases']} aliases, checkpoint {report['checkpoint']} "
        f"(log at {report['log_seq']}); {steps}",
        soft_wrap=True,
    )
