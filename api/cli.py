"""`lkg`: the command line. Commands parse arguments and call into the app, stores and ingestors."""

from __future__ import annotations

import json
import logging
import signal
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from api.settings import Settings

app = typer.Typer(help="lineage-kg: lineage and metadata knowledge graph.", no_args_is_help=True)
console = Console()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="interface to bind (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default 8000)")] = None,
    demo: Annotated[bool, typer.Option(help="load the small demo graph at start")] = False,
) -> None:
    """Run the HTTP service: GraphQL at /graphql, probes at /healthz and /readyz."""
    import uvicorn

    from api.app import create_app

    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = Settings(**overrides, **({"demo": True} if demo else {}))
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    store = "Neo4j at " + settings.neo4j_uri if settings.neo4j_uri else "embedded (in memory)"
    logging.getLogger("lkg").info(
        "starting on http://%s:%d, store: %s", settings.host, settings.port, store
    )
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level
    )


@app.command()
def stats(as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """Count the nodes and edges of each kind in the configured store."""
    from graph.factory import open_store

    settings = Settings()
    with open_store(
        settings.neo4j_uri,
        user=settings.neo4j_user,
        password=settings.neo4j_password.get_secret_value(),
        database=settings.neo4j_database,
    ) as store:
        result = store.stats()
    if as_json:
        typer.echo(json.dumps({"nodes": result.nodes, "edges": result.edges}))
        return
    table = Table("kind", "count", title="graph")
    for kind, count in {**result.nodes, **result.edges}.items():
        table.add_row(kind, str(count))
    console.print(table)


@app.command("neo4j")
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
    from pathlib import Path

    from graph.neo4j_server import LocalNeo4j

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


@app.command()
def version() -> None:
    """Print the version."""
    from importlib.metadata import version as package_version

    typer.echo(package_version("lineage-kg"))


if __name__ == "__main__":
    app()
