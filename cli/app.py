"""`lkg`: the root command. It composes the groups explicitly, in the order `--help` lists them;
no group imports back from here. Each module of cli/ holds its commands (`commands`) or a named
group; they share cli/common.py and ask the composition root (service/runtime.py) for the
log, the store, the side tables and the projector."""

from __future__ import annotations

import typer

from lineage_kg.cli import admin, bench, decisions, generate, keys, questions, service
from lineage_kg.cli.common import LkgGroup
from lineage_kg.cli.sync import catalog, dbt, feast, mlflow, sync_app

app = typer.Typer(
    cls=LkgGroup,  # a bad setting or an unreachable store: one line, not a traceback
    help="lineage-kg: lineage and metadata knowledge graph.",
    no_args_is_help=True,
)

# the commands, then the groups (sync, export, keys), as `lkg --help` lists them
app.add_typer(service.commands)  # serve, ingest, stats, neo4j, version
app.add_typer(admin.commands)  # verify, backup, restore, rebuild
app.add_typer(bench.commands)
app.add_typer(questions.commands)  # impact, owner, trace, audit
app.add_typer(decisions.commands)  # ingest-decisions
app.add_typer(generate.commands)
for source in (catalog, dbt, feast, mlflow):  # lkg sync <source>: one module per source
    sync_app.add_typer(source.commands)
app.add_typer(sync_app, name="sync")
app.add_typer(questions.export_app, name="export")  # lkg export impact|owner
app.add_typer(keys.keys_app, name="keys")

if __name__ == "__main__":
    app()
