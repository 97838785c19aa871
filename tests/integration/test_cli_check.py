"""`lkg check` end to end on a real durable log (the dbt_shop run, the example catalog,
deployments and monitoring results, synced as a user does): the exit code follows the policy —
1 with an error violation, 0 with none or only warnings — and a policy file in error is exit 2
naming the field. The example estate breaks one rule: credit-risk@3's psi_drift check has been
failing since 2026-01-06T12:00 (its last passing result)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from lineage_kg.cli.app import app

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "catalog"
DBT_EVENTS = ROOT / "tests" / "fixtures" / "dbt_shop_events.ndjson"
CHECK = '["Check","mlflow/credit-risk@3","psi_drift"]'


def lkg(data_dir: Path, *args: str | Path, code: int = 0) -> Result:
    env = {"LKG_DATA_DIR": str(data_dir), "NEO4J_URI": "", "COLUMNS": "250", "LKG_POLICY_FILE": ""}
    result = CliRunner().invoke(app, [str(a) for a in args], env=env, catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("lkg")
    lkg(data, "ingest", DBT_EVENTS)
    lkg(data, "sync", "catalog", EXAMPLES / "owners.yaml", EXAMPLES / "kpis.yaml")
    lkg(data, "sync", "deployments", EXAMPLES / "deployments.yaml")
    lkg(data, "sync", "monitoring", EXAMPLES / "monitoring.ndjson")
    return data


def policy(tmp_path: Path, text: str) -> Path:
    file = tmp_path / "policy.yaml"
    file.write_text("version: 1\nrules:\n" + text)
    return file


def test_an_error_violation_exits_1(data_dir: Path) -> None:
    doc = json.loads(lkg(data_dir, "check", "--json", code=1).stdout)
    (v,) = doc["violations"]
    assert (v["rule"], v["severity"], v["subject"]["id"]) == (
        "check_failing_too_long",
        "error",
        CHECK,
    )
    assert v["since"] == "2026-01-06T12:00:00.000000Z" and v["evidence"]
    assert doc["policy"] == "default policy" and len(doc["rules"]) == 7
    table = lkg(data_dir, "check", code=1).stdout
    assert "check_failing_too_long" in table and "1 error(s)" in table


def test_as_of_before_the_limit_exits_0(data_dir: Path) -> None:
    doc = json.loads(lkg(data_dir, "check", "--as-of", "2026-01-08T00:00:00Z", "--json").stdout)
    assert doc["violations"] == [] and doc["evaluated_at"] == "2026-01-08T00:00:00.000000Z"


def test_the_policy_decides_the_exit_code(data_dir: Path, tmp_path: Path) -> None:
    warning = policy(tmp_path, "  - rule: check_failing_too_long\n    severity: warning\n")
    doc = json.loads(lkg(data_dir, "check", "--policy", warning, "--json").stdout)
    assert [(v["rule"], v["severity"]) for v in doc["violations"]] == [
        ("check_failing_too_long", "warning")
    ]
    patient = policy(tmp_path, "  - rule: check_failing_too_long\n    days: 1000\n")
    assert "no violations" in lkg(data_dir, "check", "--policy", patient).stdout


def test_a_policy_in_error_exits_2_naming_the_field(data_dir: Path, tmp_path: Path) -> None:
    bad = policy(tmp_path, "  - rule: check_failing_too_long\n    days: soon\n")
    out = lkg(data_dir, "check", "--policy", bad, code=2).output
    assert "rules[0].days" in out
    out = lkg(data_dir, "check", "--policy", bad, "--url", "http://x", code=2).output
    assert "--policy" in out
