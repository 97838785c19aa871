"""`lkg serve`, `lkg ingest`, `lkg stats`, `lkg neo4j`, `lkg version`: the service's own commands.
They parse arguments and ask the composition root (service/runtime.py) for the parts."""

from __future__ import annotations

import json
import logging
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from lineage_kg.cli.common import BAD_INPUT, MAX_LISTED, console, err, project_now
from lineage_kg.cli.remote import UrlOpt
from lineage_kg.runtime import Runtime, log_path
from lineage_kg.settings import Settings

if TYPE_CHECKING:
    from lineage_kg.ingest.intake import IntakeSummary

commands = typer.Typer()


@commands.command()
def serve(
    host: Annotated[str | None, typer.Option(help="interface to bind (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default 8000)")] = None,
    demo: Annotated[bool, typer.Option(help="load the small demo graph at start")] = False,
) -> None:
    """Run the HTTP service: GraphQL at /graphql, probes at /healthz and /readyz."""
    import uvicorn

    from lineage_kg.api.app import create_app
    from lineage_kg.api.auth import AuthConfigError, decide_mode
    from lineage_kg.api.observability import configure_logging

    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = Settings(**overrides, **({"demo": True} if demo else {}))
    try:
        decide_mode(settings)
    except AuthConfigError as exc:
        console.print(f"[red]{exc}[/red]", soft_wrap=True)
        raise typer.Exit(2) from None
    configure_logging(settings.log_format, settings.log_level)
    from lineage_kg.ingest.logcheck import LogFault, verify_before_serving

    try:  # never serve a log that is damaged or was edited (exit codes: docs/cli.md)
        verify_before_serving(log_path(settings))
    except LogFault as exc:
        console.print(str(exc), style="red", markup=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    store = "Neo4j at " + settings.neo4j_uri if settings.neo4j_uri else "embedded (in memory)"
    logging.getLogger("lkg").info(
        "starting on http://%s:%d, store: %s", settings.host, settings.port, store
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=None,  # keep configure_logging's handler: uvicorn logs in the same format
        access_log=False,  # RequestContextMiddleware writes the access line, with the request id
    )


@commands.command()
def ingest(
    paths: Annotated[
        list[Path], typer.Argument(help="event files or folders (.json, .ndjson, .gz)")
    ],
    project: Annotated[
        bool, typer.Option(help="also apply the log to the configured store now")
    ] = False,
    batch: Annotated[int, typer.Option(help="events per durable write")] = 1000,
) -> None:
    """Append OpenLineage events from files to the durable log; a running service picks them up.

    Folders are searched recursively for .json, .ndjson, .jsonl (each also .gz); the other files
    in them are listed as skipped. Exit code 0: all accepted (or already there); 2: some were
    rejected (listed), or a path does not exist; 1: failure.
    """
    from rich.progress import Progress

    from lineage_kg.ingest.files import SUFFIXES, expand, read_events
    from lineage_kg.ingest.intake import IntakeSummary, accept_many

    missing = [p for p in paths if not p.exists()]
    if missing:
        err.print(f"[red]not found:[/red] {', '.join(map(str, missing))}", soft_wrap=True)
        raise typer.Exit(BAD_INPUT)
    settings = Settings()
    files = expand(paths)
    _say_skipped(paths, files, SUFFIXES)
    with Runtime.open(settings) as runtime:
        log = runtime.log
        total, where = IntakeSummary(), []
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("ingesting", total=len(files))
            for path in files:
                pending: list[tuple[int, object]] = []
                for place, event in read_events(path):
                    where.append(place)
                    pending.append((len(where) - 1, event))
                    if len(pending) >= batch:
                        _merge(total, accept_many(log, pending))
                        pending = []
                _merge(total, accept_many(log, pending))
                progress.advance(task)
        table = Table("accepted", "duplicates", "rejected", title=f"{len(files)} file(s)")
        table.add_row(str(total.accepted), str(total.duplicates), str(len(total.rejected)))
        console.print(table)
        for rejected in total.rejected[:50]:
            reasons = "; ".join(map(str, rejected.errors))
            console.print(f"[yellow]rejected[/yellow] {where[rejected.index]}: {reasons}")
        if len(total.rejected) > 50:
            console.print(f"… and {len(total.rejected) - 50} more")
        if project:
            project_now(runtime)
    if total.rejected:
        raise typer.Exit(2)


def _say_skipped(paths: list[Path], chosen: list[Path], suffixes: tuple[str, ...]) -> None:
    """Name the files in the given folders that were not taken (not an event file's name)."""
    taken = set(chosen)
    in_folders = (f for d in paths if d.is_dir() for f in sorted(d.rglob("*")))
    skipped = [f for f in in_folders if f.is_file() and f not in taken]
    if not skipped:
        return
    shown = ", ".join(map(str, skipped[:MAX_LISTED]))
    more = f" and {len(skipped) - MAX_LISTED} more" if len(skipped) > MAX_LISTED else ""
    err.print(
        f"[yellow]skipped {len(skipped)} file(s)[/yellow] not named {', '.join(suffixes)} "
        f"(case counts): {shown}{more}",
        soft_wrap=True,
        highlight=False,
    )


def _merge(total: IntakeSummary, part: IntakeSummary) -> None:
    total.accepted += part.accepted
    total.duplicates += part.duplicates
    total.rejected.extend(part.rejected)


@commands.command()
def stats(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    url: UrlOpt = None,
) -> None:
    """Count the nodes and edges of each kind in the configured store (the embedded one rebuilt
    from the event log first, as the question commands do)."""
    from lineage_kg.cli.questions import answering, remote, workspace

    if url:  # the service's graph, over GraphQL (cli/remote.py)
        with answering():
            result = remote(url).stats()
    else:
        with workspace() as space:
            counted = space.store.stats()
        result = {"nodes": counted.nodes, "edges": counted.edges}
    if as_json:
        typer.echo(json.dumps(result))
        return
    table = Table("kind", "count", title="graph")
    for kind, count in {**result["nodes"], **result["edges"]}.items():
        table.add_row(kind, str(count))
    console.print(table)


@commands.command("neo4j")
def run_neo4j(
    port: Annotated[int, typer.Option(help="Bolt port")] = 7687,
    password: Annotated[
        str, typer.Option(envvar="NEO4J_PASSWORD", help="password of user neo4j")
    ] = "lineage-kg",
    data_dir: Annotated[
        str | None, typer.Option(help="keep data here (default: temporary)")
    ] = None,
) -> None:
    """Run a local Neo4j 5 (Community, from Maven Central) in the foreground — no Docker needed."""
    try:  # a development tool: it builds neo4j-launcher/ (Maven) from a source checkout
        from tools.neo4j_server import LocalNeo4j
    except ModuleNotFoundError as exc:
        console.print(f"[red]the Neo4j launcher is not installed:[/red] {exc} (run from source)")
        raise typer.Exit(1) from exc

    server = LocalNeo4j(data_dir=Path(data_dir) if data_dir else None, port=port, password=password)
    server.start()
    console.print(
        f"Neo4j {server.version} ready at {server.uri} "
        f"(user neo4j) in {server.startup_seconds:.1f}s; Ctrl-C stops it."
    )
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    try:
        while not stop:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


@commands.command()
def version() -> None:
    """Print the version."""
    from importlib.metadata import version as package_version

    typer.echo(package_version("lineage-kg"))
