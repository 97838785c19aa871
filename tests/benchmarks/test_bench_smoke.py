"""The benchmarks at 10,000 nodes, so they keep working: each runs as `lkg bench` runs it (its own
process, its own Neo4j and `lkg serve`), and its results file must hold every measurement with
answers that check out. No timing is asserted: speed targets live in docs/benchmarks.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.neo4j, pytest.mark.timeout(900)]

NODES = 10_000


def bench(module: str, out: Path, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{module}", "--out", str(out), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (result,) = [json.loads(p.read_text()) for p in out.glob(f"{module}_*.json")]
    assert result["machine"]["cpus"] >= 1 and result["date"]
    return result


def test_ingest_benchmark(tmp_path: Path) -> None:
    r = bench("ingest_throughput", tmp_path, "--nodes", str(NODES), "--naive-events", "10")
    kg = r["lineage_kg"]
    assert kg["events"] == r["events"] > 100
    assert kg["parked"] == 0 and r["projector_only"]["parked"] == 0
    assert 0.8 * NODES <= kg["nodes"] <= 1.2 * NODES
    assert r["naive"]["events"] == 10 and r["naive"]["statements"] > 10 * 100
    assert r["limit"]["records"] > kg["nodes"]
    assert r["ratio_vs_naive"] > 0 and r["ratio_vs_limit"] > 0


def test_query_benchmark(tmp_path: Path) -> None:
    r = bench("query_latency", tmp_path, "--nodes", str(NODES), "--starts", "20")
    (size,) = r["sizes"].values()
    assert 0.8 * NODES <= size["nodes"] <= 1.2 * NODES
    assert size["embedded_rebuild_s"] > 0 and size["embedded_bytes_per_node"] > 0
    # the run itself asserts both stores gave the same answers before timing them
    for question in ("impact_raw_column", "impact_lattice_column", "decision_trace"):
        assert size[question]["neo4j"]["n"] >= 5, question
        assert size[question]["answer_nodes_median"] > 0, question
    assert size["team_accountability"]["answer_nodes_max"] > 0
    naive = size["naive_cypher"]
    assert naive["runs"] > 0 and naive["timeouts"] + naive["latency"]["n"] == naive["runs"]


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
