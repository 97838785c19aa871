"""What a Neo4j walk costs the first time a depth is asked (plan compiled) and after (plan cached):
the walk in fixed chunks of `REACH_CHUNK` levels (graph/neo4j_store.py, one statement text for
every depth) against the statement unrolled to the whole depth (how it walked before, kept here
as the contender: one statement text, and one plan to compile, per depth).

    python -m benchmarks.walk_plans --nodes 10000 --depths 2 5 10 20 --starts 30

For each depth, Neo4j's query caches are cleared, then each contender answers the same starts:
its first answer (compile and run) and the median of the rest (cached plan). Both must reach the
same nodes from every start, or the run says how many differ.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, LiteralString, cast

from benchmarks.harness import RESULTS, neo4j_for, percentiles, save, scratch_dir
from benchmarks.query_latency import workload
from benchmarks.synthetic.load import load_sources
from benchmarks.synthetic.write import generate
from lineage_kg.graph.model import EdgeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.neo4j_store import (
    _PASSES,
    _VALID_NOW_OR_AS_OF,
    Neo4jStore,
    _typed,
    reach_statement,
)
from lineage_kg.graph.records import StoredEdge
from lineage_kg.graph.store import Moves, Neighborhood
from lineage_kg.ingest.intake import accept_many
from lineage_kg.queries.impact import IMPACT_STEPS
from lineage_kg.queries.impact_steps import WHOLE
from lineage_kg.queries.traversal import moves, start_nodes
from lineage_kg.runtime import Runtime
from lineage_kg.settings import Settings

# The walk as one statement unrolled to its depth (graph/neo4j_store.py before the chunks).
_START = (
    "UNWIND $ids AS id MATCH (s:Node {key: id}) USING INDEX s:Node(key) "
    "WITH collect(DISTINCT s) AS starts "
    "WITH [s IN starts | [s, $start]] AS frontier, "
    "[s IN starts | elementId(s) + '|' + $start] AS seen, starts AS nodes, [] AS edges "
)
_LEVEL = (
    "CALL (frontier, seen) {{ "
    "UNWIND frontier AS f WITH f[0] AS a, f[1] AS st CALL (a, st) {{ {moves} }} "
    "WITH collect([r, out]) AS read, collect([b, nexts]) AS hops "
    "CALL (hops, seen) {{ "
    "UNWIND hops AS h UNWIND h[1] AS t WITH DISTINCT h[0] AS b, t "
    "WITH b, t, elementId(b) + '|' + t AS mark WHERE NOT mark IN seen "
    "RETURN collect([b, t]) AS next, collect(mark) AS marks, collect(b) AS found }} "
    "RETURN read, next, marks, found }} "
    "WITH CASE WHEN size(seen) > $cap THEN [] ELSE next END AS frontier, seen + marks AS seen, "
    "nodes + found AS nodes, edges + read AS edges "
)
_LAST = (
    "CALL (frontier) {{ "
    "UNWIND frontier AS f WITH f[0] AS a, f[1] AS st CALL (a, st) {{ {moves} }} "
    "RETURN collect([r, out]) AS read }} "
    "WITH nodes, edges + read AS edges "
    "CALL (nodes) {{ UNWIND nodes AS n RETURN collect(DISTINCT n) AS covers }} "
    "WITH covers AS nodes, edges "
    "CALL (nodes, edges) {{ "
    "RETURN size(nodes) AS covered, "
    "CASE WHEN size(nodes) <= $limit THEN [n IN nodes | n.key] END AS keys, null AS r, "
    "null AS out UNION ALL "
    "UNWIND CASE WHEN size(nodes) <= $limit THEN edges ELSE [] END AS e "
    "WITH DISTINCT e[0] AS r, e[1] AS out RETURN null AS covered, null AS keys, r, out }} "
    "RETURN covered, keys, startNode(r).key AS src, type(r) AS kind, endNode(r).key AS dst, "
    "properties(r) AS p, out"
)


def unrolled(depth: int, policy: Moves) -> LiteralString:
    out = frozenset(EdgeKind(k) for (_, way, k) in policy if way is Direction.OUT)
    in_ = frozenset(EdgeKind(k) for (_, way, k) in policy if way is Direction.IN)
    parts = []
    for arrow, kinds, way, is_out in (
        ("-[r{}]->", out, "out", "true"),
        ("<-[r{}]-", in_, "in", "false"),
    ):
        if kinds:
            of = f"$moves[st + '|{way}|' + type(r)]"
            parts.append(
                f"MATCH (a){arrow.format(_typed(kinds))}(b) WHERE {_VALID_NOW_OR_AS_OF}"
                f"AND {of} IS NOT NULL WITH r, b, [m IN {of} WHERE {_PASSES} | m.then] AS nexts "
                f"WHERE size(nexts) > 0 RETURN r, b, {is_out} AS out, nexts"
            )
    walk = " UNION ALL ".join(parts)
    text = _START + _LEVEL.format(moves=walk) * (depth - 1) + _LAST.format(moves=walk)
    return cast(LiteralString, text)


def contenders(store: Neo4jStore, depth: int) -> dict[str, Callable[[list[str]], set[str]]]:
    policy = moves(IMPACT_STEPS, WHOLE)

    def chunked(ids: list[str]) -> set[str]:
        got = store.reach(
            ids, policy, start_state=WHOLE, max_depth=depth, as_of=None, limit=100_000
        )
        assert got is not None
        return set(got.covered)

    statement = unrolled(depth, policy)

    def whole_depth(ids: list[str]) -> set[str]:
        _, shared = reach_statement(ids, policy, start_state=WHOLE, as_of=None, limit=100_000)
        rows = store._read(statement, **shared, ids=ids, start=WHOLE, limit=100_000)
        head = next(r for r in rows if r["covered"] is not None)
        found = {  # the edges as `reach` built them then: same work on the client
            ((r["src"], r["kind"], r["dst"], r["p"]["disc"]), r["out"]): r["p"]
            for r in rows
            if r["p"] is not None
        }
        got = Neighborhood.of(
            [*ids, *head["keys"]],
            (
                (StoredEdge.from_record(e, p), Direction.OUT if out else Direction.IN)
                for (e, out), p in found.items()
            ),
        )
        return set(got.covered)

    return {"chunked": chunked, "unrolled": whole_depth}


def measure(store: Neo4jStore, starts: list[list[str]], depths: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for depth in depths:
        asks = contenders(store, depth)
        row: dict[str, Any] = {}
        answers: dict[str, list[set[str]]] = {}
        for name, ask in asks.items():
            store._read("CALL db.clearQueryCaches()")
            began = time.perf_counter()
            first = [ask(starts[0])]
            row[f"{name}_first_s"] = round(time.perf_counter() - began, 3)
            took = []
            for ids in starts[1:]:
                began = time.perf_counter()
                first.append(ask(ids))
                took.append(time.perf_counter() - began)
            row[f"{name}_cached"] = percentiles(took)
            answers[name] = first
        pairs = zip(answers["chunked"], answers["unrolled"], strict=True)
        row["differ"] = sum(a != b for a, b in pairs)
        print(
            f"  depth {depth}: first answer chunked {row['chunked_first_s']:.2f} s, unrolled "
            f"{row['unrolled_first_s']:.2f} s; cached p50 chunked "
            f"{row['chunked_cached']['p50_ms']:.1f} ms, unrolled "
            f"{row['unrolled_cached']['p50_ms']:.1f} ms; differ {row['differ']}",
            flush=True,
        )
        out[str(depth)] = row
    return out


def one_size(nodes: int, seed: int, starts: int, depths: list[int]) -> dict[str, Any]:
    with scratch_dir(f"plans{nodes}") as work, neo4j_for(nodes) as server:
        files = work / "files"
        manifest = generate(files, nodes, seed)
        data = work / "data"
        data.mkdir()
        settings = Settings(
            data_dir=data,
            auth="off",
            snapshot=False,
            neo4j_uri=server.uri,
            neo4j_password=server.password,
            neo4j_query_timeout=600,
        )
        with Runtime.open(settings) as runtime:
            with (files / "events.ndjson").open() as f:
                accept_many(runtime.log, enumerate(json.loads(line) for line in f))
            load_sources(files, runtime.log)
            status = runtime.catch_up()
            assert status.parked == 0, f"{status.parked} events parked"
            store = runtime.store
            assert isinstance(store, Neo4jStore)
            load = workload(manifest["samples"], starts, random.Random(seed))
            ids = [start_nodes(store, k, None)[1] for k in load["impact_raw_column"]]
            return measure(store, ids, depths) | {"nodes": store.stats().node_count}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--starts", type=int, default=30)
    parser.add_argument("--depths", type=int, nargs="+", default=[2, 5, 10, 20])
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON results go")
    args = parser.parse_args()
    result = one_size(args.nodes, args.seed, args.starts, args.depths)
    print("saved", save("walk_plans", result, tag=str(args.nodes), out=args.out))


if __name__ == "__main__":
    main()
