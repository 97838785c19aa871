"""The walk statements on Neo4j: the breadth-first walk over (node, state) pairs
(`reach_statement`, `walk_chunk`) and the one-state walk as sets of nodes (`sets_statement`),
unrolled a chunk of levels per statement, with the policy tables they are handed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any, LiteralString, NamedTuple, cast

from lineage_kg.graph.ends_walk import DropRule, tested_props, walk_moves
from lineage_kg.graph.model import EdgeKind, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.neo4j_cypher import EDGE_VIEW, VALID_NOW_OR_AS_OF, typed
from lineage_kg.graph.neo4j_node_rows import NODE_ROW, NOT_PROPS
from lineage_kg.graph.store import EdgeTest, Moves, WalkStep

# The walk (`Neo4jStore.reach`): a breadth-first search over (node, walk state) pairs, each pair
# walked once, `REACH_CHUNK` levels per statement (Cypher has no loop: one CALL per level).
# `$moves` (by state, way, kind) gives the states a move reaches; a pair follows only the
# moves of its state, and the edges it read are kept, so each edge comes back once per (edge,
# way). A statement reads `$levels` frontiers and hands back the pairs the last one found
# (`pending`: the next statement's frontier, dropped unread after the walk's last level) and the
# marks it added to `$seen`.
# Why chunks: unrolled to the whole depth, the statement's plan took 21 s to compile at depth 10
# on a loaded machine (7 s at depth 2), once for every depth asked, and a first impact timed out
# at 30 s. Now one plan per set of kinds, compiled once; a walk costs ceil(depth / REACH_CHUNK)
# round trips. `seen` holds "key|state" strings: Neo4j caches `IN` over a list of strings (a list
# of [node, state] pairs was compared element by element: 8,074 checks against 8,074 pairs took
# 7.7 s, the strings 0.28 s). The answer is one row: a row per edge cost a driver message each.
# The frontier and the marks come inside one map, `$chunk` (`walk_chunk`): Neo4j plans a
# statement again for each size bucket of a list parameter it sees (1, 10, 100, ... entries), and
# this plan costs 1-2.5 s; a list inside a map shows no size. Measured on a replaced graph, 40
# walks: 8 reads slowed by a new plan with the lists as parameters, 3 with the map.
REACH_CHUNK = 5
# The walk with paths (impact, `traverse`: `Neo4jStore.walk(edges=True)`) in chunks of 10 levels:
# one round trip to impact's depth (10) instead of two past level 5 — the QPP statement it is
# measured against needs one. The 10-level plan measured (2026-12-06, 10k estate, load 5-8):
# compiled after `db.clearQueryCaches()` 4.1-6.9 s against 2.7-4.5 s for 5 levels; on a fresh
# server 4.9-12.2 s against 6.1-7.9 s (most of it the planner's own JIT warming up); cached, no
# slower than 5 levels. Once per set of kinds per server; its first run here is given
# `PLAN_TIMEOUT` (`Neo4jStore._read`) so that a cold server under load does not time it out.
PATHS_CHUNK = 10
# a walk statement's first run in a store: its plan may be compiled now (seconds, more on a cold
# server under load); afterwards the store's `query_timeout` holds again
PLAN_TIMEOUT = 120.0
# the walk statements' texts (`_reach_query`, `_sets_query`): slow to plan, see `PLAN_TIMEOUT`
SLOW_TO_PLAN: set[str] = set()
# `$chunk.starts` (a walk's first chunk): keys walked in `$chunk.state`, before the frontier,
# their marks before `$chunk.seen`, built here: a list of strings is ~4x cheaper for the driver
# to send than as many [key, state] lists, and the marks are not sent at all (the largest
# team's downstream at 100k: 33,898 pairs and 33,898 marks, ~49 ms of client CPU in `run()`).
# `$chunk.marked` (a later chunk): the starts again, their marks made here, not walked; `$chunk.
# seen` then holds the marks found since (as `_SETS_START`'s `marked`).
_REACH_START: LiteralString = (
    "UNWIND [k IN $chunk.starts | [k, $chunk.state]] + $chunk.frontier AS f "
    "MATCH (s:Node {key: f[0]}) USING INDEX s:Node(key) "
    "WITH collect([s, f[1], f[0]]) AS frontier "
    "WITH frontier, [k IN ($chunk.starts + $chunk.marked) | k + '|' + $chunk.state] + $chunk.seen "
    "AS seen, "
    "[] AS nodes, [] AS edges, [] AS pending "
)
# The pairs a level's hops reach that are not yet walked: the next frontier and their marks.
# With `$chunk.skip` (a walk leaving rows out: `DropRule.skip`), not a pair in a state the start
# state covers at a node already walked in the start state: the start state simulates it
# (`simulates`), so that pair reads every row this one would and leads to all it would.
_MARKS: LiteralString = (
    "UNWIND hops AS h UNWIND h[2] AS t WITH DISTINCT h[0] AS b, h[1] AS bk, t "
    "WITH b, bk, t, bk + '|' + t AS mark WHERE NOT mark IN seen AND ($chunk.skip IS NULL "
    "OR NOT (t IN $chunk.skip.covered AND bk + '|' + $chunk.skip.by IN seen)) "
    "RETURN collect([b, t, bk]) AS next, collect(mark) AS marks"
)
_REACH_NEXT: LiteralString = (
    # the last level asked, or past $cap pairs (more than $limit nodes: the answer will be None)
    "WITH CASE WHEN $levels <= {level} OR size(seen) + size(marks) > $cap THEN [] ELSE next END "
    "AS frontier, CASE WHEN $levels = {level} THEN next ELSE pending END AS pending, "
    "seen + marks AS seen, nodes + [f IN frontier | f[2]] AS nodes, edges + read AS edges, "
    "dropped "
)
# A frontier entry is [node, state, key], an edge read [r, out, origin key, far key, type]: each
# key and type is read once, where the node or edge is first met (PROFILE, 100k, the largest
# team's downstream: the keys of both ends and the type read again for the answer, and the
# frontier's keys for `nodes`, were ~0.45M of 3.2M db hits; `type(r)` is a db hit each time).
# `$moves[state]` is that state's moves, {way: {KIND: {then, tests}}}: no string built per edge
# to look them up.
_REACH_LEVEL: LiteralString = (
    "CALL (frontier, seen) {{ "
    "UNWIND frontier AS f WITH f[0] AS a, f[2] AS ak, $moves[f[1]] AS mv WHERE mv IS NOT NULL "
    "CALL (a, ak, mv) {{ {moves} }} "
    "WITH collect([r, out, ak, bk, k]) AS read, collect([b, bk, nexts]) AS hops "
    "CALL (hops, seen) {{ " + _MARKS + " }} "
    "RETURN read, next, marks }} " + _REACH_NEXT
)
# The first level of a walk's first chunk may leave rows out (`$chunk.drop`, `drop_rule`: the
# walk on ids, none with paths). Its frontier is the starts, in the start state, and they are
# blocked in it and the states it covers from the start (graph/ends_walk.py `_Pass`), for good:
# an edge into a start whose every next state is one of those (`$chunk.drop.blocked`) is never
# followed. Such a row stays out of `read` and `hops` (so out of the marks, the next frontier and
# the answer: the collects, DISTINCTs and rows that are most of the statement's time) and is
# only counted: in all, and per (origin, way, kind) when `by_origin` (for the starts a later
# level walks again: `Neo4jStore._reach_rows`). At level 1 of the first chunk `seen` holds the
# starts' marks alone, so `bk + '|' + start IN seen` is "b is a start". Measured (100k, the
# largest team's downstream, levels 1-5): 98,776 rows -> 14,503 + a count of 84,815, the
# statement 2.40 -> 0.87 s (median x4, load 3.2; docs/bench-notes/target1-neo4j.md, s. 26).
_GONE: LiteralString = (
    "$chunk.drop IS NOT NULL AND all(t IN nexts WHERE t IN $chunk.drop.blocked) "
    "AND bk + '|' + $chunk.drop.start IN seen"
)
_REACH_FIRST: LiteralString = (
    "CALL (frontier, seen) {{ "
    "UNWIND frontier AS f WITH f[0] AS a, f[2] AS ak, $moves[f[1]] AS mv WHERE mv IS NOT NULL "
    "CALL (a, ak, mv, seen) {{ {moves}, " + _GONE + " AS gone }} "
    "WITH collect(CASE WHEN NOT gone THEN [r, out, ak, bk, k] END) AS read, "
    "collect(CASE WHEN NOT gone THEN [b, bk, nexts] END) AS hops, "
    "sum(CASE WHEN gone THEN 1 ELSE 0 END) AS gone_n, "
    "collect(CASE WHEN gone AND $chunk.drop.by_origin THEN [ak, out, k] END) AS gone_at "
    "CALL (gone_at) {{ UNWIND gone_at AS g WITH g, count(*) AS n "
    "RETURN collect(g + n) AS by_origin }} "
    "CALL (hops, seen) {{ " + _MARKS + " }} "
    "RETURN read, next, marks, [gone_n, by_origin] AS dropped }} " + _REACH_NEXT
)
# Each edge as its id and either its record or (`$chunk.tested`, a list: `Neo4jStore.walk`) the
# values of the properties the walk's tests read alone — no record to serialise, unpack and
# build. One statement for both: its plan is compiled once (seconds on a loaded machine).
_REACH_END: LiteralString = (
    "CALL (edges) { UNWIND edges AS e "
    "WITH DISTINCT e[0] AS r, e[1] AS out, e[2] AS ak, e[3] AS bk, e[4] AS k "
    "RETURN collect([CASE WHEN out THEN ak ELSE bk END, k, "
    "CASE WHEN out THEN bk ELSE ak END, r.disc, out, "
    "CASE WHEN $chunk.tested IS NULL THEN " + EDGE_VIEW + " "
    "ELSE [t IN $chunk.tested | r[t]] END]) AS found } "
    "RETURN nodes, found, [p IN pending | [p[2], p[1]]] AS pending, "
    "seen[size($chunk.starts) + size($chunk.marked) + size($chunk.seen)..] AS marks, dropped"
)
# The walk with paths: each edge's tested values followed by its element id, so that the
# records of the path edges are then read by id (`_PATH_EDGES`): a relationship seek each, where
# by (src, kind, dst, disc) it was two node seeks and an expand (measured, 10k, 119 path edges,
# load 8: 6.5 ms on the server against 13.5, the parameters 5.7 KB against 20.5 KB).
_REACH_END_IDS: LiteralString = _REACH_END.replace(
    "[t IN $chunk.tested | r[t]] END", "[t IN $chunk.tested | r[t]] + elementId(r) END"
)
# Or (impact: graph/walk_ahead.py) each edge's tested values followed by its record, and the
# records of the nodes the chunk met (its frontiers' and the pairs its last level found), the
# OWNS edges into them and their owners' ALIAS_OF edges: what `Neo4jStore.nodes_and_owners`
# would read next, in the walk's round trip (graph/neo4j_walk_ahead.py `OwnersAhead`). Every
# edge's record, not the path edges' alone: which edge first reached a pair is the walk's (in
# Python) to say. Measured as statements alone (10k, 37 starts x 2, load 8.7): p50 / mean
# 16.4 / 29.5 ms against 21.3 / 33.6 for the walk and `nodes_and_owners` as two statements;
# with the edges' element ids and their records read after, no better than two (22.8 / 51.0).
# Each node comes as a list of scalars (the decision trace's `NODE_ROW`, its props read once and
# filtered by its kind's map of names, `$not_props`), not a map beside its key: no key sent twice,
# no prop's name sent for `StoredNode`'s fields nor its kind's key fields (in the key), one dict
# less to decode a node (docs/bench-notes/target1-impact-neo4j.md, session 28).
_OWNERS_AHEAD: LiteralString = (
    "WITH nodes, found, pending, seen, dropped, nodes + [p IN pending | p[2]] AS met "
    "CALL (met) { UNWIND met AS id WITH DISTINCT id MATCH (n:Node {key: id}) "
    "USING INDEX n:Node(key) WITH n, properties(n) AS m, $not_props[n.kind] AS skip "
    "RETURN collect(" + NODE_ROW + ") AS records, collect(n) AS held } "
    "CALL (held) { UNWIND held AS a "
    f"CALL (a) {{ MATCH (a)<-[r:{EdgeKind.OWNS.value}]-(b) WHERE {VALID_NOW_OR_AS_OF}RETURN b }} "
    "RETURN collect([b.key, a.key]) AS owns, collect(DISTINCT b) AS owners } "
    "CALL (owners) { UNWIND owners AS o "
    f"CALL (o) {{ MATCH (o)-[r:{EdgeKind.ALIAS_OF.value}]->(c) WHERE {VALID_NOW_OR_AS_OF}"
    "RETURN r, c } RETURN collect([o.key, c.key, r.disc]) AS aliases } "
)
_REACH_END_AHEAD: LiteralString = (
    _REACH_END.replace(
        "[t IN $chunk.tested | r[t]] END", "[t IN $chunk.tested | r[t]] + [" + EDGE_VIEW + "] END"
    )
    .replace(" } RETURN nodes, found,", " } " + _OWNERS_AHEAD + "RETURN nodes, found,", 1)
    .replace(" AS marks, dropped", " AS marks, dropped, records, owns, aliases")
)

# One pair's moves: the edges of the kinds walked, both ways in ONE expansion when both are
# walked (a sparse node's relationships are one chain whatever the direction: read once, not
# once a way — PROFILE, 100k downstream, level 1: 798k + 284k db hits the two ways, 801k one).
# A self-loop is matched once undirected: it is read both ways then. `x.then`: the states of the
# moves with no test; `x.tests`: the others, run on the ends' keys (a key starts with its kind:
# `["Column",…`, graph/model.py `NodeKey.id`; no label read) and the tested property.
_ONE_WAY: LiteralString = (
    "MATCH (a){arrow}(b) WITH r, b, type(r) AS k WITH r, b, k, mv.{way}[k] AS x "
    "WHERE x IS NOT NULL WITH r, b, k, x WHERE {valid}"
    "WITH r, b, k, {out} AS out, x, b.key AS bk "
)
_BOTH_WAYS: LiteralString = (
    "MATCH (a)-[r{kinds}]-(b) WITH r, b, type(r) AS k "
    "WITH r, b, k, CASE WHEN startNode(r) = a THEN mv.out[k] END AS xo, "
    "CASE WHEN endNode(r) = a THEN mv.in[k] END AS xi "
    "WHERE xo IS NOT NULL OR xi IS NOT NULL "
    "WITH r, b, k, xo, xi WHERE {valid}"
    "UNWIND CASE WHEN xo IS NULL THEN [[false, xi]] WHEN xi IS NULL THEN [[true, xo]] "
    "ELSE [[true, xo], [false, xi]] END AS w "
    "WITH r, b, k, w[0] AS out, w[1] AS x, b.key AS bk "
)
_NEXTS: LiteralString = (
    "WITH r, b, k, out, bk, x.then + [m IN x.tests WHERE "
    "(m.src IS NULL OR any(p IN m.src WHERE CASE WHEN out THEN ak ELSE bk END STARTS WITH p)) "
    "AND (m.dst IS NULL OR any(p IN m.dst WHERE CASE WHEN out THEN bk ELSE ak END STARTS WITH p)) "
    "AND (m.nsrc IS NULL OR NOT any(p IN m.nsrc WHERE "
    "CASE WHEN out THEN ak ELSE bk END STARTS WITH p)) "
    "AND (m.ndst IS NULL OR NOT any(p IN m.ndst WHERE "
    "CASE WHEN out THEN bk ELSE ak END STARTS WITH p)) "
    "AND (m.unset IS NULL OR NOT coalesce(r[m.unset] = true, false)) | m.then] AS nexts "
    "WHERE size(nexts) > 0 RETURN r, b, out, bk, k, nexts"
)


# A move's `EdgeTest` (graph/store.py), in Cypher: the ends' kinds by label, a property missing
# or anything but true (where Python says "false or missing", Cypher says no less).
_PASSES: LiteralString = (
    "(m.src IS NULL OR any(l IN labels(startNode(r)) WHERE l IN m.src)) "
    "AND (m.dst IS NULL OR any(l IN labels(endNode(r)) WHERE l IN m.dst)) "
    "AND (m.unset IS NULL OR NOT coalesce(r[m.unset] = true, false))"
)


@lru_cache(maxsize=64)
def _reach_query(
    out: frozenset[EdgeKind],
    in_: frozenset[EdgeKind],
    levels: int = REACH_CHUNK,
    element_ids: bool = False,
    ahead: bool = False,
) -> LiteralString:
    """`levels` levels of the walk over these kinds (the kinds from the enum, the levels ints:
    nothing else is put into the text); `element_ids`: each edge's tested values end with its
    element id; `ahead`: by its record instead, and the nodes met, their owners and those's
    aliases too (`_REACH_END_AHEAD`). PROFILE: tests/integration/test_neo4j_walk_oracle.py (a
    lattice of 2^40 paths reads each relationship once per walk state)."""
    valid = VALID_NOW_OR_AS_OF
    if out and in_:
        expand = _BOTH_WAYS.format(kinds=typed(out | in_), valid=valid)
    else:
        arrow, way, is_out = ("-[r{}]->", "out", "true") if out else ("<-[r{}]-", "in", "false")
        expand = _ONE_WAY.format(
            arrow=arrow.format(typed(out or in_)), way=way, valid=valid, out=is_out
        )
    moves = expand + _NEXTS
    unrolled = "".join(
        (_REACH_FIRST if level == 1 else _REACH_LEVEL).format(moves=moves, level=level)
        for level in range(1, levels + 1)
    )
    end = _REACH_END_AHEAD if ahead else _REACH_END_IDS if element_ids else _REACH_END
    query = _REACH_START + unrolled + end
    SLOW_TO_PLAN.add(query)
    return cast(LiteralString, query)


def walk_chunk(
    frontier: list[list[str]],
    seen: list[str],
    levels: int,
    tested: Sequence[str] | None = None,
    drop: Mapping[str, Any] | None = None,
    *,
    skip: Mapping[str, Any] | None = None,
    starts: Sequence[str] = (),
    state: str | None = None,
    marked: Sequence[str] = (),
) -> dict[str, Any]:
    """The parameters of one chunk of `reach_statement`'s walk, beside the ones it returned:
    the frontier's [key, state] pairs, the "key|state" marks already walked, the levels to read,
    and what comes with each edge: its record (`tested` None), or these properties' values.
    `drop` (`DropRule.param`; a walk's first chunk only, its `seen` the starts' marks alone):
    the rows its first level leaves out (`_GONE`). `starts` (a first chunk): keys walked in
    `state` before `frontier`, their marks before `seen`, made on the server (`_REACH_START`).
    `marked` (a later chunk): keys whose marks in `state` are made on the server before `seen`,
    not walked (the starts again: their marks are not sent)."""
    chosen = None if tested is None else list(tested)
    chunk = {
        "starts": list(starts), "marked": list(marked), "state": state, "frontier": frontier,
        "seen": seen, "tested": chosen, "drop": drop, "skip": skip,
    }  # fmt: skip
    return {"chunk": chunk, "levels": levels}


class LeftOut(NamedTuple):
    """What a read-ahead's first level left out (`_GONE`): how many rows, the starts it walked
    again in a state they are not blocked in, and for those [origin, out?, kind, count]."""

    total: int
    again: list[str]
    by_origin: list[list[Any]]


def left_out(
    read: Callable[..., list[Any]],
    statement: tuple[LiteralString, dict[str, Any]],
    rule: DropRule,
    *,
    starts: list[str],
    seen: list[str],
    total: int,
    limit: int,
    tested: Sequence[str] | None,
) -> LeftOut | None:
    """After a read-ahead that left rows out (`seen`: its marks, the starts' first): the count
    the walk needs, or None where the read-ahead may differ from one without (give way).
    - Past `limit` nodes: the pairs the left-out rows no longer reach are pairs of nodes the
      read-ahead reached anyway (`DropRule`), so it covers the same nodes; but with those pairs
      it could have passed its cap of pairs (`limit` x states) where it did not here.
    - The starts walked again in another state may be taken up again by the walk, which then
      counts their rows along that level's ways: their left-out rows are counted per origin, way
      and kind by the same statement's first level, from them alone (one more round trip, only
      when there are such starts: none for the largest team at 100k)."""
    if len(seen) > limit and len({mark.rpartition("|")[0] for mark in seen}) > limit:
        return None
    again = rule.again(seen[len(starts) :], frozenset(starts))
    by_origin: list[list[Any]] = []
    if again:
        query, params = statement
        chunk = walk_chunk(
            [[key, rule.start_state] for key in again], seen[: len(starts)], 1, tested,
            rule.param | {"by_origin": True},
        )  # fmt: skip
        by_origin = read(query, **params, **chunk)[0]["dropped"][1]
    return LeftOut(total, again, by_origin)


def _move(then: str, test: EdgeTest | None) -> dict[str, Any]:
    test = test or EdgeTest()
    src, dst = (
        None if k is None else sorted(NodeKind(x).value for x in k) for k in (test.src, test.dst)
    )
    return {"then": then, "src": src, "dst": dst, "unset": test.unset}


def reach_statement(
    start_ids: Sequence[str],
    moves: Moves,
    *,
    start_state: str,
    as_of: str | None,
    limit: int,
    levels: int = REACH_CHUNK,
    keyed: Keyed | None = None,
    element_ids: bool = False,
    ahead: bool = False,
) -> tuple[LiteralString, dict[str, Any]]:
    """`Neo4jStore.reach`'s statement (`levels` a chunk) and the parameters every chunk of one
    walk shares (each chunk adds `walk_chunk`'s; the plan tests PROFILE it). `keyed`: the
    policy's part, `_keyed_moves(moves, start_state)`, made before."""
    out, in_, keyed_moves, states = keyed or _keyed_moves(moves, start_state)
    params = {
        "moves": keyed_moves,
        "as_of": as_of,
        # more pairs than this means more than `limit` nodes: stop walking, the answer is None
        "cap": limit * states,
    }
    if ahead:  # the names of the nodes' records that are not props (`NODE_ROW`)
        params["not_props"] = NOT_PROPS
    return _reach_query(out, in_, levels, element_ids, ahead), params


# a policy's part of the walk statement: its kinds each way, `$moves`, how many states it has
Keyed = tuple[frozenset[EdgeKind], frozenset[EdgeKind], dict[str, Any], int]


def _keyed_moves(moves: Moves, start_state: str) -> Keyed:
    """The kinds each way (the statement's text), `$moves` keyed by state then way then kind
    (`_REACH_LEVEL`), the number of states."""
    out = frozenset(EdgeKind(kind) for (_, way, kind) in moves if way is Direction.OUT)
    in_ = frozenset(EdgeKind(kind) for (_, way, kind) in moves if way is Direction.IN)
    keyed: dict[str, dict[str, dict[str, dict[str, list[Any]]]]] = {}
    for (state, way, kind), thens in moves.items():
        plain = sorted({then for then, test in thens if test is None})
        tests = sorted(
            (_keyed_test(then, test) for then, test in thens if test is not None), key=repr
        )
        by_kind = keyed.setdefault(state, {}).setdefault(way.value, {})
        by_kind[EdgeKind(kind).value] = {"then": plain, "tests": tests}
    states = {start_state, *(s for s, _, _ in moves)}
    states.update(then for thens in moves.values() for then, _ in thens)
    return out, in_, keyed, len(states)


def _keyed_test(then: str, test: EdgeTest) -> dict[str, Any]:
    """A move's `EdgeTest` for `_NEXTS`: the kinds as the prefixes of their nodes' keys, or
    (`nsrc`, `ndst`) the prefixes of the kinds it does not take, when those are fewer."""
    src, nsrc = _prefixes(test.src)
    dst, ndst = _prefixes(test.dst)
    return {"then": then, "src": src, "nsrc": nsrc, "dst": dst, "ndst": ndst, "unset": test.unset}


def _prefixes(kinds: frozenset[NodeKind] | None) -> tuple[list[str] | None, list[str] | None]:
    """An end's kinds as the key prefixes it must start with (a list, None), or must not start
    with (None, a list) when the kinds are most of them: a key has one kind's prefix and no
    other's, so these say the same, with fewer STARTS WITH per edge. Impact's FEEDS into
    anything but a column or a dataset is 15 kinds, tested as 2: the largest team's downstream
    statement, first chunk, 0.96 -> 0.84 s median x6 at 100k (load 1.0, answers equal)."""
    if kinds is None:
        return None, None
    taken = {NodeKind(k) for k in kinds}
    others = [k for k in NodeKind if k not in taken]
    if len(others) < len(taken):
        return None, sorted(_key_prefix(k) for k in others)
    return sorted(_key_prefix(k) for k in taken), None


def _key_prefix(kind: NodeKind) -> str:
    """How the id of every node of this kind starts (`NodeKey.id`: a JSON list, kind first)."""
    return json.dumps([kind.value])[:-1]


class WalkPolicy:
    """What a walk on ids makes from its step table and start state: the moves, the tested
    properties, the statement's part (`_keyed_moves`). Made once per step table that is a tuple
    (`traverse` hands over the same one each time), found by its identity: made per walk they
    cost ~4 ms of a ~20 ms impact answer (2026-12-06, load ~10; `$moves` sorted by repr ~3)."""

    __slots__ = ("drops", "keyed", "moves", "start_state", "steps", "tested")

    def __init__(self, steps: Sequence[WalkStep], start_state: str) -> None:
        self.steps = steps
        self.start_state = start_state
        self.moves = walk_moves(steps, start_state)
        self.tested = tested_props(steps)
        self.keyed = _keyed_moves(self.moves, start_state) if self.moves else None
        self.drops: dict[tuple[tuple[str, tuple[str, ...]], ...], DropRule | None] = {}

    def drop_rule(self, covers: Mapping[str, frozenset[str]]) -> DropRule | None:
        """The rows the walk on ids may leave out of its first level with these covers (None:
        none; `LEAVE_OUT` off, or the policy's covers do not allow it: `DropRule.make`)."""
        if not LEAVE_OUT or not self.moves:
            return None
        key = tuple(sorted((state, tuple(sorted(c))) for state, c in covers.items()))
        if key not in self.drops:
            rule = DropRule.make(self.moves, self.start_state, covers, self.tested)
            self.drops[key] = rule
        return self.drops[key]


# Whether the walk on ids leaves rows out of its first level (`DropRule`); off: every row is sent
# (the benchmarks' "before", the tests' reference).
LEAVE_OUT = True
# Whether a later chunk of `Neo4jStore._reach_rows` sends the starts as keys (`$chunk.marked`)
# and the marks found since, or (off: the benchmarks' "before", the tests' reference) every mark.
LATER_STARTS_AS_KEYS = True


_POLICIES: dict[tuple[int, str], WalkPolicy] = {}


def walk_policy(steps: Sequence[WalkStep], start_state: str) -> WalkPolicy:
    key = (id(steps), start_state)
    if (hit := _POLICIES.get(key)) is not None and hit.steps is steps:
        return hit
    made = WalkPolicy(steps, start_state)
    if isinstance(steps, tuple):  # immutable: the same identity is the same table
        if len(_POLICIES) >= 64:
            _POLICIES.clear()
        _POLICIES[key] = made
    return made


# A walk in one state (graph/ends_walk.py `one_state`: upstream's, every plain walk) walked as
# sets of nodes, both passes in one statement: each level, every frontier node's edges are read
# once (its flags say which pass it is new to), the edges no step follows dropped, and the far
# nodes not yet seen by a pass become that pass's next level. The answer is the keys each pass
# reached at each level and the count of edges read — not an edge row per edge (~110k rows
# for the largest team's upstream at 100k). `$moves`, {way: {KIND: {exact, tests}}}, holds
# whether the exact pass follows each step, the steps with a test apart (a step without one costs
# no test per edge: the label read of `_PASSES` was 1 db hit an edge, ~0.1M for the largest
# team's upstream at 100k, though it has no test). Chunked as `_reach_query`, for the same
# reason (one plan per set of kinds).
# Each far node of a level once: its rows grouped by node (new to a pass if a row from a node of
# that pass's frontier reached it, to the exact pass only along an exact step), its key read once
# and looked up in `seen` for each pass. Before session 32 the two passes' far nodes were made
# DISTINCT and keyed apart (a sub-call each) and merged again: the largest team's upstream at 100k,
# first chunk, 1,264,161 -> 1,232,723 db hits, rows through the operators 1.13M -> 0.96M, server CPU
# 0.645 -> 0.585 s (median x10 interleaved, lower in 8 of 10, load 7-10; same answers).
# `$chunk.starts` (the first chunk): keys new to both passes, their frontier entries and marks
# built here, as `_REACH_START`'s (100k, the largest team: 33,898 [key, true, true] and 67,796
# marks, ~58 ms of client CPU in `run()`, now 33,898 strings). A later chunk's `$chunk.marked`:
# the starts again, marked in both passes, not walked (its `seen` then holds the marks found
# since: the second chunk's 82,991 marks are sent as 33,898 keys and 15,195 marks).
_SETS_START: LiteralString = (
    "UNWIND [k IN $chunk.starts | [k, true, true]] + $chunk.frontier AS f "
    "MATCH (s:Node {key: f[0]}) USING INDEX s:Node(key) "
    "WITH collect([s, f[1], f[2]]) AS frontier "
    "WITH frontier, $chunk.starts + $chunk.marked AS known "
    "WITH frontier, [k IN known | 'e|' + k] + [k IN known | 'x|' + k] + $chunk.seen AS seen, "
    "$chunk.reached AS reached, [] AS every, [] AS exact, "
    "0 AS read, [] AS pending "
)


def sets_chunk(
    frontier: list[list[Any]],
    seen: list[str],
    reached: int,
    starts: Sequence[str] = (),
    marked: Sequence[str] = (),
) -> dict[str, Any]:
    """`$chunk` of `sets_statement`: the frontier's [key, new to every?, new to exact?], the
    "e|key" / "x|key" marks already walked, the nodes reached so far; `starts` (the first
    chunk) walked in both passes and marked, `marked` (later chunks) marked in both, on the
    server (`_SETS_START`)."""
    chunk = {"starts": list(starts), "marked": list(marked), "frontier": frontier, "seen": seen}
    return chunk | {"reached": reached}


_SETS_LEVEL: LiteralString = (
    "CALL (frontier, seen) {{ "
    "UNWIND frontier AS f WITH f[0] AS a, f[1] AS fe, f[2] AS fx CALL (a) {{ {ways} }} "
    "WITH fe, fx, b, x.exact + [m IN x.tests WHERE {passes} | m.exact] AS ok "
    "WHERE size(ok) > 0 "
    "WITH b, true IN collect(fe) AS e, true IN collect(fx AND true IN ok) AS x, count(*) AS n "
    "WITH collect([b, e, x]) AS hits, sum(n) AS level_read "
    "CALL (hits, seen) {{ UNWIND hits AS h WITH h[0] AS b, h[1] AS e, h[2] AS x "
    "WITH b, b.key AS k, e, x "
    "WITH b, k, e AND NOT 'e|' + k IN seen AS ne, x AND NOT 'x|' + k IN seen AS nx "
    "WHERE ne OR nx RETURN collect(CASE WHEN ne THEN k END) AS ke, "
    "collect(CASE WHEN nx THEN k END) AS kx, collect([b, ne, nx]) AS next }} "
    "RETURN level_read, ke, kx, next }} "
    # the last level asked, or $cap nodes reached by every step (the walk is given up)
    "WITH CASE WHEN $levels <= {level} OR reached + size(ke) >= $cap THEN [] ELSE next END "
    "AS frontier, CASE WHEN $levels = {level} THEN next ELSE pending END AS pending, "
    "seen + [k IN ke | 'e|' + k] + [k IN kx | 'x|' + k] AS seen, reached + size(ke) AS reached, "
    "every + [ke] AS every, exact + [kx] AS exact, read + level_read AS read "
)
_SETS_END: LiteralString = (
    "RETURN every, exact, read, [p IN pending | [p[0].key, p[1], p[2]]] AS pending"
)


@lru_cache(maxsize=64)
def _sets_query(out: frozenset[EdgeKind], in_: frozenset[EdgeKind]) -> LiteralString:
    """`REACH_CHUNK` levels of a one-state walk over these kinds (kinds from the enum, levels
    ints: nothing else is put into the text)."""
    ways = " UNION ALL ".join(
        f"MATCH (a){arrow.format(typed(kinds))}(b) WHERE {VALID_NOW_OR_AS_OF}"
        f"RETURN r, b, $moves.{way}[type(r)] AS x"
        for arrow, kinds, way in (("-[r{}]->", out, "out"), ("<-[r{}]-", in_, "in"))
        if kinds
    )
    levels = "".join(
        _SETS_LEVEL.format(ways=ways, passes=_PASSES, level=level)
        for level in range(1, REACH_CHUNK + 1)
    )
    query = _SETS_START + levels + _SETS_END
    SLOW_TO_PLAN.add(query)
    return cast(LiteralString, query)


def sets_statement(
    steps: Sequence[WalkStep], *, as_of: str | None, cap: int
) -> tuple[LiteralString, dict[str, Any]]:
    """The one-state walk's statement and the parameters its chunks share (`one_state` steps,
    `EdgeTest`s only)."""
    keyed: dict[str, dict[str, dict[str, list[Any]]]] = {}
    for step in steps:
        by_kind = keyed.setdefault(step.direction.value, {})
        x = by_kind.setdefault(EdgeKind(step.kind).value, {"exact": [], "tests": []})
        if isinstance(step.accepts, EdgeTest):
            x["tests"].append(_move("", step.accepts) | {"exact": step.exact})
        else:  # no test (`one_state` steps are `walkable`: an EdgeTest or none)
            x["exact"].append(step.exact)
    for by_kind in keyed.values():
        for x in by_kind.values():
            x["exact"].sort()
            x["tests"].sort(key=repr)
    out = frozenset(EdgeKind(s.kind) for s in steps if s.direction is Direction.OUT)
    in_ = frozenset(EdgeKind(s.kind) for s in steps if s.direction is Direction.IN)
    return _sets_query(out, in_), {"moves": keyed, "as_of": as_of, "cap": cap}
