"""`lkg impact` and `lkg export impact` take the impact question's options from one definition
(cli/questions.py `impact_options`): the same options, the same defaults, the same question."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from lineage_kg.cli import questions
from lineage_kg.cli.app import app
from lineage_kg.cli.questions import ImpactQuestion
from lineage_kg.graph.model import NodeKind


def _params(*path: str) -> dict[str, Any]:
    """The click parameters of the command at `path`: name -> (flags, default, required)."""
    command: Any = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    return {p.name: (tuple(p.opts), tuple(p.secondary_opts), p.default) for p in command.params}


def test_both_commands_offer_the_question_with_the_same_options_and_defaults() -> None:
    asked, exported = _params("impact"), _params("export", "impact")
    for f in fields(ImpactQuestion):
        assert f.name in asked and f.name in exported, f.name
        assert asked[f.name] == exported[f.name], f.name
    # and the defaults are the question's own
    assert {f.name: asked[f.name][2] for f in fields(ImpactQuestion)} == {
        "node": None, "kind": None, "namespace": None, "name": None, "field": None,
        "key": None, "depth": 10, "exact_only": False, "only": None, "as_of": None,
        "max_nodes": 100_000, "include_indirect": True,
    }  # fmt: skip
    # each keeps its own: the table and JSON for one, the required file for the other
    assert {"as_json", "limit", "fmt", "output"} <= set(asked)
    assert {"fmt", "output"} <= set(exported) and "as_json" not in exported


@pytest.mark.parametrize(
    "args",
    [
        ["--kind", "Column", "--namespace", "pg://db", "--name", "t", "--field", "c"],
        ["a-node", "--depth", "3", "--only", "Column", "--only", "KPI", "--exact-only"],
        ["a-node", "--as-of", "2026-01-01T00:00:00Z", "--max-nodes", "7", "--no-indirect"],
        ["--kind", "ModelVersion", "--name", "m", "--key", "registry=mlflow", "--key", "version=3"],
    ],
)
def test_both_commands_ask_the_same_question(
    args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[ImpactQuestion, dict[str, Any]]] = []
    monkeypatch.setattr(questions, "_impact", lambda q, **own: asked.append((q, own)))
    runner = CliRunner()
    assert runner.invoke(app, ["impact", *args, "--json"]).exit_code == 0
    assert runner.invoke(app, ["export", "impact", *args, "-o", "out.dot"]).exit_code == 0
    (q1, own1), (q2, own2) = asked
    assert q1 == q2
    assert own1["as_json"] is True and own2["as_json"] is False and str(own2["output"]) == "out.dot"
    # an independent reading of the arguments: what each option sets
    expect: dict[str, Any] = {}
    rest = list(args)
    if not rest[0].startswith("--"):
        expect["node"] = rest.pop(0)
    while rest:
        flag = rest.pop(0)
        name = flag.removeprefix("--").replace("-", "_")
        if flag in ("--exact-only", "--no-indirect"):
            expect["exact_only" if flag == "--exact-only" else "include_indirect"] = (
                flag == "--exact-only"
            )
        elif name in ("only", "key"):
            value = rest.pop(0)
            expect.setdefault(name, []).append(NodeKind(value) if name == "only" else value)
        else:
            value = rest.pop(0)
            expect[name] = (
                NodeKind(value) if name == "kind" else int(value) if value.isdigit() else value
            )
    assert q1 == ImpactQuestion(**expect)
