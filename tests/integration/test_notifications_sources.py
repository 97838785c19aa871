"""Changes from real syncs: the example deployments and monitoring files (examples/catalog, the
ones docs/sources/catalogs.md shows) synced with the real CLI, projected: each deployment's
start is one change, a check one change when it turns `fail` (not while it stays failing), a
second sync of the same files none. Expected values worked out by hand from the files."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from lineage_kg.cli.app import app
from lineage_kg.runtime import Runtime
from lineage_kg.settings import Settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "catalog"
M0 = ":00:00.000000Z"  # canonical times' tail
T0 = "T00" + M0


def lkg(data_dir: Path, *args: str | Path) -> str:
    env = {"LKG_DATA_DIR": str(data_dir), "NEO4J_URI": ""}
    result = CliRunner().invoke(app, [str(a) for a in args], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def outbox_kinds(data_dir: Path) -> list[tuple[str, str]]:
    with Runtime.open(Settings(data_dir=data_dir, snapshot=False)) as runtime:
        runtime.catch_up()
        assert runtime.outbox is not None
        return [(r.kind, _what(r.detail)) for r in runtime.outbox.rows()]


def _what(detail: dict) -> str:
    if "decision_point" in detail:
        return f"{detail['version']} {detail['mode']} from {detail['valid_from']}"
    return f"{detail['check']} on {detail['subject']} at {detail['checked_at']}"


def test_deployments_and_checks_from_real_syncs(tmp_path: Path) -> None:
    lkg(tmp_path, "sync", "catalog", EXAMPLES / "owners.yaml", EXAMPLES / "kpis.yaml")
    lkg(tmp_path, "sync", "deployments", EXAMPLES / "deployments.yaml")
    lkg(tmp_path, "sync", "monitoring", EXAMPLES / "monitoring.ndjson")
    found = outbox_kinds(tmp_path)
    assert sorted(found) == sorted(
        [
            (
                "deployment_started",
                "mlflow/credit-risk@2 champion from 2025-11-01T00:00:00.000000Z",
            ),
            ("deployment_started", "mlflow/credit-risk@3 canary from 2026-01-02T00:00:00.000000Z"),
            (
                "deployment_started",
                "mlflow/credit-risk@3 champion from 2026-01-05T06:00:00.000000Z",
            ),
            ("deployment_started", "mlflow/credit-risk@4 shadow from 2026-01-05T06:00:00.000000Z"),
            # psi_drift: pass, warn, then fail; auc passes, the others warn or pass
            ("check_failing", "psi_drift on mlflow/credit-risk@3 at 2026-01-07T12:00:00.000000Z"),
        ]
    )
    # the same files again: nothing logged, nothing told
    lkg(tmp_path, "sync", "deployments", EXAMPLES / "deployments.yaml")
    lkg(tmp_path, "sync", "monitoring", EXAMPLES / "monitoring.ndjson")
    assert outbox_kinds(tmp_path) == found
    # psi_drift still failing the next day: no change; passing, then failing again: one
    more = tmp_path / "more.ndjson"
    rows = [("fail", "2026-01-08"), ("pass", "2026-01-09"), ("fail", "2026-01-10")]
    more.write_text(
        "".join(
            json.dumps(
                {
                    "subject": {"model": "credit-risk", "version": "3"},
                    "check": "psi_drift",
                    "status": status,
                    "value": 0.3,
                    "threshold": 0.2,
                    "checked_at": f"{day}T12:00:00Z",
                }
            )
            + "\n"
            for status, day in rows
        )
    )
    lkg(tmp_path, "sync", "monitoring", more)
    new = [f for f in outbox_kinds(tmp_path) if f not in found]
    assert new == [
        ("check_failing", "psi_drift on mlflow/credit-risk@3 at 2026-01-10T12:00:00.000000Z")
    ]
