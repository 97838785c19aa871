"""What the event log's hash chain costs and how fast it is checked: appends with the chain
against the same appends without it (the insert as it was before the chain), interleaved in
rounds in one run so that machine load hits both alike; `chain.verify` and the backfill of an
old log over N small events.

    python -m benchmarks.event_log_chain --events 100000

Not a test: the numbers go to docs/operations.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from lineage_kg.graph.timefmt import now
from lineage_kg.ingest import chain
from lineage_kg.ingest.eventlog import Appended, EventLog, NewEvent, canonical_json
from lineage_kg.runtime import open_log_at


class UnchainedLog(EventLog):
    """`EventLog.append` as it was before the chain: the baseline (not the service's log, so
    opened here; the service's own is opened as the service opens it, `open_log_at`)."""

    def append(self, events: Sequence[NewEvent]) -> list[Appended]:
        received, results = now(), []
        with self._transaction() as db:
            for event in events:
                event_id = event.event_id
                found = db.execute("SELECT seq FROM events WHERE event_id = ?", (event_id,))
                if (row := found.fetchone()) is not None:
                    results.append(Appended(event_id, int(row[0]), True))
                    continue
                cursor = db.execute(
                    "INSERT INTO events (event_id, source, kind, event_time, received_at, body) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (event_id, event.source, event.kind, event.event_time, received,
                     canonical_json(event.body)),
                )  # fmt: skip
                results.append(Appended(event_id, int(cursor.lastrowid or 0), False))
        return results


def small_event(n: int) -> NewEvent:
    body = {
        "eventType": "COMPLETE",
        "eventTime": "2026-11-23T10:00:00Z",
        "run": {"runId": f"00000000-0000-4000-8000-{n:012d}"},
        "job": {"namespace": "bench", "name": f"job-{n % 500}"},
        "inputs": [{"namespace": "pg://db", "name": f"public.t{n % 97}"}],
        "outputs": [{"namespace": "pg://db", "name": f"public.t{n % 89}"}],
    }
    return NewEvent("openlineage", "RunEvent", "2026-11-23T10:00:00.000000Z", body)


def append_rate(log: EventLog, events: list[NewEvent], batch: int) -> tuple[float, float]:
    """(events/s of wall time, CPU µs of this process per event): on a shared machine the CPU
    time shows the chain's own cost where the wall time also shows the neighbours'."""
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(events), batch):
        log.append(events[i : i + batch])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return len(events) / wall, cpu / len(events) * 1e6


def compare_appends(work: Path, total: int, batch: int, rounds: int) -> dict[str, float]:
    """With and without the chain, alternating rounds into two fresh logs; medians."""
    logs = {"chained": open_log_at(work / f"chained-{batch}.sqlite3"),
            "unchained": UnchainedLog(work / f"unchained-{batch}.sqlite3")}  # fmt: skip
    rates: dict[str, list[tuple[float, float]]] = {name: [] for name in logs}
    per_round = total // rounds
    for r in range(rounds):
        events = [small_event(batch * 10_000_000 + r * per_round + i) for i in range(per_round)]
        for name, log in logs.items() if r % 2 == 0 else reversed(logs.items()):
            rates[name].append(append_rate(log, events, batch))
    for log in logs.values():
        log.close()
    result = {}
    for name, values in rates.items():
        result[f"{name}_per_s"] = sorted(v[0] for v in values)[len(values) // 2]
        result[f"{name}_cpu_us"] = sorted(v[1] for v in values)[len(values) // 2]
    return result


def verify_rate(work: Path, events: int) -> dict[str, float]:
    path = work / "verify.sqlite3"
    log = open_log_at(path)
    for i in range(0, events, 10_000):
        log.append([small_event(n) for n in range(i, min(i + 10_000, events))])
    log.close()
    with sqlite3.connect(path, isolation_level=None) as db:
        started = time.perf_counter()
        report = chain.verify(db)
        verify_s = time.perf_counter() - started
        assert report.intact and report.entries == events
        # the backfill an old log gets on its first open
        db.execute("ALTER TABLE events DROP COLUMN prev_hash")
        db.execute("ALTER TABLE events DROP COLUMN entry_hash")
    started = time.perf_counter()
    open_log_at(path).close()
    backfill_s = time.perf_counter() - started
    return {
        "verify_per_s": events / verify_s,
        "verify_s": verify_s,
        "backfill_per_s": events / backfill_s,
        "log_mb": path.stat().st_size / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000, help="for verify and backfill")
    parser.add_argument("--single", type=int, default=2_000, help="appended one per commit")
    parser.add_argument("--bulk", type=int, default=100_000, help="appended 1000 per commit")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        single = compare_appends(work, args.single, 1, args.rounds)
        bulk = compare_appends(work, args.bulk, 1000, args.rounds)
        result = {
            **{f"single_{k}": v for k, v in single.items()},
            **{f"bulk_{k}": v for k, v in bulk.items()},
            **verify_rate(work, args.events),
        }
    print(f"machine: {platform.machine()}, Python {platform.python_version()}, "
          f"SQLite {sqlite3.sqlite_version}")  # fmt: skip
    for key, value in result.items():
        print(f"{key:>26}: {value:,.1f}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
