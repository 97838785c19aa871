"""`GraphStore.walk` without paths, over a whole walk's edges read ahead as their ids alone.

A store that reads a walk ahead in one statement (Neo4j: `Neo4jStore.walk`) can hand back each
edge as its id (src id, kind, dst id, disc), the way it was walked, and the values of the few
properties the policy's `EdgeTest`s look at — no record, no `StoredEdge`. The walk's questions
that want distances and certainty alone (queries/closeness.py: the accountability map's two
walks from thousands of starts) are then answered here, in Python, with the visits `traverse`
makes, in its order: `closeness`'s level loop (each level's edges by the frontier node they
leave, in frontier order, then by edge id; each step from each state the node is in; a state
blocked where the node was reached in it or in a state covering it), on tuples. A step whose
test is code (not an `EdgeTest`) needs the edge itself: the store does not walk that policy
here. tests/contract/test_closeness_property.py holds the answers to `traverse` on both stores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from lineage_kg.graph.model import RESERVED_PROPS, EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.records import EdgeId
from lineage_kg.graph.store import EdgeTest, Moves, Walked, WalkPass, WalkStep

_OUT, _IN = Direction.OUT, Direction.IN

# a step's test on an edge read ahead (None: every edge)
EndsTest = Callable[[EdgeId, Sequence[Any]], bool] | None


def walkable(steps: Sequence[WalkStep]) -> bool:
    """Whether every test of the policy is an `EdgeTest` (run on ids and tested values)."""
    return all(s.accepts is None or isinstance(s.accepts, EdgeTest) for s in steps)


def tested_props(steps: Sequence[WalkStep]) -> tuple[str, ...]:
    """The edge properties the policy's tests read (those a record shows: a reserved one is
    never in `StoredEdge.props`, so a test of it always passes)."""
    names = {
        s.accepts.unset
        for s in steps
        if isinstance(s.accepts, EdgeTest) and s.accepts.unset is not None
    }
    return tuple(sorted(names - RESERVED_PROPS))


def walk_moves(steps: Sequence[WalkStep], start_state: str) -> Moves:
    """queries/traversal.py `moves`, for the steps as `GraphStore.walk` takes them."""
    states = {start_state}
    for step in steps:
        states.update(step.only_from or ())
        if step.then is not None:
            states.add(step.then)
    found: dict[tuple[str, Direction, EdgeKind], set[tuple[str, EdgeTest | None]]] = {}
    for step in steps:
        test = step.accepts if isinstance(step.accepts, EdgeTest) else None
        for state in states if step.only_from is None else step.only_from:
            then = state if step.then is None else step.then
            found.setdefault((state, step.direction, step.kind), set()).add((then, test))
    return {k: frozenset(v) for k, v in found.items()}


def _weaker(a: EdgeTest | None, b: EdgeTest | None) -> bool:
    """Whether test `a` passes every edge test `b` passes (None: every edge; as the walk
    statement runs them: kinds, then a property not true)."""
    if a is None:
        return True
    if b is None:
        return False
    return (
        (a.src is None or (b.src is not None and b.src <= a.src))
        and (a.dst is None or (b.dst is not None and b.dst <= a.dst))
        and (a.unset is None or a.unset == b.unset)
    )


def simulates(moves: Moves, big: str, small: str) -> bool:
    """Whether a walk in state `big` reads every edge a walk in `small` reads, along each reaching
    a state that again simulates the one `small` reaches (the greatest such relation over the
    policy's states). Then whatever a pair (node, `small`) leads a read-ahead to (the nodes it
    covers, the edges it reads from them), the pair (node, `big`) leads it to as well, at no
    greater depth. Impact's WHOLE simulates FIELD; EVERY_COLUMN does not (it has no PRODUCES)."""
    states = {s for s, _, _ in moves} | {t for thens in moves.values() for t, _ in thens}
    states |= {big, small}
    by_state: dict[str, list[tuple[tuple[Direction, EdgeKind], frozenset[Any]]]] = {}
    for (state, way, kind), thens in moves.items():
        by_state.setdefault(state, []).append(((way, kind), frozenset(thens)))
    pairs = {(s, c) for s in states for c in states}
    changed = True
    while changed:
        changed = False
        for s, c in sorted(pairs):
            if s == c:
                continue
            ok = all(
                any(
                    _weaker(test_s, test_c) and (then_s, then_c) in pairs
                    for then_s, test_s in moves.get((s, *way), ())
                )
                for way, thens in by_state.get(c, ())
                for then_c, test_c in thens
            )
            if not ok:
                pairs.discard((s, c))
                changed = True
    return (big, small) in pairs


class DropRule:
    """Which rows the walk statement's first level leaves out (graph/neo4j_walk_statements.py
    `_GONE`), made from the policy: an edge from a start, read in the start state, into a start,
    whose every next state (those of the start state's moves whose tests pass) is blocked at a
    start from the beginning (the start state and the states it covers). No walk follows one.

    Exact only where the start state simulates each state it covers (`simulates`): the pairs
    (start, covered state) the left-out rows no longer lead the read-ahead to read nothing
    (start, start state) does not read. And each left-out row must be counted once in
    `visited_edges`: a start walked again in another state reads it again (`dropped`). So the
    start state's tests are run here too, on ids and tested values, as the statement runs them;
    a policy testing a property the walk does not read gets no rule (`make`)."""

    __slots__ = ("blocked", "param", "skip", "start_state", "tests")

    def __init__(
        self, moves: Moves, start_state: str, blocked: frozenset[str], tested: Sequence[str]
    ) -> None:
        self.start_state = start_state
        self.blocked = blocked
        self.param = {"start": start_state, "blocked": sorted(blocked), "by_origin": False}
        # the pairs every chunk of the read-ahead need not walk (`_MARKS`)
        self.skip = {"by": start_state, "covered": sorted(blocked - {start_state})}
        self.tests: dict[tuple[Direction, str], list[tuple[str, EndsTest]]] = {}
        for (state, way, kind), thens in moves.items():
            if state == start_state:
                self.tests[way, EdgeKind(kind).value] = [
                    (then, None if test is None else _as_cypher(test, tested))
                    for then, test in sorted(thens, key=repr)
                ]

    @classmethod
    def make(
        cls,
        moves: Moves,
        start_state: str,
        covers: Mapping[str, frozenset[str]],
        tested: Sequence[str],
    ) -> DropRule | None:
        blocked = frozenset({start_state, *covers.get(start_state, ())})
        if not all(simulates(moves, start_state, c) for c in blocked - {start_state}):
            return None
        unset = {
            test.unset
            for (state, _, _), thens in moves.items()
            if state == start_state
            for _, test in thens
            if test is not None and test.unset is not None
        }
        if not unset <= set(tested):
            return None
        return cls(moves, start_state, blocked, tested)

    def leaves_out(self, eid: EdgeId, way: Direction, values: Sequence[Any]) -> bool:
        """Whether the first level leaves this edge out when it reads it from a start in the
        start state (both ends starts: the caller's test)."""
        nexts = [
            then
            for then, test in self.tests.get((way, eid[1]), ())
            if test is None or test(eid, values)
        ]
        return bool(nexts) and all(then in self.blocked for then in nexts)

    def again(self, marks: Iterable[str], starts: frozenset[str]) -> list[str]:
        """The starts the read-ahead walked again in a state they are not blocked in (from its
        "key|state" marks): the only starts the walk may take up again past level 1."""
        found = {}
        for mark in marks:
            key, _, state = mark.rpartition("|")
            if state not in self.blocked and key in starts:
                found[key] = None
        return list(found)

    def dropped(
        self,
        ahead: EndsAhead,
        starts: frozenset[str],
        total: int,
        again: Iterable[str],
        by_origin: Iterable[Sequence[Any]],
    ) -> Dropped:
        """What the walk adds to `visited_edges` for the rows left out: `total` of them, less
        those the read-ahead read again from a start walked in another state (rows that are in
        `ahead`); for the starts walked `again`, per (way, kind) as `by_origin` ([origin, out?,
        kind, count]) counted them, less the same."""
        overlap: dict[tuple[str, Direction], dict[str, int]] = {}
        for (origin, way), by_kind in ahead.edges.items():
            if origin not in starts:
                continue
            for kind, hops in by_kind.items():
                n = sum(
                    1
                    for eid, values in hops.items()
                    if (eid[2] if way is _OUT else eid[0]) in starts
                    and self.leaves_out(eid, way, values)
                )
                if n:
                    overlap.setdefault((origin, way), {})[kind] = n
        late: dict[tuple[str, Direction], dict[str, int]] = {}
        for origin, out, kind, n in by_origin:
            at = (origin, _OUT if out else _IN)
            late.setdefault(at, {})[kind] = n - overlap.get(at, {}).get(kind, 0)
        first = total - sum(n for by_kind in overlap.values() for n in by_kind.values())
        return Dropped(first=first, late=late, again=frozenset(again), starts=starts)


def _as_cypher(test: EdgeTest, tested: Sequence[str]) -> EndsTest:
    """A move's test on an id and the tested values, as the walk statement runs it (`_NEXTS`):
    the ends' kinds, and the property anything but true (Cypher's `= true`, not Python's truth)."""
    src, dst = test.src, test.dst
    at = None if test.unset is None else tested.index(test.unset)

    def passes(eid: EdgeId, values: Sequence[Any]) -> bool:
        return (
            (src is None or _kind_of(eid[0]) in src)
            and (dst is None or _kind_of(eid[2]) in dst)
            and (at is None or values[at] is not True)
        )

    return passes


@dataclass(frozen=True, slots=True)
class Dropped:
    """The rows a read-ahead left out at its first level, as the walk counts them (`walk_ends`):
    `first` at level 1 (every left-out row is from a start, along a way level 1 reads); `late`,
    per (start, way) and kind, for the starts the read-ahead walked `again` — any other start
    taken up past level 1 was not counted, and the walk gives way."""

    first: int
    late: Mapping[tuple[str, Direction], Mapping[str, int]]
    again: frozenset[str]
    starts: frozenset[str]

    def at(
        self, depth: int, ids: Sequence[str], out_kinds: Iterable[str], in_kinds: Iterable[str]
    ) -> int:
        """The left-out rows a level reads from its frontier `ids` along these kinds."""
        if depth == 1:
            return self.first
        if self.starts.isdisjoint(ids):
            return 0
        taken_up = self.starts.intersection(ids)
        if not self.again.issuperset(taken_up):
            raise GiveWay  # not counted per origin
        n = 0
        for origin in taken_up:
            for way, kinds in ((_OUT, out_kinds), (_IN, in_kinds)):
                if (by_kind := self.late.get((origin, way))) is not None:
                    n += sum(by_kind.get(kind, 0) for kind in kinds)
        return n

    @staticmethod
    def done(dropped: Dropped | None, at_cap: bool) -> None:
        """At the cap the walk stops before some hop, which may be one left out."""
        if dropped is not None and at_cap:
            raise GiveWay


class GiveWay(Exception):
    """A walk given rows left out (`Dropped`) cannot answer as the walk on every row would."""


class EndsAhead:
    """The edges read ahead, as ids: for every node in `covered`, each edge leaving it each way
    that the walk may follow (graph/store.py `Neighborhood`, without records), from the store's
    rows (src id, kind, dst id, disc, walked out?, tested values), each (edge, way) once. Not
    sorted here: the walk sorts each node's edges of a level by id (as closeness.py does)."""

    __slots__ = ("covered", "edges")

    def __init__(self, covered: Iterable[str], rows: Iterable[Sequence[Any]]) -> None:
        self.covered = frozenset(covered)
        # by edge id: a node walked in another state in a later chunk reads its edges again
        index: dict[tuple[str, Direction], dict[str, dict[EdgeId, Sequence[Any]]]] = {}
        for src, kind, dst, disc, out, values in rows:
            at = (src, _OUT) if out else (dst, _IN)
            if (by_kind := index.get(at)) is None:
                by_kind = index[at] = {}
            if (hops := by_kind.get(kind)) is None:
                hops = by_kind[kind] = {}
            hops[src, kind, dst, disc] = values
        self.edges = index


class _Pass:
    """One BFS over (node, state), as queries/closeness.py's, recording its visits — and with
    `paths`, each visit's parent visit, edge and way (`at`: the visit of each (node, state))."""

    __slots__ = ("at", "blocked", "covers", "edge_ids", "frontier", "joins", "level", "visits")

    def __init__(
        self,
        start: Sequence[str],
        state: str,
        covers: Mapping[str, frozenset[str]],
        edge_ids: dict[EdgeId, int] | None = None,
    ) -> None:
        paths = edge_ids is not None
        self.blocked: dict[str, frozenset[str]] = dict.fromkeys(
            start, frozenset({state, *covers.get(state, ())})
        )
        self.level: dict[str, int] = dict.fromkeys(start, 0)
        # the next level's pairs; level 1's are the starts in `state`, which `walk_ends` walks
        # straight from `start` (no pair list, no states per node for 34k starts)
        self.frontier: list[tuple[str, str]] = []
        self.covers = covers
        # (states blocked at a node, a state it is reached in) -> the states blocked after
        self.joins: dict[tuple[frozenset[str] | None, str], frozenset[str]] = {}
        self.edge_ids = edge_ids  # with paths: each visit's edge id -> its key (shared)
        k = len(start)
        self.visits = WalkPass(node=list(start), state=[state] * k, level=[0] * k)
        self.at: dict[tuple[str, str], int] | None = None
        if paths:
            self.visits.parent, self.visits.edge = [-1] * k, [-1] * k
            self.visits.way = [None] * k
            self.at = {(s, state): i for i, s in enumerate(start)}


class _Ways:
    """The steps one pass follows along one (direction, kind), as (only_from, then, test), and
    the states they can reach the far node in (closeness.py's `_Ways`)."""

    __slots__ = ("fixed", "keeps", "steps")

    def __init__(self, steps: Sequence[tuple[frozenset[str] | None, str | None, EndsTest]]) -> None:
        self.steps = tuple(steps)
        self.fixed = frozenset(then for _, then, _ in steps if then is not None)
        self.keeps = any(then is None for _, then, _ in steps)

    def done(self, blocked: frozenset[str] | None, states: Sequence[str]) -> bool:
        return (
            blocked is not None
            and self.fixed <= blocked
            and (not self.keeps or blocked.issuperset(states))
        )


def walk_ends(
    ahead: EndsAhead,
    start: Sequence[str],
    steps: Sequence[WalkStep],
    *,
    start_state: str,
    covers: Mapping[str, frozenset[str]],
    max_depth: int,
    max_nodes: int,
    tested: Sequence[str],
    edge_ids: dict[EdgeId, int] | None = None,
    dropped: Dropped | None = None,
) -> Walked:
    """The two passes over `ahead` (`walkable` steps only), as `GraphStore.walk` answers with
    `edges=False`: the visits, truncation and the edges read, as closeness.py counts them.
    With `edge_ids` (filled here: each visit's edge id -> its key in the visits' `edge`), the
    visits' parents, edges and ways too, and `led_on` as traverse learns it; `Walked.edges` is
    left for the caller to fill with the records of those edges (`Neo4jStore.walk`).
    `dropped`: rows the read-ahead left out (`DropRule`), counted as read. `GiveWay` (walk again
    on all the rows) where they could change the answer: at the cap (the walk stops before some
    hop, which may be one left out), or at a start taken up again that was not counted."""
    paths = edge_ids is not None
    start = list(dict.fromkeys(start))
    if dropped is None and (ways := _one_state_ways(steps, tested, start_state)) is not None:
        return _walk_one_state(
            ahead, start, ways, start_state, max_depth=max_depth, cap=max_nodes + len(start),
            edge_ids=edge_ids,
        )  # fmt: skip
    by_way, followed = _tables(steps, tested)
    exact = _Pass(start, start_state, covers, edge_ids)
    every = _Pass(start, start_state, covers, edge_ids)
    led_on: set[str] = set()
    cap = max_nodes + len(start)  # traverse's `len(every.states) - len(start) >= max_nodes`
    visited, truncated = 0, False
    edges = ahead.edges
    # Level 1 straight from the starts: both passes' frontiers are the starts, each in the start
    # state alone; and a node no edge was read from is passed by. The map's downstream walk at
    # 100k: 33,898 starts, 32,341 with no edge left (`DropRule`); walk_ends' CPU 0.215 -> 0.131 s,
    # median x8 interleaved, answers equal (load 1.3; target1-neo4j.md, session 26, later).
    first = [start_state]
    leaving = {origin for origin, _ in edges}
    for depth in range(1, max_depth + 1):
        ids, frontier_states, in_states = _frontier(exact, every, start, start_state, depth)
        if not ids:
            break
        if not ahead.covered.issuperset(ids):
            outside = [i for i in ids if i not in ahead.covered]
            raise LookupError(f"not read ahead: {outside[:3]} ({len(outside)} nodes)")
        out_kinds, in_kinds = _kinds(by_way, frontier_states)
        exact.frontier, every.frontier = [], []
        reached = every.level
        visited += 0 if dropped is None else dropped.at(depth, ids, out_kinds, in_kinds)
        # a node no edge was read from is passed by (most starts: their rows left out)
        for origin in [i for i in ids if i in leaving]:
            hops = _hops_of(origin, edges, out_kinds, in_kinds, followed)
            if not hops:
                continue
            visited += len(hops)
            if truncated:
                continue  # the rest of the level is read, not followed (closeness counts it)
            from_exact, from_every = (  # level 1: every origin is a start, in the start state
                (first, first)
                if in_states is None
                else (in_states[0].get(origin), in_states[1].get(origin))
            )
            for eid, way, values, (on_exact, on_every) in hops:
                if len(reached) >= cap:
                    truncated = True
                    break
                to = eid[2] if way is _OUT else eid[0]
                if (
                    paths
                    and origin not in led_on
                    and _leads(((from_exact, on_exact), (from_every, on_every)), eid, values)
                ):
                    led_on.add(origin)
                if from_exact and not on_exact.done(exact.blocked.get(to), from_exact):
                    _follow(
                        exact, to, (eid, values), from_exact, on_exact.steps,
                        depth=depth, origin=origin, way=way,
                    )  # fmt: skip
                if from_every and not on_every.done(every.blocked.get(to), from_every):
                    _follow(
                        every, to, (eid, values), from_every, on_every.steps,
                        depth=depth, origin=origin, way=way,
                    )  # fmt: skip
        if truncated:
            break
    Dropped.done(dropped, truncated or len(every.level) >= cap)
    return Walked(
        exact=exact.visits,
        every=every.visits,
        edges={},
        led_on=led_on,
        truncated=truncated,
        visited_edges=visited,
    )


# (way, kind) -> the tests of the steps a one-state walk takes along it, in the exact pass and
# in the pass over every step: None, no step (the pass does not follow it); else their tests, any
# one passing follows it (an empty tuple: a step with no test, every edge passes)
_OneWays = dict[tuple[Direction, str], tuple[tuple[EndsTest, ...] | None, ...]]
_ONE_WAYS: dict[tuple[int, tuple[str, ...], str], tuple[Sequence[WalkStep], _OneWays | None]] = {}


def _one_state_ways(
    steps: Sequence[WalkStep], tested: Sequence[str], start_state: str
) -> _OneWays | None:
    """A walk that never leaves its start state (`one_state`: the feature walk of the decision
    trace, a plain policy), its steps' tests by (way, kind); None for a policy of several states.
    Made once per step table when it is a tuple, found by its identity (as `_tables`)."""
    key = (id(steps), tuple(tested), start_state)
    if (hit := _ONE_WAYS.get(key)) is not None and hit[0] is steps:
        return hit[1]
    taken = one_state(steps, start_state)
    ways: _OneWays | None = None
    if taken is not None:
        found: dict[tuple[Direction, str], tuple[list[EndsTest], list[EndsTest]]] = {}
        for step in taken:
            _, _, test = _plain(step, tested, _kind_of)
            exact, every = found.setdefault((step.direction, EdgeKind(step.kind).value), ([], []))
            if step.exact:
                exact.append(test)
            every.append(test)
        ways = {
            way: tuple(_any_of(tests) if tests else None for tests in both)
            for way, both in found.items()
        }
    if isinstance(steps, tuple):
        if len(_ONE_WAYS) >= 64:
            _ONE_WAYS.clear()
        _ONE_WAYS[key] = (steps, ways)
    return ways


def _any_of(tests: Sequence[EndsTest]) -> tuple[EndsTest, ...]:
    """Steps' tests, any one of which passing follows the edge: () when one has none."""
    return () if any(t is None for t in tests) else tuple(tests)


def _walk_one_state(  # noqa: PLR0915 - one level loop, each visit inline (no call a hop)
    ahead: EndsAhead,
    start: list[str],
    ways: _OneWays,
    state: str,
    *,
    max_depth: int,
    cap: int,
    edge_ids: dict[EdgeId, int] | None,
) -> Walked:
    """`walk_ends` of a walk in one state (`_one_state_ways`), with no rows left out. Each node is
    then visited at most once a pass (the start state is blocked wherever a pass has been: the
    states it covers change nothing), so a pass is a BFS: a node it has not reached, along a
    step of its own whose test passes, from a node in its frontier. The same visits in the same
    order (both passes, the edges' keys in `edge_ids` given in the same order: the exact pass's
    first at each hop), the same `led_on`, truncation and edges read as the states' walk
    (`_Pass`, `_follow`), without states per node or per visit. The decision trace's feature
    walk: ~2,000-3,000 edges read, ~1,500 visits a big trace (session 32)."""
    paths = edge_ids is not None
    keys = edge_ids if edge_ids is not None else {}  # each visit's edge id -> its key
    edges, covered = ahead.edges, ahead.covered
    leaving = {origin for origin, _ in edges}
    out_kinds = frozenset(k for w, k in ways if w is _OUT)
    in_kinds = frozenset(k for w, k in ways if w is _IN)
    k = len(start)
    # node -> its visit in each pass (the starts': their places in `start`)
    x_at = {s: i for i, s in enumerate(start)}
    e_at = dict(x_at)
    x_node, e_node = list(start), list(start)
    x_level, e_level = [0] * k, [0] * k
    x_parent, e_parent = [-1] * k, [-1] * k
    x_edge, e_edge = [-1] * k, [-1] * k
    x_way: list[Direction | None] = [None] * k
    e_way: list[Direction | None] = [None] * k
    x_front: list[str] = start
    e_front: list[str] = start
    led_on: set[str] = set()
    visited, truncated = 0, False
    for depth in range(1, max_depth + 1):
        if depth == 1:  # the starts, in both passes
            ids, in_x, in_e = start, None, None
        else:
            ids = list(dict.fromkeys([*x_front, *e_front]))
            in_x, in_e = set(x_front), set(e_front)
        if not ids:
            break
        if not covered.issuperset(ids):
            outside = [i for i in ids if i not in covered]
            raise LookupError(f"not read ahead: {outside[:3]} ({len(outside)} nodes)")
        x_front, e_front = [], []
        for origin in ids:
            if origin not in leaving:
                continue
            hops = _hops_of(origin, edges, out_kinds, in_kinds, ways)
            if not hops:
                continue
            visited += len(hops)
            if truncated:
                continue  # the rest of the level is read, not followed (closeness counts it)
            from_x = in_x is None or origin in in_x
            from_e = in_e is None or origin in in_e
            for eid, way, values, (x_tests, e_tests) in hops:
                if len(e_at) >= cap:
                    truncated = True
                    break
                to = eid[2] if way is _OUT else eid[0]
                x_goes = (
                    from_x
                    and x_tests is not None
                    and (not x_tests or any(t(eid, values) for t in x_tests))
                )
                if (
                    paths
                    and origin not in led_on
                    and (
                        x_goes
                        or (
                            from_e
                            and e_tests is not None
                            and (not e_tests or any(t(eid, values) for t in e_tests))
                        )
                    )
                ):
                    led_on.add(origin)
                if x_goes and to not in x_at:
                    x_at[to] = len(x_node)
                    if paths:
                        x_parent.append(x_at[origin])
                        x_edge.append(keys.setdefault(eid, len(keys)))
                        x_way.append(way)
                    x_node.append(to)
                    x_level.append(depth)
                    x_front.append(to)
                if (
                    from_e
                    and e_tests is not None
                    and to not in e_at
                    and (not e_tests or any(t(eid, values) for t in e_tests))
                ):
                    e_at[to] = len(e_node)
                    if paths:
                        e_parent.append(e_at[origin])
                        e_edge.append(keys.setdefault(eid, len(keys)))
                        e_way.append(way)
                    e_node.append(to)
                    e_level.append(depth)
                    e_front.append(to)
        if truncated:
            break
    exact = WalkPass(node=x_node, state=[state] * len(x_node), level=x_level)
    every = WalkPass(node=e_node, state=[state] * len(e_node), level=e_level)
    if paths:
        exact.parent, exact.edge, exact.way = x_parent, x_edge, x_way
        every.parent, every.edge, every.way = e_parent, e_edge, e_way
    return Walked(
        exact=exact,
        every=every,
        edges={},
        led_on=led_on,
        truncated=truncated,
        visited_edges=visited,
    )


# (way, kind) -> the steps along it; and -> (the exact pass's `_Ways`, every step's)
_ByWay = dict[tuple[Direction, str], list[WalkStep]]
_Followed = dict[tuple[Direction, str], tuple[_Ways, _Ways]]
_TABLES: dict[tuple[int, tuple[str, ...]], tuple[Sequence[WalkStep], _ByWay, _Followed]] = {}


def _tables(steps: Sequence[WalkStep], tested: Sequence[str]) -> tuple[_ByWay, _Followed]:
    """The walk's step tables, made once per step table when it is a tuple (`traverse` hands
    over the same one each time: queries/traversal.py `_walk_steps`), found by its identity.
    Made per walk they cost ~0.7 ms of a ~20 ms impact answer on Neo4j (2026-12-06)."""
    key = (id(steps), tuple(tested))
    if (hit := _TABLES.get(key)) is not None and hit[0] is steps:
        return hit[1], hit[2]
    by_way: _ByWay = {}
    for step in steps:
        by_way.setdefault((step.direction, EdgeKind(step.kind).value), []).append(step)
    followed = {
        way: (
            _Ways([_plain(s, tested, _kind_of) for s in ss if s.exact]),
            _Ways([_plain(s, tested, _kind_of) for s in ss]),
        )
        for way, ss in by_way.items()
    }
    if isinstance(steps, tuple):  # immutable: the same identity is the same table
        if len(_TABLES) >= 64:
            _TABLES.clear()
        _TABLES[key] = (steps, by_way, followed)
    return by_way, followed


@lru_cache(maxsize=1 << 17)
def _kind_of(node_id: str) -> NodeKind:
    """The kind of node an id names (parsed once per id: keys are immutable)."""
    return NodeKey.from_id(node_id).kind


def _leads(
    passes: Iterable[tuple[Sequence[str] | None, _Ways]], eid: EdgeId, values: Sequence[Any]
) -> bool:
    """Whether some step of either pass (the origin's states there, the pass's ways) is
    followed along this edge — traverse's `led_on`, learnt whether or not the far node is new."""
    for states, ways in passes:
        for state in states or ():
            for only_from, _, test in ways.steps:
                if only_from is not None and state not in only_from:
                    continue
                if test is None or test(eid, values):
                    return True
    return False


def _first(hop: tuple[EdgeId, Direction, Sequence[Any], Any]) -> EdgeId:
    return hop[0]


_Edges = dict[tuple[str, Direction], dict[str, dict[EdgeId, Sequence[Any]]]]
_W = TypeVar("_W")


def _hops_of(
    origin: str,
    edges: _Edges,
    out_kinds: frozenset[str],
    in_kinds: frozenset[str],
    ways: Mapping[tuple[Direction, str], _W],
) -> list[tuple[EdgeId, Direction, Sequence[Any], _W]]:
    """The edges a level reads from `origin` (`EndsAhead.edges`) along its kinds, each with its
    way, tested values and `ways`' entry for (way, kind): out then in, sorted by edge id (a
    self-loop's two readings stay in that order). Along the kinds read from the node (one or
    two, most nodes) the level takes, not each kind the level takes (~15 under impact's
    policy), each kind's ways looked up once."""
    hops: list[tuple[EdgeId, Direction, Sequence[Any], _W]] = []
    for way, of_kinds in ((_OUT, out_kinds), (_IN, in_kinds)):
        if of_kinds and (at := edges.get((origin, way))) is not None:
            for kind, of_kind in at.items():
                if kind in of_kinds:
                    found = ways[way, kind]
                    hops.extend([(eid, way, vals, found) for eid, vals in of_kind.items()])
    if len(hops) > 1:
        hops.sort(key=_first)
    return hops


def _kinds(by_way: _ByWay, states: set[str]) -> tuple[frozenset[str], frozenset[str]]:
    """The kinds a level reads out and in: those of the steps some frontier state takes."""
    ways = {
        (direction, kind)
        for (direction, kind), ss in by_way.items()
        if any(s.only_from is None or not s.only_from.isdisjoint(states) for s in ss)
    }
    return (
        frozenset(k for d, k in ways if d is _OUT),
        frozenset(k for d, k in ways if d is _IN),
    )


def _frontier(
    exact: _Pass, every: _Pass, start: list[str], start_state: str, depth: int
) -> tuple[list[str], set[str], tuple[dict[str, list[str]], dict[str, list[str]]] | None]:
    """A level's frontier nodes (in order), their states, and each pass's states per node —
    None at level 1, whose frontier is the starts, all in the start state in both passes."""
    if depth == 1:
        return start, {start_state}, None
    both = [*exact.frontier, *every.frontier]
    ids = list(dict.fromkeys(node for node, _ in both))
    return (
        ids,
        {state for _, state in both},
        (_states_of(exact.frontier), _states_of(every.frontier)),
    )


def _states_of(frontier: list[tuple[str, str]]) -> dict[str, list[str]]:
    states: dict[str, list[str]] = {}
    for node, state in frontier:
        states.setdefault(node, []).append(state)
    return states


def _plain(
    step: WalkStep, tested: Sequence[str], kind_of: Callable[[str], NodeKind]
) -> tuple[frozenset[str] | None, str | None, EndsTest]:
    """A step as (only_from, then, its test on an id and the tested values)."""
    test = step.accepts
    if test is None:
        return step.only_from, step.then, None
    if not isinstance(test, EdgeTest):
        raise TypeError("a step's test in code needs the edge: not walkable on ids")
    src, dst = test.src, test.dst
    at = tested.index(test.unset) if test.unset in tested else None

    def passes(eid: EdgeId, values: Sequence[Any]) -> bool:
        return (
            (src is None or kind_of(eid[0]) in src)
            and (dst is None or kind_of(eid[2]) in dst)
            and (at is None or not values[at])
        )

    return step.only_from, step.then, passes


def _follow(
    walk: _Pass,
    to: str,
    hop: tuple[EdgeId, Sequence[Any]],
    states: Sequence[str],
    steps: Sequence[tuple[frozenset[str] | None, str | None, EndsTest]],
    *,
    depth: int,
    origin: str,
    way: Direction,
) -> None:
    """closeness.py's `_follow`: each step from each state the origin is in (state, then step);
    the far node is reached in each state not yet blocked there, and that visit recorded (with
    `paths`, its parent visit, edge and way too)."""
    blocked = walk.blocked.get(to)
    visits = walk.visits
    eid, values = hop
    for state in states:
        for only_from, step_then, test in steps:
            if only_from is not None and state not in only_from:
                continue
            then = state if step_then is None else step_then
            if blocked is not None and then in blocked:
                continue
            if test is not None and not test(eid, values):
                continue
            if blocked is None:
                walk.level[to] = depth
            # the states blocked there after this visit: a handful of sets, made once each
            if (after := walk.joins.get((blocked, then))) is None:
                after = walk.joins[blocked, then] = frozenset(
                    (*(blocked or ()), then, *walk.covers.get(then, ()))
                )
            blocked = walk.blocked[to] = after
            walk.frontier.append((to, then))
            if (at := walk.at) is not None:
                assert walk.edge_ids is not None
                at[to, then] = len(visits.node)
                visits.parent.append(at[origin, state])
                visits.edge.append(walk.edge_ids.setdefault(eid, len(walk.edge_ids)))
                visits.way.append(way)
            visits.node.append(to)
            visits.state.append(then)
            visits.level.append(depth)


def one_state(steps: Sequence[WalkStep], start_state: str) -> list[WalkStep] | None:
    """The steps a walk in `start_state` can take, if none of them leads to another state
    (else None). Such a walk is two plain BFSes over the same nodes (the exact pass, the pass
    over every step): a node is reached once per pass, at its least level, whatever order a
    level's edges are followed in — a store may walk each level as a set (`Neo4jStore.walk`).
    Only truncation depends on the order: a store walking sets gives up at the cap."""
    taken = [s for s in steps if s.only_from is None or start_state in s.only_from]
    if any(s.then is not None and s.then != start_state for s in taken):
        return None
    return taken


def walked_by_levels(
    start: Sequence[str],
    state: str,
    every: Sequence[Sequence[str]],
    exact: Sequence[Sequence[str]],
    visited: int,
) -> Walked:
    """`Walked` of a one-state walk from the nodes each pass first reached at each level
    (level 1 first), each level's in id order: the visits' order within a level is not
    `traverse`'s (no answer without paths depends on it: closeness.py)."""

    def visits(levels: Sequence[Sequence[str]]) -> WalkPass:
        nodes = list(start)
        depths = [0] * len(nodes)
        for depth, found in enumerate(levels, 1):
            nodes += sorted(found)
            depths += [depth] * len(found)
        return WalkPass(node=nodes, state=[state] * len(nodes), level=depths)

    return Walked(
        exact=visits(exact),
        every=visits(every),
        edges={},
        led_on=set(),
        truncated=False,
        visited_edges=visited,
    )
