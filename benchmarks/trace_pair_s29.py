"""The decision trace on Neo4j at a size (1M: issue 19, target 1, session 29): p50/p95 over the
generator's root-cause decisions, today's against the trace at git revisions interleaved
(`trace_pair_s28`'s contenders, answers compared whole every round), each decision's median;
then the tail split: for the slowest decisions, today's trace again with each phase timed (wall
and client CPU) and each statement's server time (`result_available_after` +
`result_consumed_after`), wall, client CPU (the driver packing and decoding), rows and bytes
(the answer and the parameters as JSON).

    python -m benchmarks.trace_pair_s29 --keep /work/h3-estate --nodes 1000000 --decisions 50 \
        --rounds 4 --before HEAD --split 4 --split-rounds 6 --uri bolt://127.0.0.1:27701 --out OUT

`--variant NAME=MODULE:FUNC`: a contender that is today's trace inside the context manager
MODULE.FUNC() makes (a change behind a switch, measured against today's in the same run).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from neo4j import Query

from benchmarks.harness import in_turn, kept_runtime, percentiles
from benchmarks.trace_pair_s28 import contenders as revision_contenders
from lineage_kg.queries import decision_trace
from lineage_kg.queries.decision_trace import decision_lineage

# the trace's phases (queries/decision_trace.py's functions, looked up at call time)
PHASES = (
    "_table_versions",
    "_deciding_versions",
    "read_ahead",
    "_data_chain",
    "_feature_walk",
    "_assets",
    "_nodes_and_owners",
    "_feature_steps",
    "_with_owners",
)


class Tracer:
    """While on: each phase's wall and client CPU, each store read's times and sizes, the GC's
    time inside the trace. The reads are made as `Neo4jStore._read` makes them (this thread's
    session, auto-commit) with the summary consumed for the server's times."""

    def __init__(self, store: Any) -> None:
        self.on = False
        self.phase = "-"
        self.phases: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        self.reads: list[dict[str, Any]] = []
        self.gc_ms = 0.0
        self._gc_began = 0.0
        inner = store._read

        def read(query: Any, **params: Any) -> list[Any]:
            if not self.on:
                return inner(query, **params)
            graph_caller = sys._getframe(1).f_code.co_name
            store._ensure_contact()
            session = store._session()
            c0, t0 = time.process_time(), time.perf_counter()
            result = session.run(Query(query, timeout=600), params)
            rows = list(result)
            s = result.consume()
            t1, c1 = time.perf_counter(), time.process_time()
            self.reads.append(
                {
                    "phase": self.phase,
                    "by": graph_caller,
                    "server_ms": (s.result_available_after or 0) + (s.result_consumed_after or 0),
                    "wall_ms": 1000 * (t1 - t0),
                    "cpu_ms": 1000 * (c1 - c0),
                    "_rows": rows,
                    "_params": params,
                }
            )
            return rows

        store._read = read
        gc.callbacks.append(self._gc)

    def _gc(self, what: str, _info: Any) -> None:
        if not self.on:
            return
        if what == "start":
            self._gc_began = time.perf_counter()
        else:
            self.gc_ms += 1000 * (time.perf_counter() - self._gc_began)

    @contextmanager
    def phases_timed(self) -> Iterator[None]:
        saved = {name: getattr(decision_trace, name) for name in PHASES}

        def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
            def run(*args: Any, **kwargs: Any) -> Any:
                self.phase = name
                c, t = time.process_time(), time.perf_counter()
                try:
                    return fn(*args, **kwargs)
                finally:
                    spent = self.phases[name]
                    spent[0] += 1000 * (time.perf_counter() - t)
                    spent[1] += 1000 * (time.process_time() - c)
                    self.phase = "-"

            return run

        for name, fn in saved.items():
            setattr(decision_trace, name, timed(name, fn))
        try:
            yield
        finally:
            for name, fn in saved.items():
                setattr(decision_trace, name, fn)

    def one(self, ask: Callable[[], Any]) -> dict[str, Any]:
        """One trace, traced: its wall, CPU, phases, reads (sizes measured after), GC."""
        self.phases.clear()
        self.reads = []
        self.gc_ms = 0.0
        self.on = True
        with self.phases_timed():
            c, t = time.process_time(), time.perf_counter()
            answer = ask()
            wall, cpu = 1000 * (time.perf_counter() - t), 1000 * (time.process_time() - c)
        self.on = False
        for r in self.reads:
            rows = r.pop("_rows")
            params = r.pop("_params")
            r["items"] = sum(
                len(v) for row in rows for v in row.values() if isinstance(v, list | dict)
            )
            r["reply_kb"] = len(json.dumps([row.values() for row in rows], default=str)) / 1000
            r["params_kb"] = len(json.dumps(params, default=str)) / 1000
        return {
            "wall_ms": wall,
            "cpu_ms": cpu,
            "gc_ms": self.gc_ms,
            "features": len(answer.features),
            "steps": len(answer.steps),
            "phases": {k: (v[0], v[1]) for k, v in self.phases.items()},
            "reads": self.reads,
        }


def split(tracer: Tracer, ask: Callable[[], Any], rounds: int) -> dict[str, Any]:
    """`rounds` traced traces of one decision: the medians of each phase, each read (by its
    place in the trace) and the whole."""
    runs = [tracer.one(ask) for _ in range(rounds)]
    med = statistics.median
    phases = {
        name: {
            "wall_ms": med(r["phases"][name][0] for r in runs),
            "cpu_ms": med(r["phases"][name][1] for r in runs),
        }
        for name in runs[0]["phases"]
    }
    reads = []
    if len({len(r["reads"]) for r in runs}) == 1:
        for i, first in enumerate(runs[0]["reads"]):
            reads.append(
                {"phase": first["phase"], "by": first["by"]}
                | {
                    k: med(r["reads"][i][k] for r in runs)
                    for k in ("server_ms", "wall_ms", "cpu_ms", "items", "reply_kb", "params_kb")
                }
            )
    return {
        "wall_ms": med(r["wall_ms"] for r in runs),
        "cpu_ms": med(r["cpu_ms"] for r in runs),
        "gc_ms": med(r["gc_ms"] for r in runs),
        "features": runs[0]["features"],
        "steps": runs[0]["steps"],
        "walls": [round(r["wall_ms"], 1) for r in runs],
        "phases": phases,
        "reads": reads,
    }


def _say_split(decision: str, got: dict[str, Any]) -> None:
    print(
        f"  {decision}: {got['steps']} steps ({got['features']} feature), wall "
        f"{got['wall_ms']:.1f} ms (rounds {got['walls']}), client CPU {got['cpu_ms']:.1f}, "
        f"GC {got['gc_ms']:.1f}"
    )
    for name, p in got["phases"].items():
        print(f"    phase {name:<20} wall {p['wall_ms']:6.1f}  cpu {p['cpu_ms']:6.1f}")
    for r in got["reads"]:
        print(
            f"    read {r['phase']:<18} {r['by']:<22} server {r['server_ms']:5.1f} wall "
            f"{r['wall_ms']:6.1f} cpu {r['cpu_ms']:5.1f} items {r['items']:6.0f} reply "
            f"{r['reply_kb']:7.1f} KB params {r['params_kb']:6.1f} KB"
        )


def variant(spec: str, store: Any, table: Any) -> tuple[str, Callable[[str], Any]]:
    name, _, where = spec.partition("=")
    module, _, func = where.partition(":")
    context = getattr(importlib.import_module(module), func)

    def ask(d: str) -> Any:
        with context():
            return decision_lineage(store, d, decisions=table)

    return name, ask


def timed(
    opts: argparse.Namespace, asks: dict[str, Callable[[str], Any]], chosen: list[str]
) -> tuple[dict[str, Any], dict[str, int]]:
    """The contenders asked in turn, every decision each round; answers compared."""
    for d in chosen[: opts.warm]:  # warm up (plans, page cache)
        for ask in asks.values():
            ask(d)
    took: dict[str, list[float]] = {n: [] for n in asks}
    cpu: dict[str, list[float]] = {n: [] for n in asks}
    per: dict[str, dict[str, list[float]]] = {n: defaultdict(list) for n in asks}
    steps: dict[str, int] = {}
    loads = [os.getloadavg()]
    began = time.strftime("%H:%M:%S", time.gmtime())
    differ = 0
    for r in range(opts.rounds):
        for j, d in enumerate(chosen):
            got = {}
            for name, ask in in_turn(asks, r + j):
                c, t = time.process_time(), time.perf_counter()
                answer = ask(d)
                took[name].append(time.perf_counter() - t)
                cpu[name].append(1000 * (time.process_time() - c))
                per[name][d].append(1000 * took[name][-1])
                got[name] = repr(answer)
                steps[d] = len(answer.features)
            differ += len(set(got.values())) > 1
        loads.append(os.getloadavg())
    out: dict[str, Any] = {
        "nodes": opts.nodes, "before": opts.before, "variants": opts.variant,
        "began_utc": began, "loads": loads,
    }  # fmt: skip
    for name in asks:
        out[name] = percentiles(took[name]) | {
            "cpu_median_ms": statistics.median(cpu[name]),
            "per_decision_median_ms": {
                d: round(statistics.median(v), 1) for d, v in per[name].items()
            },
        }
        o = out[name]
        print(
            f"{opts.nodes} {name}: p50 {o['p50_ms']:.1f} p95 {o['p95_ms']:.1f} "
            f"mean {o['mean_ms']:.1f} max {o['max_ms']:.1f} ms | client CPU median "
            f"{o['cpu_median_ms']:.1f} ms",
            flush=True,
        )
    out |= {"differ": differ, "answers": len(chosen) * opts.rounds, "feature_steps": steps}
    print(
        f"differing: {differ} of {out['answers']}; load {loads[0][0]:.1f} -> "
        f"{loads[-1][0]:.1f} (began {began} UTC)"
    )
    return out, steps


def run(opts: argparse.Namespace) -> dict[str, Any]:
    kept = opts.keep / str(opts.nodes)
    manifest = json.loads((kept / "files" / "manifest.json").read_text())
    chosen = manifest["samples"]["root_cause_decisions"][: opts.decisions]
    with kept_runtime(kept, opts.uri) as runtime:
        status = runtime.catch_up()
        assert status.parked == 0, status
        store, table = runtime.store, runtime.decisions
        asks = revision_contenders(opts.before, store, table)
        for spec in opts.variant:
            name, ask = variant(spec, store, table)
            asks[name] = ask
        tracer = Tracer(store)
        out, steps = timed(opts, asks, chosen)
        medians = out["after"]["per_decision_median_ms"]
        slowest = sorted(medians, key=lambda d: -medians[d])
        print("slowest (after, median ms, feature steps):")
        for d in slowest[:10]:
            print(f"  {d}: {medians[d]:.1f}  {steps[d]}")
        if opts.split:
            out["split"] = {}
            out["split_load"] = [os.getloadavg()]
            print(f"split (today's trace, {opts.split_rounds} rounds each, medians):")
            for d in slowest[: opts.split]:
                got = split(
                    tracer, lambda d=d: decision_lineage(store, d, decisions=table),
                    opts.split_rounds,
                )  # fmt: skip
                out["split"][d] = got
                _say_split(d, got)
            out["split_load"].append(os.getloadavg())
            print(f"load {out['split_load'][0][0]:.1f} -> {out['split_load'][-1][0]:.1f}")
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, required=True)
    parser.add_argument("--nodes", type=int, required=True)
    parser.add_argument("--decisions", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--warm", type=int, default=10, help="decisions asked first, untimed")
    parser.add_argument("--before", nargs="*", default=[], help="git revisions: contenders")
    parser.add_argument(
        "--variant", nargs="*", default=[], help="NAME=MODULE:FUNC (a context manager)"
    )
    parser.add_argument("--split", type=int, default=0, help="the slowest N decisions split")
    parser.add_argument("--split-rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--uri", help="a server already up on the kept data dir (password: tests')")
    opts = parser.parse_args()
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    result = run(opts)
    opts.out.with_suffix(".json").write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
