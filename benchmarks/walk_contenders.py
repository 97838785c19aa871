"""Impact on Neo4j, the walk read ahead in one statement against the ways one could walk instead,
in the same run, on the same estate and starts (issue 19, target 1):

- lineage-kg's direct `impact()` on Neo4j, its walk read ahead in one statement (`reach`);
- the same `impact()` walking level by level, one round trip per level (the read-ahead off:
  how it walked before);
- one Cypher statement, a quantified path pattern over the flow kinds that a column's change
  follows in these estates, returning the node set (what a user would write by hand; it carries
  no certainty, no paths, no owners).

    python -m benchmarks.walk_contenders --nodes 10000 --starts 50 --rounds 3

Every start is asked of each contender in each round, the contenders interleaved; the two
lineage-kg walks must give the same answers (nodes, distances, certainty, paths), and the
statement the walk's node set, or the run says how many differ.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from neo4j import Query

from benchmarks.harness import RESULTS, neo4j_for, percentiles, save, scratch_dir
from benchmarks.query_latency import workload
from benchmarks.synthetic.load import load_sources
from benchmarks.synthetic.write import generate
from lineage_kg.graph.model import COLUMN_LINEAGE, EdgeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.store import GraphStore
from lineage_kg.ingest.intake import accept_many
from lineage_kg.queries.impact import IMPACT_STEPS, impact, walk_downstream
from lineage_kg.queries.impact_steps import WHOLE
from lineage_kg.queries.traversal import moves, start_nodes
from lineage_kg.runtime import Runtime
from lineage_kg.settings import Settings

# From a column, in these estates: column lineage forwards, a column into its table, a table's
# readers and versions (a model's versions are not its data), training, serving — but not into a
# job's outputs whose column lineage is authoritative (a column it does not name does not reach
# them), and never a run's writes. The planner runs this as one pruning breadth-first expand
# (VarLengthExpand(Pruning,BFS)).
_FORWARD = sorted(
    {k.value for (_, way, k) in moves(IMPACT_STEPS, WHOLE) if way is Direction.OUT}
    - {EdgeKind.HAS_COLUMN.value}
)
_KINDS = "|".join([*_FORWARD, EdgeKind.HAS_COLUMN.value])


def qpp(depth: int) -> Query:
    """The statement to `depth` hops (a quantifier takes no parameter)."""
    return Query(
        "MATCH (s:Node {key: $key}) "  # type: ignore[arg-type]
        f"MATCH (s) ((a)-[r:{_KINDS}]-(b) WHERE r.valid_to IS NULL AND ("
        "(startNode(r) = a AND type(r) IN $forward "
        f"AND NOT (type(r) = 'PRODUCES' AND coalesce(r.{COLUMN_LINEAGE}, false)) "
        "AND (type(r) <> 'HAS_VERSION' OR a:Dataset)) "
        f"OR (endNode(r) = a AND type(r) = 'HAS_COLUMN'))){{1,{int(depth)}}} (n) "
        "RETURN collect(DISTINCT n.key) AS keys",
        timeout=60,
    )


class LevelByLevel:
    """The store with its read-ahead off: the walk reads one level per round trip."""

    def __init__(self, inner: GraphStore) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def reach(self, *args: Any, **kwargs: Any) -> None:
        return None


def answer(a: Any) -> list[Any]:
    """Everything an impact answer says about its items."""
    return sorted(
        (i.node.id, i.distance, i.certainty.value, [h.edge.key.id for h in i.path], i.owners)
        for i in a.items
    )


def walked(store: GraphStore, key: str, depth: int) -> tuple[set[str], int, int]:
    """The node set impact's walk reaches (before it leaves out history that trained nothing),
    how many nodes it expands, and how many the read-ahead covers (a superset of those)."""
    _, ids = start_nodes(store, key, None)
    walk = walk_downstream(LevelByLevel(store), ids, depth=depth, as_of=None, max_nodes=100_000)  # type: ignore[arg-type]
    ahead = store.reach(
        ids, moves(IMPACT_STEPS, WHOLE), start_state=WHOLE, max_depth=depth, as_of=None,
        limit=100_000,
    )  # fmt: skip
    assert ahead is not None
    expanded = {k for k, r in walk.reached.items() if r.distance < depth} | set(ids)
    return set(walk.reached), len(expanded), len(ahead.covered)


def one_size(nodes: int, seed: int, starts: int, rounds: int, depth: int) -> dict[str, Any]:
    with scratch_dir(f"walk{nodes}") as work, neo4j_for(nodes) as server:
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
        )
        with Runtime.open(settings) as runtime:
            with (files / "events.ndjson").open() as f:
                accept_many(runtime.log, enumerate(json.loads(line) for line in f))
            load_sources(files, runtime.log)
            began = time.perf_counter()
            status = runtime.catch_up()
            assert status.parked == 0, f"{status.parked} events parked"
            print(f"{nodes}: projected in {time.perf_counter() - began:.0f} s", flush=True)
            store = runtime.store
            load = workload(manifest["samples"], starts, random.Random(seed))
            keys = load["impact_raw_column"] + load["impact_lattice_column"]
            query = qpp(depth)
            quiet = server.driver(notifications_min_severity="OFF")  # RENAMED_TO may be absent
            with quiet as driver, driver.session() as session:

                def statement(key: str) -> set[str]:
                    rows = session.run(query, key=key, forward=_FORWARD).single()
                    return set(rows["keys"]) - {key} if rows else set()

                contenders: dict[str, Callable[[str], Any]] = {
                    "read_ahead": lambda k: impact(store, k, depth=depth),
                    "level_by_level": lambda k: impact(LevelByLevel(store), k, depth=depth),
                    "one_qpp_statement": statement,
                }
                return measure(store, keys, contenders, rounds, depth) | {
                    "nodes": store.stats().node_count,
                    "starts": len(keys),
                }


def measure(
    store: GraphStore,
    keys: list[str],
    contenders: dict[str, Callable[[str], Any]],
    rounds: int,
    depth: int,
) -> dict[str, Any]:
    for key in keys[:20]:  # warm up: plan caches, the JIT of a JVM just started
        for ask in contenders.values():
            ask(key)
    took: dict[str, list[float]] = {name: [] for name in contenders}
    differ = {"level_by_level": 0, "one_qpp_statement": 0}
    sizes: list[int] = []
    ratios: list[float] = []  # nodes read ahead per node the walk expands
    for r in range(rounds):
        for key in keys:
            got = {}
            order = list(contenders.items())
            order = order[r % len(order) :] + order[: r % len(order)]  # interleaved
            for name, ask in order:
                began = time.perf_counter()
                got[name] = ask(key)
                took[name].append(time.perf_counter() - began)
            differ["level_by_level"] += answer(got["read_ahead"]) != answer(got["level_by_level"])
            if r == 0:
                reached, expanded, covered = walked(store, key, depth)
                differ["one_qpp_statement"] += got["one_qpp_statement"] != reached
                sizes.append(len(reached))
                ratios.append(covered / expanded)
    out: dict[str, Any] = {name: percentiles(t) for name, t in took.items()}
    out["differ"] = differ
    out["walk_nodes_median"] = sorted(sizes)[len(sizes) // 2]
    out["walk_nodes_max"] = max(sizes)
    ratios.sort()
    out["read_ahead_cover_ratio"] = {"median": ratios[len(ratios) // 2], "max": ratios[-1]}
    for name in contenders:
        print(f"  {name}: p50 {out[name]['p50_ms']:.1f} ms, p95 {out[name]['p95_ms']:.1f} ms")
    print(f"  answers differing: {differ}; walk nodes median {out['walk_nodes_median']}")
    print(f"  read-ahead nodes per node expanded: {out['read_ahead_cover_ratio']}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--starts", type=int, default=50, help="impact start columns per size")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON results go")
    args = parser.parse_args()
    sizes = {
        str(n): one_size(n, args.seed, args.starts, args.rounds, args.depth) for n in args.nodes
    }
    tag = "_".join(map(str, args.nodes))
    print("saved", save("walk_contenders", {"sizes": sizes}, tag=tag, out=args.out))


if __name__ == "__main__":
    main()
