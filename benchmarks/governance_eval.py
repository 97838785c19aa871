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

import statistics
import time
from collections import Counter
from typing import Any

from benchmarks.harness import built, estate, sizes_command, timed_rounds
from lineage_kg.graph.store import GraphStore
from lineage_kg.graph.timefmt import now
from lineage_kg.queries.governance import DEFAULT_POLICY, Violation, evaluate
from lineage_kg.queries.governance.policy import Policy


def _all(store: GraphStore, decisions: Any) -> list[Violation]:
    return evaluate(store, DEFAULT_POLICY, decisions=decisions)


def _each(
    store: GraphStore, decisions: Any, took: dict[str, list[float]] | None = None
) -> list[Violation]:
    found: list[Violation] = []
    for config in DEFAULT_POLICY.enabled:
        began = time.perf_counter()
        found += evaluate(store, Policy((config,)), decisions=decisions)
        if took is not None:
            took.setdefault(config.rule, []).append(time.perf_counter() - began)
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
    per_rule: dict[str, list[float]] = {}
    out, expected = timed_rounds(
        {
            "all_at_once": lambda: _all(store, decisions),
            "rule_by_rule": lambda: _each(store, decisions, per_rule),
        },
        rounds,
    )
    rule_means = {r: round(statistics.fmean(t[-rounds:]), 3) for r, t in per_rule.items()}
    return out | {
        "per_rule_mean_s": rule_means,  # of the rounds: the warm-up's call came first
        "violations": dict(Counter(v.rule for v in expected)),
        "serving_versions_checked": checked,
    }


def one_size(nodes: int, seed: int, rounds: int, stores: list[str]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    with estate(nodes, seed, "gov") as generated:
        for store in stores:
            with built(generated, store) as on:
                result |= on.figures
                result[store] = contest(on.runtime.store, on.runtime.decisions, rounds)
                _say(nodes, store, result[store])
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


if __name__ == "__main__":
    sizes_command("governance_eval", __doc__, one_size)
