"""`lkg check-change` on a 50-column change (issue 20: at most 2 s at 100k nodes): the check
(queries/change_check.py: one walk for all columns, then decision points, KPIs, models, owners)
and the whole gate (queries/change_policy.py `evaluate`, default policy) against the naive way,
one impact() per changed column, in the same run, interleaved round by round; the check's
impacted set is checked equal to the naive answers merged (exact first, then nearest), but for
the dataset versions and runs kept only as steps of an explaining path (HISTORY below).

    python -m benchmarks.check_change --nodes 10000 100000 --rounds 3 --stores embedded

The 50 columns are the generator's first 50 `impact_raw_columns` samples (raw tables' columns
spread over many tables: 50 separate starts). Per size: `lkg generate`'s files -> one event
log -> the embedded store (`rebuild_embedded`) and/or Neo4j (the projector).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.harness import RESULTS, copy_log, neo4j_for, save, scratch_dir, settings_for
from benchmarks.query_latency import build_log
from benchmarks.synthetic.write import generate
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.change_check import Change, check_changes
from lineage_kg.queries.change_policy import CheckChangePolicy, evaluate
from lineage_kg.queries.impact import impact
from lineage_kg.runtime import Runtime

CHANGED = 50
# queries/impact.py `training_data` keeps a dataset version or run that trained nothing only
# when it lies on a kept item's explaining path; one walk from 50 starts picks one path per
# item, so such history nodes may differ from the 50 walks' union: compared without them
HISTORY = ('["DatasetVersion"', '["Run"')


def naive(store: GraphStore, columns: list[str]) -> dict[str, tuple[str, int]]:
    merged: dict[str, tuple[str, int]] = {}
    for column in columns:
        for item in impact(store, column).items:
            mine = (item.certainty.value, item.distance)
            held = merged.get(item.node.id)
            if held is None or (mine[0] == "exact", -mine[1]) > (held[0] == "exact", -held[1]):
                merged[item.node.id] = mine
    return {k: v for k, v in merged.items() if k not in set(columns) and not k.startswith(HISTORY)}


def batched(store: GraphStore, columns: list[str]) -> dict[str, tuple[str, int]]:
    report = check_changes(store, [Change(c, "drop") for c in columns])
    return assets(report.items)


def assets(items: list[Any]) -> dict[str, tuple[str, int]]:
    return {
        i.node.id: (i.certainty.value, i.distance)
        for i in items
        if not i.node.id.startswith(HISTORY)
    }


def gate(store: GraphStore, columns: list[str]) -> dict[str, tuple[str, int]]:
    result = evaluate(store, [Change(c, "drop") for c in columns], CheckChangePolicy())
    return assets(result.report.items)


CONTENDERS: dict[str, Callable[[GraphStore, list[str]], dict[str, tuple[str, int]]]] = {
    "one_impact_per_column": naive,
    "check_changes": batched,
    "gate": gate,
}


def contest(store: GraphStore, columns: list[str], rounds: int) -> dict[str, Any]:
    expected = naive(store, columns)
    for ask in CONTENDERS.values():
        assert ask(store, columns) == expected  # warm-up, and the same answer
    took: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    load_before = os.getloadavg()
    for _ in range(rounds):
        for name, ask in CONTENDERS.items():
            began = time.perf_counter()
            answer = ask(store, columns)
            took[name].append(time.perf_counter() - began)
            assert answer == expected, f"{name}: a different answer"
    report = check_changes(store, [Change(c, "drop") for c in columns])
    return {
        name: {
            "median_s": round(statistics.median(s), 3),
            "min_s": round(min(s), 3),
            "max_s": round(max(s), 3),
        }
        for name, s in took.items()
    } | {
        "impacted": len(expected),
        "exact": sum(1 for c, _ in expected.values() if c == "exact"),
        "decision_points_at_risk": len(report.decisions),
        "owners": len(report.owners),
        "load_average": [load_before, os.getloadavg()],
    }


def one_size(nodes: int, seed: int, rounds: int, stores: list[str]) -> dict[str, Any]:
    with scratch_dir(f"cc{nodes}") as work:
        files = work / "files"
        manifest = generate(files, nodes, seed)
        columns = manifest["samples"]["impact_raw_columns"][:CHANGED]
        logged = settings_for(work / "log")
        with Runtime.open(logged) as runtime:
            build_log(files, runtime.log)
        result: dict[str, Any] = {"changed_columns": len(columns)}
        if "embedded" in stores:
            on_embedded = settings_for(work / "embedded")
            copy_log(logged, on_embedded)
            with Runtime.open(on_embedded) as runtime:
                runtime.rebuild_embedded()
                result["nodes"] = runtime.store.stats().node_count
                result["embedded"] = contest(runtime.store, columns, rounds)
                _say(nodes, "embedded", result["embedded"])
        if "neo4j" in stores:
            with neo4j_for(nodes) as server:
                on_neo4j = settings_for(work / "neo4j", server)
                copy_log(logged, on_neo4j)
                with Runtime.open(on_neo4j) as runtime:
                    status = runtime.catch_up()
                    assert status.parked == 0, f"{status.parked} events parked"
                    result["neo4j"] = contest(runtime.store, columns, rounds)
                    _say(nodes, "neo4j", result["neo4j"])
    return result


def _say(nodes: int, store: str, out: dict[str, Any]) -> None:
    times = "; ".join(f"{n} {out[n]['median_s']} s (min {out[n]['min_s']})" for n in CONTENDERS)
    print(
        f"{nodes} {store}: {out['impacted']} impacted ({out['exact']} exact), "
        f"{out['decision_points_at_risk']} decision points; {times}; load {out['load_average']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--stores", nargs="+", choices=["embedded", "neo4j"], default=["embedded"])
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON results go")
    args = parser.parse_args()
    sizes = {str(n): one_size(n, args.seed, args.rounds, args.stores) for n in args.nodes}
    tag = "_".join(map(str, args.nodes)) + "_" + "_".join(args.stores)
    print("saved", save("check_change", {"sizes": sizes}, tag=tag, out=args.out))


if __name__ == "__main__":
    main()
