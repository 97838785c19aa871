"""The API benchmark at 10k nodes, and the report written from its results.
No timing is asserted (see tests/benchmarks/smoke.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.benchmarks.smoke import NODES, bench

pytestmark = [pytest.mark.neo4j, pytest.mark.timeout(900)]


def test_api_benchmark_and_report(tmp_path: Path) -> None:
    args = ("--nodes", str(NODES), "--clients", "1", "2", "--seconds", "3", "--starts", "20")
    r = bench("api_load", tmp_path, *args)
    assert [h["clients"] for h in r["http"]] == [1, 2]
    assert all(h["latency"]["n"] > 0 for h in r["http"])
    assert r["overhead_p50"] > 0

    docs = tmp_path / "docs"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.report", "--results", str(tmp_path), "--out", str(docs)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    text = (docs / "results.md").read_text()
    assert "## API: impact over HTTP GraphQL" in text and "| embedded | 10,000 |" in text
    assert (docs / "api.png").stat().st_size > 1000
