"""Every governance rule over the generated estate (issue 20: all policies at 100k nodes in at
most 5 s on the embedded store, a measured figure on Neo4j): the default policy evaluated at once
(`evaluate_all`: the rules share one read of the production side and one upstream walk) against a
naive baseline in the same run, each rule evaluated on its own (every rule re-reads the decision
points, the deployments and walks again); the per-rule times come from the baseline. Every
evaluation's violations are checked equal to the first before its time counts.

    python -m benchmarks.governance_eval --nodes 10000 100000 --rounds 3

Per size: `lkg generate`'s files -> one event log -> the embedded store (`rebuild_embedded`, as
the service builds it) and Neo4j (the projector), the decisions side table with it. One warm-up
per contender first (Neo4j's plan cache, the JIT of a JVM just started).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.harness import RESULTS, copy_log, neo4j_for, save, scratch_dir, settings_for
from benchmarks.query_latency import build_log
from benchmarks.synthetic.write import generate
from lineage_kg.graph.store import GraphStore
from lineage_kg.graph.timefmt import now
from lineage_kg.queries.governance import DEFAULT_POLICY, Violation, evaluate
from lineage_kg.queries.governance.policy import Policy
from lineage_kg.runtime import Runtime


def _all(store: GraphStore, decisions: Any) -> list[Violation]:
    return evaluate(store, DEFAULT_POLICY, decisions=decisions)


def _each(
    store: GraphStore, decisions: Any, took: dict[str, float] | None = None
) -> list[Violation]:
    found: list[Violation] = []
    for config in DEFAULT_POLICY.enabled:
        began = time.perf_counter()
        found += evaluate(store, Policy((config,)), decisions=decisions)
        if took is not None:
            took[config.rule] = took.get(config.rule, 0.0) + time.perf_counter() - began
    return sorted(found, key=lambda v: v.sort_key)


def same_feature_sources(store: GraphStore) -> int:
    """The quality rule's own walk to the features' source datasets finds exactly the DATASET
    steps of the full decision trace's feature chain, for every serving version (checked once,
    untimed); the number of versions checked."""
    from lineage_kg.queries.decision_trace import StepKind, decision_lineage
    from lineage_kg.queries.governance.model import Context
    from lineage_kg.queries.governance.production import production
    from lineage_kg.queries.governance.quality_rules import _training_data

    ctx = Context(store, None, now())
    versions = production(ctx).versions
    for version in versions:
        trace = decision_lineage(store, version)
        want = {s.node.id for s in trace.features if s.kind is StepKind.DATASET}
        seen, _ = _training_data(ctx, version, 10)
        got = {s.node.id for s in seen} - {s.node.id for s in trace.data}
        assert got == want - {s.node.id for s in trace.data}, f"{version}: other feature sources"
    return len(versions)


def contest(store: GraphStore, decisions: Any, rounds: int) -> dict[str, Any]:
    checked = same_feature_sources(store)
    expected = _all(store, decisions)
    _each(store, decisions)  # warm-up of the other contender
    load_before = os.getloadavg()
    took: dict[str, list[float]] = {"all_at_once": [], "rule_by_rule": []}
    per_rule: dict[str, float] = {}
    for _ in range(rounds):
        began = time.perf_counter()
        assert _all(store, decisions) == expected, "all_at_once: a different answer"
        took["all_at_once"].append(time.perf_counter() - began)
        began = time.perf_counter()
        assert _each(store, decisions, per_rule) == expected, "rule_by_rule: a different answer"
        took["rule_by_rule"].append(time.perf_counter() - began)
    out: dict[str, Any] = {
        name: {
            "median_s": round(statistics.median(s), 3),
            "min_s": round(min(s), 3),
            "max_s": round(max(s), 3),
        }
        for name, s in took.items()
    }
    return out | {
        "per_rule_mean_s": {r: round(t / rounds, 3) for r, t in per_rule.items()},
        "violations": dict(Counter(v.rule for v in expected)),
        "serving_versions_checked": checked,
        "load_average": [load_before, os.getloadavg()],
    }


def one_size(nodes: int, seed: int, rounds: int, stores: list[str]) -> dict[str, Any]:
    with scratch_dir(f"gov{nodes}") as work:
        files = work / "files"
        generate(files, nodes, seed)
        logged = settings_for(work / "log")
        with Runtime.open(logged) as runtime:
            build_log(files, runtime.log)
        result: dict[str, Any] = {}
        if "embedded" in stores:
            on_embedded = settings_for(work / "embedded")
            copy_log(logged, on_embedded)
            with Runtime.open(on_embedded) as runtime:
                runtime.rebuild_embedded()
                result["nodes"] = runtime.store.stats().node_count
                result["embedded"] = contest(runtime.store, runtime.decisions, rounds)
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
                    result["neo4j"] = contest(runtime.store, runtime.decisions, rounds)
                    _say(nodes, "neo4j", result["neo4j"])
    return result


def _say(nodes: int, store: str, out: dict[str, Any]) -> None:
    times = "; ".join(
        f"{n} {out[n]['median_s']} s (min {out[n]['min_s']})"
        for n in ("all_at_once", "rule_by_rule")
    )
    print(
        f"{nodes} {store}: {sum(out['violations'].values())} violations {out['violations']}; "
        f"{times}; per rule {out['per_rule_mean_s']}; load {out['load_average']}"
    )


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
    print("saved", save("governance_eval", {"sizes": sizes}, tag=tag, out=args.out))


if __name__ == "__main__":
    main()
