"""The embedded store's own walk (`GraphStore.walk`, issue 19 targets 1 and 2) against the level
loop it replaced and a plain numpy CSR BFS, in the same run on the same store:

    python -m benchmarks.store_walk --nodes 10000 100000 --starts 50 --rounds 3 --before REV

Per size: `lkg generate`'s files -> the event log -> the embedded store (`rebuild_embedded`, as
the service builds it: the graph frozen out of the collector). Then, interleaved start by start
over the query benchmark's raw-column starts:
- direct `impact(store, column, depth=10)`: the store walks (after);
- the same through a view of the store without `walk`, so `traverse` reads it level by level as
  it did before (before; answers checked equal, paths included);
- the numpy CSR BFS of benchmarks/embedded_walk.py over the same edges, confined to impact's
  node set (checked equal): the baseline of target 2 (impact at most 3x it).
And the accountability map of the largest team (`accountability_owner`), store walk against the
level loop, interleaved round by round, answers checked equal (target 1: at most 1 s at 100k).
With `--before REV`, the code of commit REV answers too, in a process of its own
(benchmarks/ab_worker.py: its store built from a copy of the same log, as the service builds it),
asked each question in turn with the others: before and after in one run, interleaved, every
answer checked equal (by digest). Wall and CPU (process) time are both kept: on a loaded
machine the wall time is mostly waiting.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.ab_worker import Before, accountability_digest, checkout, impact_digest
from benchmarks.embedded_walk import DEPTH, Csr
from benchmarks.harness import RESULTS, copy_log, percentiles, save, scratch_dir, settings_for
from benchmarks.query_latency import build_log
from benchmarks.synthetic.write import generate
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.accountability import accountability
from lineage_kg.queries.impact import impact
from lineage_kg.runtime import Runtime


class LevelByLevel:
    """The store without its own walk: the walks read it one level at a time (as before)."""

    def __init__(self, inner: GraphStore) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def answer(a: Any) -> list[Any]:
    return sorted(
        (i.node.id, i.distance, i.certainty.value, [h.edge.key.id for h in i.path], i.owners)
        for i in a.items
    )


def timed(ask: Callable[[], Any]) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    got = ask()
    return time.perf_counter() - wall, time.process_time() - cpu, got


def impacts(
    store: GraphStore, picks: list[str], rounds: int, earlier: Before | None
) -> dict[str, Any]:
    before: Any = LevelByLevel(store)
    csr = Csr(store)
    masks = {}
    for s in picks:
        after = impact(store, s, depth=DEPTH)
        assert answer(after) == answer(impact(before, s, depth=DEPTH)), s
        if earlier is not None:
            said = earlier.ask(ask="impact", start=s, depth=DEPTH)
            assert said["digest"] == impact_digest(after), f"{s}: not the earlier commit's answer"
        nodes = {i.node.id for i in after.items}
        mask = np.zeros(len(csr.names), dtype=bool)
        mask[[csr.ids[n] for n in nodes if n in csr.ids]] = True
        masks[s] = mask
        assert csr.bfs_numpy(s, mask) == nodes, f"{s}: not impact's node set"
    contenders: dict[str, Callable[[str], tuple[float, float]]] = {}
    if earlier is not None:  # timed by the worker itself, the question alone
        contenders["impact_earlier_commit"] = lambda s: _said(
            earlier.ask(ask="impact", start=s, depth=DEPTH)
        )
    contenders |= {
        "impact_store_walk": lambda s: timed(lambda: impact(store, s, depth=DEPTH))[:2],
        "impact_level_loop": lambda s: timed(lambda: impact(before, s, depth=DEPTH))[:2],
        "csr_numpy_same_set": lambda s: timed(lambda: csr.bfs_numpy(s, masks[s]))[:2],
    }
    for ask in contenders.values():
        for s in picks[:10]:
            ask(s)
    wall: dict[str, list[float]] = {n: [] for n in contenders}
    cpu: dict[str, list[float]] = {n: [] for n in contenders}
    for _ in range(rounds):
        for s in picks:
            for name, ask in contenders.items():
                w, c = ask(s)
                wall[name].append(w)
                cpu[name].append(c)
    out: dict[str, Any] = {
        n: {"wall": percentiles(wall[n]), "cpu": percentiles(cpu[n])} for n in wall
    }
    base = out["csr_numpy_same_set"]["wall"]["p50_ms"]
    for n, v in out.items():
        print(
            f"  {n}: p50 {v['wall']['p50_ms']:.3f} ms, p95 {v['wall']['p95_ms']:.3f} ms "
            f"({v['wall']['p50_ms'] / base:.1f}x numpy); cpu p50 {v['cpu']['p50_ms']:.3f} ms",
            flush=True,
        )
    return out


def accountabilities(
    store: GraphStore, owner: str, rounds: int, earlier: Before | None
) -> dict[str, Any]:
    before: Any = LevelByLevel(store)
    first = accountability(store, owner)
    expected = dataclasses.astuple(first)
    assert dataclasses.astuple(accountability(before, owner)) == expected
    took: dict[str, list[tuple[float, float]]] = {"store_walk": [], "level_loop": []}
    if earlier is not None:
        took = {"earlier_commit": []} | took
        said = earlier.ask(ask="accountability", owner=owner)  # and a warm-up
        assert said["digest"] == accountability_digest(first), "not the earlier commit's answer"
    for _ in range(rounds):
        if earlier is not None:
            said = earlier.ask(ask="accountability", owner=owner)
            assert said["digest"] == accountability_digest(first), "earlier commit"
            took["earlier_commit"].append(_said(said))
        for name, on in (("store_walk", store), ("level_loop", before)):
            w, c, got = timed(lambda on=on: accountability(on, owner))
            assert dataclasses.astuple(got) == expected, name
            took[name].append((w, c))
    out = {
        name: {
            "wall_s": sorted(w for w, _ in t)[len(t) // 2],
            "cpu_s": sorted(c for _, c in t)[len(t) // 2],
            "runs": [[round(w, 3), round(c, 3)] for w, c in t],
        }
        for name, t in took.items()
    }
    for name, v in out.items():
        print(f"  accountability {name}: wall {v['wall_s']:.3f} s, cpu {v['cpu_s']:.3f} s")
    return out


def _said(answer: dict[str, Any]) -> tuple[float, float]:
    return answer["wall"], answer["cpu"]


def one_size(nodes: int, seed: int, starts: int, rounds: int, before: str | None) -> dict[str, Any]:
    with scratch_dir(f"storewalk{nodes}") as work:
        files = work / "files"
        manifest = generate(files, nodes, seed)
        logged = settings_for(work / "log")
        with Runtime.open(logged) as runtime:
            build_log(files, runtime.log)
        on_embedded = settings_for(work / "embedded")
        copy_log(logged, on_embedded)
        earlier = None
        if before is not None:  # its store built first, alone: then both sit idle in memory
            copy_log(logged, settings_for(work / "before"))
            earlier = Before(checkout(before, work / "source"), work / "before")
        try:
            with Runtime.open(on_embedded) as runtime:
                runtime.rebuild_embedded()
                store = runtime.store
                raw = manifest["samples"]["impact_raw_columns"]
                picks = random.Random(seed).sample(raw, min(starts, len(raw)))
                result: dict[str, Any] = {
                    "nodes": store.stats().node_count,
                    "before": before,
                    "load_average_before": os.getloadavg(),
                }
                print(f"{nodes}: {result['nodes']} nodes, load {result['load_average_before']}")
                result["impact"] = impacts(store, picks, rounds, earlier)
                owner = manifest["samples"]["accountability_owner"]
                result["accountability"] = accountabilities(store, owner, rounds, earlier)
                result["load_average_after"] = os.getloadavg()
                print(f"  load after {result['load_average_after']}", flush=True)
                return result
        finally:
            if earlier is not None:
                earlier.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--starts", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--before", help="a commit whose code answers too, interleaved (benchmarks/ab_worker.py)"
    )
    args = parser.parse_args()
    sizes = {
        str(n): one_size(n, args.seed, args.starts, args.rounds, args.before) for n in args.nodes
    }
    tag = "_".join(map(str, args.nodes))
    print("saved", save("store_walk", {"sizes": sizes}, tag=tag, out=args.out))


if __name__ == "__main__":
    main()
