"""Decision logs at scale: N decisions through the real intake validation, the durable event log
and the projector (graph mapping + the decisions side table), then lookups by id and pages by
model version, against the naive baseline measured in the same run: a linear scan of the log.

    python -m benchmarks.decision_lookup --decisions 1000000

Not a test: the numbers go to docs/benchmarks.md and docs/decisions/0002-decisions-side-table.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import settings_for
from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import MutationBatch, Provenance
from lineage_kg.graph.store import GraphStore
from lineage_kg.ingest.decisions.projection import DECISIONS_FILE
from lineage_kg.ingest.decisions.records import MAX_BATCH, decision_event, validate_items
from lineage_kg.queries.decisions import Selection, counts_by_model_version, list_decisions, resolve
from lineage_kg.runtime import LOG_FILE, Runtime

POINTS = ("loan-approval", "fraud-check", "limit-increase")
VERSIONS = ("1", "2", "3", "4", "5")
MODEL = NodeKey.of(NodeKind.MODEL, registry="mlflow", name="credit-risk")


def mv(version: str) -> NodeKey:
    return NodeKey.of(
        NodeKind.MODEL_VERSION, registry="mlflow", name="credit-risk", version=version
    )


def seed_graph(store: GraphStore) -> None:
    b = MutationBatch()
    p = Provenance("catalog", "bench-catalog", "2026-01-01T00:00:00Z")
    for v in VERSIONS:
        b.edge(MODEL, EdgeKind.HAS_VERSION, mv(v), p)
    for point in POINTS:
        b.edge(mv("5"), EdgeKind.DEPLOYED_TO, NodeKey.of(NodeKind.DECISION_POINT, name=point), p)
    b.edge(MODEL, EdgeKind.ALIAS, mv("4"), p, disc="champion")
    store.apply(b)


def decision(i: int) -> dict[str, Any]:
    """Half name a version, a quarter the champion alias, a quarter neither."""
    item: dict[str, Any] = {
        "decision_id": f"dec-{i:09d}",
        "timestamp": f"2026-02-{1 + i % 28:02d}T{i // 60 % 24:02d}:{i % 60:02d}:{i % 59:02d}Z",
        "decision_point": POINTS[i % len(POINTS)],
        "model": "credit-risk",
        "features": [
            {"project": "risk", "view": "customer", "name": "spend_30d", "value": i % 1000},
            "risk/customer:tenure_days",
        ],
        "outcome": {"approved": i % 3 != 0, "score": (i % 997) / 997},
        "request_id": f"req-{i}",
    }
    if i % 2 == 0:
        item["version"] = VERSIONS[(i // 2) % len(VERSIONS)]
    elif i % 4 == 1:
        item["alias"] = "champion"
    return item


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"


def run(n: int, lookups: int, scans: int) -> dict[str, Any]:  # noqa: PLR0915 - one script
    out: dict[str, Any] = {"decisions": n}
    with (
        tempfile.TemporaryDirectory() as tmp,
        Runtime.open(settings_for(Path(tmp), projector_batch_size=10)) as runtime,
    ):
        data, log, store = runtime.settings.data_dir, runtime.log, runtime.store
        seed_graph(store)

        began = time.perf_counter()
        for start in range(0, n, MAX_BATCH):
            items = [
                (i - start, f"[{i - start}]", decision(i))
                for i in range(start, min(n, start + MAX_BATCH))
            ]
            checked = validate_items(items)
            assert not checked.rejected, checked.rejected[:1]
            log.append([decision_event(checked.decisions)])
        took = time.perf_counter() - began
        out["intake_s"], out["intake_per_s"] = took, n / took

        table = runtime.decisions  # the projector and its side tables opened before the clock
        assert table is not None and runtime.projector is not None
        began = time.perf_counter()
        runtime.catch_up()
        took = time.perf_counter() - began
        stats = table.stats()
        assert stats.stored == n, stats
        out["projection_s"], out["projection_per_s"] = took, n / took
        out["table_mb"] = sum(f.stat().st_size for f in data.glob(f"{DECISIONS_FILE}*")) / 2**20
        out["log_mb"] = sum(f.stat().st_size for f in data.glob(f"{LOG_FILE}*")) / 2**20

        rng = random.Random(7)
        ids = [f"dec-{rng.randrange(n):09d}" for _ in range(lookups)]
        times = []
        for decision_id in ids:
            t0 = time.perf_counter()
            row = table.get(decision_id)
            times.append(time.perf_counter() - t0)
            assert row is not None
        out["get_p50"], out["get_p99"] = percentile(times, 0.5), percentile(times, 0.99)
        times = []
        for decision_id in ids[:2000]:
            t0 = time.perf_counter()
            row = table.get(decision_id)
            assert row is not None
            resolve(store, row)
            times.append(time.perf_counter() - t0)
        out["get_resolve_p50"] = percentile(times, 0.5)
        out["get_resolve_p99"] = percentile(times, 0.99)

        times, after = [], None
        for _ in range(200):  # consecutive first pages of 100
            t0 = time.perf_counter()
            page = list_decisions(table, Selection(model_version=mv("3")), first=100, after=after)
            times.append(time.perf_counter() - t0)
            after = page.end_cursor
        out["page100_p50"], out["page100_p99"] = percentile(times, 0.5), percentile(times, 0.99)
        t0, after, listed = time.perf_counter(), None, 0
        while True:
            page = list_decisions(table, Selection(model_version=mv("3")), first=1000, after=after)
            listed += len(page.rows)
            if not page.has_next_page:
                break
            after = page.end_cursor
        out["walk_version_s"], out["walk_version_rows"] = time.perf_counter() - t0, listed
        t0 = time.perf_counter()
        counts_by_model_version(table, MODEL)
        out["counts_s"] = time.perf_counter() - t0

        # the naive baseline: find a decision (and a version's decisions) by scanning the log
        times = []
        for decision_id in ids[:scans]:
            t0 = time.perf_counter()
            found, position = None, 0
            while found is None:
                entries = log.read(position, 20, source="decisions")
                assert entries
                for entry in entries:
                    found = next(
                        (d for d in entry.body["decisions"] if d["decision_id"] == decision_id),
                        None,
                    )
                    if found:
                        break
                position = entries[-1].seq
            times.append(time.perf_counter() - t0)
        out["scan_get_p50"], out["scan_get_max"] = percentile(times, 0.5), max(times)
        t0, position, matched = time.perf_counter(), 0, 0
        while entries := log.read(position, 20, source="decisions"):
            matched += sum(1 for d in entries[0].body["decisions"] if d.get("version") == "3")
            for entry in entries[1:]:
                matched += sum(1 for d in entry.body["decisions"] if d.get("version") == "3")
            position = entries[-1].seq
        out["scan_version_s"] = time.perf_counter() - t0
        assert matched == listed, (matched, listed)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decisions", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=20_000)
    parser.add_argument("--scans", type=int, default=5)
    args = parser.parse_args()
    result = run(args.decisions, args.lookups, args.scans)
    print(
        f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    for key, value in result.items():
        if key.endswith(("_p50", "_p99", "_max")):
            print(f"{key:>20}: {ms(value)}")
        elif isinstance(value, float):
            print(f"{key:>20}: {value:,.2f}")
        else:
            print(f"{key:>20}: {value:,}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
