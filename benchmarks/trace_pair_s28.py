"""The decision trace on Neo4j, today's against the trace as it stood at git revisions, interleaved
in one run on a kept estate (issue 19, target 1, session 28): wall p50/p95/mean, the biggest
traces' median (the p95's), and client CPU (this process: the driver's decoding and the trace's
Python), answers compared whole (`repr` of the trace: every field, props in order) every round.

    python -m benchmarks.trace_pair_s28 --keep /work/target1-trace-s24 --nodes 100000 \
        --decisions 15 --rounds 6 --before HEAD --uri bolt://127.0.0.1:27687 --out OUT

A revision's trace is queries/{decisions,trace_ahead,decision_trace}.py at it (`trace_s26`'s
`modules_at`) with the store's trace read (`Neo4jStore.nodes_assets_owners_and_evidence`) as at
it: graph/neo4j_trace_evidence.py and the owners' statement's builder in graph/neo4j_store.py.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks.harness import ExternalNeo4j, _sized_neo4j, in_turn, percentiles, settings_for
from benchmarks.trace_s26 import modules_at
from lineage_kg.graph import neo4j_store
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.queries.decision_trace import decision_lineage
from lineage_kg.runtime import Runtime

ROOT = Path(__file__).resolve().parents[1]


def trace_read_at(rev: str) -> Callable[..., Any]:
    """`Neo4jStore.nodes_assets_owners_and_evidence` as at `rev`: graph/neo4j_trace_evidence.py
    at `rev`, and the owners' statement's builder (`_nodes_assets_and_owners_query`, with the
    statement parts it reads) taken from graph/neo4j_store.py at `rev` and executed over today's
    module (not the whole file: other helpers change its imports)."""
    package = sys.modules["lineage_kg.graph"]  # `from lineage_kg.graph import x` reads it first
    saved = sys.modules["lineage_kg.graph.neo4j_trace_evidence"]
    evidence = types.ModuleType(f"neo4j_trace_evidence_at_{rev}")
    sys.modules[evidence.__name__] = evidence
    try:
        exec(compile(_source(rev, "neo4j_trace_evidence"), rev, "exec"), evidence.__dict__)
    finally:
        sys.modules["lineage_kg.graph.neo4j_trace_evidence"] = saved
        package.neo4j_trace_evidence = saved  # type: ignore[attr-defined]
    tree = ast.parse(_source(rev, "neo4j_store"))
    picked = [
        node
        for node in tree.body
        if (isinstance(node, ast.FunctionDef) and node.name in _BUILDER)
        or (
            isinstance(node, ast.Assign | ast.AnnAssign)
            and {getattr(t, "id", None) for t in _targets(node)} & _BUILDER
        )
    ]
    space = dict(vars(neo4j_store)) | {"neo4j_trace_evidence": evidence}
    exec(compile(ast.Module(body=picked, type_ignores=[]), rev, "exec"), space)
    query = partial(space["_nodes_assets_and_owners_query"], evidence=True)

    def read(store: Any, *args: Any, as_of: str | None = None, **kwargs: Any) -> Any:
        *args, as_of = args if len(args) == 5 else (*args, as_of)  # as the store's method takes it
        return evidence.nodes_assets_owners_and_evidence(
            store, *args, query=query, as_of=as_of, **kwargs
        )

    return read


# the owners' statement's builder and the parts of the statement it reads
_BUILDER = {
    "_path_edges_and_nodes",
    "_PATH_EDGES_AND_NODES",
    "_OWNS_AND_ALIASES",
    "_nodes_assets_and_owners_query",
}


def _targets(node: ast.Assign | ast.AnnAssign) -> list[ast.expr]:
    return node.targets if isinstance(node, ast.Assign) else [node.target]


def _source(rev: str, name: str) -> str:
    return subprocess.run(
        ["git", "show", f"{rev}:graph/{name}.py"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


@contextmanager
def store_read(read: Callable[..., Any]) -> Iterator[None]:
    today = Neo4jStore.__dict__["nodes_assets_owners_and_evidence"]
    Neo4jStore.nodes_assets_owners_and_evidence = read  # type: ignore[method-assign]
    try:
        yield
    finally:
        Neo4jStore.nodes_assets_owners_and_evidence = today  # type: ignore[method-assign]


def contenders(revs: list[str], store: Any, table: Any) -> dict[str, Callable[[str], Any]]:
    asks: dict[str, Callable[[str], Any]] = {
        "after": lambda d: decision_lineage(store, d, decisions=table)
    }
    for rev in revs:
        then, read = modules_at(rev)["decision_trace"].decision_lineage, trace_read_at(rev)

        def at(d: str, then: Any = then, read: Any = read) -> Any:
            with store_read(read):
                return then(store, d, decisions=table)

        asks[rev] = at
    return asks


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
        asks = contenders(opts.before, runtime.store, runtime.decisions)
        for d in chosen[:10]:  # warm up (plans, page cache)
            for ask in asks.values():
                ask(d)
        took: dict[str, list[float]] = {n: [] for n in asks}
        cpu: dict[str, list[float]] = {n: [] for n in asks}
        big: dict[str, list[float]] = {n: [] for n in asks}
        big_cpu: dict[str, list[float]] = {n: [] for n in asks}
        steps: dict[str, int] = {}
        loads = [os.getloadavg()]
        differ = 0
        for r in range(opts.rounds):
            for j, d in enumerate(chosen):
                got = {}
                for name, ask in in_turn(asks, r + j):
                    c, began = time.process_time(), time.perf_counter()
                    answer = ask(d)
                    took[name].append(time.perf_counter() - began)
                    cpu[name].append(1000 * (time.process_time() - c))
                    got[name] = repr(answer)
                    steps[d] = len(answer.features)
                    if steps[d] >= opts.big:
                        big[name].append(1000 * took[name][-1])
                        big_cpu[name].append(cpu[name][-1])
                differ += len(set(got.values())) > 1
            loads.append(os.getloadavg())
        out: dict[str, Any] = {"nodes": opts.nodes, "before": opts.before, "loads": loads}
        for name in asks:
            out[name] = percentiles(took[name]) | {
                "mean_ms": 1000 * statistics.mean(took[name]),
                "cpu_median_ms": statistics.median(cpu[name]),
                "big_median_ms": statistics.median(big[name]) if big[name] else None,
                "big_cpu_median_ms": statistics.median(big_cpu[name]) if big_cpu[name] else None,
            }
            o = out[name]
            print(
                f"{opts.nodes} {name}: p50 {o['p50_ms']:.1f} p95 {o['p95_ms']:.1f} "
                f"mean {o['mean_ms']:.1f} ms | >= {opts.big} feature steps: median "
                f"{o['big_median_ms'] or 0:.1f} ms, client CPU {o['big_cpu_median_ms'] or 0:.1f} | "
                f"client CPU median {o['cpu_median_ms']:.1f} ms",
                flush=True,
            )
        out |= {"differ": differ, "answers": len(chosen) * opts.rounds, "feature_steps": steps}
        print(
            f"differing: {differ} of {out['answers']}; load "
            f"{loads[0][0]:.1f} -> {loads[-1][0]:.1f}; big: "
            f"{sorted(d for d, n in steps.items() if n >= opts.big)}"
        )
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, required=True)
    parser.add_argument("--nodes", type=int, required=True)
    parser.add_argument("--decisions", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--before", nargs="*", default=[], help="git revisions: contenders")
    parser.add_argument("--big", type=int, default=700, help="feature steps of a 'big' trace")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--uri", help="a server already up on the kept data dir (password: tests')")
    opts = parser.parse_args()
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    result = run(opts)
    opts.out.with_suffix(".json").write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
