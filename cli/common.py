"""What every `lkg` command shares: the consoles, the exit codes, the root group that ends a
command on a bad setting or an unreachable store with one line, and projecting the log now
(`--project`). The parts themselves (log, store, side tables, projector) come from the
composition root, service/runtime.py."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from typer.core import TyperGroup

if TYPE_CHECKING:
    from lineage_kg.runtime import Runtime

console = Console()  # tables and summaries
err = Console(stderr=True)  # the questions' progress and errors (their answers go to stdout)
FAILURE, BAD_INPUT, NOT_FOUND = 1, 2, 3
MAX_LISTED = 50


def one_line_failure(exc: BaseException) -> tuple[int, str] | None:
    """(exit code, one line) for the failures a user fixes outside the command: a setting
    pydantic refused (2, docs/cli.md) or a store that does not answer (1); None for anything
    else (a bug keeps its traceback). Imported here, on the failure's path only."""
    from pydantic import ValidationError

    from lineage_kg.graph.store import StoreUnavailable
    from lineage_kg.settings import settings_error_line

    if isinstance(exc, ValidationError) and exc.title == "Settings":
        return BAD_INPUT, settings_error_line(exc)
    if isinstance(exc, StoreUnavailable):
        # the driver's messages span lines; LKG_STORE_CONNECT_TIMEOUT bounds how long it tried
        return FAILURE, "store unavailable: " + " ".join(str(exc).split())
    return None


class LkgGroup(TyperGroup):
    """`lkg`'s root group: whatever command ran, a refused setting or an unreachable store ends
    it with one line on stderr and its exit code instead of a traceback."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            failure = one_line_failure(exc)
            if failure is None:
                raise
            code, line = failure
            err.print(line, style="red", markup=False, soft_wrap=True, highlight=False)
            raise typer.Exit(code) from None


def project_now(runtime: Runtime) -> None:
    """Apply the log to the configured store now (with the side tables), and say where it is."""
    status = runtime.catch_up()
    console.print(
        f"graph at log position {status.projected_seq} of {status.log_seq} "
        f"({status.parked} parked) in {runtime.store.describe()}"
    )
