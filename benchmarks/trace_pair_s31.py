"""The decision trace on Neo4j, session 31 (issue 19, target 1): `trace_pair_s30`'s biggest
traces (or all of the first `--decisions`), today's against the trace at git revisions and
variants, interleaved round by round, answers compared whole (`repr`) every round; each
decision's median wall and thread CPU, and the CPU of the trace with the young collection it
leaves behind (`gc.collect(0)` right after it, its answer still held): a trace run with the
cyclic collector paused (`decision_trace.PAUSE_GC`) defers that collection past its end, where
the trace alone would not be charged for it.

    python -m benchmarks.trace_pair_s31 --keep /tmp/h86/estate --nodes 100000 --biggest 10 \
        --rounds 15 --before HEAD 433e4c3 --variant gc_on=benchmarks.trace_pair_s31:gc_on \
        --uri bolt://127.0.0.1:27931 --out benchmarks/results/trace_s31_big

Variants (context managers, for `--variant NAME=benchmarks.trace_pair_s31:FUNC`):
`gc_on` today's trace with the collector as the process has it; `resolve_as_before` today's
trace with the side table's versions resolved as before session 31 (`resolve_unread` first, its
own reads: no DECIDED edges read ahead, no deployments read once).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.harness import in_turn, kept_runtime, percentiles
from benchmarks.trace_pair_s28 import contenders as revision_contenders
from benchmarks.trace_pair_s29 import variant
from lineage_kg.graph.model import EdgeKind
from lineage_kg.graph.records import StoredNode
from lineage_kg.queries import decision_trace
from lineage_kg.queries.assets import events
from lineage_kg.queries.decisions import Unread, resolve_unread


@contextmanager
def gc_on() -> Iterator[None]:
    saved = decision_trace.PAUSE_GC
    decision_trace.PAUSE_GC = False
    try:
        yield
    finally:
        decision_trace.PAUSE_GC = saved


def _table_versions_s30(store: Any, row: Any, start: Any, _decided: Any) -> Any:
    """`_table_versions` as at 433e4c3 (its `made` taking the read-ahead too, unused)."""
    found = resolve_unread(store, row)
    step, kind = decision_trace.TraceStep, decision_trace.StepKind

    def made(nodes: Mapping[str, StoredNode], _ahead: Any) -> Any:
        resolved = found.read(nodes) if isinstance(found, Unread) else found
        return [
            step(
                kind.MODEL_VERSION, link.node, 1, start.id,
                link.edge.key.kind if link.edge is not None else EdgeKind.DECIDED,
                resolved.resolution, link.node.first_seen, events(link.node, link.edge),
                detail=resolved.detail,
            )
            for link in resolved.versions
        ]  # fmt: skip

    if isinstance(found, Unread):
        return found.ids, found.ids, made
    return sorted({link.node.id for link in found.versions}), [], made


@contextmanager
def resolve_as_before() -> Iterator[None]:
    saved = decision_trace._table_versions
    decision_trace._table_versions = _table_versions_s30
    try:
        yield
    finally:
        decision_trace._table_versions = saved


def timed(asks: dict[str, Callable[[str], Any]], chosen: list[str], rounds: int) -> dict[str, Any]:
    """Each decision asked of every contender once a round, in turn: per contender and decision
    the wall, thread CPU and thread CPU with the young collection after (`settled`) medians (ms);
    answers compared with each other."""
    names = list(asks)
    series = ("wall", "cpu", "settled")
    got_ms: dict[str, dict[str, dict[str, list[float]]]] = {
        s: {n: {d: [] for d in chosen} for n in names} for s in series
    }
    every: dict[str, list[float]] = {n: [] for n in names}
    loads, differ = [os.getloadavg()], 0
    began = time.strftime("%H:%M:%S", time.gmtime())
    for r in range(rounds):
        for j, d in enumerate(chosen):
            got = {}
            for name, ask in in_turn(asks, r + j):
                gc.collect(0)  # each starts with no young leftovers of another's
                c, t = time.thread_time(), time.perf_counter()
                answer = ask(d)
                t1, c1 = time.perf_counter(), time.thread_time()
                gc.collect(0)
                c2 = time.thread_time()
                got_ms["wall"][name][d].append(1000 * (t1 - t))
                got_ms["cpu"][name][d].append(1000 * (c1 - c))
                got_ms["settled"][name][d].append(1000 * (c2 - c))
                every[name].append(t1 - t)
                got[name] = repr(answer)
                del answer
            differ += len(set(got.values())) > 1
        loads.append(os.getloadavg())
    med = statistics.median
    out: dict[str, Any] = {"began_utc": began, "loads": loads, "differ": differ}
    out["answers"] = rounds * len(chosen)
    for name in names:
        out[name] = {
            d: {f"{s}_ms": round(med(got_ms[s][name][d]), 2) for s in series}
            | {f"{s}_min_ms": round(min(got_ms[s][name][d]), 2) for s in series}
            for d in chosen
        }
        out[name]["all"] = percentiles(every[name])
    return out


def _say(out: dict[str, Any], names: list[str], chosen: list[str]) -> None:
    first = names[0]
    med = statistics.median
    for name in names:
        rows = out[name]
        line = f"{name:>18}:"
        for s in ("wall", "cpu", "settled"):
            mine = [rows[d][f"{s}_ms"] for d in chosen]
            ratio = med(rows[d][f"{s}_ms"] / out[first][d][f"{s}_ms"] for d in chosen)
            least = med(rows[d][f"{s}_min_ms"] / out[first][d][f"{s}_min_ms"] for d in chosen)
            line += f" {s} {med(mine):6.1f} ({ratio:.3f}x, least {least:.3f}x);"
        a = rows["all"]
        line += f" all p50 {a['p50_ms']:.1f} p95 {a['p95_ms']:.1f}"
        print(line)
    l0, l1 = out["loads"][0][0], out["loads"][-1][0]
    print(f"differing: {out['differ']} of {out['answers']}; load {l0:.1f} -> {l1:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, required=True)
    parser.add_argument("--nodes", type=int, required=True)
    parser.add_argument("--biggest", type=int, default=10, help="of the first --decisions; 0: all")
    parser.add_argument("--decisions", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--before", nargs="*", default=[], help="git revisions: contenders")
    parser.add_argument("--variant", nargs="*", default=[], help="NAME=MODULE:FUNC")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--uri", help="a server already up on the kept data dir")
    opts = parser.parse_args()
    kept = opts.keep / str(opts.nodes)
    manifest = json.loads((kept / "files" / "manifest.json").read_text())
    sample = manifest["samples"]["root_cause_decisions"][: opts.decisions]
    with kept_runtime(kept, opts.uri) as runtime:
        store, table = runtime.store, runtime.decisions
        asks = revision_contenders(opts.before, store, table)
        for spec in opts.variant:
            name, ask = variant(spec, store, table)
            asks[name] = ask
        sizes = {d: len(asks["after"](d).features) for d in sample}
        chosen = sorted(sample, key=lambda d: -sizes[d])
        chosen = chosen[: opts.biggest] if opts.biggest else sample
        for d in chosen:  # warm: plans, pages
            for ask in asks.values():
                ask(d)
        out = timed(asks, chosen, opts.rounds)
        out |= {"nodes": opts.nodes, "before": opts.before, "variants": opts.variant}
        out["feature_steps"] = {d: sizes[d] for d in chosen}
    _say(out, list(asks), chosen)
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.with_suffix(".json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
