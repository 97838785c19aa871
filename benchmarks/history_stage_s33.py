"""The audit trail's thread alone, on a kept log, without Neo4j (session 33, target 4).

    python -m benchmarks.history_stage_s33 --log /tmp/h91/100000/log --rounds 3
    python -m benchmarks.projector_ab_s30 --tree base=/tmp/base --tree after=/tmp/after \
        --rounds 4 --check digest -- benchmarks.history_stage_s33 --log DIR --rounds 2

The log's entries are read and mapped once (untimed), then handed to a `HistoryStage` on a
fresh copy of the log in the projector's steps (`--batch` events a hand, 500 as the projector
reads them), as `Projector.run_once` hands them, and waited for. Timed by the stage's worker
threads' CPU (`time.thread_time` inside `HistoryStage._drain`, summed over the workers) and
split into the derivation (`history_entries`) and the log's write (`EventLog.record_history`),
each by thread CPU too. `--rounds N`: N fresh copies, each recorded once. The digest hashes the
stored `node_history` rows (ordered by rowid: the insertion order too) and the position: two
versions of the code record the same trail iff equal.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sqlite3
import statistics
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Any

from benchmarks.harness import copy_log, scratch_dir, settings_for
from lineage_kg.graph.sides import history as history_module
from lineage_kg.ingest import history_stage as stage_module
from lineage_kg.ingest.sources import default_mappers
from lineage_kg.runtime import Runtime, open_log_at


def stored_digest(db_path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    with closing(sqlite3.connect(db_path)) as db:
        rows = db.execute(
            "SELECT node_id, seq, entry_type, event_time, summary, other_node_id, edge_kind "
            "FROM node_history ORDER BY rowid"
        ).fetchall()
        for row in rows:
            h.update(json.dumps(row).encode())
        position = db.execute("SELECT seq FROM history_position").fetchall()
        h.update(json.dumps(position).encode())
    return h.hexdigest()[:16], len(rows)


def one_round(args: argparse.Namespace, mapped: list[Any], mappers: dict[str, Any]) -> dict:
    cpu = {"worker": 0.0, "derive": 0.0, "record": 0.0}
    lock = threading.Lock()
    real_drain = stage_module.HistoryStage._drain
    real_entries = stage_module.history_entries

    def drain(self: Any) -> None:
        began = time.thread_time()
        try:
            real_drain(self)
        finally:
            with lock:
                cpu["worker"] += time.thread_time() - began

    def entries(seq: int, batch: Any) -> Any:
        began = time.thread_time()
        out = real_entries(seq, batch)
        cpu["derive"] += time.thread_time() - began
        return out

    history_module._DISPLAYS.clear()
    with scratch_dir("h91-hist") as data:
        settings = settings_for(data)
        copy_log(settings_for(args.log), settings)
        log = open_log_at(settings.data_dir / "events.sqlite3")
        real_record = log.record_history

        def record(rows: Any, *, upto: int | None = None) -> None:
            began = time.thread_time()
            real_record(rows, upto=upto)
            cpu["record"] += time.thread_time() - began

        log.record_history = record  # type: ignore[method-assign]
        stage_module.HistoryStage._drain = drain  # type: ignore[method-assign]
        stage_module.history_entries = entries  # type: ignore[assignment]
        try:
            stage = stage_module.HistoryStage(log, mappers)
            wall = time.perf_counter()
            for i in range(0, len(mapped), args.batch):
                stage.hand(mapped[i : i + args.batch])
                if args.pace:
                    stage.idle()  # one step at a time, as a projector slower than the stage
            assert stage.wait(mapped[-1][0]), stage.error
            stage.idle()
            wall = time.perf_counter() - wall
        finally:
            stage_module.HistoryStage._drain = real_drain  # type: ignore[method-assign]
            stage_module.history_entries = real_entries  # type: ignore[assignment]
        log.close()
        digest, rows = stored_digest(settings.data_dir / "events.sqlite3")
    return {
        "worker_cpu_s": round(cpu["worker"], 3),
        "derive_cpu_s": round(cpu["derive"], 3),
        "record_cpu_s": round(cpu["record"], 3),
        "wall_s": round(wall, 3),
        "rows": rows,
        "digest": digest,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--log", type=Path, required=True, help="data dir with events.sqlite3")
    parser.add_argument("--upto", type=int, default=1_000_000, help="the log's first N entries")
    parser.add_argument("--batch", type=int, default=500, help="events a hand (the projector's)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--pace", action="store_true", help="wait for each hand before the next")
    args = parser.parse_args()
    with scratch_dir("h91-read") as data:
        settings = settings_for(data)
        copy_log(settings_for(args.log), settings)
        with Runtime.open(settings) as runtime:
            entries = runtime.log.read(0, args.upto)
    mappers = default_mappers()
    mapped = [(e.seq, mappers[e.source](e)) for e in entries]
    rounds = [one_round(args, mapped, mappers) for _ in range(args.rounds)]
    assert len({r["digest"] for r in rounds}) == 1, rounds
    result: dict[str, Any] = {
        "entries": len(entries),
        "rows": rounds[0]["rows"],
        "digest": rounds[0]["digest"],
        **{
            f"{name}_median": round(statistics.median(r[name] for r in rounds), 3)
            for name in ("worker_cpu_s", "derive_cpu_s", "record_cpu_s", "wall_s")
        },
        "rounds": rounds,
        "load": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
