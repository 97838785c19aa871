"""What a Neo4j walk costs the first time a depth is asked (plan compiled) and after (plan cached):
the walk in fixed chunks of `REACH_CHUNK` levels (graph/neo4j_store.py, one statement text for
every depth) against the statement unrolled to the whole depth (how it walked before: one
statement text, and one plan to compile, per depth) — `Neo4jStore.reach` as it was at UNROLLED,
read from git (`benchmarks.harness.module_at`) and run on today's store.

    python -m benchmarks.walk_plans --nodes 10000 --depths 2 5 10 20 --starts 30

For each depth, Neo4j's query caches are cleared, then each contender answers the same starts:
its first answer (compile and run) and the median of the rest (cached plan). Both must reach the
same nodes from every start, or the run says how many differ.
"""

from __future__ import annotations

import argparse
import functools
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.harness import RESULTS, built, estate, module_at, percentiles, save
from benchmarks.query_latency import workload
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.graph.store import Neighborhood
from lineage_kg.queries.impact import IMPACT_STEPS
from lineage_kg.queries.impact_steps import WHOLE
from lineage_kg.queries.traversal import moves, start_nodes

# The parent of 022372a ("Neo4j walk in fixed chunks of REACH_CHUNK (5) levels per statement"):
# the last store whose `reach` ran the walk as one statement unrolled to the depth asked.
UNROLLED = "78662caa70a86bd4074702e206061bcf804f0d08"


def contenders(store: Neo4jStore, depth: int) -> dict[str, Callable[[list[str]], set[str]]]:
    policy = moves(IMPACT_STEPS, WHOLE)
    # the old class's method on today's store: it reads through `_read` alone, as it did then
    unrolled = module_at(UNROLLED, "graph/neo4j_store.py").Neo4jStore.reach

    def asking(reach: Callable[..., Neighborhood | None]) -> Callable[[list[str]], set[str]]:
        def ask(ids: list[str]) -> set[str]:
            got = reach(ids, policy, start_state=WHOLE, max_depth=depth, as_of=None, limit=100_000)
            assert got is not None
            return set(got.covered)

        return ask

    return {"chunked": asking(store.reach), "unrolled": asking(functools.partial(unrolled, store))}


def measure(store: Neo4jStore, starts: list[list[str]], depths: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for depth in depths:
        asks = contenders(store, depth)
        row: dict[str, Any] = {}
        answers: dict[str, list[set[str]]] = {}
        for name, ask in asks.items():
            store._read("CALL db.clearQueryCaches()")
            began = time.perf_counter()
            first = [ask(starts[0])]
            row[f"{name}_first_s"] = round(time.perf_counter() - began, 3)
            took = []
            for ids in starts[1:]:
                began = time.perf_counter()
                first.append(ask(ids))
                took.append(time.perf_counter() - began)
            row[f"{name}_cached"] = percentiles(took)
            answers[name] = first
        pairs = zip(answers["chunked"], answers["unrolled"], strict=True)
        row["differ"] = sum(a != b for a, b in pairs)
        print(
            f"  depth {depth}: first answer chunked {row['chunked_first_s']:.2f} s, unrolled "
            f"{row['unrolled_first_s']:.2f} s; cached p50 chunked "
            f"{row['chunked_cached']['p50_ms']:.1f} ms, unrolled "
            f"{row['unrolled_cached']['p50_ms']:.1f} ms; differ {row['differ']}",
            flush=True,
        )
        out[str(depth)] = row
    return out


def one_size(nodes: int, seed: int, starts: int, depths: list[int]) -> dict[str, Any]:
    with (
        estate(nodes, seed, "plans") as generated,
        built(generated, "neo4j", neo4j_query_timeout=600) as on,
    ):
        store = on.runtime.store
        assert isinstance(store, Neo4jStore)
        load = workload(generated.manifest["samples"], starts, random.Random(seed))
        ids = [start_nodes(store, k, None)[1] for k in load["impact_raw_column"]]
        return measure(store, ids, depths) | {"nodes": store.stats().node_count}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--starts", type=int, default=30)
    parser.add_argument("--depths", type=int, nargs="+", default=[2, 5, 10, 20])
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON results go")
    args = parser.parse_args()
    result = one_size(args.nodes, args.seed, args.starts, args.depths)
    print("saved", save("walk_plans", result, tag=str(args.nodes), out=args.out))


if __name__ == "__main__":
    main()
