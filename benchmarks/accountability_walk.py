"""The accountability map of the largest team (issue 19, target: at most 1 s at 100k nodes on
both stores): `accountability()` against the way it was computed before the rework
(benchmarks/accountability_before.py: both walks with every path kept, then every node they
reached read, per walk), in the same run, interleaved round by round, on both stores; every
answer checked equal to the first before its time counts.

    python -m benchmarks.accountability_walk --nodes 10000 100000 --rounds 3

Per size: `lkg generate`'s files -> one event log -> the embedded store (`rebuild_embedded`, as
the service builds it: the graph frozen out of the collector) and Neo4j (the projector). The
owner is the generator's `accountability_owner` sample, its largest team (what
`benchmarks.query_latency` times as `team_accountability`). One warm-up per contender first
(Neo4j's plan cache, the JIT of a JVM just started).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.accountability_before import accountability_before
from benchmarks.harness import RESULTS, copy_log, neo4j_for, save, scratch_dir, settings_for
from benchmarks.query_latency import build_log
from benchmarks.synthetic.write import generate
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.accountability import AccountabilityMap, accountability
from lineage_kg.runtime import Runtime

CONTENDERS: dict[str, Callable[[GraphStore, str], AccountabilityMap]] = {
    "before": accountability_before,
    "after": accountability,
}


def contest(store: GraphStore, owner: str, rounds: int) -> dict[str, Any]:
    took: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    first = accountability(store, owner)
    expected = dataclasses.astuple(first)
    for ask in CONTENDERS.values():
        ask(store, owner)  # warm-up
    load_before = os.getloadavg()
    for _ in range(rounds):
        for name, ask in CONTENDERS.items():
            began = time.perf_counter()
            answer = ask(store, owner)
            took[name].append(time.perf_counter() - began)
            assert dataclasses.astuple(answer) == expected, f"{name}: a different answer"
    out: dict[str, Any] = {
        name: {
            "median_s": round(statistics.median(s), 3),
            "min_s": round(min(s), 3),
            "max_s": round(max(s), 3),
            "runs_s": [round(x, 3) for x in s],
        }
        for name, s in took.items()
    }
    return out | {
        "owned": len(first.owned),
        "answer_assets": len(first.owned) + len(first.upstream) + len(first.downstream),
        "gaps": len(first.gaps),
        "load_average": [load_before, os.getloadavg()],
    }


def one_size(nodes: int, seed: int, rounds: int, stores: list[str]) -> dict[str, Any]:
    with scratch_dir(f"acc{nodes}") as work:
        files = work / "files"
        manifest = generate(files, nodes, seed)
        owner = manifest["samples"]["accountability_owner"]
        logged = settings_for(work / "log")
        with Runtime.open(logged) as runtime:
            build_log(files, runtime.log)
        result: dict[str, Any] = {"owner": owner}
        if "embedded" in stores:
            on_embedded = settings_for(work / "embedded")
            copy_log(logged, on_embedded)
            with Runtime.open(on_embedded) as runtime:
                runtime.rebuild_embedded()
                result["nodes"] = runtime.store.stats().node_count
                result["embedded"] = contest(runtime.store, owner, rounds)
                _say(nodes, "embedded", result["embedded"])
        if "neo4j" in stores:
            with neo4j_for(nodes) as server:
                on_neo4j = settings_for(work / "neo4j", server)
                copy_log(logged, on_neo4j)
                with Runtime.open(on_neo4j) as runtime:
                    began = time.perf_counter()
                    status = runtime.catch_up()
                    assert status.parked == 0, f"{status.parked} events parked"
                    result["neo4j_projection_s"] = round(time.perf_counter() - began, 1)
                    result["neo4j"] = contest(runtime.store, owner, rounds)
                    _say(nodes, "neo4j", result["neo4j"])
    return result


def _say(nodes: int, store: str, out: dict[str, Any]) -> None:
    times = "; ".join(f"{n} {out[n]['median_s']} s (min {out[n]['min_s']})" for n in CONTENDERS)
    print(f"{nodes} {store}: {out['answer_assets']} assets; {times}; load {out['load_average']}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--stores", nargs="+", choices=["embedded", "neo4j"], default=["embedded", "neo4j"]
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON results go")
    args = parser.parse_args()
    sizes = {str(n): one_size(n, args.seed, args.rounds, args.stores) for n in args.nodes}
    tag = "_".join(map(str, args.nodes)) + "_" + "_".join(args.stores)
    print("saved", save("accountability_walk", {"sizes": sizes}, tag=tag, out=args.out))


if __name__ == "__main__":
    main()
