"""Bounded breadth-first traversal over the store, one frontier per level.

Never enumerates paths (a lattice of diamonds has exponentially many): each node is reached once
per pass and walk state, with a parent pointer from which one shortest explaining path is
rebuilt. A node's certainty is the best over all paths: `exact` if some path uses only exact
(field-level) steps, found by a first pass over exact steps alone; everything else reached is
`possible`.

The steps followed are a policy (which edge kinds, which way, how certain), so impact and root
cause share this code and differ only in their step tables. A policy may carry a small walk
state: a step can apply only from nodes reached in some states, only to edges it accepts, and
say in which state the far node is reached (impact tells "a dataset entered from one of its
columns" from "the whole dataset changed"). Each (node, state) is visited once per pass, so the
work stays bounded by the number of states.

Reads: a store that can (Neo4j) answers the whole walk's reads ahead, in one statement
(`GraphStore.reach`: every node the policy's kinds and states can reach within the depth, with
their edges); the level loop then reads from that, unchanged — same order, same answers, same
truncation. Otherwise, or when the read-ahead would cover more than `max_nodes`, each level is
one store round trip.
"""

from __future__ import annotations

import operator
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain

from lineage_kg.graph.errors import InvalidArgument, NotFound
from lineage_kg.graph.model import Certainty, EdgeKind, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.records import StoredEdge, StoredNode
from lineage_kg.graph.store import (
    EdgeTest,
    GraphStore,
    Moves,
    Neighborhood,
    PairedWalk,
    Walked,
    WalkPass,
    WalkStep,
)
from lineage_kg.queries.arguments import check_depth

State = str
PLAIN: State = ""  # the one state of a policy that needs none


@dataclass(frozen=True, slots=True)
class Step:
    """Follow `kind` edges in `direction`; `certainty` None keeps the certainty it arrived with
    (e.g. from a column to the dataset holding it).

    `only_from`: the states this step is followed from (None: any); `accepts`: the edges it
    follows (None: every one); `then`: the state the far node is reached in (None: the state
    the walk came with)."""

    kind: EdgeKind
    direction: Direction
    certainty: Certainty | None
    then: State | None = None
    only_from: frozenset[State] | None = None
    accepts: Callable[[StoredEdge], bool] | None = None

    def follows(self, state: State, edge: StoredEdge) -> bool:
        return (self.only_from is None or state in self.only_from) and (
            self.accepts is None or self.accepts(edge)
        )


@dataclass(frozen=True, slots=True)
class Hop:
    edge: StoredEdge
    direction: Direction  # the way it was walked

    @property
    def to(self) -> str:
        return self.edge.key.dst.id if self.direction is Direction.OUT else self.edge.key.src.id


@dataclass(frozen=True, slots=True)
class Reached:
    node_id: str
    distance: int
    certainty: Certainty
    path: tuple[Hop, ...]  # from the start to this node


# Frozen dataclasses set their fields through `object.__setattr__`, one call each: half the cost
# of building the hundreds of hops and reached nodes of an answer. These make the same frozen
# objects through the slots' own setters (as the dataclass's: tests/unit/test_fast_records.py).
_new = object.__new__
_hop_edge, _hop_direction = Hop.edge.__set__, Hop.direction.__set__  # type: ignore[attr-defined]
_r_node, _r_distance = Reached.node_id.__set__, Reached.distance.__set__  # type: ignore[attr-defined]
_r_certainty, _r_path = Reached.certainty.__set__, Reached.path.__set__  # type: ignore[attr-defined]


def make_hop(edge: StoredEdge, direction: Direction) -> Hop:
    """`Hop(edge, direction)`, faster."""
    hop = _new(Hop)
    _hop_edge(hop, edge)
    _hop_direction(hop, direction)
    return hop  # type: ignore[no-any-return]


def make_reached(
    node_id: str, distance: int, certainty: Certainty, path: tuple[Hop, ...]
) -> Reached:
    """`Reached(node_id, distance, certainty, path)`, faster."""
    r = _new(Reached)
    _r_node(r, node_id)
    _r_distance(r, distance)
    _r_certainty(r, certainty)
    _r_path(r, path)
    return r  # type: ignore[no-any-return]


@dataclass(slots=True)
class Traversal:
    start: tuple[str, ...]
    reached: dict[str, Reached] = field(default_factory=dict)
    truncated: bool = False  # stopped at max_nodes before the frontier ran out
    visited_edges: int = 0
    led_on: set[str] = field(default_factory=set)  # nodes some step was followed from


Visit = tuple[str, State]  # a node in a walk state


class _Pass:
    """One BFS over (node, state): the path first found to each, and this level's frontier.
    `covers[s]`: states whose walks a walk in state `s` includes, so they are skipped once `s`
    reached the node (BFS: it got there no later)."""

    def __init__(
        self, start: Sequence[str], state: State, covers: Mapping[State, frozenset[State]]
    ) -> None:
        self.paths: dict[Visit, tuple[Hop, ...]] = {(s, state): () for s in start}
        self.states: dict[str, list[State]] = {s: [state] for s in start}
        self.frontier: list[Visit] = [(s, state) for s in start]
        self._covers = covers

    def fresh(self, node: str, state: State) -> bool:
        known = self.states.get(node, ())
        return state not in known and not any(state in self._covers.get(k, ()) for k in known)

    def add(self, node: str, state: State, path: tuple[Hop, ...]) -> None:
        self.states.setdefault(node, []).append(state)
        self.paths[(node, state)] = path
        self.frontier.append((node, state))

    def best(self, node: str) -> tuple[Hop, ...] | None:
        """The shortest path to `node` in any state (the first found among equals)."""
        found = [self.paths[(node, s)] for s in self.states.get(node, ())]
        return min(found, key=len) if found else None


@dataclass(frozen=True, slots=True)
class WalkSpec:
    """One walk's question, its arguments checked once (`walk_spec`) and handed on whole to the
    store's walk or the level loop (`traverse`, `walk_visits`, closeness.py's `closeness`)."""

    start: tuple[str, ...]  # without repeats, in the order given
    steps: Sequence[Step]
    max_depth: int
    as_of: str | None
    max_nodes: int
    start_state: State
    covers: Mapping[State, frozenset[State]]


def walk_spec(
    start: Iterable[str],
    steps: Sequence[Step],
    *,
    max_depth: int = 10,
    as_of: str | None = None,
    max_nodes: int = 100_000,
    start_state: State = PLAIN,
    covers: Mapping[State, frozenset[State]] | None = None,
) -> WalkSpec:
    """A walk's arguments checked, its starts without repeats (in the order given)."""
    check_depth(max_depth)
    if max_nodes < 1:
        raise InvalidArgument("max_nodes must be positive")
    start = tuple(dict.fromkeys(start))
    return WalkSpec(start, steps, max_depth, as_of, max_nodes, start_state, covers or {})


def walk_visits(
    store: GraphStore,
    start: Iterable[str],
    steps: Sequence[Step],
    *,
    max_depth: int = 10,
    as_of: str | None = None,
    max_nodes: int = 100_000,
    start_state: State = PLAIN,
    covers: Mapping[State, frozenset[State]] | None = None,
    owners_next: bool = False,
) -> Visits:
    """`traverse`'s walk with its paths not made yet: for a caller that keeps only some of the
    nodes reached (impact's training data, `kinds`, `exact_only`) and builds `Hop` paths only
    for those (`Visits.path`). On a store that walks itself, the answer is read from the
    walk's parent pointers; otherwise it is `traverse`'s. `owners_next`: the caller reads
    `nodes_and_owners` of the nodes reached next (`GraphStore.walk`)."""
    spec = walk_spec(
        start,
        steps,
        max_depth=max_depth,
        as_of=as_of,
        max_nodes=max_nodes,
        start_state=start_state,
        covers=covers,
    )
    walked = _store_walked(store, spec, paths=True, owners_next=owners_next)
    if walked is not None:
        return _WalkedVisits(spec.start, walked)
    return ReachedVisits(_by_levels(store, spec))


def traverse(
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
    """Everything reachable from `start` along `steps` within `max_depth` hops.

    Two BFS at once, level by level, sharing each round trip: one over exact (and
    certainty-keeping) steps only, one over all steps. A node is exact if the first reaches it
    (its path there is exact), else possible with the second's shortest path.
    """
    spec = walk_spec(
        start,
        steps,
        max_depth=max_depth,
        as_of=as_of,
        max_nodes=max_nodes,
        start_state=start_state,
        covers=covers,
    )
    walked = store_walk(store, spec, paths=True)
    return walked if walked is not None else _by_levels(store, spec)


def _by_levels(store: GraphStore, spec: WalkSpec) -> Traversal:
    """`traverse` walked here, one store read per level (or from the store's read-ahead)."""
    start, steps, max_nodes, as_of = spec.start, spec.steps, spec.max_nodes, spec.as_of
    by_way: dict[tuple[Direction, EdgeKind], list[Step]] = {}
    for step in steps:
        by_way.setdefault((step.direction, step.kind), []).append(step)
    exact, every = (
        _Pass(start, spec.start_state, spec.covers),
        _Pass(start, spec.start_state, spec.covers),
    )
    result = Traversal(start)
    ahead = read_ahead(store, spec)
    for _depth in range(spec.max_depth):
        ids = list(dict.fromkeys(node for node, _ in [*exact.frontier, *every.frontier]))
        if not ids:
            break
        ways = ways_to_read(by_way, {state for _, state in [*exact.frontier, *every.frontier]})
        read = (
            store.neighbors_each_way(ids, ways, as_of)
            if ahead is None
            else ahead.neighbors_each_way(ids, ways)
        )
        found = [Hop(edge, way) for edge, way in read]
        result.visited_edges += len(found)
        # deterministic: by the node we came from (frontier order), then edge id
        order = {node: i for i, node in enumerate(ids)}
        found.sort(key=lambda h: (order[_origin(h)], h.edge.key.id))
        in_exact, in_every = states_of(exact.frontier), states_of(every.frontier)
        exact.frontier, every.frontier = [], []
        for hop in found:
            origin, followed = _origin(hop), by_way[(hop.direction, hop.edge.key.kind)]
            if len(every.states) - len(start) >= max_nodes:
                result.truncated = True
                break
            for walk, states in ((exact, in_exact), (every, in_every)):
                for state in states.get(origin, ()):
                    for step in followed:
                        if walk is exact and step.certainty is Certainty.POSSIBLE:
                            continue
                        if not step.follows(state, hop.edge):
                            continue
                        result.led_on.add(origin)
                        then = state if step.then is None else step.then
                        if walk.fresh(hop.to, then):
                            walk.add(hop.to, then, (*walk.paths[(origin, state)], hop))
        if result.truncated:
            break
    starting = set(start)  # a set: `in` on the tuple was quadratic for walks with many starts
    for node_id in every.states:
        if node_id in starting:
            continue
        if (best := exact.best(node_id)) is not None:
            result.reached[node_id] = Reached(node_id, len(best), Certainty.EXACT, best)
        else:
            path = every.best(node_id) or ()
            result.reached[node_id] = Reached(node_id, len(path), Certainty.POSSIBLE, path)
    return result


def read_ahead(store: GraphStore, spec: WalkSpec) -> Neighborhood | None:
    """The store's read of the whole walk's neighbourhood ahead (`GraphStore.reach`), if any."""
    return store.reach(
        spec.start,
        moves(spec.steps, spec.start_state),
        start_state=spec.start_state,
        max_depth=spec.max_depth,
        as_of=spec.as_of,
        limit=spec.max_nodes + len(spec.start),
    )


def store_walk(store: GraphStore, spec: WalkSpec, *, paths: bool) -> Traversal | None:
    """The walk run by the store itself (`GraphStore.walk`: the embedded store walks its integer
    adjacency, building edges only for the visits' paths), as `traverse` answers it — with the
    explaining paths and `led_on` when `paths`, else distances and certainty alone. None when
    the store cannot, or when `store` is a view of one whose class has no `walk`."""
    walked = _store_walked(store, spec, paths=paths)
    return None if walked is None else _answer(spec.start, walked, paths)


def store_walked_pair(
    store: GraphStore, first: WalkSpec, second: WalkSpec
) -> tuple[Walked | None, Walked | None] | None:
    """`store_walk` (without paths) of two walks that differ only in their policy, asked of the
    store at once (`GraphStore.walk_pair`: Neo4j runs them at the same time), as the store
    answers them (its visits, not made into `Traversal`s: `walked_reach` reads them directly).
    None when the store (a view of one) does not walk pairs itself. Each walk None as
    `store_walk` answers it; the caller walks a None first level by level, and then asks the
    store for a None second on its own (a request's budget answers both None when it refuses
    the first: api/graphql/traversal_budget.py)."""
    if not answers_itself(store, "walk_pair"):
        return None
    ours = (first.start, first.max_depth, first.as_of, first.max_nodes)
    if ours != (second.start, second.max_depth, second.as_of, second.max_nodes):
        raise ValueError("a walk pair shares its starts and bounds")
    return store.walk_pair(
        first.start,
        PairedWalk(_walk_steps(first.steps), first.start_state, first.covers),
        PairedWalk(_walk_steps(second.steps), second.start_state, second.covers),
        max_depth=first.max_depth,
        as_of=first.as_of,
        max_nodes=first.max_nodes,
        edges=False,
    )


def answers_itself(store: GraphStore, method: str) -> bool:
    """Whether `store` answers `method` (its walk, its read-ahead) itself: a store does; a view of
    one only if its class says how (the request budget charges it: api/graphql/traversal_budget.py).
    A view forwarding every call, as tests' read counters do, does not: the caller then reads level
    by level, so that its reads are seen."""
    return isinstance(store, GraphStore) or getattr(type(store), method, None) is not None


def _store_walked(
    store: GraphStore, spec: WalkSpec, *, paths: bool, owners_next: bool = False
) -> Walked | None:
    """`GraphStore.walk`'s answer, or None (see `store_walk`)."""
    if not answers_itself(store, "walk"):
        return None
    return store.walk(
        spec.start,
        _walk_steps(spec.steps),
        start_state=spec.start_state,
        covers=spec.covers,
        max_depth=spec.max_depth,
        as_of=spec.as_of,
        max_nodes=spec.max_nodes,
        edges=paths,
        owners_next=owners_next,
    )


def _walk_steps(steps: Sequence[Step]) -> tuple[WalkStep, ...]:
    """The policy as `GraphStore.walk` takes it, made once per step table and handed over as
    the same tuple each time (the embedded store keeps what it compiles from it by identity):
    hashing a table's steps on every walk cost more than a small walk's first level. Found by
    the table's identity, checked step by step (a list changed since is made again)."""
    hit = _WALK_STEPS.get(id(steps))
    same = hit is not None and hit[0] is steps and len(hit[1]) == len(steps)
    if same and all(map(operator.is_, hit[1], steps)):  # type: ignore[index]
        return hit[2]  # type: ignore[index]
    made = tuple(
        WalkStep(s.kind, s.direction, s.certainty is not _POSSIBLE, s.then, s.only_from, s.accepts)
        for s in steps
    )
    if len(_WALK_STEPS) >= 64:
        _WALK_STEPS.clear()
    _WALK_STEPS[id(steps)] = (steps, tuple(steps), made)
    return made


_EXACT, _POSSIBLE = Certainty.EXACT, Certainty.POSSIBLE
_WALK_STEPS: dict[int, tuple[Sequence[Step], tuple[Step, ...], tuple[WalkStep, ...]]] = {}


def _answer(start: tuple[str, ...], walked: Walked, paths: bool) -> Traversal:
    """`traverse`'s answer from the visits: a node's distance and path are those of its first
    visit at the least level (traverse's `best`), exact if the exact pass visited it."""
    result = Traversal(start, truncated=walked.truncated, visited_edges=walked.visited_edges)
    exact, every = _best(walked.exact), _best(walked.every)
    exact_path = _Paths(walked.exact, walked.edges) if paths else None
    every_path = _Paths(walked.every, walked.edges) if paths else None
    starting = set(start)
    levels, xlevels = walked.every.level, walked.exact.level
    for node_id, v in every.items():
        if node_id in starting:
            continue
        if (x := exact.get(node_id)) is not None:
            path = exact_path.of(x) if exact_path is not None else ()
            result.reached[node_id] = make_reached(node_id, xlevels[x], _EXACT, path)
        else:
            path = every_path.of(v) if every_path is not None else ()
            result.reached[node_id] = make_reached(node_id, levels[v], _POSSIBLE, path)
    if paths:
        result.led_on = walked.led_on
    return result


START_REACH = (0, _EXACT)  # a start's (distance, certainty) in `walked_reach`: one object


def walked_reach(start: Sequence[str], walked: Walked) -> dict[str, tuple[int, Certainty]]:
    """node id -> (distance, certainty) of `_answer(start, walked, False)`'s reached nodes, and
    every start at `START_REACH` (the same object each): what `Reached` holds besides its empty
    path, without a `Reached` made per node (the tuples shared, one per level and certainty)."""
    found = _least_levels(walked.every, _POSSIBLE)
    exact = _least_levels(walked.exact, _EXACT)
    if exact.keys() <= found.keys():
        found.update(exact)
    else:  # only a start can be in the exact pass alone (then `START_REACH` below)
        found.update((node, got) for node, got in exact.items() if node in found)
    found.update(dict.fromkeys(start, START_REACH))
    return found


def _least_levels(visits: WalkPass, certainty: Certainty) -> dict[str, tuple[int, Certainty]]:
    """node id -> (the least level it was visited at: `_best`'s visit's, `certainty`), in any
    order, for the nodes visited past level 0 (the starts' level: theirs is `START_REACH`)."""
    level, nodes = visits.level, visits.node
    if all(map(operator.le, level, level[1:])):  # by level: a node's first visit is its least
        past = bisect_right(level, 0)
        table = [(at, certainty) for at in range((level[-1] if level else 0) + 1)]
        later = map(table.__getitem__, reversed(level[past:]))
        return dict(zip(reversed(nodes[past:]), later, strict=True))  # the first visit last
    least: dict[str, tuple[int, Certainty]] = {}
    for node, at in zip(nodes, level, strict=True):
        if at and ((seen := least.get(node)) is None or at < seen[0]):
            least[node] = (at, certainty)
    return least


def _best(visits: WalkPass) -> dict[str, int]:
    """node id -> its first visit at the least level, nodes in the order first visited."""
    level, nodes = visits.level, visits.node
    if all(map(operator.le, level, level[1:])):  # a BFS's visits, by level: the first is best
        last_first = dict(zip(reversed(nodes), range(len(nodes) - 1, -1, -1), strict=True))
        order = dict.fromkeys(nodes)
        return dict(zip(order, map(last_first.__getitem__, order), strict=True))
    best: dict[str, int] = {}
    for v, node in enumerate(visits.node):
        b = best.get(node)
        if b is None or level[v] < level[b]:
            best[node] = v
    return best


class _Paths:
    """The path to a visit: its parent's, then the edge it was reached by (memoised)."""

    def __init__(self, visits: WalkPass, edges: Mapping[int, StoredEdge]) -> None:
        self._v, self._edges = visits, edges
        self._made: dict[int, tuple[Hop, ...]] = {}

    def of_each(self, vs: Iterable[int]) -> list[tuple[Hop, ...]]:
        """`of` each visit of `vs`: those whose parent's path is made (most, when asked by
        level) made here, without a call each."""
        parent, made, edge, way, edges = (
            self._v.parent,
            self._made,
            self._v.edge,
            self._v.way,
            self._edges,
        )
        found = []
        for v in vs:
            if (path := made.get(v)) is None:
                if (u := parent[v]) >= 0 and (base := made.get(u)) is not None:
                    hop = _new(Hop)
                    _hop_edge(hop, edges[edge[v]])
                    _hop_direction(hop, way[v])
                    path = made[v] = (*base, hop)
                else:
                    path = self.of(v)
            found.append(path)
        return found

    def of(self, v: int) -> tuple[Hop, ...]:
        parent, made = self._v.parent, self._made
        # most often the parent's path is made already (visits are asked in the order reached)
        if (u := parent[v]) >= 0 and (base := made.get(u)) is not None:
            hop = _new(Hop)
            _hop_edge(hop, self._edges[self._v.edge[v]])
            _hop_direction(hop, self._v.way[v])
            path = made[v] = (*base, hop)
            return path
        chain = []
        while v >= 0 and v not in made:
            chain.append(v)
            v = parent[v]
        path = made.get(v, ()) if v >= 0 else ()
        edge, way, edges = self._v.edge, self._v.way, self._edges
        for u in reversed(chain):
            if edge[u] >= 0:
                path = (*path, make_hop(edges[edge[u]], way[u]))  # type: ignore[arg-type]
            made[u] = path
        return path


class Visits:
    """The nodes a walk reached (its starts left out), in the order `traverse` answers them, as
    parallel lists: the node, its distance, its certainty, and a reference (`ref`) to what
    explains it, from which `path` makes its explaining path (each time asked: memoised where
    cheap), `passes` tells if that path walks a kind of edge, and `inside` gives the nodes
    inside some paths."""

    __slots__ = ("certainty", "distance", "led_on", "node", "ref", "truncated", "visited_edges")

    node: list[str]
    distance: list[int]
    certainty: list[Certainty]
    ref: list[int]
    truncated: bool
    visited_edges: int
    led_on: set[str]  # nodes some step was followed from

    def path(self, ref: int) -> tuple[Hop, ...]:
        raise NotImplementedError

    def paths(self, refs: Sequence[int]) -> list[tuple[Hop, ...]]:
        """`path` of each of `refs` (at less cost than one call each)."""
        return list(map(self.path, refs))

    def passes(self, ref: int, kind: EdgeKind) -> bool:
        """Whether the path of `ref` walks a `kind` edge."""
        raise NotImplementedError

    @property
    def path_edges(self) -> Mapping[int, StoredEdge] | None:
        """The store's walk's edges (`Walked.edges`), which `GraphStore.nodes_and_owners` may
        fill with the answer's nodes; None when the paths are made already."""
        return None

    def inside(self, refs: Iterable[int]) -> set[str]:
        """The nodes inside the paths of `refs`: reached by a hop of one, not its last."""
        raise NotImplementedError


class ReachedVisits(Visits):
    """`Visits` of a `Traversal` (its paths made): a ref is the node's place in `reached`."""

    __slots__ = ("_paths",)

    def __init__(self, walk: Traversal) -> None:
        reached = list(walk.reached.values())
        self.node = [r.node_id for r in reached]
        self.distance = [r.distance for r in reached]
        self.certainty = [r.certainty for r in reached]
        self.ref = list(range(len(reached)))
        self._paths = [r.path for r in reached]
        self.truncated, self.visited_edges = walk.truncated, walk.visited_edges
        self.led_on = walk.led_on

    def path(self, ref: int) -> tuple[Hop, ...]:
        return self._paths[ref]

    def paths(self, refs: Sequence[int]) -> list[tuple[Hop, ...]]:
        return list(map(self._paths.__getitem__, refs))

    def passes(self, ref: int, kind: EdgeKind) -> bool:
        return kind in map(_EDGE_KIND, self._paths[ref])

    def inside(self, refs: Iterable[int]) -> set[str]:
        # paths share their hops (a path is its parent's and one hop more): each distinct hop
        # asked once, found by identity at C speed
        paths = self._paths
        hops = list(chain.from_iterable(paths[r][:-1] for r in refs))
        return {h.to for h in dict(zip(map(id, hops), hops, strict=True)).values()}


_EDGE_KIND = operator.attrgetter("edge.key.kind")  # of a hop


class _WalkedVisits(Visits):
    """`Visits` of a store's walk, read from its parent pointers: a ref is a visit of the pass
    that explains the node — `v` of the pass over every step, `~v` of the exact pass."""

    __slots__ = ("_edges", "_every", "_exact", "_paths")

    def __init__(self, start: tuple[str, ...], walked: Walked) -> None:
        every, exact = _best(walked.every), _best(walked.exact)
        for s in start:
            every.pop(s, None)
        levels, xlevels = walked.every.level, walked.exact.level
        self.node = list(every)
        self.ref = ref = [v if (x := exact.get(n)) is None else ~x for n, v in every.items()]
        self.distance = [levels[r] if r >= 0 else xlevels[~r] for r in ref]
        self.certainty = [_POSSIBLE if r >= 0 else _EXACT for r in ref]
        self.truncated, self.visited_edges = walked.truncated, walked.visited_edges
        self.led_on = walked.led_on
        self._every, self._exact, self._edges = walked.every, walked.exact, walked.edges
        self._paths = (_Paths(walked.every, walked.edges), _Paths(walked.exact, walked.edges))

    @property
    def path_edges(self) -> Mapping[int, StoredEdge] | None:
        return self._edges

    def path(self, ref: int) -> tuple[Hop, ...]:
        return self._paths[1].of(~ref) if ref < 0 else self._paths[0].of(ref)

    def paths(self, refs: Sequence[int]) -> list[tuple[Hop, ...]]:
        every, exact = self._paths
        if all(r >= 0 for r in refs):
            return every.of_each(refs)
        made: list[tuple[Hop, ...]] = [()] * len(refs)
        for at, places in (
            (every, [i for i, r in enumerate(refs) if r >= 0]),
            (exact, [i for i, r in enumerate(refs) if r < 0]),
        ):
            paths = at.of_each([r if r >= 0 else ~r for r in map(refs.__getitem__, places)])
            for i, path in zip(places, paths, strict=True):
                made[i] = path
        return made

    def passes(self, ref: int, kind: EdgeKind) -> bool:
        visits, v = (self._exact, ~ref) if ref < 0 else (self._every, ref)
        parent, edge, edges = visits.parent, visits.edge, self._edges
        while v >= 0:
            if (e := edge[v]) >= 0 and edges[e].key.kind is kind:
                return True
            v = parent[v]
        return False

    def inside(self, refs: Iterable[int]) -> set[str]:
        found: set[str] = set()
        refs = list(refs)
        for visits, vs in (
            (self._every, [r for r in refs if r >= 0]),
            (self._exact, [~r for r in refs if r < 0]),
        ):
            parent, seen = visits.parent, set()
            for v in vs:  # up from each visit's parent, to a start or a visit seen already
                u = parent[v]
                while u >= 0 and u not in seen and parent[u] >= 0:
                    seen.add(u)
                    u = parent[u]
            found.update(map(visits.node.__getitem__, seen))
        return found


def moves(steps: Sequence[Step], start_state: State = PLAIN) -> Moves:
    """The policy as `GraphStore.reach` takes it: from each state, which (way, kind) leads to
    which states, under which test of the edge. A step whose `accepts` is an `EdgeTest` hands it
    on; any other `accepts` (code) is left out — it can only narrow what the step follows, so the
    store reaches a superset of what the walk will."""
    states = {start_state}
    for step in steps:
        states.update(step.only_from or ())
        if step.then is not None:
            states.add(step.then)
    found: dict[tuple[State, Direction, EdgeKind], set[tuple[State, EdgeTest | None]]] = {}
    for step in steps:
        test = step.accepts if isinstance(step.accepts, EdgeTest) else None
        for state in states if step.only_from is None else step.only_from:
            then = state if step.then is None else step.then
            found.setdefault((state, step.direction, step.kind), set()).add((then, test))
    return {k: frozenset(v) for k, v in found.items()}


def ways_to_read(
    by_way: Mapping[tuple[Direction, EdgeKind], list[Step]], states: set[State]
) -> dict[Direction, list[EdgeKind]]:
    """The edge kinds worth reading this level: those a step follows from a state the frontier
    holds (a dataset's columns only when some dataset is in a state that fans out to them)."""
    ways: dict[Direction, list[EdgeKind]] = {}
    for (direction, kind), steps in by_way.items():
        if any(s.only_from is None or not s.only_from.isdisjoint(states) for s in steps):
            ways.setdefault(direction, []).append(kind)
    return ways


def states_of(frontier: list[Visit]) -> dict[str, list[State]]:
    states: dict[str, list[State]] = {}
    for node, state in frontier:
        states.setdefault(node, []).append(state)
    return states


def _origin(hop: Hop) -> str:
    return hop.edge.key.src.id if hop.direction is Direction.OUT else hop.edge.key.dst.id


def start_nodes(store: GraphStore, node_id: str, as_of: str | None) -> tuple[StoredNode, list[str]]:
    """The start node, and the ids a walk from it begins with: a dataset stands for itself and
    each of its columns (a change to it is a change to them; its columns' sources are its own)."""
    start = store.get_node(node_id)
    if start is None:
        raise NotFound(f"no node with id {node_id}")
    ids = [node_id]
    if start.key.kind is NodeKind.DATASET:
        columns = store.neighbors([node_id], Direction.OUT, [EdgeKind.HAS_COLUMN], as_of)
        ids += [e.key.dst.id for e in columns]
    return start, ids


def flow_steps(direction: Direction, extra: Mapping[EdgeKind, Certainty | None] = {}) -> list[Step]:
    """Every lineage (flow) edge kind, walked `direction`, at its own certainty, plus extras."""
    steps = [
        Step(kind, direction, kind.spec.certainty)
        for kind in EdgeKind
        if kind.is_flow and kind not in extra
    ]
    steps += [Step(kind, direction, certainty) for kind, certainty in extra.items()]
    return steps
