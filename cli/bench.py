"""`lkg bench NAME [OPTIONS]`: rerun one of the benchmarks (benchmarks/*.py) with its own options,
e.g. `lkg bench ingest --nodes 100000`; `lkg bench report` rewrites docs/benchmarks/results.md
and the plots from the saved results."""

from __future__ import annotations

import subprocess
import sys
from typing import Annotated

import typer

commands = typer.Typer()

BENCHMARKS = {
    "ingest": "benchmarks.ingest_throughput",
    "queries": "benchmarks.query_latency",
    "api": "benchmarks.api_load",
    "lattice": "benchmarks.lattice_impact",
    "decisions": "benchmarks.decision_lookup",
    "report": "benchmarks.report",
}


@commands.command(
    "bench",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def bench_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help=" | ".join(BENCHMARKS))],
) -> None:
    """Run a benchmark; options after NAME go to it (`lkg bench ingest -- --help` lists them)."""
    module = BENCHMARKS.get(name)
    if module is None:
        typer.echo(f"no benchmark {name!r}; one of: {', '.join(BENCHMARKS)}", err=True)
        raise typer.Exit(2)
    # a process of its own: benchmarks start servers and measure this process's memory
    raise typer.Exit(subprocess.call([sys.executable, "-m", module, *ctx.args]))
