"""Decision files (NDJSON, CSV, Parquet) and `lkg ingest-decisions`: rows streamed into the log,
rejected rows reported by file:line and field, exit code 2 when any was rejected."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from lineage_kg.ingest.decisions.files import read_decisions
from lineage_kg.ingest.decisions.records import validate_items
from lineage_kg.ingest.eventlog import EventLog

LKG = Path(sys.executable).with_name("lkg")
HEAD = "decision_id,timestamp,decision_point,model,version,alias,features,outcome\n"


def test_csv_features_as_refs_or_json_and_empty_cells_absent(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text(
        HEAD
        + "d-1,2026-03-02T10:00:00Z,loan-approval,credit-risk,4,,risk/v:a;risk/v:b,approved\n"
        + 'd-2,1772445600000,loan-approval,credit-risk,,champion,"[""risk/v:a""]","{""x"": 1}"\n'
        + "d-3,not-a-time,loan-approval,credit-risk,,,,declined\n"
    )
    rows = list(read_decisions(path))
    assert [where for where, _ in rows] == [f"{path}:2", f"{path}:3", f"{path}:4"]
    checked = validate_items([(i, w, r) for i, (w, r) in enumerate(rows)])
    one, two = checked.decisions
    assert [f.name for f in one.features] == ["a", "b"]
    assert "alias" not in one.stored()
    assert (two.alias, two.outcome, two.timestamp) == (
        "champion", {"x": 1}, "2026-03-02T10:00:00.000000Z"
    )  # fmt: skip
    (bad,) = checked.rejected
    assert bad.where == f"{path}:4"
    assert bad.errors[0][0] == "timestamp"


def test_parquet_with_real_timestamps(tmp_path: Path) -> None:
    from datetime import datetime

    path = tmp_path / "d.parquet"
    table = pa.table(
        {
            "decision_id": ["p-1", "p-2"],
            "timestamp": pa.array([datetime(2026, 3, 2, 10), datetime(2026, 3, 2, 11)]),
            "decision_point": ["loan-approval", "loan-approval"],
            "model": ["credit-risk", "credit-risk"],
            "version": ["4", None],
            "features": [["risk/v:a"], []],
            "outcome": ["approved", "declined"],
        }
    )
    pq.write_table(table, path)
    checked = validate_items([(i, w, r) for i, (w, r) in enumerate(read_decisions(path))])
    assert not checked.rejected
    assert [d.timestamp for d in checked.decisions] == [
        "2026-03-02T10:00:00.000000Z", "2026-03-02T11:00:00.000000Z"
    ]  # fmt: skip
    assert checked.decisions[1].version is None


def test_cli_appends_batches_and_lists_rejected_rows(tmp_path: Path) -> None:
    good = [
        {"decision_id": f"n-{i}", "timestamp": "2026-03-02T10:00:00Z", "model": "credit-risk",
         "decision_point": "loan-approval", "outcome": "approved"}
        for i in range(5)
    ]  # fmt: skip
    lines = [json.dumps(d) for d in good]
    lines.insert(2, json.dumps({"decision_id": "n-x", "timestamp": "2026-03-02T10:00:00Z"}))
    path = tmp_path / "d.ndjson"
    path.write_text("\n".join(lines) + "\n{broken\n")
    data = tmp_path / "data"
    env = {**os.environ, "LKG_DATA_DIR": str(data), "NEO4J_URI": "", "COLUMNS": "200"}
    done = subprocess.run(
        [str(LKG), "ingest-decisions", str(path), "--batch", "2"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{path}:3 decision_point: Field required" in done.stdout
    assert f"{path}:7 $: not valid JSON" in done.stdout
    log = EventLog(data / "events.sqlite3")
    entries = log.read(0, 100)
    log.close()
    assert [len(e.body["decisions"]) for e in entries] == [2, 1, 2]
    assert all(e.source == "decisions" for e in entries)
