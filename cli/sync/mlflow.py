"""`lkg sync mlflow`: read an MLflow model registry (over its REST API, or from an export file
with `--dump`) into the durable log."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lineage_kg.cli.common import console
from lineage_kg.cli.sync import finish
from lineage_kg.runtime import Runtime
from lineage_kg.settings import Settings

commands = typer.Typer()


@commands.command("mlflow")
def sync_mlflow_command(
    tracking_uri: Annotated[
        str | None,
        typer.Option(envvar="MLFLOW_TRACKING_URI", help="the MLflow tracking server URL"),
    ] = None,
    dump: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="an MLflow export file (REST response shapes, docs/sources/mlflow.md) to read "
            "instead of a server",
        ),
    ] = None,
    registry: Annotated[
        str, typer.Option(help="the graph's name of this registry (Model.registry)")
    ] = "mlflow",
    full: Annotated[bool, typer.Option(help="ignore the watermarks: re-read all versions")] = False,
    project: Annotated[
        bool, typer.Option(help="also apply the log to the configured store now")
    ] = False,
) -> None:
    """Registered models, versions, aliases and training runs (with their dataset inputs).

    Exit code 0: synced; 2: some items skipped as bad data (listed); 1: the server failed.
    """
    from lineage_kg.ingest.mlflow.client import MlflowApiError, MlflowRestClient
    from lineage_kg.ingest.mlflow.dump import MlflowDumpClient
    from lineage_kg.ingest.mlflow.sync import MlflowSource
    from lineage_kg.ingest.source_sync import run_source

    if (tracking_uri is None) == (dump is None):
        raise typer.BadParameter(
            "give exactly one of --tracking-uri (or MLFLOW_TRACKING_URI) and --dump",
            param_hint="--dump",
        )
    runtime = Runtime.open(Settings())
    try:
        client = MlflowDumpClient(dump) if dump else MlflowRestClient(tracking_uri or "")
        # an export says when it was taken: that is when its aliases were observed
        observed = client.exported_ms if isinstance(client, MlflowDumpClient) else None
        with client, console.status(f"MLflow at {dump or tracking_uri}") as status:
            source = MlflowSource(
                client,  # type: ignore[arg-type]  # the dump client has the same reads
                registry=registry,
                full=full,
                observed_ms=observed,
                progress=status.update,
            )
            report = run_source(runtime.log, source)
    except MlflowApiError as exc:
        runtime.close()
        console.print(f"[red]MLflow sync failed:[/red] {exc}")
        raise typer.Exit(1) from exc
    finish(runtime, report, project=project)
