"""The accountability map of the largest team on Neo4j (issue 19, target 1), session 30: today's
map against the map at this session's start (b544989), interleaved round by round in one process,
every answer checked equal to the first before its time counts; its phases; the downstream walk's
first chunk PROFILEd.

    python -m benchmarks.accountability_pair_s30 --uri bolt://127.0.0.1:PORT \
        --estate /work/q30/estate/100000 [--rounds 8] [--contenders now,base] \
        [--phases 4] [--profile] [--tag s30]

Contenders: `now` (today's map), `base` (queries/accountability.py as at b544989, read with git
beside today's other modules: `harness.module_at`). The session's first change (018caab: the
downstream walk reading the part edges of the nodes it met in its own statements, `parts`,
against the map reading them after the walk, `after`; `--walk N`, the walk and its read alone)
was measured with this benchmark as at 156c510 and reverted (docs/bench-notes/target1-neo4j.md,
session 30). `--phases N`: session 29's piece-by-piece timing of N maps
(benchmarks/accountability_pair_s29.py `_phases`). `--profile`: PROFILE of the downstream walk's
first chunk once (db hits and rows by operator, summed per operator type, and the 25 largest
operators).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from neo4j import Query

from benchmarks.accountability_pair_s29 import _phases
from benchmarks.harness import kept_runtime, module_at, save, timed_rounds
from lineage_kg.graph.neo4j_params import quiet
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.queries.accountability import accountability
from lineage_kg.runtime import Runtime

BASE = "b544989"


def _ask(store: Neo4jStore, owner: str, name: str) -> Callable[[], Any]:
    if name == "base":
        old = module_at(BASE, "queries/accountability.py")
        return lambda: old.accountability(store, owner)
    if name != "now":
        raise SystemExit(f"unknown contender {name!r}: now, base")
    return lambda: accountability(store, owner)


def _profile(store: Neo4jStore, owner: str) -> dict[str, Any]:
    """PROFILE of the first statement the downstream walk (`_on_ids`'s `_reach_rows`) sends."""
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
        accountability(store, owner)
    finally:
        del store._read, store._on_ids
    query, params = caught[0]
    with store._driver.session(database=store.database) as session:
        result = session.run(Query("PROFILE " + query, timeout=600), quiet(params))
        list(result)
        summary = result.consume()
    ops: list[tuple[str, int, int, str]] = []

    def walk(plan: Any) -> None:
        args = plan.get("args", {})
        ops.append(
            (
                plan["operatorType"],
                int(plan.get("dbHits", 0)),
                int(plan.get("rows", 0)),
                str(args.get("Details", ""))[:140],
            )
        )
        for child in plan.get("children", []):
            walk(child)

    walk(summary.profile)
    by_type: dict[str, list[int]] = {}
    for op, hits, rows, _ in ops:
        got = by_type.setdefault(op.split("@")[0], [0, 0, 0])
        got[0] += hits
        got[1] += rows
        got[2] += 1
    total = sum(h for _, h, _, _ in ops)
    top = sorted(ops, key=lambda o: -o[1])[:25]
    print(f"PROFILE: {total:,} db hits, server {summary.result_consumed_after} ms")
    for op, (hits, rows, n) in sorted(by_type.items(), key=lambda kv: -kv[1][0])[:15]:
        print(f"  {op:40s} x{n:3d} db hits {hits:>10,}  rows {rows:>10,}")
    for op, hits, rows, details in top[:10]:
        print(f"  top {op:35s} {hits:>10,} {rows:>9,} {details}")
    return {
        "db_hits": total,
        "consumed_after_ms": summary.result_consumed_after,
        "by_type": {k: {"db_hits": v[0], "rows": v[1], "n": v[2]} for k, v in by_type.items()},
        "top": [{"op": o, "db_hits": h, "rows": r, "details": d} for o, h, r, d in top],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--uri", help="a server holding the estate; else one started on it here")
    parser.add_argument("--estate", type=Path, required=True)
    parser.add_argument("--phases", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=0)
    parser.add_argument("--contenders", default="now,base")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    logging.getLogger("neo4j").setLevel(logging.ERROR)
    manifest = json.loads((args.estate / "files" / "manifest.json").read_text())
    owner = manifest["samples"]["accountability_owner"]
    with kept_runtime(args.estate, args.uri) as runtime:
        result = _run(runtime, owner, args)
    print(save("accountability_pair_s30", result, args.tag))


def _run(runtime: Runtime, owner: str, args: argparse.Namespace) -> dict[str, Any]:
    store = runtime.store
    assert isinstance(store, Neo4jStore)
    result: dict[str, Any] = {"owner": owner, "date": time.strftime("%Y-%m-%d %H:%M:%S UTC")}
    if args.profile:
        result["profile"] = _profile(store, owner)
    if args.phases:
        result["phases"] = _phases(store, owner, args.phases)
    if args.rounds:
        specs = args.contenders.split(",")
        figures, _ = timed_rounds(
            {spec: _ask(store, owner, spec) for spec in specs},
            args.rounds,
            same=dataclasses.asdict,
            cpu=True,
        )
        result["figures"] = figures
        print(json.dumps(figures, indent=1))
    return result


if __name__ == "__main__":
    main()
