"""The accountability map of the largest team on Neo4j (issue 19, target 1), session 30: the
downstream walk reading the part edges of the nodes it met in its own round trips
(`Walked.parts`), against the map reading them after the walk (`_assets_of`), interleaved round
by round in one process, every answer checked equal to the first before its time counts.

    python -m benchmarks.accountability_pair_s30 --uri bolt://127.0.0.1:PORT \
        --estate /work/q30/estate/100000 [--rounds 8] [--contenders parts,after] \
        [--phases 4 --switches parts] [--profile] [--tag s30]

Contenders: `parts` (today's map), `after` (the map not asking its walks for the part edges:
queries/accountability.py `_PART_WAYS` None, so `_assets_of` reads them after the walk, as at
b544989). `--phases N`: session 29's piece-by-piece timing of N maps
(benchmarks/accountability_pair_s29.py `_phases`) with `--switches` the contender.
`--profile`: PROFILE of the downstream walk's first chunk once (db hits and rows by operator,
summed per operator type, and the 25 largest operators).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from neo4j import Query

from benchmarks.accountability_pair_s29 import _phases
from benchmarks.harness import kept_runtime, save, timed_rounds
from lineage_kg.graph.neo4j_params import quiet
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.queries import accountability as acc_module
from lineage_kg.queries.accountability import accountability
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


def _ask(store: Neo4jStore, owner: str, name: str) -> Callable[[], Any]:
    def ask() -> Any:
        with _as(name):
            return accountability(store, owner)

    return ask


def _profile(store: Neo4jStore, owner: str, name: str) -> dict[str, Any]:
    """PROFILE of the first statement the downstream walk (`_on_ids`'s `_reach_rows`) sends."""
    caught: list[tuple[Any, dict[str, Any]]] = []
    real = store._read
    in_walk = {"on": False}

    def read(query: Any, **params: Any) -> list[Any]:
        if in_walk["on"] and not caught:
            caught.append((query, params))
        return real(query, **params)

    real_on_ids = store._on_ids

    def on_ids(*args: Any, **kwargs: Any) -> Any:
        in_walk["on"] = True
        try:
            return real_on_ids(*args, **kwargs)
        finally:
            in_walk["on"] = False

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--uri", help="a server holding the estate; else one started on it here")
    parser.add_argument("--estate", type=Path, required=True)
    parser.add_argument("--phases", type=int, default=0)
    parser.add_argument("--switches", default="parts", help="the contender for --phases")
    parser.add_argument("--rounds", type=int, default=0)
    parser.add_argument("--contenders", default="parts,after")
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
        result["profile"] = _profile(store, owner, args.switches)
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
