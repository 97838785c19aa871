"""The accountability map of the largest team on Neo4j (issue 19, target 1), session 29: where one
map's time goes (`--phases`), and the map with this session's changes on against off, interleaved
round by round in one process, every answer checked equal to the first before its time counts.

    python -m benchmarks.accountability_pair_s29 --uri bolt://127.0.0.1:PORT \
        --estate /work/h1-estate/100000 [--phases 3] [--rounds 5] \
        [--contenders all,none] [--tag s29]

On a server already holding the estate (a kept `accountability_walk --keep` directory, reopened on
its data directory): the owner is the estate's manifest's `accountability_owner`.

`--phases N`: N maps (after one to warm up), each timed piece by piece: the map's helpers
(`_parts_of`, `reach_pair`, `_assets_of`, ...) and the store's reads, by wall and thread CPU, in
the thread that ran them (the pair's second walk runs on a worker); every statement's server
times (`result_available_after`, `result_consumed_after` of its summary) beside the client's
`run()` (parameters packed and sent, the server's first answer awaited) and fetch (the rows
received and unpacked); the cyclic collector's passes during the map (count and wall per
generation). Medians over the N maps.

`--rounds N` with `--contenders`: each contender a set of this session's switches (`TOGGLES`: a
module flag each, the old way when off): `all`, `none`, or names joined by `+` (`seen_keys+gc`;
`upstream` reads the upstream half after its walk, and needs `assets`).
Wall and client CPU (both threads) per run, the load average before and after
(`harness.timed_rounds`).
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
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
from lineage_kg.graph import neo4j_store, neo4j_walk_statements
from lineage_kg.graph.neo4j_params import quiet
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.queries import accountability as acc_module
from lineage_kg.queries import closeness
from lineage_kg.queries.accountability import accountability
from lineage_kg.runtime import Runtime

# this session's switches: (module, flag, value on, value off); a contender turns the named ones on,
# the others off (`gcmap`, the collector paused for the whole map, wins over `gc` if both)
TOGGLES: dict[str, tuple[Any, str, Any, Any]] = {
    "assets": (acc_module, "ASSETS_AFTER_EACH_WALK", True, False),
    "upstream": (acc_module, "UPSTREAM_AFTER_ITS_WALK", True, False),
    "seen_keys": (neo4j_walk_statements, "LATER_STARTS_AS_KEYS", True, False),
    "gc": (acc_module, "PAUSE_GC", "walks", None),
    "gcmap": (acc_module, "PAUSE_GC", "map", None),
}


@contextmanager
def _switched(on: set[str]) -> Iterator[None]:
    saved = {(mod, flag): getattr(mod, flag) for mod, flag, _, _ in TOGGLES.values()}
    try:
        for mod, flag, _, no in TOGGLES.values():
            setattr(mod, flag, no)
        for name, (mod, flag, yes, _) in TOGGLES.items():
            if name in on:
                setattr(mod, flag, yes)
        yield
    finally:
        for (mod, flag), was in saved.items():
            setattr(mod, flag, was)


def _contender(spec: str) -> set[str]:
    if spec == "all":  # the code's defaults
        return {n for n, (mod, flag, yes, _) in TOGGLES.items() if getattr(mod, flag) == yes}
    if spec == "none":
        return set()
    names = set(spec.split("+"))
    if unknown := names - set(TOGGLES):
        raise SystemExit(f"unknown switches {sorted(unknown)}; known: {sorted(TOGGLES)}")
    return names


# ---- one map, piece by piece -------------------------------------------------------------------


class _Trace:
    """What one map did: (thread, label, wall s, thread CPU s, extra) per piece timed."""

    def __init__(self) -> None:
        self.pieces: list[tuple[str, str, float, float, dict[str, Any]]] = []
        self.local = threading.local()
        self.gc: list[tuple[int, float]] = []
        self._gc_began: dict[int, float] = {}

    def stack(self) -> list[str]:
        if not hasattr(self.local, "stack"):
            self.local.stack = []
        return self.local.stack  # type: ignore[no-any-return]

    def timed(self, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed_call(*args: Any, **kwargs: Any) -> Any:
            stack = self.stack()
            stack.append(label)
            t, c = time.perf_counter(), time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.pieces.append(
                    (
                        threading.current_thread().name,
                        "/".join(stack),
                        time.perf_counter() - t,
                        time.thread_time() - c,
                        {},
                    )
                )
                stack.pop()

        return timed_call

    def on_gc(self, phase: str, info: dict[str, Any]) -> None:
        ident = threading.get_ident()
        if phase == "start":
            self._gc_began[ident] = time.perf_counter()
        elif (began := self._gc_began.pop(ident, None)) is not None:
            self.gc.append((info["generation"], time.perf_counter() - began))


def _traced_read(store: Neo4jStore, trace: _Trace) -> Callable[..., list[Any]]:
    """The store's `_read` (one try, no retry; the parameters `quiet`, as it sends them), its
    pieces timed and the summary's server times kept: `run()` packs and sends the parameters and
    waits for the server's first answer; the fetch receives and unpacks the rows."""

    def read(query: Any, **params: Any) -> list[Any]:
        store._ensure_contact()
        label = "/".join(trace.stack()) + "/read"
        t0, c0 = time.perf_counter(), time.thread_time()
        result = store._session().run(Query(query, timeout=600), quiet(params))
        t1, c1 = time.perf_counter(), time.thread_time()
        rows = list(result)
        t2, c2 = time.perf_counter(), time.thread_time()
        summary = result.consume()
        chunk = params.get("chunk")
        sizes = {
            k: len(v)
            for k, v in ({**params, **chunk} if isinstance(chunk, dict) else params).items()
            if isinstance(v, list)
        }
        extra = {
            "run_wall": t1 - t0,
            "run_cpu": c1 - c0,
            "fetch_wall": t2 - t1,
            "fetch_cpu": c2 - c1,
            "available_after": (summary.result_available_after or 0) / 1000,
            "consumed_after": (summary.result_consumed_after or 0) / 1000,
            "sizes": sizes,
        }
        trace.pieces.append((threading.current_thread().name, label, t2 - t0, c2 - c0, extra))
        return rows

    return read


_HELPERS = (
    "node_ref", "canonical_owners", "_parts_of", "_walks_and_reads", "reach_pair_then",
    "reach_pair", "_assets_of", "_closest",
    "ownerships", "_owner_links", "_gaps", "runs_of", "versions_of",
)  # fmt: skip
_STORE_METHODS = (
    "get_nodes", "neighbors", "neighbor_ends", "parts_and_assets", "walk_pair", "walk_pair_then",
    "walk",
    "_reach_rows", "_walk_sets", "_on_ids",
)  # fmt: skip


@contextmanager
def _tracing(store: Neo4jStore, trace: _Trace) -> Iterator[None]:
    patched: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, name: str, label: str) -> None:
        patched.append((owner, name, owner.__dict__.get(name)))
        setattr(owner, name, trace.timed(label, getattr(owner, name)))

    for name in _HELPERS:
        patch(acc_module, name, name)
    patch(closeness, "walked_reach", "walked_reach")
    patch(acc_module._AssetsAfter, "read", "assets_after_walk")
    patch(acc_module._AssetsAfter, "rest", "assets_rest")
    patch(acc_module._UpstreamSide, "after", "upstream_side")
    for name in ("EndsAhead", "walk_ends"):
        patch(neo4j_store, name, name)
    for name in _STORE_METHODS:
        patch(store, name, name)
    patched.append((store, "_read", None))
    store._read = _traced_read(store, trace)  # type: ignore[method-assign]
    gc.callbacks.append(trace.on_gc)
    try:
        yield
    finally:
        gc.callbacks.remove(trace.on_gc)
        for owner, name, was in reversed(patched):
            if was is None:
                delattr(owner, name)
            else:
                setattr(owner, name, was)


def _one_map(store: Neo4jStore, owner: str) -> dict[str, Any]:
    trace = _Trace()
    with _tracing(store, trace):
        t, c = time.perf_counter(), time.process_time()
        accountability(store, owner)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
    pieces: dict[str, dict[str, Any]] = {}
    for thread, label, w, cp, extra in trace.pieces:
        key = f"{'main' if thread == 'MainThread' else 'worker'}:{label}"
        got = pieces.setdefault(key, {"n": 0, "wall": 0.0, "cpu": 0.0})
        got["n"] += 1
        got["wall"] += w
        got["cpu"] += cp
        for k, v in extra.items():
            if k == "sizes":
                got.setdefault("sizes", []).append(v)
            else:
                got[k] = got.get(k, 0.0) + v
    collected: dict[str, Any] = {}
    for generation, w in trace.gc:
        got = collected.setdefault(str(generation), {"n": 0, "wall": 0.0})
        got["n"] += 1
        got["wall"] += w
    return {"wall": wall, "cpu": cpu, "pieces": pieces, "gc": collected}


def _phases(store: Neo4jStore, owner: str, maps: int) -> dict[str, Any]:
    accountability(store, owner)  # warm
    runs = []
    for i in range(maps):
        load = os.getloadavg()[0]
        one = _one_map(store, owner)
        one["load"] = load
        runs.append(one)
        print(f"map {i}: wall {one['wall']:.3f} s, CPU {one['cpu']:.3f} s, load {load}", flush=True)
    keys = sorted({k for r in runs for k in r["pieces"]})
    table: dict[str, Any] = {}
    for key in keys:
        got = [r["pieces"][key] for r in runs if key in r["pieces"]]
        row: dict[str, Any] = {"n": got[0]["n"]}
        for field in ("wall", "cpu", "run_wall", "run_cpu", "fetch_wall", "fetch_cpu"):
            if field in got[0]:
                row[field] = round(statistics.median(g[field] for g in got) * 1000, 1)
        for field in ("available_after", "consumed_after"):
            if field in got[0]:
                row[field] = round(statistics.median(g[field] for g in got) * 1000, 1)
        if "sizes" in got[0]:
            row["sizes"] = got[0]["sizes"]
        table[key] = row
        print(f"{key:70s} {json.dumps({k: v for k, v in row.items() if k != 'sizes'})}")
    gcs = {g: [r["gc"].get(g, {"n": 0, "wall": 0.0}) for r in runs] for g in ("0", "1", "2")}
    gc_table = {
        g: {
            "n": statistics.median(x["n"] for x in v),
            "wall_ms": round(statistics.median(x["wall"] for x in v) * 1000, 1),
        }
        for g, v in gcs.items()
    }
    print("gc", json.dumps(gc_table))
    return {
        "maps": [{k: r[k] for k in ("wall", "cpu", "load")} for r in runs],
        "median_wall_s": round(statistics.median(r["wall"] for r in runs), 3),
        "median_cpu_s": round(statistics.median(r["cpu"] for r in runs), 3),
        "pieces_ms_median": table,
        "gc": gc_table,
        "gc_threshold": gc.get_threshold(),
    }


# ---- the contenders ----------------------------------------------------------------------------


def _ask(store: Neo4jStore, owner: str, on: set[str]) -> Callable[[], Any]:
    def ask() -> Any:
        with _switched(on):
            return accountability(store, owner)

    return ask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--uri", help="a server holding the estate; else one started on it here")
    parser.add_argument("--estate", type=Path, required=True)
    parser.add_argument("--phases", type=int, default=0)
    parser.add_argument("--switches", default="all", help="the switches on for --phases")
    parser.add_argument("--rounds", type=int, default=0)
    parser.add_argument("--contenders", default="all,none")
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    logging.getLogger("neo4j").setLevel(logging.ERROR)
    manifest = json.loads((args.estate / "files" / "manifest.json").read_text())
    owner = manifest["samples"]["accountability_owner"]
    with kept_runtime(args.estate, args.uri) as runtime:
        result = _run(runtime, owner, args)
    print(save("accountability_pair_s29", result, args.tag))


def _run(runtime: Runtime, owner: str, args: argparse.Namespace) -> dict[str, Any]:
    store = runtime.store
    assert isinstance(store, Neo4jStore)
    result: dict[str, Any] = {"owner": owner, "date": time.strftime("%Y-%m-%d %H:%M:%S UTC")}
    if args.phases:
        with _switched(_contender(args.switches)):
            result["phases"] = _phases(store, owner, args.phases) | {"switches": args.switches}
    if args.rounds:
        specs = args.contenders.split(",")
        figures, _ = timed_rounds(
            {spec: _ask(store, owner, _contender(spec)) for spec in specs},
            args.rounds,
            same=dataclasses.asdict,
            cpu=True,
        )
        result["figures"] = figures
        print(json.dumps(figures, indent=1))
    return result


if __name__ == "__main__":
    main()
