"""The replicas benchmark at a tiny load, so it keeps working: the single-process default, the
Kafka log with one replica and with three, on a real broker and the embedded store (no Neo4j:
the smoke stays short). No timing is asserted (see tests/benchmarks/smoke.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benchmarks.smoke import bench

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(300)]


def test_replicas_benchmark(tmp_path: Path) -> None:
    r = bench("replicas", tmp_path, "--smoke")
    assert r["store"] == "embedded" and r["events"] == 60
    assert set(r["cases"]) == {"single", "kafka_1", "kafka_3"}
    for name, case in r["cases"].items():
        # every event acknowledged and seen projected; each event's lag was measured
        assert case["events"] == r["events"], name
        assert case["parked"] == 0, name
        assert case["intake_events_per_s"] > 0 and case["projection_lag_s"] >= 0, name
        assert 0 <= case["event_lag_p50_ms"] <= case["event_lag_p95_ms"], name
        assert case["event_lag_p95_ms"] <= case["event_lag_max_ms"], name
        assert case["polls"] > 0, name
    assert [r["cases"][c]["replicas"] for c in ("single", "kafka_1", "kafka_3")] == [1, 1, 3]
    # the broker did the Kafka cases' work and none of the default's
    assert r["cases"]["kafka_1"]["cpu_s"]["kafka"] > 0
    assert "kafka" not in r["cases"]["single"]["cpu_s"]
    assert {"service0", "service1", "service2"} <= set(r["cases"]["kafka_3"]["cpu_s"])
