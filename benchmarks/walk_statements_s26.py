"""Session 26 (issue 19, target 1): the accountability map of the largest team on Neo4j with the
walk statement's first level leaving rows out (graph/ends_walk.py `DropRule`) against the same
map sending every row (`LEAVE_OUT` off), and a floor: one plain statement (var-length patterns,
DISTINCT end nodes) for the same starts' downstream and upstream reachable keys. One process,
interleaved (turns rotate), the maps' answers checked equal.

    python -m benchmarks.walk_statements_s26 --keep /work/target1-estate-s24 --nodes 100000 \
        --rounds 4

The floor is not the map's walk: no states, no tests, each way along one direction (downstream
the kinds impact's policy walks out, upstream those the upstream policy walks in), each start
walked on its own (Neo4j prunes a var-length expansion to distinct end nodes per start). It says
what a single plain reachability statement over these starts costs on this machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, LiteralString, cast

from benchmarks import accountability_walk as aw
from benchmarks.harness import RESULTS, in_turn, save
from lineage_kg.graph import neo4j_walk_statements as ws
from lineage_kg.graph.model import EdgeKind, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.neo4j_cypher import typed
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.accountability import accountability
from lineage_kg.queries.assets import UPSTREAM_STEPS, WALK_PARTS, node_ref
from lineage_kg.queries.impact import IMPACT_STEPS


def every_row(store: GraphStore, owner: str) -> Any:
    """Today's map with every row of the walk statements sent (the before of this session)."""
    ws.LEAVE_OUT = False
    try:
        return accountability(store, owner)
    finally:
        ws.LEAVE_OUT = True


def _kinds(steps: Any, way: Direction) -> frozenset[EdgeKind]:
    return frozenset(s.kind for s in steps if s.direction is way)


def floor_query() -> LiteralString:
    """Both reachable sets in one statement, the starts seeked by key."""
    down = typed(_kinds(IMPACT_STEPS, Direction.OUT))
    up = typed(_kinds(UPSTREAM_STEPS, Direction.IN))
    start = "UNWIND $starts AS k MATCH (s:Node {key: k}) USING INDEX s:Node(key) "
    return cast(
        LiteralString,
        f"CALL () {{ {start}MATCH (s)-[{down}*1..10]->(n) WITH DISTINCT n "
        "RETURN collect(n.key) AS down } "
        f"CALL () {{ {start}MATCH (s)<-[{up}*1..10]-(n) WITH DISTINCT n "
        "RETURN collect(n.key) AS up } RETURN down, up",
    )


def floor_one(way: str) -> LiteralString:
    """One direction of `floor_query` alone."""
    query = floor_query()
    down, up = query.split(" CALL () ")
    part = down if way == "down" else "CALL () " + up.rsplit(" RETURN", 1)[0]
    return cast(LiteralString, part + f" RETURN {way}")


def reads_of(store: Neo4jStore, ask: Callable[[], Any]) -> list[dict[str, Any]]:
    """Each read one answer sends: what it is (the statement's start), its time, its rows."""
    seen: list[dict[str, Any]] = []
    read = store._read

    def timed(query: Any, **params: Any) -> list[Any]:
        began = time.perf_counter()
        rows = read(query, **params)
        chunk = params.get("chunk") or {}
        seen.append(
            {
                "read": " ".join(str(query).split()[:6])[:70],
                "s": round(time.perf_counter() - began, 3),
                "frontier": len(chunk.get("frontier") or ()),
                "found": len(rows[0].get("found") or ()) if rows and "found" in rows[0] else None,
            }
        )
        return rows

    store._read = timed  # type: ignore[method-assign]
    try:
        ask()
    finally:
        del store._read
    return seen


def starts_of(store: GraphStore, owner: str) -> list[str]:
    """The map's walk starts: the owner's assets and their parts (queries/accountability.py)."""
    o = node_ref(store, owner, NodeKind.OWNER, "owner")
    mine = sorted({e.key.dst.id for e in store.neighbors([o.id], Direction.OUT, [EdgeKind.OWNS])})
    parts = store.neighbor_ends(mine, Direction.OUT, set(WALK_PARTS), None)
    return list(dict.fromkeys([*mine, *(d for _, d in parts)]))


def contest(store: Any, owner: str, rounds: int, names: Any = ()) -> dict[str, Any]:
    assert isinstance(store, Neo4jStore)
    starts = starts_of(store, owner)
    query = floor_query()
    sizes: dict[str, int] = {}

    def floor(store: GraphStore, owner: str) -> None:
        (row,) = store._read(query, starts=starts)  # type: ignore[attr-defined]
        sizes.update(down=len(row["down"]), up=len(row["up"]))

    def floor_way(way: str) -> Callable[[GraphStore, str], None]:
        one = floor_one(way)

        def ask(store: GraphStore, owner: str) -> None:
            (row,) = store._read(one, starts=starts)  # type: ignore[attr-defined]
            sizes[way] = len(row[way])

        return ask

    contenders: dict[str, Callable[[GraphStore, str], Any]] = {
        "every_row": every_row,
        "left_out": accountability,
        "floor": floor,
        "floor_down": floor_way("down"),
        "floor_up": floor_way("up"),
    }
    expected = dataclasses.astuple(accountability(store, owner))
    for ask in contenders.values():
        ask(store, owner)  # warm-up (a plan each)
    took: dict[str, list[float]] = {n: [] for n in contenders}
    cpu: dict[str, list[float]] = {n: [] for n in contenders}
    loads = [os.getloadavg()]
    for r in range(rounds):
        for name, ask in in_turn(contenders, r):
            began, began_cpu = time.perf_counter(), time.process_time()
            answer = ask(store, owner)
            took[name].append(time.perf_counter() - began)
            cpu[name].append(time.process_time() - began_cpu)
            if not name.startswith("floor"):
                assert dataclasses.astuple(answer) == expected, f"{name}: a different answer"
            print(f"  {name}: {took[name][-1]:.2f} s (cpu {cpu[name][-1]:.2f} s)", flush=True)
        loads.append(os.getloadavg())
    first = accountability(store, owner)
    reads = {
        "every_row": reads_of(store, lambda: every_row(store, owner)),
        "left_out": reads_of(store, lambda: accountability(store, owner)),
    }
    for name, each in reads.items():
        print(f"  {name}'s reads: " + "; ".join(f"{r['read'][:28]} {r['s']} s" for r in each))
    return {
        "reads": reads,
        "answer_assets": len(first.owned) + len(first.upstream) + len(first.downstream),
        "starts": len(starts),
        "floor_reached": sizes,
        "load_average": loads,
        **{
            name: {
                "median_s": round(statistics.median(s), 3),
                "runs_s": [round(x, 3) for x in s],
                "cpu_runs_s": [round(x, 3) for x in cpu[name]],
            }
            for name, s in took.items()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keep", type=Path, required=True, help="accountability_walk's estate")
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tag", default="s26")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    saved = aw.contest
    aw.contest = contest  # type: ignore[assignment]
    try:
        result = aw.kept_size(args.keep, args.nodes, args.seed, args.rounds, ())
    finally:
        aw.contest = saved  # type: ignore[assignment]
    print(result)
    print(
        "saved",
        save("walk_statements_s26", result, tag=f"map_{args.nodes}_{args.tag}", out=args.out),
    )


if __name__ == "__main__":
    main()
