"""Impact on the embedded store with its graph frozen out of the garbage collector's generations
(what `Runtime.rebuild_embedded` does: `gc.freeze()`) against the same store with the graph left
in them (the naive default), in the same run, interleaved round by round.

    python -m benchmarks.heap_freeze --nodes 10000 100000 --starts 50 --rounds 4

Per size: `lkg generate`'s files -> the event log -> the embedded store (through `Runtime`, as
the service builds it); then rounds of direct `impact(store, column, depth=10)` over the query
benchmark's raw-column and lattice starts, each round once unfrozen and once frozen.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import RESULTS, percentiles, save, scratch_dir, settings_for
from benchmarks.query_latency import workload
from benchmarks.synthetic.load import load_sources
from benchmarks.synthetic.write import generate
from lineage_kg.ingest.intake import accept_many
from lineage_kg.queries.impact import impact
from lineage_kg.runtime import Runtime


def one_size(nodes: int, seed: int, starts: int, rounds: int) -> dict[str, Any]:
    with scratch_dir(f"freeze{nodes}") as work:
        manifest = generate(work / "files", nodes, seed)
        data = work / "data"
        data.mkdir()
        with Runtime.open(settings_for(data, auth="off")) as runtime:
            with (work / "files" / "events.ndjson").open() as f:
                accept_many(runtime.log, enumerate(json.loads(line) for line in f))
            load_sources(work / "files", runtime.log)
            runtime.rebuild_embedded()
            load = workload(manifest["samples"], starts, random.Random(seed))
            keys = load["impact_raw_column"] + load["impact_lattice_column"]
            took: dict[str, list[float]] = {"unfrozen": [], "frozen": []}
            tracked = len(gc.get_objects())
            for _ in range(rounds):
                for mode, times in took.items():
                    gc.unfreeze() if mode == "unfrozen" else gc.freeze()
                    for key in keys:
                        began = time.perf_counter()
                        impact(runtime.store, key, depth=10)
                        times.append(time.perf_counter() - began)
            out: dict[str, Any] = {m: percentiles(t) for m, t in took.items()}
            for mode, seconds in took.items():
                out[mode]["mean_ms"] = round(1000 * sum(seconds) / len(seconds), 3)
                print(
                    f"  {nodes} {mode}: p50 {out[mode]['p50_ms']:.2f} ms, "
                    f"p95 {out[mode]['p95_ms']:.2f} ms, mean {out[mode]['mean_ms']:.2f} ms",
                    flush=True,
                )
            return out | {
                "nodes": runtime.store.stats().node_count,
                "tracked_objects": tracked,
                "starts": len(keys),
                "load_average": os.getloadavg(),
            }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--starts", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON results go")
    args = parser.parse_args()
    sizes = {str(n): one_size(n, args.seed, args.starts, args.rounds) for n in args.nodes}
    tag = "_".join(map(str, args.nodes))
    print("saved", save("heap_freeze", {"sizes": sizes}, tag=tag, out=args.out))


if __name__ == "__main__":
    main()
