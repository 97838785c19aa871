"""The accountability map of the largest team on Neo4j (issue 19, target 1), session 31: the
downstream walk's first level along its start state's own moves (`FIRST_LEVEL_OWN_MOVES`,
graph/neo4j_walk_statements.py `_FIRST_WAYS`) against the statement every chunk sends.

    python -m benchmarks.accountability_pair_s31 --uri bolt://127.0.0.1:PORT \
        --estate /tmp/h85/estate/100000 [--statement 10] [--rounds 10] [--profile] [--tag s31]

`--statement N`: the downstream walk's first chunk as one map sends it, captured both ways, then
replayed N times each, interleaved: the server's `result_consumed_after`, the client's wall and
(`--server-pid`: a server nobody else queries) the server process's CPU seconds around it,
each answer compared (its rows, nodes, pending pairs and marks as multisets, the counts left out)
with the other's. `--rounds N`: whole maps, `now` (switch on) against `before` (off),
interleaved, every answer checked equal (`harness.timed_rounds`). `--profile`: PROFILE of the
first chunk both ways (db hits and rows by operator).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from neo4j import Query

from benchmarks.harness import kept_runtime, save, timed_rounds
from lineage_kg.graph import neo4j_walk_statements
from lineage_kg.graph.neo4j_params import quiet
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.queries.accountability import accountability

WAYS = {"before": False, "now": True}


@contextmanager
def _switch(on: bool) -> Iterator[None]:
    was = neo4j_walk_statements.FIRST_LEVEL_OWN_MOVES
    neo4j_walk_statements.FIRST_LEVEL_OWN_MOVES = on
    try:
        yield
    finally:
        neo4j_walk_statements.FIRST_LEVEL_OWN_MOVES = was


def _ask(store: Neo4jStore, owner: str, name: str) -> Callable[[], Any]:
    on = WAYS[name]

    def ask() -> Any:
        with _switch(on):
            return accountability(store, owner)

    return ask


def _first_chunk(store: Neo4jStore, owner: str, on: bool) -> tuple[Any, dict[str, Any]]:
    """The first statement the downstream walk (`_on_ids`'s `_reach_rows`) sends in one map."""
    caught: list[tuple[Any, dict[str, Any]]] = []
    real = store._read
    in_walk = threading.local()  # the upstream walk reads on a worker meanwhile

    def read(query: Any, **params: Any) -> list[Any]:
        if getattr(in_walk, "on", False) and not caught:
            caught.append((query, params))
        return real(query, **params)

    real_on_ids = store._on_ids

    def on_ids(*args: Any, **kwargs: Any) -> Any:
        in_walk.on = True
        try:
            return real_on_ids(*args, **kwargs)
        finally:
            in_walk.on = False

    store._read = read  # type: ignore[method-assign]
    store._on_ids = on_ids  # type: ignore[method-assign]
    try:
        with _switch(on):
            accountability(store, owner)
    finally:
        del store._read, store._on_ids
    return caught[0]


SERVER_PID: int | None = None  # `--server-pid`: the server's CPU read around each statement


def _server_cpu() -> float:
    """The server process's CPU seconds (user + system, /proc), or 0 when no pid is given."""
    if SERVER_PID is None:
        return 0.0
    fields = Path(f"/proc/{SERVER_PID}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _run_once(store: Neo4jStore, query: Any, params: dict[str, Any], prefix: str = "") -> Any:
    with store._driver.session(database=store.database) as session:
        began, cpu = time.perf_counter(), _server_cpu()
        result = session.run(Query(prefix + query, timeout=600), quiet(params))
        rows = [r.data() for r in result]
        summary = result.consume()
        wall = time.perf_counter() - began
        spent = _server_cpu() - cpu
    return rows, summary, wall, spent


def _answer(row: dict[str, Any]) -> dict[str, Any]:
    """A chunk's answer in a form that does not depend on the order of rows within a level."""
    return {
        "found": sorted(json.dumps(f, sort_keys=True, default=str) for f in row["found"]),
        "nodes": sorted(row["nodes"]),
        "pending": sorted(map(tuple, row["pending"])),
        "marks": sorted(row["marks"]),
        "dropped": [row["dropped"][0], sorted(map(tuple, row["dropped"][1]))],
    }


def _statement(store: Neo4jStore, owner: str, rounds: int) -> dict[str, Any]:
    captured = {name: _first_chunk(store, owner, on) for name, on in WAYS.items()}
    (q0, p0), (q1, p1) = captured["before"], captured["now"]
    assert q0 != q1, "the switch did not change the first chunk's statement"
    assert p0 == p1, "the first chunk's parameters differ"
    answers = {}
    for name, (query, params) in captured.items():
        rows, _, _, _ = _run_once(store, query, params)  # warm: the plan compiled
        answers[name] = _answer(rows[0])
    assert answers["before"] == answers["now"], "the two statements answer differently"
    found = answers["now"]
    print(
        f"first chunk: {len(found['found']):,} rows, {len(found['nodes']):,} nodes, "
        f"{found['dropped'][0]:,} left out; answers equal"
    )
    server: dict[str, list[int]] = {name: [] for name in WAYS}
    cpu: dict[str, list[float]] = {name: [] for name in WAYS}
    wall: dict[str, list[float]] = {name: [] for name in WAYS}
    load = [os.getloadavg()]
    names = list(WAYS)
    for r in range(rounds):
        for name in names[r % 2 :] + names[: r % 2]:
            query, params = captured[name]
            rows, summary, took, spent = _run_once(store, query, params)
            assert _answer(rows[0]) == answers[name]
            server[name].append(summary.result_consumed_after)
            cpu[name].append(round(spent, 3))
            wall[name].append(took)
    load.append(os.getloadavg())
    figures = {
        name: {
            "server_ms_median": statistics.median(server[name]),
            "server_ms": server[name],
            "wall_s_median": statistics.median(wall[name]),
            "wall_s": [round(w, 4) for w in wall[name]],
            "server_cpu_s_median": statistics.median(cpu[name]),
            "server_cpu_s": cpu[name],
        }
        for name in names
    }
    for name in names:
        f = figures[name]
        print(
            f"{name}: server {f['server_ms_median']} ms median "
            f"({min(server[name])}-{max(server[name])}), wall {f['wall_s_median']:.3f} s, "
            f"server CPU {f['server_cpu_s_median']:.3f} s ({min(cpu[name])}-{max(cpu[name])})"
        )
    return figures | {"load_average": load}


def _profile(store: Neo4jStore, owner: str) -> dict[str, Any]:
    out = {}
    for name, on in WAYS.items():
        query, params = _first_chunk(store, owner, on)
        _, summary, _, _ = _run_once(store, query, params, "PROFILE ")
        ops: list[tuple[str, int, int, str]] = []

        def walk(plan: Any, ops: list[tuple[str, int, int, str]] = ops) -> None:
            args = plan.get("args", {})
            details = str(args.get("Details", ""))[:140]
            ops.append((plan["operatorType"], plan.get("dbHits", 0), plan.get("rows", 0), details))
            for child in plan.get("children", []):
                walk(child)

        walk(summary.profile)
        total = sum(h for _, h, _, _ in ops)
        rows = sum(r for _, _, r, _ in ops)
        top = sorted(ops, key=lambda o: -o[1])[:12]
        print(f"PROFILE {name}: {total:,} db hits, {rows:,} rows in all operators")
        for op, hits, n, details in top:
            print(f"  {op:32s} {hits:>10,} {n:>9,} {details[:90]}")
        out[name] = {
            "db_hits": total,
            "rows": rows,
            "consumed_after_ms": summary.result_consumed_after,
            "top": [{"op": o, "db_hits": h, "rows": r, "details": d} for o, h, r, d in top],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--uri", help="a server holding the estate; else one started on it here")
    parser.add_argument("--estate", type=Path, required=True)
    parser.add_argument("--statement", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=0)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--server-pid", type=int, help="the server's pid: its CPU per statement")
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    global SERVER_PID  # noqa: PLW0603 - a benchmark's one setting
    SERVER_PID = args.server_pid
    logging.getLogger("neo4j").setLevel(logging.ERROR)
    manifest = json.loads((args.estate / "files" / "manifest.json").read_text())
    owner = manifest["samples"]["accountability_owner"]
    result: dict[str, Any] = {"owner": owner, "date": time.strftime("%Y-%m-%d %H:%M:%S UTC")}
    with kept_runtime(args.estate, args.uri) as runtime:
        store = runtime.store
        assert isinstance(store, Neo4jStore)
        if args.profile:
            result["profile"] = _profile(store, owner)
        if args.statement:
            result["statement"] = _statement(store, owner, args.statement)
        if args.rounds:
            figures, _ = timed_rounds(
                {name: _ask(store, owner, name) for name in ("now", "before")},
                args.rounds,
                same=dataclasses.asdict,
                cpu=True,
            )
            result["figures"] = figures
            print(json.dumps({k: v for k, v in figures.items()}, indent=1))
    print(save("accountability_pair_s31", result, args.tag))


if __name__ == "__main__":
    main()
