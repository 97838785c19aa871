"""`lkg check-change` with listed changes on the contract tests' value chain (an embedded store
handed to the command in place of the one the settings name): --changes files, --policy files,
the GitHub annotations' escaping, exit codes."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from lineage_kg.cli.app import app
from lineage_kg.cli.check_change import _escape
from lineage_kg.graph.embedded import EmbeddedStore
from tests.contract.conftest import ValueChain, column, value_chain_batches

V = ValueChain()
INCOME = column(V.raw, "income").display


@pytest.fixture
def on_value_chain(monkeypatch: pytest.MonkeyPatch) -> EmbeddedStore:
    from lineage_kg.cli.questions import Workspace

    store = EmbeddedStore()
    for batch in value_chain_batches(V):
        store.apply(batch)

    @contextlib.contextmanager
    def workspace() -> Iterator[Any]:
        yield Workspace(store, None, None)  # type: ignore[arg-type]

    monkeypatch.setattr("lineage_kg.cli.questions.workspace", workspace)
    return store


def run(*args: str) -> Any:
    return CliRunner().invoke(app, ["check-change", *args], catch_exceptions=False)


def test_changes_file_and_the_default_gate(on_value_chain: EmbeddedStore, tmp_path: Path) -> None:
    listed = tmp_path / "changes.txt"
    listed.write_text(f"# a comment\n\n{INCOME}=type:bigint\n", encoding="utf-8")
    done = run("--changes", str(listed), "--format", "json")
    assert done.exit_code == 1, done.output
    doc = json.loads(done.output)
    assert [(c["ref"], c["kind"]) for c in doc["changes"]] == [(INCOME, "type:bigint")]
    assert [d["decision_point"] for d in doc["decision_points"]] == ["loan-approval"]
    assert {o["owner"]: o["left"] for o in doc["owners"]}["bob@example.com"] is True


def test_a_bad_line_names_the_file_and_line(on_value_chain: EmbeddedStore, tmp_path: Path) -> None:
    listed = tmp_path / "changes.txt"
    listed.write_text(f"{INCOME}=drop\n{INCOME}=explode\n", encoding="utf-8")
    done = run("--changes", str(listed))
    assert done.exit_code == 2
    assert "changes.txt:2" in " ".join(done.output.split())


def test_an_approval_passes_the_gate(on_value_chain: EmbeddedStore, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "check_change:\n  approvals:\n"
        f"    - {{change: '{INCOME}', decision_point: loan-approval, approved_by: jane}}\n",
        encoding="utf-8",
    )
    done = run("--change", f"{INCOME}=drop", "--policy", str(policy), "--format", "json")
    assert done.exit_code == 0, done.output
    doc = json.loads(done.output)
    assert doc["waived"][0]["approved_by"] == "jane"
    # a warn_on left empty and nothing failing: no findings at all
    policy.write_text("check_change:\n  fail_on: []\n  warn_on: []\n", encoding="utf-8")
    quiet = run("--change", f"{INCOME}=drop", "--policy", str(policy), "--format", "github")
    assert quiet.exit_code == 0 and "::" not in quiet.output


def test_nothing_to_check_is_bad_input() -> None:
    done = run()
    assert done.exit_code == 2


def test_a_proposed_schema_needs_the_local_store(tmp_path: Path) -> None:
    """A proposed schema is diffed against the local graph's columns: with LKG_URL set (as for
    the question commands) it is refused, not quietly diffed against an empty local store."""
    event = tmp_path / "event.json"
    event.write_text("{}", encoding="utf-8")
    done = CliRunner().invoke(
        app, ["check-change", "--proposed-schema", str(event)], env={"LKG_URL": "http://x:1"}
    )
    assert done.exit_code == 2 and "local store" in " ".join(done.output.split())


def test_an_unreachable_service_fails_the_gate(tmp_path: Path) -> None:
    done = CliRunner().invoke(
        app, ["check-change", "--change", f"{INCOME}=drop"], env={"LKG_URL": "http://127.0.0.1:9"}
    )
    assert done.exit_code == 1 and "cannot reach" in " ".join(done.output.split())


def test_github_escaping() -> None:
    assert _escape("50%\nnext") == "50%25%0Anext"
    assert _escape("a:b,c", prop=True) == "a%3Ab%2Cc"
