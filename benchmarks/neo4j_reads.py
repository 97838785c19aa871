"""Neo4j's reads for impact and the decision trace, as they answer now against the forms before
(issue 19, target 1), interleaved per question in the same run, on the same estate:

- `row_per_record` (before): every node and neighbour read answers a row per node or edge (a
  Bolt message and a driver Record each), every record whole (`properties(...)`, the merge's
  `_stamps` too), and the questions' code as it was (`--before`, from git);
- `one_row_full`: those reads answer one row holding a list, records still whole;
- `one_row_lean`: one row, records without what no reader gets (`_stamps`, `_retired`);
- `one_row_lean_folded` (now): and the questions' code now — impact reads its nodes with their
  OWNS edges in one statement, the trace folds each level's single-hop reads.

The earlier store forms are the store's own statements rewritten (the RETURN clause, the
record's view), their rows packed into the shape the store reads now. Every answer is checked
equal across the contenders; the reads (round trips) per answer are counted. The walk statement
alone is timed with three ways to return an edge's record.

    python -m benchmarks.neo4j_reads --nodes 10000 --starts 50 --rounds 3
    python -m benchmarks.neo4j_reads --uri bolt://127.0.0.1:7699 --password … \\
        --data-dir /tmp/exp19/data --manifest /tmp/exp19/manifest.json   # an estate already loaded
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    RESULTS,
    in_turn,
    module_at,
    neo4j_for,
    percentiles,
    save,
    scratch_dir,
    settings_for,
)
from benchmarks.query_latency import workload
from benchmarks.synthetic.load import load_sources
from benchmarks.synthetic.write import generate
from lineage_kg.graph import neo4j_cypher, neo4j_walk_statements
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.ingest.intake import accept_many
from lineage_kg.queries.decision_trace import decision_lineage
from lineage_kg.queries.impact import IMPACT_STEPS, impact
from lineage_kg.queries.impact_steps import WHOLE
from lineage_kg.queries.traversal import moves
from lineage_kg.runtime import Runtime
from lineage_kg.settings import Settings

_WHOLE = {neo4j_cypher.EDGE_VIEW: "properties(r)", neo4j_cypher.NODE_VIEW: "properties(n)"}
# the one-row RETURN clauses of the node, neighbour and level reads, and their row-per-record form
_ONE_ROW = re.compile(r"RETURN collect\(\[(.*)\]\) AS found$")


def _whole(query: str) -> str:
    for lean, whole in _WHOLE.items():
        query = query.replace(lean, whole)
    return query


def _row_per_record(query: str) -> tuple[str, Callable[[list[Any]], list[Any]]] | None:
    """The statement answering a row per record, and how to pack its rows into the one-row
    answer the store parses now; None for statements that always answered one row (the walk)."""
    found = _ONE_ROW.search(query)
    if found is None:
        return None
    items = [x.strip() for x in _split(found.group(1))]
    names = [f"c{i}" for i in range(len(items))]
    rows = ", ".join(f"{item} AS {name}" for item, name in zip(items, names, strict=True))
    old = query[: found.start()] + f"RETURN {rows}"

    def pack(records: list[Any]) -> list[Any]:
        return [{"found": [[r[n] for n in names] for r in records]}]

    return old, pack


def _split(items: str) -> list[str]:
    """Split a Cypher list's items at top-level commas."""
    parts, depth, current = [], 0, ""
    for ch in items:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    return [*parts, current]


class Counted:
    """Counts the store's reads (round trips)."""

    def __init__(self) -> None:
        self.reads = 0


def variant(store: Neo4jStore, *, rows: bool, whole: bool, counter: Counted) -> Neo4jStore:
    """The store with its reads in an earlier form: a shallow copy (same driver and sessions)
    whose `_read` rewrites each statement before running it."""
    inner = store._read
    clone = copy.copy(store)

    def read(query: Any, **params: Any) -> list[Any]:
        counter.reads += 1
        text = _whole(query) if whole else query
        old = _row_per_record(text) if rows else None
        if old is None:
            return inner(text, **params)
        statement, pack = old
        return pack(inner(statement, **params))  # type: ignore[arg-type]

    clone._read = read  # type: ignore[method-assign]
    return clone


def impact_answer(a: Any) -> list[Any]:
    return sorted(
        (i.node.id, i.distance, i.certainty.value, [h.edge.key.id for h in i.path], i.owners)
        for i in a.items
    )


def trace_answer(t: Any) -> list[Any]:
    steps = [
        [s.kind.value, s.node.id, s.node.props, s.distance, s.via, s.resolution.value, s.time,
         s.evidence, s.owners, s.detail]
        for s in t.steps
    ]  # fmt: skip
    return [steps, sorted(t.sources), t.truncated]


def measure(
    questions: dict[str, list[Any]],
    contenders: dict[str, dict[str, Callable[[Any], Any]]],
    reads: dict[str, Counted],
    rounds: int,
) -> dict[str, Any]:
    shape = {"impact": impact_answer, "decision_trace": trace_answer}
    out: dict[str, Any] = {}
    for question, args in questions.items():
        for arg in args[:20]:  # warm up: plan caches, the JIT
            for asks in contenders.values():
                asks[question](arg)
        took: dict[str, list[float]] = {name: [] for name in contenders}
        counted: dict[str, list[int]] = {name: [] for name in contenders}
        differ = 0
        for r in range(rounds):
            for arg in args:
                order = in_turn(contenders, r)
                got = {}
                for name, asks in order:
                    before = reads[name].reads
                    began = time.perf_counter()
                    got[name] = shape[question](asks[question](arg))
                    took[name].append(time.perf_counter() - began)
                    counted[name].append(reads[name].reads - before)
                differ += (
                    len({json.dumps(g, sort_keys=True, default=str) for g in got.values()}) > 1
                )
        out[question] = {
            name: percentiles(t) | {"reads_median": sorted(counted[name])[len(t) // 2]}
            for name, t in took.items()
        } | {"differ": differ, "answers": len(args) * rounds}
        for name in contenders:
            o = out[question][name]
            print(
                f"  {question} {name}: p50 {o['p50_ms']:.1f} ms, p95 {o['p95_ms']:.1f} ms, "
                f"reads {o['reads_median']}",
                flush=True,
            )
        print(f"  {question}: answers differing {differ} of {len(args) * rounds}", flush=True)
    return out


def run(
    runtime: Runtime, manifest: dict[str, Any], starts: int, rounds: int, before: str
) -> dict[str, Any]:
    store = runtime.store
    assert isinstance(store, Neo4jStore), "this benchmark measures Neo4j's reads"
    load = workload(manifest["samples"], starts, random.Random(7))
    questions = {
        "impact": load["impact_raw_column"] + load["impact_lattice_column"],
        "decision_trace": manifest["samples"]["root_cause_decisions"][: max(1, starts // 2)],
    }
    # the code before the reads were folded (impact's nodes with their OWNS edges, the trace's
    # levels), kept as it was at `before` (git), beside the code now
    code = {
        "previous": (
            module_at(before, "queries/impact.py").impact,
            module_at(before, "queries/decision_trace.py").decision_lineage,
        ),
        "folded": (impact, decision_lineage),
    }
    # (store form, the questions' code) per contender
    forms = {
        "row_per_record": ({"rows": True, "whole": True}, "previous"),
        "one_row_full": ({"rows": False, "whole": True}, "previous"),
        "one_row_lean": ({"rows": False, "whole": False}, "previous"),
        "one_row_lean_folded": ({"rows": False, "whole": False}, "folded"),
    }
    reads = {name: Counted() for name in forms}
    contenders = {}
    for name, (form, which) in forms.items():
        s = variant(store, counter=reads[name], **form)
        ask_impact, ask_trace = code[which]
        contenders[name] = {
            "impact": lambda k, s=s, f=ask_impact: f(s, k, depth=10),
            "decision_trace": lambda d, s=s, f=ask_trace: f(s, d, decisions=runtime.decisions),
        }
    return measure(questions, contenders, reads, rounds) | {
        "walk_statement": walk_payloads(store, questions["impact"], rounds),
        "nodes": store.stats().node_count,
        "code_before": before,
    }


# The walk's first chunk alone (impact's moves, a column's start), with each way to return an
# edge's record: whole, the map projection without `_stamps` (now), the key list filtered.
_PAYLOADS = {
    "properties": "properties(r)",
    "map_projection": neo4j_cypher.EDGE_VIEW,
    "keys_filtered": "[k IN keys(r) WHERE k <> '_stamps' | [k, r[k]]]",
}


def walk_payloads(store: Neo4jStore, keys: list[str], rounds: int) -> dict[str, Any]:
    query, params = neo4j_walk_statements.reach_statement(
        keys[:1], moves(IMPACT_STEPS, WHOLE), start_state=WHOLE, as_of=None, limit=100_000
    )
    texts = {name: query.replace(neo4j_cypher.EDGE_VIEW, p) for name, p in _PAYLOADS.items()}
    took: dict[str, list[float]] = {name: [] for name in texts}
    size: dict[str, list[int]] = {name: [] for name in texts}
    for r in range(rounds + 1):  # the first round warms up
        for key in keys:
            chunk = neo4j_walk_statements.walk_chunk([[key, WHOLE]], [f"{key}|{WHOLE}"], 5)
            order = list(texts.items())
            for name, text in order[r % 3 :] + order[: r % 3]:
                began = time.perf_counter()
                (row,) = store._read(text, **params, **chunk)  # type: ignore[arg-type]
                if r:
                    took[name].append(time.perf_counter() - began)
                    size[name].append(len(json.dumps(row["found"], default=str)))
    out = {
        n: percentiles(t) | {"bytes_median": sorted(size[n])[len(t) // 2]} for n, t in took.items()
    }
    for name, o in out.items():
        print(
            f"  walk statement {name}: p50 {o['p50_ms']:.1f} ms, p95 {o['p95_ms']:.1f} ms, "
            f"{o['bytes_median']} bytes",
            flush=True,
        )
    return out


@contextmanager
def estate(args: argparse.Namespace) -> Iterator[tuple[Runtime, dict[str, Any]]]:
    """An estate already loaded (`--uri`, read only: nothing is written), or one generated and
    projected into a Neo4j of its own."""
    if args.uri:
        settings = Settings(
            data_dir=args.data_dir,
            auth="off",
            snapshot=False,
            neo4j_uri=args.uri,
            neo4j_password=args.password,
        )
        with Runtime.open(settings) as runtime:
            yield runtime, json.loads(args.manifest.read_text())
        return
    with scratch_dir(f"reads{args.nodes}") as work, neo4j_for(args.nodes) as server:
        manifest = generate(work / "files", args.nodes, args.seed)
        (work / "data").mkdir()
        with Runtime.open(settings_for(work / "data", server, auth="off")) as runtime:
            with (work / "files" / "events.ndjson").open() as f:
                accept_many(runtime.log, enumerate(json.loads(line) for line in f))
            load_sources(work / "files", runtime.log)
            status = runtime.catch_up()
            assert status.parked == 0, f"{status.parked} events parked"
            yield runtime, manifest


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--starts", type=int, default=50, help="impact start columns")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--uri", help="a Neo4j already holding an estate (read only)")
    parser.add_argument("--password", default="")
    parser.add_argument("--data-dir", type=Path, help="that estate's service data dir")
    parser.add_argument("--manifest", type=Path, help="that estate's generator manifest")
    parser.add_argument(
        "--before",
        default="ea7c34d",
        help="the commit whose queries/impact.py and decision_trace.py are the previous code",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON results go")
    args = parser.parse_args()
    with estate(args) as (runtime, manifest):
        result = run(runtime, manifest, args.starts, args.rounds, args.before)
    print("saved", save("neo4j_reads", result, tag=str(result["nodes"]), out=args.out))


if __name__ == "__main__":
    main()
