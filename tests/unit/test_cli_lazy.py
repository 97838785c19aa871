"""`lkg --help` lists every command without importing them (issue 18 §4): the condition, not a
duration — which heavy modules a fresh interpreter has loaded after `lkg --help` (and `lkg
version`); and the lazy table is held to the commands it stands for: the same names, the same
help lines, the same `--help` page as the commands composed eagerly (the old cli/app.py)."""

from __future__ import annotations

import importlib
import inspect
import json
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from lineage_kg.cli.app import COMMANDS, SYNC_SOURCES, app, load_command

HEAVY = (
    "neo4j",
    "strawberry",
    "fastapi",
    "starlette",
    "uvicorn",
    "networkx",
    "numpy",
    "pyarrow",
    "matplotlib",
    "httpx",
    "openlineage",
    "lineage_kg.api",
    "lineage_kg.queries",
    "lineage_kg.graph.embedded",
    "lineage_kg.graph.neo4j_store",
)

PROBE = """
import json, sys
from lineage_kg.cli.app import app
try:
    app(sys.argv[1:], prog_name="lkg")
except SystemExit:
    pass
print("\\n" + json.dumps(sorted(sys.modules)))
"""


def loaded_after(*args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,  # a hang, not a measurement
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY or m.startswith(HEAVY))


def test_help_loads_no_heavy_module() -> None:
    modules = loaded_after("--help")
    assert "typer" in modules  # the probe did run the CLI
    assert heavy(modules) == []
    # nor any command's module: they are imported to run, not to be listed
    assert not [m for m in modules if m.startswith("lineage_kg.cli.") and m not in (
        "lineage_kg.cli.app", "lineage_kg.cli.common")]  # fmt: skip


def test_version_loads_no_heavy_module() -> None:
    modules = loaded_after("version")
    assert "lineage_kg.cli.service" in modules
    assert heavy(modules) == []


def first_paragraph(command: typer.main.click.Command) -> str:
    return inspect.cleandoc(command.help or "").split("\n\n")[0]


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_entry_names_its_command_and_its_help(name: str) -> None:
    command = load_command(name)
    assert first_paragraph(command) == COMMANDS[name].help


def test_no_command_is_left_out() -> None:
    """Every command of every module the table names is in the table (a new command in a
    module must be listed)."""
    for entry in {e for e in COMMANDS.values() if not e.group}:
        module = importlib.import_module(f"lineage_kg.cli.{entry.module}")
        group = typer.main.get_group(getattr(module, entry.typer_app))
        assert set(group.commands) <= set(COMMANDS), entry.module


def eager_app() -> typer.Typer:
    """The composition as it was before the lazy table: every module imported, every group added."""
    from lineage_kg.cli import (
        admin,
        bench,
        check_change,
        decisions,
        generate,
        governance,
        keys,
        questions,
        service,
    )
    from lineage_kg.cli.common import LkgGroup
    from lineage_kg.cli.sync import sync_app

    eager = typer.Typer(
        cls=LkgGroup, help="lineage-kg: lineage and metadata knowledge graph.", no_args_is_help=True
    )
    for module in (service, admin, bench, questions, check_change, governance, decisions, generate):
        eager.add_typer(module.commands)
    if not sync_app.registered_groups:
        for source in SYNC_SOURCES:
            sync_app.add_typer(importlib.import_module(f"lineage_kg.cli.sync.{source}").commands)
    eager.add_typer(sync_app, name="sync")
    eager.add_typer(questions.export_app, name="export")
    eager.add_typer(keys.keys_app, name="keys")
    from lineage_kg.cli.notifications import notifications_app

    eager.add_typer(notifications_app, name="notifications")
    return eager


@pytest.mark.parametrize(
    "args", [["--help"], ["sync", "--help"], ["export", "impact", "--help"], ["keys", "--help"]]
)
def test_help_pages_equal_the_eager_composition(args: list[str]) -> None:
    runner = CliRunner()
    lazy = runner.invoke(app, args, prog_name="lkg", terminal_width=100)
    eager = runner.invoke(eager_app(), args, prog_name="lkg", terminal_width=100)
    assert lazy.exit_code == eager.exit_code == 0, lazy.output
    assert lazy.output == eager.output
