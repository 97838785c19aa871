"""The decision trace on Neo4j, today's against the trace at a git revision, interleaved in one run
on a kept estate (issue 19, target 1, sessions 25 and 26; it replaces trace_s25.py and keeps its
options): p50/p95, reads (round trips) a trace and their wall time by the function of queries/
that made them, answers checked equal (every field of every step's node); optionally a cProfile
of today's.

    python -m benchmarks.trace_s26 --keep /work/target1-trace-s24 --nodes 10000 \
        --decisions 25 --rounds 3 --before HEAD --out /tmp/s26/trace_10000

The estate is one `benchmarks.walk_contenders --keep DIR` left: DIR/<nodes>/{files,neo4j,neo4j-db}
(its Neo4j data dir projected already: only the rest of its log, if any, is taken in). Only Neo4j
is measured (the trace's contract tests hold both stores to the same answers). `--before REV...`
loads queries/{decisions,trace_ahead,decision_trace}.py as they stood at REV, each importing the
others at REV, over today's other modules.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import statistics
import subprocess
import sys
import time
import types
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path
from typing import Any

from benchmarks.harness import ExternalNeo4j, _sized_neo4j, in_turn, percentiles, settings_for
from benchmarks.neo4j_reads import trace_answer
from lineage_kg.graph import neo4j_path_edges, records
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.queries.decision_trace import decision_lineage
from lineage_kg.runtime import Runtime

ROOT = Path(__file__).resolve().parents[1]
_CHAIN = ("decisions", "trace_ahead", "decision_trace")  # in import order


def modules_at(rev: str) -> dict[str, types.ModuleType]:
    """queries/{decisions,trace_ahead,decision_trace}.py at `rev`, each importing the others at
    `rev` (sys.modules pointed at them while each is executed, then restored)."""
    loaded: dict[str, types.ModuleType] = {}
    saved = {n: sys.modules.get(f"lineage_kg.queries.{n}") for n in _CHAIN}
    try:
        for name in _CHAIN:
            source = subprocess.run(
                ["git", "show", f"{rev}:queries/{name}.py"],
                cwd=ROOT, capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            module = types.ModuleType(f"{name}_at_{rev}")
            sys.modules[module.__name__] = module  # dataclasses look their module up
            exec(compile(source, f"{rev}:queries/{name}.py", "exec"), module.__dict__)
            loaded[name] = sys.modules[f"lineage_kg.queries.{name}"] = module
    finally:
        for name, module in saved.items():
            if module is not None:
                sys.modules[f"lineage_kg.queries.{name}"] = module
    return loaded


def decoding_at(rev: str) -> Callable[[], AbstractContextManager[None]]:
    """A context in which the records are decoded as at `rev`: `StoredNode.from_record`,
    `StoredEdge.from_record` and `PathEdges.fill` from graph/{records,neo4j_path_edges}.py at
    `rev` (executed apart; the classes stay today's), swapped in for its duration."""
    old: dict[str, types.ModuleType] = {}
    for name in ("records", "neo4j_path_edges"):
        source = subprocess.run(
            ["git", "show", f"{rev}:graph/{name}.py"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        module = types.ModuleType(f"{name}_at_{rev}")
        sys.modules[module.__name__] = module
        exec(compile(source, f"{rev}:graph/{name}.py", "exec"), module.__dict__)
        old[name] = module
    then = old["records"]
    swaps = [
        (records.StoredNode, "from_record", classmethod(then.StoredNode.from_record.__func__)),
        (records.StoredEdge, "from_record", classmethod(then.StoredEdge.from_record.__func__)),
        (neo4j_path_edges.PathEdges, "fill", old["neo4j_path_edges"].PathEdges.fill),
    ]

    @contextmanager
    def swapped() -> Iterator[None]:
        today = [(owner, name, owner.__dict__[name]) for owner, name, _ in swaps]
        try:
            for owner, name, then in swaps:
                setattr(owner, name, then)
            yield
        finally:
            for owner, name, now in today:
                setattr(owner, name, now)

    return swapped


class Reads:
    """Counts the store's reads, and their wall time (the round trip and the driver's decoding;
    not what the caller builds from the rows after), by the queries/ function that made each
    (its nearest frame)."""

    def __init__(self, store: Any) -> None:
        self.by: Counter[str] = Counter()
        self.ms: Counter[str] = Counter()
        inner = store._read

        def read(query: Any, **params: Any) -> list[Any]:
            frame = sys._getframe(1)
            while frame is not None and "queries/" not in frame.f_code.co_filename:
                frame = frame.f_back  # type: ignore[assignment]
            name = frame.f_code.co_name if frame is not None else "?"
            self.by[name] += 1
            began = time.perf_counter()
            try:
                return inner(query, **params)
            finally:
                self.ms[name] += 1000 * (time.perf_counter() - began)

        store._read = read

    def take(self) -> tuple[Counter[str], Counter[str]]:
        got, self.by, ms, self.ms = self.by, Counter(), self.ms, Counter()
        return got, ms


def full_answer(trace: Any) -> list[Any]:
    """`trace_answer` with every field of each step's node (decoding changes are checked too)."""
    nodes = [
        [s.node.id, s.node.props, s.node.sources, s.node.first_seen, s.node.first_event,
         s.node.last_seen, s.node.last_event]
        for s in trace.steps
    ]  # fmt: skip
    return [trace_answer(trace), nodes]


def summary(
    took: list[float], counts: list[Counter[str]], spent: list[Counter[str]]
) -> dict[str, Any]:
    """One contender's times, reads and reads' wall time by caller."""
    totals = [sum(c.values()) for c in counts]
    by, ms = Counter[str](), Counter[str]()
    for c in counts:
        by.update(c)
    for c in spent:
        ms.update(c)
    return percentiles(took) | {
        "mean_ms": 1000 * statistics.mean(took),
        "reads_median": statistics.median(totals),
        "reads_mean": round(statistics.mean(totals), 2),
        "reads_by_caller_mean": {k: round(v / len(totals), 2) for k, v in by.most_common()},
        "read_ms_by_caller_median": {
            k: round(statistics.median(c[k] for c in spent), 1) for k in ms
        },
    }


def contenders(opts: argparse.Namespace, store: Any, table: Any) -> dict[str, Callable[[str], Any]]:
    """Today's trace; the trace at each `--before`; today's decoded as at each
    `--decoding-before`; both as at each `--before-all`; today's with the read-ahead at each
    `--reach-chunk` levels a statement."""
    asks: dict[str, Callable[[str], Any]] = {
        "after": lambda d: decision_lineage(store, d, decisions=table)
    }
    for rev in opts.before:
        then = modules_at(rev)["decision_trace"].decision_lineage
        asks[rev] = lambda d, then=then: then(store, d, decisions=table)
    for rev in opts.decoding_before:
        swapped = decoding_at(rev)

        def decoded_then(d: str, swapped: Any = swapped) -> Any:
            with swapped():
                return decision_lineage(store, d, decisions=table)

        asks[f"decoding@{rev}"] = decoded_then
    for rev in opts.before_all:  # the trace and the decoding as at `rev`
        then, swapped = modules_at(rev)["decision_trace"].decision_lineage, decoding_at(rev)

        def all_then(d: str, then: Any = then, swapped: Any = swapped) -> Any:
            with swapped():
                return then(store, d, decisions=table)

        asks[f"all@{rev}"] = all_then
    for levels in opts.reach_chunk:

        def chunked(d: str, levels: int = levels) -> Any:
            with reach_chunk(levels):
                return decision_lineage(store, d, decisions=table)

        asks[f"reach{levels}"] = chunked
    return asks


@contextmanager
def reach_chunk(levels: int) -> Iterator[None]:
    """`Neo4jStore.reach` (the data chain's read-ahead) at `levels` levels a statement, not
    `REACH_CHUNK` (a measurement: graph/neo4j_walk_statements.py is not changed)."""
    defaults = Neo4jStore._reach_rows.__kwdefaults__
    was = defaults["chunk_levels"]
    defaults["chunk_levels"] = levels
    try:
        yield
    finally:
        defaults["chunk_levels"] = was


def run(opts: argparse.Namespace) -> dict[str, Any]:
    kept = opts.keep / str(opts.nodes)
    manifest = json.loads((kept / "files" / "manifest.json").read_text())
    chosen = manifest["samples"]["root_cause_decisions"][: opts.decisions]
    with ExitStack() as stack:
        if opts.uri is not None:  # a server already up on the kept data dir
            server: Any = ExternalNeo4j(opts.uri, "neo4j", "lineage-kg-test")
        else:
            server = _sized_neo4j(opts.nodes)
            server.data_dir = kept / "neo4j-db"
            stack.enter_context(server)
        settings = settings_for(kept / "neo4j", server, neo4j_query_timeout=600)
        runtime = stack.enter_context(Runtime.open(settings))
        status = runtime.catch_up()
        assert status.parked == 0, status
        store, table = runtime.store, runtime.decisions
        reads = Reads(store)
        asks = contenders(opts, store, table)
        for d in chosen[:10]:  # warm up (plans, page cache)
            for ask in asks.values():
                ask(d)
        reads.take()
        took: dict[str, list[float]] = {n: [] for n in asks}
        counts: dict[str, list[Counter[str]]] = {n: [] for n in asks}
        spent: dict[str, list[Counter[str]]] = {n: [] for n in asks}
        loads = [os.getloadavg()]
        differ = 0
        for r in range(opts.rounds):
            for d in chosen:
                order = in_turn(asks, r)
                got = {}
                for name, ask in order:
                    began = time.perf_counter()
                    answer = ask(d)
                    took[name].append(time.perf_counter() - began)
                    got[name] = full_answer(answer)
                    count, ms = reads.take()
                    counts[name].append(count)
                    spent[name].append(ms)
                answers = {json.dumps(g, sort_keys=True, default=str) for g in got.values()}
                differ += len(answers) > 1
            loads.append(os.getloadavg())
        out: dict[str, Any] = {"nodes": opts.nodes, "before": opts.before, "loads": loads}
        for name in asks:
            out[name] = summary(took[name], counts[name], spent[name])
            print(
                f"{opts.nodes} {name}: p50 {out[name]['p50_ms']:.1f} ms, "
                f"p95 {out[name]['p95_ms']:.1f} ms, mean {out[name]['mean_ms']:.1f} ms, "
                f"reads {out[name]['reads_median']} / {out[name]['reads_mean']}  "
                f"{out[name]['reads_by_caller_mean']}\n   read ms (median) "
                f"{out[name]['read_ms_by_caller_median']}",
                flush=True,
            )
        out |= {"differ": differ, "answers": len(chosen) * opts.rounds}
        print(f"differing: {differ} of {out['answers']}; load {loads[0]} -> {loads[-1]}")
        if opts.profile:
            prof = cProfile.Profile()
            prof.runcall(lambda: [asks["after"](d) for d in chosen])
            prof.dump_stats(f"{opts.out}.prof")
            print(f"profile: {opts.out}.prof")
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, required=True)
    parser.add_argument("--nodes", type=int, required=True)
    parser.add_argument("--decisions", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--before", nargs="*", default=[], help="git revisions: their traces as contenders"
    )
    parser.add_argument(
        "--decoding-before",
        nargs="*",
        default=[],
        help="git revisions: today's trace with the records decoded as at each (graph/records.py"
        " from_record, graph/neo4j_path_edges.py PathEdges.fill)",
    )
    parser.add_argument(
        "--before-all",
        nargs="*",
        default=[],
        help="git revisions: the trace (--before) and the decoding (--decoding-before) as at each",
    )
    parser.add_argument(
        "--reach-chunk",
        nargs="*",
        type=int,
        default=[],
        help="levels a statement: today's trace with the read-ahead's walk chunked so",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile today's: OUT.prof")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--uri", help="a server already up on the kept data dir (password: tests')")
    opts = parser.parse_args()
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    result = run(opts)
    opts.out.with_suffix(".json").write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
