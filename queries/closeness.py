"""How close each node a walk reaches is, and how sure: `traverse`'s answer without the paths.

Questions that ask only "which nodes, how far, exact or possible" about a walk from many starts
(the accountability map walks from every asset a team owns and from their columns and versions:
thousands of starts) pay for the paths `traverse` keeps — a tuple per (node, state) reached, a
`Hop` and a sort key per edge read — and never look at them. On a store that walks itself
(`GraphStore.walk`: the embedded store, over its integer adjacency) both questions take the
store's walk through traversal.py's `store_walk`, this one without asking for edges. Elsewhere
(Neo4j) `closeness` walks the same two
passes level by level, reading the store exactly as `traverse` does (`GraphStore.reach` ahead on
Neo4j, else one `neighbors_each_way` per level), following the edges in the same order (by the
frontier node they leave, then by edge id): the order decides which walk state reaches a node
first, and so what a state it covers may skip. So the nodes, distances, certainty and truncation
are `traverse`'s; only `Reached.path` is left empty and `led_on` unfilled. The property test
(tests/contract/test_closeness_property.py) holds it to `traverse` on generated graphs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter, itemgetter
from typing import TypeVar

from lineage_kg.graph.model import Certainty, EdgeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.records import EdgeId, StoredEdge
from lineage_kg.graph.store import GraphStore, PairedWalk, Walked
from lineage_kg.queries.traversal import (
    PLAIN,
    START_REACH,
    Reached,
    State,
    Step,
    Traversal,
    WalkSpec,
    read_ahead,
    states_of,
    store_walk,
    store_walked_pair,
    walk_spec,
    walked_reach,
    ways_to_read,
)
from lineage_kg.queries.traversal import _walk_steps as walk_steps

T = TypeVar("T")
_FIRST = itemgetter(0)
_OUT = Direction.OUT


class _Pass:
    """One BFS over (node, state). Per node: the states a step may no longer reach it in (those
    it was reached in and those they cover: `traverse`'s "not fresh"), and the level it was
    first reached at (its distance: a BFS reaches it no later in any other state). And this
    level's frontier."""

    __slots__ = ("blocked", "covers", "frontier", "level")

    def __init__(
        self, start: Sequence[str], state: State, covers: Mapping[State, frozenset[State]]
    ) -> None:
        # frozen sets, shared until a node is reached in one more state (most never are)
        self.blocked: dict[str, frozenset[State]] = dict.fromkeys(
            start, frozenset({state, *covers.get(state, ())})
        )
        self.level: dict[str, int] = dict.fromkeys(start, 0)
        self.frontier: list[tuple[str, State]] = [(s, state) for s in start]
        self.covers = covers


class _Ways:
    """The steps one pass follows along one (direction, kind), and the states they can reach
    the far node in: `fixed` from the steps that name one, plus the origin's own if `keeps`
    (a step that keeps the state it came with)."""

    __slots__ = ("fixed", "keeps", "steps")

    def __init__(self, steps: Sequence[Step]) -> None:
        self.steps = tuple(steps)
        self.fixed = frozenset(s.then for s in steps if s.then is not None)
        self.keeps = any(s.then is None for s in steps)

    def done(self, blocked: frozenset[State] | None, states: Sequence[State]) -> bool:
        """Nothing left to find along here: every state a step could reach is blocked."""
        return (
            blocked is not None
            and self.fixed <= blocked
            and (not self.keeps or blocked.issuperset(states))
        )


def closeness(
    store: GraphStore,
    start: Iterable[str],
    steps: Sequence[Step],
    *,
    max_depth: int = 10,
    as_of: str | None = None,
    max_nodes: int = 100_000,
    start_state: State = PLAIN,
    covers: Mapping[State, frozenset[State]] | None = None,
) -> Traversal:
    """`traverse(store, start, steps, …)` with every `Reached.path` empty (and `led_on` empty)."""
    spec = walk_spec(
        start,
        steps,
        max_depth=max_depth,
        as_of=as_of,
        max_nodes=max_nodes,
        start_state=start_state,
        covers=covers,
    )
    return closeness_of(store, spec)


@dataclass(frozen=True, slots=True)
class Policy:
    """One of `reach_pair`'s two walks: its steps, its starts' state, its covers."""

    steps: Sequence[Step]
    start_state: State = PLAIN
    covers: Mapping[State, frozenset[State]] | None = None


Reach = dict[str, tuple[int, Certainty]]  # node id -> (distance, certainty)


@dataclass(slots=True)
class Nearness:
    """A walk's nodes, starts included, as (distance, certainty) alone: each start at
    `START_REACH` (the same object), each node reached at its `Reached`'s."""

    reach: Reach
    truncated: bool


def reach_pair(
    store: GraphStore,
    start: Iterable[str],
    first: Policy,
    second: Policy,
    *,
    max_depth: int = 10,
    as_of: str | None = None,
    max_nodes: int = 100_000,
) -> tuple[Nearness, Nearness]:
    """`closeness` of each policy from the same starts, each exactly its answer alone, as
    `Nearness`: the store asked for both walks in one call (`GraphStore.walk_pair`; Neo4j walks
    them at once), or each walked as `closeness` walks it. A walk the store answers itself is
    read from its visits directly (`walked_reach`: no `Reached` made per node, ~10k-40k a walk
    at 100k)."""
    start = tuple(start)
    first_spec, second_spec = _specs(start, (first, second), max_depth, as_of, max_nodes)
    if (pair := store_walked_pair(store, first_spec, second_spec)) is None:
        return nearness_of(closeness_of(store, first_spec)), nearness_of(
            closeness_of(store, second_spec)
        )
    one, two = pair  # a None first walked level by level before the second is asked again
    near_one = (
        nearness_of(_by_levels(store, first_spec))
        if one is None
        else Nearness(walked_reach(start, one), one.truncated)
    )
    near_two = (
        nearness_of(closeness_of(store, second_spec))
        if two is None
        else Nearness(walked_reach(start, two), two.truncated)
    )
    return near_one, near_two


def reach_pair_then(
    store: GraphStore,
    start: Iterable[str],
    first: Policy,
    second: Policy,
    *,
    then: Callable[[int, Nearness], T],
    max_depth: int = 10,
    as_of: str | None = None,
    max_nodes: int = 100_000,
) -> tuple[tuple[Nearness, T | None], tuple[Nearness, T | None]]:
    """`reach_pair`'s two answers, each with `then` of the walk's place (0 first, 1 second) and
    its answer when the store walks the pair itself with a call after each walk
    (`walk_pair_then`: Neo4j, the second walk on a worker thread):
    `then` runs on the thread that walked, as soon as its walk ended, so the caller's reads after
    one walk overlap the other walk. None beside a walk not answered so (a store without it, a
    request's view, a walk the store gave up and `reach_pair`'s fallback walked): the caller
    does that part after. Each `Nearness` is exactly `reach_pair`'s."""
    start = tuple(start)
    pair_then = getattr(store, "walk_pair_then", None) if isinstance(store, GraphStore) else None
    if pair_then is None:
        one, two = reach_pair(
            store, start, first, second, max_depth=max_depth, as_of=as_of, max_nodes=max_nodes
        )
        return (one, None), (two, None)
    first_spec, second_spec = _specs(start, (first, second), max_depth, as_of, max_nodes)
    paired = [
        PairedWalk(walk_steps(spec.steps), spec.start_state, spec.covers)
        for spec in (first_spec, second_spec)
    ]

    def after(asked: PairedWalk, walked: Walked) -> tuple[Nearness, T]:
        near = Nearness(walked_reach(start, walked), walked.truncated)
        return near, then(0 if asked is paired[0] else 1, near)

    one_then, two_then = pair_then(
        first_spec.start,
        *paired,
        then=after,
        max_depth=max_depth,
        as_of=as_of,
        max_nodes=max_nodes,
    )
    # a walk the store gave up: `reach_pair`'s fallbacks (the first level by level, the second
    # as `closeness` walks it), in its order
    one = (nearness_of(_by_levels(store, first_spec)), None) if one_then is None else one_then
    two = (nearness_of(closeness_of(store, second_spec)), None) if two_then is None else two_then
    return one, two


def _specs(
    start: tuple[str, ...],
    policies: tuple[Policy, Policy],
    max_depth: int,
    as_of: str | None,
    max_nodes: int,
) -> tuple[WalkSpec, WalkSpec]:
    """The two walks of a pair from the same starts, one per policy."""
    one, two = (
        walk_spec(
            start, p.steps, max_depth=max_depth, as_of=as_of, max_nodes=max_nodes,
            start_state=p.start_state, covers=p.covers,
        )
        for p in policies
    )  # fmt: skip
    return one, two


def nearness_of(walk: Traversal) -> Nearness:
    """A walk's answer as `Nearness`: its starts at `START_REACH`, then what it reached."""
    found: Reach = dict.fromkeys(walk.start, START_REACH)
    found.update(zip(walk.reached, map(_DISTANCE_CERTAINTY, walk.reached.values()), strict=True))
    return Nearness(found, walk.truncated)


_DISTANCE_CERTAINTY = attrgetter("distance", "certainty")


def closeness_of(store: GraphStore, spec: WalkSpec) -> Traversal:
    """`closeness` of a walk's checked arguments."""
    return store_walk(store, spec, paths=False) or _by_levels(store, spec)


def _by_levels(store: GraphStore, spec: WalkSpec) -> Traversal:
    """The walk level by level over the store's reads (a store with no walk of its own)."""
    start, covers, steps = spec.start, spec.covers, spec.steps
    max_depth, as_of, max_nodes = spec.max_depth, spec.as_of, spec.max_nodes
    by_way: dict[tuple[Direction, EdgeKind], list[Step]] = {}
    for step in steps:
        by_way.setdefault((step.direction, step.kind), []).append(step)
    # per way: the steps the exact pass follows (exact or certainty-keeping) and all of them
    followed = {
        way: (_Ways([s for s in ss if s.certainty is not Certainty.POSSIBLE]), _Ways(ss))
        for way, ss in by_way.items()
    }
    exact, every = _Pass(start, spec.start_state, covers), _Pass(start, spec.start_state, covers)
    result = Traversal(start)
    ahead = read_ahead(store, spec)
    cap = max_nodes + len(start)  # traverse's `len(every.states) - len(start) >= max_nodes`
    for depth in range(1, max_depth + 1):
        frontier = [*exact.frontier, *every.frontier]
        ids = list(dict.fromkeys(node for node, _ in frontier))
        if not ids:
            break
        ways = ways_to_read(by_way, {state for _, state in frontier})
        read = (
            store.neighbors_each_way(ids, ways, as_of)
            if ahead is None
            else ahead.neighbors_each_way(ids, ways)
        )
        result.visited_edges += len(read)
        if not _level(exact, every, ids, read, followed, depth=depth, cap=cap):
            result.truncated = True
            break
    starting = set(start)
    exact_level = exact.level
    for node_id, level in every.level.items():
        if node_id in starting:
            continue
        if (first := exact_level.get(node_id)) is not None:
            result.reached[node_id] = Reached(node_id, first, Certainty.EXACT, ())
        else:
            result.reached[node_id] = Reached(node_id, level, Certainty.POSSIBLE, ())
    return result


Followed = Mapping[tuple[Direction, EdgeKind], tuple[_Ways, _Ways]]


def _level(
    exact: _Pass,
    every: _Pass,
    ids: list[str],
    read: list[tuple[StoredEdge, Direction]],
    followed: Followed,
    *,
    depth: int,
    cap: int,
) -> bool:
    """One level: the edges `read` from the frontier `ids`, followed in traverse's order (by the
    node they leave, in frontier order, then by edge id; a stable sort). False: stopped at `cap`
    nodes, as traverse stops (before the edge that would find one more)."""
    # an edge id is (src id, kind, dst id, disc): the ends without a property call each
    leaving: dict[str, list[tuple[EdgeId, StoredEdge, Direction]]] = {}
    for edge, way in read:
        eid = edge.key.id
        hop = (eid, edge, way)
        origin = eid[0] if way is _OUT else eid[2]
        if (hops := leaving.get(origin)) is None:
            leaving[origin] = [hop]
        else:
            hops.append(hop)
    in_exact, in_every = states_of(exact.frontier), states_of(every.frontier)
    exact.frontier, every.frontier = [], []
    reached = every.level
    for origin in ids:
        hops = leaving.get(origin)
        if hops is None:
            continue
        if len(hops) > 1:
            hops.sort(key=_FIRST)
        from_exact, from_every = in_exact.get(origin), in_every.get(origin)
        for eid, edge, way in hops:
            if len(reached) >= cap:
                return False
            to = eid[2] if way is _OUT else eid[0]
            on_exact, on_every = followed[(way, edge.key.kind)]
            if from_exact and not on_exact.done(exact.blocked.get(to), from_exact):
                _follow(exact, to, edge, from_exact, on_exact.steps, depth=depth)
            if from_every and not on_every.done(every.blocked.get(to), from_every):
                _follow(every, to, edge, from_every, on_every.steps, depth=depth)
    return True


def _follow(
    walk: _Pass,
    to: str,
    edge: StoredEdge,
    states: Sequence[State],
    steps: Sequence[Step],
    *,
    depth: int,
) -> None:
    """Each step from each state the origin is in, as `traverse` takes them (state, then step):
    the far node is reached in each state not yet blocked there."""
    blocked = walk.blocked.get(to)
    for state in states:
        for step in steps:
            if step.only_from is not None and state not in step.only_from:
                continue
            then = state if step.then is None else step.then
            if blocked is not None and then in blocked:
                continue
            if step.accepts is not None and not step.accepts(edge):  # pure: asked last
                continue
            if blocked is None:
                blocked = frozenset()
                walk.level[to] = depth
            blocked = walk.blocked[to] = blocked.union((then,), walk.covers.get(then, ()))
            walk.frontier.append((to, then))
