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

`--keep DIR` keeps the estate between runs (DIR/<nodes>: the generated files, the log, and a
Neo4j data directory already projected): a second run reopens that Neo4j instead of loading
it again (~9 min at 100k on a loaded machine). With it, the Neo4j contest adds `forwarded`:
today's `accountability()` through a plain forwarding view of the store, which walks and reads
as the code did before the store answered the walk and the parts' ends itself (the walk's reads
ahead, a record per edge; the parts' edges through `neighbors`) — the before of that work,
interleaved with it in one run. `ids` (Neo4j, with `--keep`): `accountability()` with the
one-state walk (upstream's) on edge ids rather than as sets of nodes, the before of session 22.
`--contenders` picks which run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.accountability_before import accountability_before
from benchmarks.harness import (
    RESULTS,
    _sized_neo4j,
    copy_log,
    in_turn,
    neo4j_for,
    save,
    scratch_dir,
    settings_for,
)
from benchmarks.query_latency import build_log
from benchmarks.synthetic.write import generate
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.accountability import AccountabilityMap, accountability
from lineage_kg.runtime import Runtime


class Forwarded:
    """The store behind a view that forwards every call: not a `GraphStore`, so the walk and
    the parts' ends go the generic way (`reach` ahead then a Python level loop over records;
    `neighbors` for the ends) — how the Neo4j map was answered before the store did them."""

    def __init__(self, inner: GraphStore) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def on_edge_ids(store: GraphStore, owner: str) -> AccountabilityMap:
    """Today's `accountability()` with Neo4j's one-state walk (upstream's) on edge ids as
    before session 22, not as sets of nodes: the set walk switched off on the instance."""
    store._walk_sets = _no_sets  # type: ignore[attr-defined]  # shadows the method
    try:
        return accountability(store, owner)
    finally:
        del store._walk_sets  # type: ignore[attr-defined]


def _no_sets(*args: Any, **kwargs: Any) -> None:
    return None


CONTENDERS: dict[str, Callable[[GraphStore, str], AccountabilityMap]] = {
    "before": accountability_before,
    "forwarded": lambda store, owner: accountability(Forwarded(store), owner),  # type: ignore[arg-type]
    "ids": on_edge_ids,
    "after": accountability,
}
DEFAULT_CONTENDERS = ("before", "after")


def contest(
    store: GraphStore, owner: str, rounds: int, names: tuple[str, ...] = DEFAULT_CONTENDERS
) -> dict[str, Any]:
    chosen = {name: CONTENDERS[name] for name in names}
    took: dict[str, list[float]] = {name: [] for name in chosen}
    cpu: dict[str, list[float]] = {name: [] for name in chosen}
    first = accountability(store, owner)
    expected = dataclasses.astuple(first)
    for ask in chosen.values():
        ask(store, owner)  # warm-up
    load_before = os.getloadavg()
    for r in range(rounds):
        order = in_turn(chosen, r)
        for name, ask in order:
            began, began_cpu = time.perf_counter(), time.process_time()
            answer = ask(store, owner)
            took[name].append(time.perf_counter() - began)
            cpu[name].append(time.process_time() - began_cpu)
            assert dataclasses.astuple(answer) == expected, f"{name}: a different answer"
            print(f"  {name}: {took[name][-1]:.2f} s (cpu {cpu[name][-1]:.2f} s)", flush=True)
    out: dict[str, Any] = {
        name: {
            "median_s": round(statistics.median(s), 3),
            "min_s": round(min(s), 3),
            "max_s": round(max(s), 3),
            "runs_s": [round(x, 3) for x in s],
            "cpu_runs_s": [round(x, 3) for x in cpu[name]],
        }
        for name, s in took.items()
    }
    return out | {
        "owned": len(first.owned),
        "answer_assets": len(first.owned) + len(first.upstream) + len(first.downstream),
        "gaps": len(first.gaps),
        "load_average": [load_before, os.getloadavg()],
    }


def kept_size(
    keep: Path, nodes: int, seed: int, rounds: int, names: tuple[str, ...]
) -> dict[str, Any]:
    """Neo4j only, on an estate kept in `keep`/<nodes> (made and projected on the first run)."""
    work = keep / str(nodes)
    files, logged = work / "files", settings_for(work / "log")
    if not (files / "manifest.json").exists():
        generate(files, nodes, seed)
        with Runtime.open(logged) as runtime:
            build_log(files, runtime.log)
    owner = json.loads((files / "manifest.json").read_text())["samples"]["accountability_owner"]
    server = _sized_neo4j(nodes)
    server.data_dir = work / "neo4j-db"
    server.data_dir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"owner": owner, "kept": str(work)}
    with server:
        # a cold server (just started on kept files) took over 30 s for the first walk: the
        # service's default read timeout would end the warm-up, not measure it
        on_neo4j = settings_for(work / "neo4j", server, neo4j_query_timeout=600)
        if not (work / "neo4j").exists():
            copy_log(logged, on_neo4j)
        with Runtime.open(on_neo4j) as runtime:
            began = time.perf_counter()
            status = runtime.catch_up()
            assert status.parked == 0, f"{status.parked} events parked"
            result["neo4j_projection_s"] = round(time.perf_counter() - began, 1)
            result["nodes"] = runtime.store.stats().node_count
            print(f"{nodes}: Neo4j at the head after {result['neo4j_projection_s']} s", flush=True)
            result["neo4j"] = contest(runtime.store, owner, rounds, names)
            _say(nodes, "neo4j", result["neo4j"])
    return result


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
    names = [n for n in CONTENDERS if n in out]
    times = "; ".join(f"{n} {out[n]['median_s']} s (min {out[n]['min_s']})" for n in names)
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
    parser.add_argument("--keep", type=Path, help="keep the estate and its Neo4j here (Neo4j only)")
    parser.add_argument("--contenders", nargs="+", choices=list(CONTENDERS), help="with --keep")
    parser.add_argument("--tag", default="", help="added to the results file's name")
    args = parser.parse_args()
    if args.keep is not None:
        names = tuple(args.contenders or ("forwarded", "after"))
        sizes = {str(n): kept_size(args.keep, n, args.seed, args.rounds, names) for n in args.nodes}
        tag = "_".join(map(str, args.nodes)) + "_neo4j_kept"
    else:
        sizes = {str(n): one_size(n, args.seed, args.rounds, args.stores) for n in args.nodes}
        tag = "_".join(map(str, args.nodes)) + "_" + "_".join(args.stores)
    tag += f"_{args.tag}" if args.tag else ""
    print("saved", save("accountability_walk", {"sizes": sizes}, tag=tag, out=args.out))


if __name__ == "__main__":
    main()
