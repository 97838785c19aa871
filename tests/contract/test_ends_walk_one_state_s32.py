"""graph/ends_walk.py `walk_ends` walks a policy of one state (the decision trace's feature walk)
on its own loop (`_walk_one_state`, session 32): a node visited at most once a pass, no states
per node or per visit. Against `walk_ends` as it was before (kept verbatim below, with the
helpers it called): on generated graphs, read ahead whole or in part, from many starts (repeats
and nodes without edges too), under generated one-state policies (steps from other states with
other next states among them, tests on kinds and a property, any covers) and the trace's feature
walk, and under policies of several states (which must not take the new loop), with and without
paths, at any depth and cap: the same visits in the same order (node, state, level, parent, edge
key, way, both passes), the same edge keys in the same order, the same `led_on`, truncation and
edges read, or the same error."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.graph import ends_walk
from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.ends_walk import (
    Dropped,
    EndsAhead,
    EndsTest,
    _kind_of,
    walk_ends,
    walkable,
)
from lineage_kg.graph.model import COLUMN_LINEAGE, Certainty, EdgeKind, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.records import EdgeId
from lineage_kg.graph.store import EdgeTest, Walked, WalkPass, WalkStep
from lineage_kg.queries.decision_trace import _FEATURE_STEPS
from lineage_kg.queries.traversal import PLAIN, Step, _walk_steps
from tests.contract.test_closeness_property import (
    NODES,
    POLICIES,
    WALKED,
    graphs,
    load,
    policies,
)

_OUT, _IN = Direction.OUT, Direction.IN
K = NodeKind

# ---- walk_ends before session 32, verbatim (graph/ends_walk.py at 4782cdc) ------------------


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


def walk_ends_before(
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
            # out then in, each by edge id: a self-loop's two readings stay in that order. Along
            # the kinds read from it (one or two, most nodes) the level takes, not each kind the
            # level takes (~15 under impact's policy), each kind's ways looked up once
            hops: list[_Hop] = []
            for way, of_kinds in ((_OUT, out_kinds), (_IN, in_kinds)):
                if of_kinds and (at := edges.get((origin, way))) is not None:
                    for kind, of_kind in at.items():
                        if kind in of_kinds:
                            ways = followed[way, kind]
                            hops.extend([(eid, way, vals, ways) for eid, vals in of_kind.items()])
            if not hops:
                continue
            visited += len(hops)
            if truncated:
                continue  # the rest of the level is read, not followed (closeness counts it)
            if len(hops) > 1:
                hops.sort(key=_first)
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


# an edge read from a frontier node: its id, way, tested values, and the passes' ways along it
_Hop = tuple[EdgeId, Direction, Sequence[Any], tuple[_Ways, _Ways]]


def _first(hop: _Hop) -> EdgeId:
    return hop[0]


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


# ---- the test ---------------------------------------------------------------------------------

STATES = ("s0", "s1", "s2")
_TESTS = [
    None,
    EdgeTest(src=frozenset({K.COLUMN, K.DATASET})),
    EdgeTest(dst=frozenset({K.FEATURE, K.MODEL_VERSION, K.FEATURE_VIEW})),
    EdgeTest(unset=COLUMN_LINEAGE),
]


@st.composite
def one_state_policies(
    draw: st.DrawFn, kinds: Sequence[EdgeKind]
) -> tuple[list[Step], str, dict[str, frozenset[str]]]:
    """Policies whose start state is the only one a walk is ever in: steps from it (or from any
    state) keeping it, and steps only from other states, leading anywhere (never taken); mostly
    along `kinds` (the graph's)."""
    state = draw(st.sampled_from(STATES))
    others = [s for s in STATES if s != state]
    # the graph's kinds, each along a way or two, and now and then any kind
    along = [k for k in kinds for _ in range(draw(st.integers(0, 2)))]
    along += draw(st.lists(st.sampled_from(WALKED), max_size=2))
    steps = []
    for kind in draw(st.permutations(along)):
        taken = draw(st.integers(0, 4)) > 0
        if taken:
            only = draw(st.sampled_from([None, frozenset({state}), frozenset(STATES)]))
            then = draw(st.sampled_from([None, state]))
        else:
            only = draw(st.frozensets(st.sampled_from(others), min_size=1))
            then = draw(st.sampled_from([None, *STATES]))
        steps.append(
            Step(
                kind,
                draw(st.sampled_from(list(Direction))),
                draw(st.sampled_from([Certainty.EXACT, Certainty.POSSIBLE, None])),
                then=then,
                only_from=only,
                accepts=draw(st.sampled_from([None, None, *_TESTS])),
            )
        )
    covers = {
        s: draw(st.frozensets(st.sampled_from([o for o in STATES if o != s]))) for s in STATES
    }
    return steps, state, covers


def _read_ahead(
    store: EmbeddedStore, tested: tuple[str, ...], covered: Iterable[str], odd: Any
) -> EndsAhead:
    """The covered nodes' edges of every walked kind, each way, as the walk statement sends them
    (a tested value that is not true now and then another falsy or truthy value)."""
    ids = list(covered)
    rows: list[Any] = []
    for way, out in ((Direction.OUT, True), (Direction.IN, False)):
        for edge in store.neighbors(ids, way, WALKED):
            values = [edge.props.get(t, odd) for t in tested]
            rows.append((*edge.key.id, out, values))
    return EndsAhead(ids, rows)


def _shape(walked: Walked) -> tuple[Any, ...]:
    def of(p: WalkPass) -> tuple[Any, ...]:
        return (p.node, p.state, p.level, p.parent, p.edge, p.way)

    return (of(walked.exact), of(walked.every), walked.edges, walked.led_on, walked.truncated,
            walked.visited_edges)  # fmt: skip


def _run(walk: Callable[..., Walked], **args: Any) -> tuple[Any, ...]:
    edge_ids: dict[EdgeId, int] | None = {} if args.pop("paths") else None
    try:
        walked = walk(edge_ids=edge_ids, **args)
    except LookupError as e:
        return ("LookupError", str(e))
    return (_shape(walked), None if edge_ids is None else list(edge_ids.items()))


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)  # fmt: skip
@given(st.data())
def test_walk_ends_is_the_walk_before(data: st.DataObject) -> None:
    edges = data.draw(graphs().filter(lambda es: len(es) >= 5), "graph")
    met = sorted({n for src, _, dst, _ in edges for n in (src, dst)}, key=str)
    starts = data.draw(  # mostly nodes with edges; repeats too: both walks drop them
        st.lists(st.sampled_from(met) | st.sampled_from(NODES), min_size=0, max_size=8), "starts"
    )
    kinds = sorted({kind for _, kind, _, _ in edges}, key=str)
    steps, state, covers = data.draw(
        st.one_of(
            one_state_policies(kinds),
            one_state_policies(kinds),
            st.just((_FEATURE_STEPS, PLAIN, {})),
            st.sampled_from(sorted(POLICIES)).map(POLICIES.__getitem__),
            policies(),
        ),
        "policy",
    )
    walk_steps = _walk_steps(steps)
    if not walkable(walk_steps):
        return  # a test in code needs the edge: Neo4j leaves it to the level loop
    depth = data.draw(st.integers(0, 6), "depth")
    cap = data.draw(st.sampled_from([1, 2, 3, 5, 8, 10_000]), "cap")
    paths = data.draw(st.booleans(), "paths")
    cover = data.draw(st.sampled_from(["all", "all", "all", "half"]), "read ahead")
    odd = data.draw(st.sampled_from([None, False, 0, "", 1, "yes"]), "a tested value")
    store = EmbeddedStore()
    load(store, edges, starts)
    tested = ends_walk.tested_props(walk_steps)  # (imported, pytest would take it for a test)
    every = [n.id for n in NODES]
    ahead = _read_ahead(store, tested, every if cover == "all" else every[::2], odd)
    ids = [s.id for s in starts]
    args: dict[str, Any] = {
        "start_state": state, "covers": covers or {}, "max_depth": depth, "max_nodes": cap,
        "tested": tested, "paths": paths,
    }  # fmt: skip
    assert _run(walk_ends, ahead=ahead, start=ids, steps=walk_steps, **args) == _run(
        walk_ends_before, ahead=ahead, start=ids, steps=walk_steps, **args
    )


def test_the_feature_walk_and_a_plain_policy_take_the_one_state_loop() -> None:
    """The loop is taken where it should be (else the property test compares the old code with
    itself): the trace's feature walk and `upstream`, not impact's policy of several states."""
    feature = _walk_steps(_FEATURE_STEPS)
    assert ends_walk._one_state_ways(feature, (), PLAIN) is not None
    upstream = _walk_steps(POLICIES["upstream"][0])
    assert ends_walk._one_state_ways(upstream, ends_walk.tested_props(upstream), PLAIN)
    impact, start, _ = POLICIES["impact"]
    steps = _walk_steps(impact)
    assert ends_walk._one_state_ways(steps, ends_walk.tested_props(steps), start) is None
