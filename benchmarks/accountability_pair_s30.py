"""The accountability map of the largest team on Neo4j (issue 19, target 1), session 30: the
downstream walk reading the part edges of the nodes it met in its own round trips
(`Walked.parts`), against the map reading them after the walk (`_assets_of`), interleaved round
by round in one process, every answer checked equal to the first before its time counts.

    python -m benchmarks.accountability_pair_s30 --uri bolt://127.0.0.1:PORT \
        --estate /work/q30/estate/100000 [--rounds 8] [--contenders parts,after] \
        [--phases 4 --switches parts] [--profile] [--tag s30]

Contenders: `parts` (today's map), `after` (the map not asking its walks for the part edges:
queries/accountability.py `_PART_WAYS` None, so `_assets_of` reads them after the walk, as at
b544989), `base` (queries/accountability.py as at b544989, this session's start, read with
git beside today's other modules: `harness.module_at`).
`--phases N`: session 29's piece-by-piece timing of N maps
(benchmarks/accountability_pair_s29.py `_phases`) with `--switches` the contender.
`--walk N`: the downstream walk alone and the asset read after it, the two ways interleaved N
rounds (`walk+read`: the walk, then `_assets_of` of the nodes it reached but its starts; `walk
with parts`: the walk asked for the part edges, then `_assets_met` and `_assets_of` of what is
left), from the starts one map captured: wall, thread CPU, and the statements' server time
(`result_consumed_after`, summed), answers checked equal.
`--profile`: PROFILE of the downstream walk's first chunk once (db hits and rows by operator,
summed per operator type, and the 25 largest operators).
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

from benchmarks.accountability_pair_s29 import _phases
from benchmarks.harness import check_same, kept_runtime, module_at, save, timed_rounds
from lineage_kg.graph.neo4j_params import quiet
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.queries import accountability as acc_module
from lineage_kg.queries.accountability import accountability
from lineage_kg.queries.impact import IMPACT_STEPS
from lineage_kg.queries.impact_steps import COVERS, WHOLE
from lineage_kg.queries.traversal import _walk_steps as walk_steps
from lineage_kg.queries.traversal import walked_reach
from lineage_kg.runtime import Runtime

CONTENDERS: dict[str, Any] = {"parts": acc_module._PART_WAYS, "after": None}


@contextmanager
def _as(name: str) -> Iterator[None]:
    saved = acc_module._PART_WAYS
    acc_module._PART_WAYS = CONTENDERS[name]
    try:
        yield
    finally:
        acc_module._PART_WAYS = saved


BASE = "b544989"


def _ask(store: Neo4jStore, owner: str, name: str) -> Callable[[], Any]:
    if name == "base":
        old = module_at(BASE, "queries/accountability.py")
        return lambda: old.accountability(store, owner)

    def ask() -> Any:
        with _as(name):
            return accountability(store, owner)

    return ask


def _profile(store: Neo4jStore, owner: str, name: str) -> dict[str, Any]:
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
        with _as(name):
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
    print(f"PROFILE ({name}): {total:,} db hits, server {summary.result_consumed_after} ms")
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


def _capture_starts(store: Neo4jStore, owner: str) -> tuple[list[str], dict[str, str]]:
    got: dict[str, Any] = {}
    real = acc_module._walks_and_reads

    def capture(s: Any, **kwargs: Any) -> Any:
        got.update(kwargs)
        return real(s, **kwargs)

    acc_module._walks_and_reads = capture  # type: ignore[assignment]
    try:
        accountability(store, owner)
    finally:
        acc_module._walks_and_reads = real  # type: ignore[assignment]
    return got["starts"], got["known"]


def _walk_alone(store: Neo4jStore, owner: str, rounds: int) -> dict[str, Any]:
    """The downstream walk and its assets read, with and without the part edges in the walk."""
    starts, known = _capture_starts(store, owner)
    steps = walk_steps(IMPACT_STEPS)
    server: list[float] = []

    def read(query: Any, **params: Any) -> list[Any]:
        result = store._session().run(Query(query, timeout=600), quiet(params))
        rows = list(result)
        server.append((result.consume().result_consumed_after or 0) / 1000)
        return rows

    def one(parts: Any) -> tuple[dict[str, str], float, float, float]:
        server.clear()
        t, c = time.perf_counter(), time.thread_time()
        walked = store.walk(
            starts, steps, start_state=WHOLE, covers=COVERS, max_depth=10, as_of=None,
            max_nodes=100_000, edges=False, parts=parts,
        )  # fmt: skip
        assert walked is not None
        ids = [n for n in walked_reach(starts, walked) if n not in known]
        ids, found = acc_module._assets_met(ids, walked.parts)
        found |= acc_module._assets_of(store, ids, None, known)
        return found, time.perf_counter() - t, time.thread_time() - c, sum(server)

    store._read = read  # type: ignore[method-assign]
    try:
        ways = {"walk with parts": acc_module._PART_WAYS, "walk+read": None}
        expected = one(ways["walk with parts"])[0]
        figures: dict[str, dict[str, list[float]]] = {
            n: {"wall": [], "cpu": [], "server": []} for n in ways
        }
        loads = [os.getloadavg()]
        for r in range(rounds):
            names = list(ways)[r % 2 :] + list(ways)[: r % 2]
            for name in names:
                found, wall, cpu, srv = one(ways[name])
                check_same(name, found, expected)
                for key, value in (("wall", wall), ("cpu", cpu), ("server", srv)):
                    figures[name][key].append(round(value, 4))
        loads.append(os.getloadavg())
    finally:
        del store._read
    out: dict[str, Any] = {"load_average": loads}
    for name, got in figures.items():
        out[name] = {
            k: {"median": round(statistics.median(v), 4), "runs": v} for k, v in got.items()
        }
        print(name, {k: out[name][k]["median"] for k in got}, flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--uri", help="a server holding the estate; else one started on it here")
    parser.add_argument("--estate", type=Path, required=True)
    parser.add_argument("--phases", type=int, default=0)
    parser.add_argument("--switches", default="parts", help="the contender for --phases")
    parser.add_argument("--rounds", type=int, default=0)
    parser.add_argument("--contenders", default="parts,after")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--walk", type=int, default=0)
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
        result["profile"] = _profile(store, owner, args.switches)
    if args.walk:
        result["walk"] = _walk_alone(store, owner, args.walk)
    if args.phases:
        with _as(args.switches):
            result["phases"] = _phases(store, owner, args.phases) | {"switches": args.switches}
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
