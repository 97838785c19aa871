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

from collections.abc import Callable
from typing import Any

from benchmarks.harness import built, estate, sizes_command, timed_rounds
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.change_check import Change, check_changes
from lineage_kg.queries.change_policy import CheckChangePolicy, evaluate
from lineage_kg.queries.impact import impact

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
    out, expected = timed_rounds(
        {name: lambda ask=ask: ask(store, columns) for name, ask in CONTENDERS.items()}, rounds
    )
    report = check_changes(store, [Change(c, "drop") for c in columns])
    return out | {
        "impacted": len(expected),
        "exact": sum(1 for c, _ in expected.values() if c == "exact"),
        "decision_points_at_risk": len(report.decisions),
        "owners": len(report.owners),
    }


def one_size(nodes: int, seed: int, rounds: int, stores: list[str]) -> dict[str, Any]:
    with estate(nodes, seed, "cc") as generated:
        columns = generated.manifest["samples"]["impact_raw_columns"][:CHANGED]
        result: dict[str, Any] = {"changed_columns": len(columns)}
        for store in stores:
            with built(generated, store) as on:
                result |= on.figures
                result[store] = contest(on.runtime.store, columns, rounds)
                _say(nodes, store, result[store])
    return result


def _say(nodes: int, store: str, out: dict[str, Any]) -> None:
    times = "; ".join(f"{n} {out[n]['median_s']} s (min {out[n]['min_s']})" for n in CONTENDERS)
    print(
        f"{nodes} {store}: {out['impacted']} impacted ({out['exact']} exact), "
        f"{out['decision_points_at_risk']} decision points; {times}; load {out['load_average']}"
    )


if __name__ == "__main__":
    sizes_command("check_change", __doc__, one_size, stores=["embedded"])
