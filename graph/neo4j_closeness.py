"""Neo4j's walk on edge ids (`Neo4jStore.walk`, graph/ends_walk.py) without the rows that cannot
matter: edges into a start that no step can still reach it by, counted instead of sent.

The accountability map walks downstream from ~34k starts at 100k nodes (every owned asset, its
columns and versions, all in `start_state`). The read-ahead statement's first level reads the
starts' own edges, ~82k of its ~106k edge rows, and most lead back into a start: a column's
HAS_COLUMN to its dataset, a FEEDS between two of the team's columns. A start is blocked in its
state and the states that state covers from the walk's first moment, and blocked sets only
grow. So an edge into a start whose every move (from any state, its test passing) leads to a
state in that first blocked set is never followed, by either pass, whatever the order. Only the
edge count (`visited_edges`) and truncation see it.

Here the statement (a copy of `Neo4jStore.reach`'s, the same walk of the same pairs, so the
same edges read) leaves such edges out of its rows and answers, per (origin, way, kind), how
many it left out. The walk then runs as `Neo4jStore` runs it (`walk_ends`) on the rows kept, and
the counts are added for each origin at each level it is walked in a way the level reads:
`visited_edges` is the walk on all the edges'. Truncation: the follows are the same, so the
walk is stopped at the same point unless the hop that would see the cap is one left out; at the
cap (`max_nodes` + starts nodes reached) this walk gives up (None) and the store walks as before.

Counting an origin's left-out edges once: a node may be walked in several states, and in two
statements (chunks). An edge is left out only along a (way, kind) every state reads alike (the
same tests), so each walk of the origin leaves out the same edges: the first count stands.

The hook: queries/closeness.py asks here first for a Neo4j store (it belongs in
`Neo4jStore.walk`'s walk on edge ids; that file has another owner this session).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, LiteralString, cast

from lineage_kg.graph.ends_walk import (
    EndsAhead,
    one_state,
    tested_props,
    walk_ends,
    walk_moves,
    walkable,
)
from lineage_kg.graph.model import EdgeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.neo4j_store import (
    _PASSES,
    _REACH_START,
    _SLOW_TO_PLAN,
    _VALID_NOW_OR_AS_OF,
    REACH_CHUNK,
    _move,
    _typed,
)
from lineage_kg.graph.store import EdgeTest, Moves, Walked, WalkStep

if TYPE_CHECKING:
    from lineage_kg.graph.neo4j_store import Neo4jStore

_OUT, _IN = Direction.OUT, Direction.IN

# `_reach_query`'s level, each edge flagged `dropped` (into a start, no escaping move passes):
# a dropped edge goes to `gone` as [origin, edge, way] instead of the rows; the pairs walked and
# the marks are the same.
_LEVEL: LiteralString = (
    "CALL (frontier, seen) {{ "
    "UNWIND frontier AS f WITH f[0] AS a, f[1] AS st CALL (a, st) {{ {moves} }} "
    "WITH collect(CASE WHEN dropped THEN null ELSE [r, out] END) AS read, "
    "collect(CASE WHEN dropped THEN [a, r, out] END) AS gone, collect([b, nexts]) AS hops "
    "CALL (hops, seen) {{ "
    "UNWIND hops AS h UNWIND h[1] AS t WITH DISTINCT h[0] AS b, t "
    "WITH b, t, b.key + '|' + t AS mark WHERE NOT mark IN seen "
    "RETURN collect([b, t]) AS next, collect(mark) AS marks }} "
    "RETURN read, gone, next, marks }} "
    "WITH CASE WHEN $levels <= {level} OR size(seen) + size(marks) > $cap THEN [] ELSE next END "
    "AS frontier, CASE WHEN $levels = {level} THEN next ELSE pending END AS pending, "
    "seen + marks AS seen, nodes + [f IN frontier | f[0].key] AS nodes, edges + read AS edges, "
    "skipped + gone AS skipped "
)
# Each kept edge as `Neo4jStore.walk` reads it (id, way, tested values); the dropped ones as
# [origin key, out?, kind, how many] (each edge once however often it was read).
_END: LiteralString = (
    "CALL (edges) { UNWIND edges AS e WITH DISTINCT e[0] AS r, e[1] AS out "
    "RETURN collect([startNode(r).key, type(r), endNode(r).key, r.disc, out, "
    "[t IN $chunk.tested | r[t]]]) AS found } "
    "CALL (skipped) { UNWIND skipped AS g WITH DISTINCT g[0] AS a, g[1] AS r, g[2] AS out "
    "WITH a, out, type(r) AS kind, count(*) AS n RETURN collect([a.key, out, kind, n]) AS gone } "
    "RETURN nodes, found, gone, [p IN pending | [p[0].key, p[1]]] AS pending, "
    "seen[size($chunk.seen)..] AS marks"
)


@lru_cache(maxsize=64)
def pruned_query(out: frozenset[EdgeKind], in_: frozenset[EdgeKind]) -> LiteralString:
    """`REACH_CHUNK` levels of the read-ahead walk over these kinds, dropped edges counted
    (kinds from the enum, levels ints: nothing else is put into the text)."""
    moves = []
    for arrow, kinds, way, is_out in (
        ("-[r{}]->", out, "out", "true"),
        ("<-[r{}]-", in_, "in", "false"),
    ):
        if kinds:
            of = f"$moves[st + '|{way}|' + type(r)]"
            escape = f"$drop['{way}|' + type(r)]"
            passes = _PASSES
            moves.append(
                f"MATCH (a){arrow.format(_typed(kinds))}(b) WHERE {_VALID_NOW_OR_AS_OF}"
                f"AND {of} IS NOT NULL WITH r, b, [m IN {of} WHERE {passes} | m.then] AS nexts "
                f"WHERE size(nexts) > 0 RETURN r, b, {is_out} AS out, nexts, "
                f"CASE WHEN {escape} IS NULL THEN false "
                f"ELSE b.key IN $chunk.starts AND none(m IN {escape} WHERE {passes}) END "
                "AS dropped"
            )
    walk = " UNION ALL ".join(moves)
    levels = "".join(_LEVEL.format(moves=walk, level=level) for level in range(1, REACH_CHUNK + 1))
    start = _REACH_START.replace("[] AS pending ", "[] AS pending, [] AS skipped ")
    assert start != _REACH_START, "the read-ahead's start changed: see neo4j_store._REACH_START"
    query = cast(LiteralString, start + levels + _END)
    _SLOW_TO_PLAN.add(query)  # its first run in a store gets `PLAN_TIMEOUT`, as the store's walks
    return query


def droppable(moves: Moves, blocked: frozenset[str]) -> dict[str, list[dict[str, Any]]]:
    """Per "way|KIND" read alike from every state (the same tests), the moves that lead
    somewhere else than `blocked` (a start's first blocked set): an edge of that way and kind
    into a start is never followed if none of them passes. A way and kind absent: never
    dropped (states read different edges of it, and a count could not be merged)."""
    by_way: dict[tuple[Direction, str], list[frozenset[tuple[str, EdgeTest | None]]]] = {}
    for (_, way, kind), thens in moves.items():
        by_way.setdefault((way, EdgeKind(kind).value), []).append(thens)
    found: dict[str, list[dict[str, Any]]] = {}
    for (way, kind), of_states in by_way.items():
        tests = {frozenset(test for _, test in thens) for thens in of_states}
        if len(tests) != 1:
            continue
        escaping = {(then, test) for thens in of_states for then, test in thens}
        found[f"{way.value}|{kind}"] = sorted(
            (_move(then, test) for then, test in escaping if then not in blocked), key=repr
        )
    return found


def pruned_walk(
    store: Neo4jStore,
    start_ids: Sequence[str],
    steps: Sequence[WalkStep],
    *,
    start_state: str,
    covers: Mapping[str, frozenset[str]],
    max_depth: int,
    as_of: str | None,
    max_nodes: int,
) -> Walked | None:
    """`store.walk(…, edges=False)`'s answer for a policy with several states, the edges that
    cannot matter left out of the read. None where the store's own walk should answer: a test
    in code, a one-state policy (the store walks it as sets), no starts, or the cap reached."""
    starts = list(dict.fromkeys(start_ids))
    if not starts or not walkable(steps) or one_state(steps, start_state) is not None:
        return None
    moves = walk_moves(steps, start_state)
    if not moves:
        return None
    blocked = frozenset({start_state, *covers.get(start_state, ())})
    drop = droppable(moves, blocked)
    if not drop:
        return None
    tested = tested_props(steps)
    cap = max_nodes + len(starts)  # traverse's `len(every.states) - len(start) >= max_nodes`
    read = _read_ahead(
        store, starts, moves, drop, start_state=start_state, max_depth=max_depth, as_of=as_of,
        cap=cap, tested=tested,
    )  # fmt: skip
    if read is None:
        return None
    covered, rows, gone = read
    walked = walk_ends(
        EndsAhead(covered, rows), starts, steps, start_state=start_state, covers=covers,
        max_depth=max_depth, max_nodes=max_nodes, tested=tested,
    )  # fmt: skip
    # at the cap, the hop that sees it may be one left out: the store's walk answers then
    if walked.truncated or len(set(walked.every.node)) >= cap:
        return None
    walked.visited_edges += _left_out(walked, steps, gone, max_depth)
    return walked


def _read_ahead(
    store: Neo4jStore,
    starts: list[str],
    moves: Moves,
    drop: dict[str, list[dict[str, Any]]],
    *,
    start_state: str,
    max_depth: int,
    as_of: str | None,
    cap: int,
    tested: Sequence[str],
) -> tuple[list[str], list[Any], dict[tuple[str, Direction, str], int]] | None:
    """`Neo4jStore._reach_rows` with this module's statement: the nodes covered, the edge rows
    kept, and the edges left out counted per (origin, way, kind). None past `cap` nodes."""
    out = frozenset(EdgeKind(kind) for (_, way, kind) in moves if way is _OUT)
    in_ = frozenset(EdgeKind(kind) for (_, way, kind) in moves if way is _IN)
    keyed = {
        f"{state}|{way.value}|{EdgeKind(kind).value}": sorted(
            (_move(then, test) for then, test in thens), key=repr
        )
        for (state, way, kind), thens in moves.items()
    }
    states = {start_state, *(s for s, _, _ in moves)}
    states.update(then for thens in moves.values() for then, _ in thens)
    params = {"moves": keyed, "drop": drop, "as_of": as_of, "cap": cap * len(states)}
    query = pruned_query(out, in_)
    frontier = [[key, start_state] for key in starts]
    seen = [f"{key}|{start_state}" for key in starts]
    covered = dict.fromkeys(starts)
    rows: list[Any] = []
    gone: dict[tuple[str, Direction, str], int] = {}
    left = max_depth
    while left > 0 and frontier:
        levels = min(REACH_CHUNK, left)
        chunk = {"frontier": frontier, "seen": seen, "tested": list(tested), "starts": starts}
        row = store._read(query, **params, chunk=chunk, levels=levels)[0]
        seen = seen + row["marks"]  # a new list: the chunk sent keeps the one it was sent with
        if len(seen) > params["cap"]:
            return None
        covered.update(dict.fromkeys(row["nodes"]))
        rows += row["found"]
        for origin, is_out, kind, n in row["gone"]:
            gone.setdefault((origin, _OUT if is_out else _IN, kind), n)  # the first count stands
        frontier, left = row["pending"], left - levels
    if len(covered) > cap:
        return None
    return list(covered), rows, gone


def _left_out(
    walked: Walked,
    steps: Sequence[WalkStep],
    gone: Mapping[tuple[str, Direction, str], int],
    max_depth: int,
) -> int:
    """The edges left out that `walk_ends` would have counted: for each level, each node of its
    frontier (the visits one level up, both passes), its left-out edges along the ways the
    level reads (those of the steps some state of the frontier may take)."""
    if not gone:
        return 0
    by_origin: dict[str, list[tuple[tuple[Direction, str], int]]] = {}
    for (origin, way, kind), n in gone.items():
        if (of := by_origin.get(origin)) is None:
            by_origin[origin] = [((way, kind), n)]
        else:
            of.append(((way, kind), n))
    by_way: dict[tuple[Direction, str], list[WalkStep]] = {}
    for step in steps:
        by_way.setdefault((step.direction, EdgeKind(step.kind).value), []).append(step)
    # per level, the nodes and states visited: only those holding a left-out edge are kept
    # (the starts, level 0, are most of the visits and of the origins)
    frontiers: dict[int, tuple[set[str], set[str]]] = {}
    for visits in (walked.exact, walked.every):
        for node, state, level in zip(visits.node, visits.state, visits.level, strict=True):
            if (at := frontiers.get(level)) is None:
                at = frontiers[level] = (set(), set())
            if node in by_origin:
                at[0].add(node)
            at[1].add(state)
    counted = 0
    for depth in range(1, max_depth + 1):
        if (frontier := frontiers.get(depth - 1)) is None:
            break
        nodes, states = frontier
        ways = {
            way
            for way, ss in by_way.items()
            if any(s.only_from is None or not s.only_from.isdisjoint(states) for s in ss)
        }
        for node in nodes:
            counted += sum(n for way, n in by_origin[node] if way in ways)
    return counted


class PruningWalk:
    """A Neo4j store whose walk without paths tries `pruned_walk` first (for
    queries/traversal.py `store_walk`, which walks by any object whose class has `walk`)."""

    __slots__ = ("store",)

    def __init__(self, store: Neo4jStore) -> None:
        self.store = store

    def walk(
        self,
        start_ids: Sequence[str],
        steps: Sequence[WalkStep],
        *,
        start_state: str,
        covers: Mapping[str, frozenset[str]],
        max_depth: int,
        as_of: str | None,
        max_nodes: int,
        edges: bool,
    ) -> Walked | None:
        args: dict[str, Any] = {
            "start_state": start_state, "covers": covers, "max_depth": max_depth,
            "as_of": as_of, "max_nodes": max_nodes,
        }  # fmt: skip
        if not edges and (walked := pruned_walk(self.store, start_ids, steps, **args)) is not None:
            return walked
        return self.store.walk(start_ids, steps, edges=edges, **args)
