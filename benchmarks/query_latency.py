"""Queries on generated estates of growing size, on Neo4j and on the embedded store, against a
naive variable-length Cypher in the same run; plus the embedded store's rebuild time and memory.

    python -m benchmarks.query_latency --nodes 10000 100000 --starts 200

Per size: `lkg generate`'s files -> the event log (OpenLineage events and every source file) ->
the projector into Neo4j and into the embedded store. Then, on both stores:
- impact of a column at depth 10, from raw-layer columns and from diamond-lattice columns;
- the auditor's trace of a decision (decision -> model version -> training run -> data);
- the accountability map of the largest team.
Each answer is checked equal across the two stores before its time counts. The naive baseline is
what one writes by hand: `MATCH p = (s)-[:<flow kinds>*1..10]->(n) RETURN count(p)` (forward flow
edges only, no certainty, no owners, no paths returned), with a 10 s timeout (`--naive-timeout`).
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from neo4j import Query

from benchmarks.harness import (
    RESULTS,
    copy_log,
    neo4j_for,
    percentiles,
    save,
    scratch_dir,
    settings_for,
)
from benchmarks.synthetic.load import load_sources
from benchmarks.synthetic.write import generate
from lineage_kg.graph.model import EdgeKind
from lineage_kg.graph.sides.decisions import DecisionTable
from lineage_kg.graph.store import GraphStore
from lineage_kg.ingest.eventlog import EventLog
from lineage_kg.ingest.intake import accept_many
from lineage_kg.queries.accountability import accountability
from lineage_kg.queries.decision_trace import decision_lineage
from lineage_kg.queries.impact import impact
from lineage_kg.runtime import Runtime

NAIVE_TIMEOUT = 10.0
FLOW = "|".join(sorted(k.value for k in EdgeKind if k.is_flow))
NAIVE_PATHS = f"MATCH p = (s:Node {{key: $key}})-[:{FLOW}*1..10]->(n) RETURN count(p) AS paths"


def build_log(files: Path, log: EventLog) -> None:
    with (files / "events.ndjson").open() as f:
        accept_many(log, enumerate(json.loads(line) for line in f))
    load_sources(files, log)


def rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(next(x for x in status.splitlines() if x.startswith("VmRSS:")).split()[1]) / 1024


def project(runtime: Runtime) -> float:
    """The log into the runtime's store and its side tables (the decisions), timed; the store
    is opened (connected, its schema made) before the clock starts."""
    assert runtime.store is not None
    began = time.perf_counter()
    status = runtime.catch_up()
    assert status.parked == 0, f"{status.parked} events parked"
    return time.perf_counter() - began


def timed(ask: Callable[[Any], Any], args: list[Any]) -> tuple[list[float], list[Any]]:
    took, answers = [], []
    for arg in args:
        began = time.perf_counter()
        answers.append(ask(arg))
        took.append(time.perf_counter() - began)
    return took, answers


def impact_shape(a: Any) -> list[tuple[str, int, str]]:
    return sorted((i.node.id, i.distance, i.certainty.value) for i in a.items)


QUESTIONS = ("impact_raw_column", "impact_lattice_column", "decision_trace", "team_accountability")


def workload(
    samples: dict[str, Any], starts: int, rng: random.Random, team_runs: int = 5
) -> dict[str, list[Any]]:
    raw = rng.sample(samples["impact_raw_columns"], min(starts, len(samples["impact_raw_columns"])))
    lattice = samples["impact_lattice_columns"][: max(1, starts // 4)]
    return {
        "impact_raw_column": raw,
        "impact_lattice_column": lattice,
        "decision_trace": samples["root_cause_decisions"][: max(1, starts // 4)],
        "team_accountability": [samples["accountability_owner"]] * team_runs,
    }


def run_queries(
    store: GraphStore, table: DecisionTable | None, load: dict[str, list[Any]]
) -> dict[str, Any]:
    asks: dict[str, Callable[[Any], Any]] = {
        "impact_raw_column": lambda s: impact(store, s, depth=10),
        "impact_lattice_column": lambda s: impact(store, s, depth=10),
        "decision_trace": lambda d: decision_lineage(store, d, decisions=table),
        "team_accountability": lambda o: accountability(store, o),
    }
    out: dict[str, Any] = {}
    for name, args in load.items():
        # warm up on the same questions: Neo4j's plan cache, and the JIT of a JVM just started
        # (measured: a cold server answered impact at p50 422 ms, a warm one at 97 ms)
        timed(asks[name], list(dict.fromkeys(args))[:20])
        took, answers = timed(asks[name], args)
        out[name] = {"latency": percentiles(took), "answers": answers}
    return out


def naive(server: Any, keys: list[str], timeout: float = NAIVE_TIMEOUT) -> dict[str, Any]:
    took, counts, timeouts = [], [], 0
    statement = Query(NAIVE_PATHS, timeout=timeout)  # type: ignore[arg-type]
    with server.driver() as driver, driver.session() as session:
        for key in keys:
            began = time.perf_counter()
            try:
                counts.append(session.run(statement, key=key).single()["paths"])
                took.append(time.perf_counter() - began)
            except Exception:  # the server's transaction timeout
                timeouts += 1
    return {
        "latency": percentiles(took) if took else None,
        "timeouts": timeouts,
        "runs": len(keys),
        "paths_max": max(counts) if counts else None,
    }


def one_size(
    nodes: int,
    seed: int,
    starts: int,
    team_runs: int = 5,
    questions: list[str] | None = None,
    *,
    naive_timeout: float = NAIVE_TIMEOUT,
) -> dict[str, Any]:
    with scratch_dir(f"q{nodes}") as work:
        files = work / "files"
        t = time.perf_counter()
        manifest = generate(files, nodes, seed)
        result: dict[str, Any] = {"nodes_target": nodes, "generate_s": time.perf_counter() - t}
        # one log, projected by two runtimes (each its own data dir: the store's side tables)
        logged, on_embedded = settings_for(work / "log"), settings_for(work / "embedded")
        with Runtime.open(logged) as runtime:
            build_log(files, runtime.log)
        load = workload(manifest["samples"], starts, random.Random(seed), team_runs)
        load = {k: v for k, v in load.items() if questions is None or k in questions}

        copy_log(logged, on_embedded)
        with Runtime.open(on_embedded) as runtime:
            assert runtime.log.last_seq() > 0  # open: only the store's memory is counted
            gc.collect()
            before = rss_mb()
            result["embedded_rebuild_s"] = project(runtime)
            gc.collect()
            stats = runtime.store.stats()
            result["nodes"], result["edges"] = stats.node_count, stats.edge_count
            result["embedded_mb"] = rss_mb() - before
            result["embedded_bytes_per_node"] = (
                1024 * 1024 * result["embedded_mb"] / stats.node_count
            )
            print(
                f"{nodes}: {stats.node_count} nodes, {stats.edge_count} edges; embedded rebuild "
                f"{result['embedded_rebuild_s']:.1f}s, {result['embedded_mb']:.0f} MiB",
                flush=True,
            )
            emb = run_queries(runtime.store, runtime.decisions, load)

        with neo4j_for(nodes) as server:
            on_neo4j = settings_for(work / "neo4j", server)
            copy_log(logged, on_neo4j)
            with Runtime.open(on_neo4j) as runtime:
                result["neo4j_projection_s"] = project(runtime)
                print(f"  neo4j projection {result['neo4j_projection_s']:.1f}s", flush=True)
                neo = run_queries(runtime.store, runtime.decisions, load)
            keys = (
                load.get("impact_raw_column", [])[:20] + load.get("impact_lattice_column", [])[:5]
            )
            result["naive_cypher"] = naive(server, keys, naive_timeout)

        for name in load:
            same = [
                _shape(name, a) == _shape(name, b)
                for a, b in zip(emb[name]["answers"], neo[name]["answers"], strict=True)
            ]
            assert all(same), f"{name}: the stores disagree on {same.count(False)} answers"
            sizes = [_size(name, a) for a in neo[name]["answers"]]
            result[name] = {
                "neo4j": neo[name]["latency"],
                "embedded": emb[name]["latency"],
                "answer_nodes_median": sorted(sizes)[len(sizes) // 2],
                "answer_nodes_max": max(sizes),
            }
            print(
                f"  {name}: neo4j {neo[name]['latency']}, embedded "
                f"{emb[name]['latency']}, nodes {result[name]['answer_nodes_median']}",
                flush=True,
            )
        print("  naive:", result["naive_cypher"], flush=True)
    return result


def _shape(name: str, answer: Any) -> Any:
    if name.startswith("impact"):
        return impact_shape(answer)
    if name == "decision_trace":
        return sorted((s.node.id, s.distance) for s in answer.steps)
    return (
        sorted(a.node.id for a in answer.owned),
        sorted((r.node.id, r.distance) for r in answer.downstream + answer.upstream),
    )


def _size(name: str, answer: Any) -> int:
    if name.startswith("impact"):
        return len(answer.items)
    if name == "decision_trace":
        return len(answer.steps)
    return len(answer.owned) + len(answer.upstream) + len(answer.downstream)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--starts", type=int, default=200, help="impact start columns per size")
    parser.add_argument(
        "--team-runs", type=int, default=5, help="timed accountability maps (after one warm-up)"
    )
    parser.add_argument(
        "--questions",
        nargs="+",
        choices=QUESTIONS,
        default=list(QUESTIONS),
        help="which questions to time (all by default)",
    )
    parser.add_argument(
        "--naive-timeout",
        type=float,
        default=NAIVE_TIMEOUT,
        help="seconds before the naive Cypher is cut off (the lattice's starts always are)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON results go")
    args = parser.parse_args()
    sizes = {
        str(n): one_size(
            n,
            args.seed,
            args.starts,
            args.team_runs,
            args.questions,
            naive_timeout=args.naive_timeout,
        )
        for n in args.nodes
    }
    tag = "_".join(map(str, args.nodes))
    print("saved", save("query_latency", {"sizes": sizes}, tag=tag, out=args.out))


if __name__ == "__main__":
    main()
