"""`lkg sync dbt`: a dbt project's manifest (and run results) into the log."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lineage_kg.cli.common import console
from lineage_kg.cli.sync import finish
from lineage_kg.runtime import Runtime
from lineage_kg.settings import Settings

commands = typer.Typer()


@commands.command("dbt")
def sync_dbt(
    *,
    manifest: Annotated[
        Path, typer.Option(exists=True, dir_okay=False, help="target/manifest.json")
    ],
    run_results: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="target/run_results.json: test results"),
    ] = None,
    namespace: Annotated[
        str | None,
        typer.Option(
            help="dataset namespace of the project's warehouse, as its OpenLineage producers "
            "name it: postgres://db:5432, duckdb://target/shop.duckdb, bigquery"
        ),
    ] = None,
    profiles_dir: Annotated[
        Path | None,
        typer.Option(file_okay=False, help="derive the namespace from DIR/profiles.yml"),
    ] = None,
    profile: Annotated[
        str | None, typer.Option(help="profile in profiles.yml (default: the only one)")
    ] = None,
    target: Annotated[str | None, typer.Option(help="target (default: the profile's)")] = None,
    project: Annotated[
        bool, typer.Option(help="also apply the log to the configured store now")
    ] = False,
) -> None:
    """Models, seeds, snapshots, sources, tests, metrics, exposures and groups of a dbt project.

    Exit code 0: synced; 2: some entries were skipped as bad data (listed); 1: failure.
    """
    from pydantic import ValidationError

    from lineage_kg.ingest.dbt.profiles import ProfileError, profile_namespace
    from lineage_kg.ingest.dbt.sync import dbt_records, load_json
    from lineage_kg.ingest.source_sync import RecordsSource, SyncReport, run_source
    from lineage_kg.ingest.sources import DBT

    if (namespace is None) == (profiles_dir is None):
        console.print("[red]give exactly one of --namespace and --profiles-dir[/red]")
        raise typer.Exit(1)
    try:
        ns = namespace or profile_namespace(profiles_dir, profile, target)  # type: ignore[arg-type]
        report = SyncReport(DBT)
        records = dbt_records(
            load_json(manifest),
            load_json(run_results) if run_results else None,
            ns,
            report,
        )
    except (ProfileError, ValidationError, ValueError, TypeError, OSError) as exc:
        console.print(f"[red]cannot sync dbt:[/red] {exc}")
        raise typer.Exit(1) from exc
    console.print(f"dataset namespace: {ns}")
    runtime = Runtime.open(Settings())
    run_source(runtime.log, RecordsSource(DBT, records), report)
    finish(runtime, report, project=project)
