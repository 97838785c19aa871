"""`lkg sync feast`: a Feast repo's registry (via the Feast CLI, or a saved dump) into the log."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lineage_kg.cli.common import console
from lineage_kg.cli.sync import finish
from lineage_kg.runtime import Runtime
from lineage_kg.settings import Settings

commands = typer.Typer()


@commands.command("feast")
def sync_feast_command(
    repo: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            file_okay=False,
            help="the Feast repo (feature_store.yaml); its registry is read with `feast "
            "registry-dump` unless --dump is given",
        ),
    ] = None,
    dump: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="a saved `feast registry-dump` output; with --repo too, the repo's config "
            "names the tables and files of its sources",
        ),
    ] = None,
    feast: Annotated[str, typer.Option(help="the Feast CLI to run")] = "feast",
    project: Annotated[
        bool, typer.Option(help="also apply the log to the configured store now")
    ] = False,
) -> None:
    """Sync Feast entities, feature views, on-demand views and feature services."""
    from lineage_kg.ingest.feast.read import FeastReadError, read_repo
    from lineage_kg.ingest.feast.sync import FeastSource
    from lineage_kg.ingest.source_sync import run_source

    if repo is None and dump is None:
        raise typer.BadParameter("give --repo DIR or --dump FILE (or both)")
    try:
        feast_repo = read_repo(repo, dump, feast)
    except FeastReadError as exc:
        console.print(f"[red]cannot read the Feast registry:[/red] {exc}")
        raise typer.Exit(1) from exc
    runtime = Runtime.open(Settings())
    report = run_source(runtime.log, FeastSource(feast_repo))
    finish(runtime, report, project=project)
