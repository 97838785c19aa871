"""What every `lkg` command shares: the consoles, the exit codes, and projecting the log now
(`--project`). The parts themselves (log, store, side tables, projector) come from the
composition root, service/runtime.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:
    from lineage_kg.runtime import Runtime

console = Console()  # tables and summaries
err = Console(stderr=True)  # the questions' progress and errors (their answers go to stdout)
FAILURE, BAD_INPUT, NOT_FOUND = 1, 2, 3
MAX_LISTED = 50


def project_now(runtime: Runtime) -> None:
    """Apply the log to the configured store now (with the side tables), and say where it is."""
    status = runtime.catch_up()
    console.print(
        f"graph at log position {status.projected_seq} of {status.log_seq} "
        f"({status.parked} parked) in {runtime.store.describe()}"
    )
