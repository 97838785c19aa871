"""`lkg generate OUT_DIR --nodes N --seed S`: a synthetic estate for benchmarks and demos —
OpenLineage events plus the catalog, Feast, MLflow, deployment and decision files the syncs
read, all naming the same tables, columns and teams (benchmarks/synthetic/write.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from lineage_kg.cli.common import console

commands = typer.Typer()


@commands.command("generate")
def generate_command(
    out_dir: Annotated[
        Path, typer.Argument(file_okay=False, help="where to write the files (created)")
    ],
    nodes: Annotated[
        int, typer.Option(min=1_000, help="about how many graph nodes the estate makes")
    ] = 10_000,
    seed: Annotated[int, typer.Option(help="the same nodes and seed write the same bytes")] = 7,
    decisions: Annotated[
        int, typer.Option(min=1, help="decisions per decision point (one per model)")
    ] = 10,
) -> None:
    """Write a synthetic lineage estate; then `lkg ingest OUT/events.ndjson`, `lkg sync …`."""
    try:
        from benchmarks.synthetic.write import generate
    except ModuleNotFoundError as exc:  # an install without the source tree's benchmarks/
        console.print(f"[red]the generator is not installed:[/red] {exc} (install from source)")
        raise typer.Exit(1) from exc

    started = time.perf_counter()
    with console.status("generating") as status:
        manifest = generate(
            out_dir, nodes, seed, decisions_per_point=decisions, progress=status.update
        )
    table = Table("file", "contents", "bytes", title=f"{out_dir} (seed {seed}, ~{nodes} nodes)")
    for name, counts in manifest["files"].items():
        what = ", ".join(f"{n} {k}" for k, n in counts.items() if k != "bytes")
        table.add_row(name, what, f"{counts['bytes']:,}")
    console.print(table)
    console.print(
        f"{manifest['pipelines']} pipelines, {manifest['tables']} tables, {manifest['jobs']} "
        f"jobs in {time.perf_counter() - started:.1f} s; sample query starts in "
        f"{out_dir / 'manifest.json'}"
    )
