"""The decision trace on Neo4j, session 30 (issue 19, target 1): the biggest traces' client CPU
and wall, today's against the trace at git revisions and variants (`trace_pair_s29`'s
contenders), interleaved round by round, each decision's median, answers compared whole
(`repr`) every round; the CPU is this thread's (`time.thread_time`), readable under load (its
least over the rounds too: the load only adds to it).

    python -m benchmarks.trace_pair_s30 --keep /work/q30/estate --nodes 100000 --biggest 10 \
        --rounds 12 --before b544989 --variant fold=benchmarks.trace_pair_s30:fold_decided \
        --uri bolt://127.0.0.1:27930 --out benchmarks/results/trace_s30_big

And contenders for `trace_pair_s29 --variant` (a change behind a context manager).

`fold_decided`: a side-table decision that names its version (28 of the generator's first 50
root-cause decisions at 100k) reads that version's DECIDED edges before the read-ahead
(`queries.decisions.resolve_unread`), one round trip for one edge, which only the version's
step shows (its kind and its events). Here they are read with the read-ahead's covered nodes
(`nodes_and_neighbors`: one statement) instead: one round trip fewer. Not in the trace itself:
it moves the read pin of `tests/contract/test_trace_resolution.py` (sd-named: 3 reads -> 2).

    python -m benchmarks.trace_pair_s29 --keep /work/q30/estate --nodes 100000 --decisions 50 \
        --rounds 5 --warm 50 --before b544989 \
        --variant fold=benchmarks.trace_pair_s30:fold_decided \
        --uri bolt://127.0.0.1:27930 --out benchmarks/results/trace_s30_100000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.harness import in_turn, kept_runtime
from benchmarks.trace_pair_s28 import contenders as revision_contenders
from benchmarks.trace_pair_s29 import variant
from lineage_kg.graph.model import EdgeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.records import StoredEdge
from lineage_kg.queries import decision_trace
from lineage_kg.queries.decisions import Resolution, Unread
from lineage_kg.queries.trace_ahead import (
    _STATE,
    AHEAD_LIMIT,
    CHAIN_MOVES,
    ReadAhead,
    chain_hops,
)
from lineage_kg.queries.traversal import answers_itself

_DECIDED = [EdgeKind.DECIDED]


def _fill(found: Unread, version: str, point: str, edges: Sequence[StoredEdge]) -> None:
    """`found`'s link given its version's DECIDED edges (by edge id): the first into the point,
    as `resolve_unread` takes it."""
    edge = next((e for e in edges if e.key.src.id == version and e.key.dst.id == point), None)
    found.links[0] = (version, edge)


@contextmanager
def fold_decided() -> Iterator[None]:
    """Today's trace, a named version's DECIDED edges read with the read-ahead's nodes."""
    real_resolve = decision_trace.resolve_unread
    waiting: list[tuple[Unread, str, str]] = []  # each named resolution, its version, its point

    def resolve_unread(store: Any, row: Any) -> Any:
        if (named := row.version_key) is None:
            return real_resolve(store, row)
        found = Unread(
            Resolution.OBSERVED,
            [(named.id, None)],
            "",
            absent=f"{named.display} is not in the graph",
        )
        waiting.append((found, named.id, row.point_key.id))
        return found

    def read_ahead(store: Any, start: Sequence[str], depth: int, as_of: str | None) -> Any:
        asked = waiting[:]
        waiting.clear()
        ahead = None
        if start and answers_itself(store, "reach"):
            ahead = store.reach(
                start, CHAIN_MOVES, start_state=_STATE, max_depth=chain_hops(depth),
                as_of=as_of, limit=AHEAD_LIMIT,
            )  # fmt: skip
        versions = [version for _, version, _ in asked]
        if ahead is None:
            edges = store.neighbors(versions, Direction.OUT, _DECIDED) if versions else []
            for found, version, point in asked:
                _fill(found, version, point, edges)
            return None
        covered = sorted(ahead.covered)
        if not versions:
            return ReadAhead(store, ahead, {n.id: n for n in store.get_nodes(covered)}, as_of)
        nodes, each = store.nodes_and_neighbors(covered, versions, {Direction.OUT: _DECIDED}, None)
        edges = sorted((e for e, _ in each), key=lambda e: e.key.id)
        for found, version, point in asked:
            _fill(found, version, point, edges)
        return ReadAhead(store, ahead, {n.id: n for n in nodes}, as_of)

    saved = decision_trace.read_ahead
    decision_trace.resolve_unread = resolve_unread  # type: ignore[assignment]
    decision_trace.read_ahead = read_ahead  # type: ignore[assignment]
    try:
        yield
    finally:
        decision_trace.resolve_unread = real_resolve  # type: ignore[assignment]
        decision_trace.read_ahead = saved


def timed(asks: dict[str, Callable[[str], Any]], chosen: list[str], rounds: int) -> dict[str, Any]:
    """Each decision asked of every contender once a round, in turn; per contender and decision
    the wall and thread-CPU medians (ms); answers compared with the first contender's."""
    wall: dict[str, dict[str, list[float]]] = {n: {d: [] for d in chosen} for n in asks}
    cpu: dict[str, dict[str, list[float]]] = {n: {d: [] for d in chosen} for n in asks}
    loads, differ = [os.getloadavg()], 0
    began = time.strftime("%H:%M:%S", time.gmtime())
    for r in range(rounds):
        for j, d in enumerate(chosen):
            got = {}
            for name, ask in in_turn(asks, r + j):
                c, t = time.thread_time(), time.perf_counter()
                answer = ask(d)
                wall[name][d].append(1000 * (time.perf_counter() - t))
                cpu[name][d].append(1000 * (time.thread_time() - c))
                got[name] = repr(answer)
            differ += len(set(got.values())) > 1
        loads.append(os.getloadavg())
    med = statistics.median
    out: dict[str, Any] = {"began_utc": began, "loads": loads, "differ": differ}
    out["answers"] = rounds * len(chosen)
    for name in asks:
        out[name] = {
            d: {
                "wall_ms": round(med(wall[name][d]), 2),
                "cpu_ms": round(med(cpu[name][d]), 2),
                "wall_min_ms": round(min(wall[name][d]), 2),
                "cpu_min_ms": round(min(cpu[name][d]), 2),
            }
            for d in chosen
        }
    return out


def _say(out: dict[str, Any], names: list[str], chosen: list[str]) -> None:
    first = names[0]
    for name in names:
        rows = out[name]
        walls = [rows[d]["wall_ms"] for d in chosen]
        cpus = [rows[d]["cpu_ms"] for d in chosen]
        ratio_w = statistics.median(rows[d]["wall_ms"] / out[first][d]["wall_ms"] for d in chosen)
        ratio_c = statistics.median(rows[d]["cpu_ms"] / out[first][d]["cpu_ms"] for d in chosen)
        least = statistics.median(
            rows[d]["cpu_min_ms"] / out[first][d]["cpu_min_ms"] for d in chosen
        )
        print(
            f"{name:>10}: wall median of medians {statistics.median(walls):6.1f} ms, CPU "
            f"{statistics.median(cpus):5.1f} ms; per decision against {first}: wall "
            f"{ratio_w:.3f}x, CPU {ratio_c:.3f}x (least CPU {least:.3f}x)"
        )
    l0, l1 = out["loads"][0][0], out["loads"][-1][0]
    print(f"differing: {out['differ']} of {out['answers']}; load {l0:.1f} -> {l1:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, required=True)
    parser.add_argument("--nodes", type=int, required=True)
    parser.add_argument("--biggest", type=int, default=10, help="of the first --decisions")
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
        asks = {"after": lambda d: decision_trace.decision_lineage(store, d, decisions=table)}
        asks |= revision_contenders(opts.before, store, table)
        for spec in opts.variant:
            name, ask = variant(spec, store, table)
            asks[name] = ask
        sizes = {d: len(asks["after"](d).features) for d in sample}
        chosen = sorted(sample, key=lambda d: -sizes[d])[: opts.biggest]
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
