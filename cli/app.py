"""`lkg`: the root command. It composes the groups explicitly, in the order `--help` lists them;
no group imports back from here. Each module of cli/ holds its commands (`commands`) or a named
group; they share cli/common.py and ask the composition root (service/runtime.py) for the
log, the store, the side tables and the projector.

A command's module is imported only when that command runs (or its own `--help` is asked):
`lkg --help` lists the commands from the table below without importing any of them, so it
loads neither FastAPI, pyarrow, networkx nor the store's driver. Each entry's help line is the
command's own first paragraph; tests/unit/test_cli_lazy.py holds the table to the commands.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import click
import typer

from lineage_kg.cli.common import LkgGroup


@dataclass(frozen=True, slots=True)
class Entry:
    module: str  # lineage_kg.cli.<module>
    typer_app: str  # its Typer holding the command (`commands`) or the group (`export_app`)
    help: str  # the first paragraph of the command's help, as `lkg --help` lists it
    group: bool = False  # a group of its own (`lkg sync …`), not a command of `typer_app`


# the commands, then the groups (sync, export, keys), as `lkg --help` lists them
COMMANDS: dict[str, Entry] = {
    "serve": Entry(
        "service",
        "commands",
        "Run the HTTP service: GraphQL at /graphql, probes at /healthz and /readyz.",
    ),
    "ingest": Entry(
        "service",
        "commands",
        "Append OpenLineage events from files to the durable log; a running service picks them up.",
    ),
    "stats": Entry(
        "service",
        "commands",
        "Count the nodes and edges of each kind in the configured store (the embedded one "
        "rebuilt\nfrom the event log first, as the question commands do).",
    ),
    "neo4j": Entry(
        "service",
        "commands",
        "Run a local Neo4j 5 (Community, from Maven Central) in the foreground — no Docker needed.",
    ),
    "version": Entry("service", "commands", "Print the version."),
    "verify": Entry(
        "admin",
        "commands",
        "Run SQLite's integrity_check on the event log and walk its hash chain; report the\n"
        "damage or the first broken entry (exit 1), or the head.",
    ),
    "backup": Entry(
        "admin",
        "commands",
        "Copy the event log (and the decisions and keys tables) while the service may run, then\n"
        "verify the copy's chain and write its head into DEST/backup.json.",
    ),
    "restore": Entry(
        "admin",
        "commands",
        "Put a backup into the data dir, after verifying its chain (and its manifest's head).",
    ),
    "rebuild": Entry(
        "admin",
        "commands",
        "Clear the configured store and project the whole log into it again (after verifying\n"
        "the chain). Stop the service first: its projector writes the same store.",
    ),
    "bulk-load": Entry(
        "admin",
        "commands",
        "Fill an EMPTY Neo4j database (the launcher's NEO4J_HOME, server stopped) from the event\n"
        "log with Neo4j's offline importer; serve it then with `lkg neo4j --data-dir NEO4J_HOME`.",
    ),
    "bench": Entry(
        "bench",
        "commands",
        "Run a benchmark; options after NAME go to it (`lkg bench ingest -- --help` lists them).",
    ),
    "impact": Entry(
        "questions",
        "commands",
        "What breaks if NODE changes: everything downstream, with certainty and owners.",
    ),
    "owner": Entry(
        "questions",
        "commands",
        "What OWNER answers for: owned assets, KPIs, upstream and downstream owners, gaps.",
    ),
    "trace": Entry(
        "questions",
        "commands",
        "Where a decision's data came from: decision → model version → training runs → dataset\n"
        "versions → … → sources, and the features it read, with times and evidence.",
    ),
    "audit": Entry(
        "questions",
        "commands",
        "The history of NODE, oldest first: runs, versions, schema, quality, ownership, …",
    ),
    "check-change": Entry(
        "check_change",
        "commands",
        "What a proposed change would break: impacted assets, production decision points and "
        "KPIs\nat risk, model versions touched, owners to notify; exit 1 if the policy fails it.",
    ),
    "check": Entry(
        "governance",
        "commands",
        "Evaluate the governance policy over the graph; exit 1 if any violation is an error.",
    ),
    "ingest-decisions": Entry(
        "decisions",
        "commands",
        "Append decisions from files to the durable log; a running service picks them up.",
    ),
    "generate": Entry(
        "generate",
        "commands",
        "Write a synthetic lineage estate; then `lkg ingest OUT/events.ndjson`, `lkg sync …`.",
    ),
    "sync": Entry(
        "sync",
        "sync_app",
        "Read a source's metadata (MLflow, Feast, dbt, catalogs) into the log.",
        group=True,
    ),
    "export": Entry(
        "questions",
        "export_app",
        "Export an impact answer or an accountability map: GraphML, JSON, CSV, DOT or PNG.",
        group=True,
    ),
    "keys": Entry("keys", "keys_app", "API keys: create (secret shown once), list, revoke.", True),
    "notifications": Entry(
        "notifications",
        "notifications_app",
        "The outbox of changes told to their owners: list, retry.",
        group=True,
    ),
}
SYNC_SOURCES = ("catalog", "dbt", "feast", "mlflow")  # lkg sync <source>: one module per source


def load_command(name: str) -> click.Command:
    """The real command `name`, its module imported now."""
    entry = COMMANDS[name]
    typer_app = getattr(importlib.import_module(f"lineage_kg.cli.{entry.module}"), entry.typer_app)
    if name == "sync" and not typer_app.registered_groups:
        for source in SYNC_SOURCES:
            typer_app.add_typer(importlib.import_module(f"lineage_kg.cli.sync.{source}").commands)
    group = typer.main.get_group(typer_app)  # as add_typer composes it: no completion options
    if entry.group:
        group.name = name
        return group
    return group.commands[name]


class LazyCommands(dict[str, click.Command]):
    """The root's commands by name: stand-ins (a name and its help line) until one is looked
    up, then the real command (its module imported); while `listing`, the stand-ins."""

    def __init__(self) -> None:
        super().__init__({name: click.Command(name, help=e.help) for name, e in COMMANDS.items()})
        self.listing = False
        self._loaded: set[str] = set()

    def __getitem__(self, name: str) -> click.Command:
        if not self.listing and name in COMMANDS and name not in self._loaded:
            super().__setitem__(name, load_command(name))
            self._loaded.add(name)
        return super().__getitem__(name)

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return self[name] if name in self else default  # noqa: SIM401 - self.get is this


class LazyGroup(LkgGroup):
    """The root group: lists every command from COMMANDS and imports one only to run it (or to
    show its own help)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands: LazyCommands = LazyCommands()

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self.commands.get(cmd_name)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self.commands.listing = True  # the stand-ins' help lines are all the list needs
        try:
            super().format_help(ctx, formatter)
        finally:
            self.commands.listing = False


app = typer.Typer(
    cls=LazyGroup,  # LkgGroup's: a bad setting or an unreachable store, one line, no traceback
    help="lineage-kg: lineage and metadata knowledge graph.",
    no_args_is_help=True,
)


@app.callback()
def root() -> None:
    """lineage-kg: lineage and metadata knowledge graph."""


if __name__ == "__main__":
    app()
