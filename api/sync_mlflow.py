"""`lkg sync mlflow`: read an MLflow model registry (over its REST API) into the durable log."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli_sync import console, finish, open_log, sync_app
from api.settings import Settings


@sync_app.command("mlflow")
def sync_mlflow_command(
    tracking_uri: Annotated[
        str, typer.Option(envvar="MLFLOW_TRACKING_URI", help="the MLflow tracking server URL")
    ],
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
    from ingest.mlflow.client import MlflowApiError, MlflowRestClient
    from ingest.mlflow.sync import sync_mlflow

    settings = Settings()
    log = open_log(settings)
    try:
        with (
            MlflowRestClient(tracking_uri) as client,
            console.status(f"MLflow at {tracking_uri}") as status,
        ):
            report = sync_mlflow(client, log, registry=registry, full=full, progress=status.update)
    except MlflowApiError as exc:
        log.close()
        console.print(f"[red]MLflow sync failed:[/red] {exc}")
        raise typer.Exit(1) from exc
    finish(settings, log, report, project=project)
