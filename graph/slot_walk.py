"""The embedded store's walk: a policy's steps compiled to bit states and adjacency indexes
(`Policy`), walked level by level over a `SlotGraph` (`SlotWalk`), with or without paths.

It answers `GraphStore.walk` exactly as queries/traversal.py's `traverse` would over the same
store (tests/contract/test_store_walk_property.py, test_walk_paths_fast.py hold it to that).
The caller holds the store's lock for the whole walk.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from functools import lru_cache
from itertools import repeat
from operator import itemgetter

from lineage_kg.graph.model import NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.records import StoredEdge
from lineage_kg.graph.slot_graph import (
    CACHED,
    KIND_BITS,
    KIND_NO,
    KIND_VALUES,
    KINDS,
    NODE_KIND_NO,
    NOT_NONE,
    OUT,
    WAY,
    SlotGraph,
    kind_bits,
    valid_at,
)
from lineage_kg.graph.store import (
    EdgeTest,
    Walked,
    WalkPass,
    WalkStep,
)

_SECOND = itemgetter(1)

# a compiled step: (exact, then state number or -1, only-from state mask or -1, test)
# test: None, (src kind mask or -1, dst kind mask or -1, unset prop or None), or a callable;
# with the kinds settled (`_Policy.steps_between`): None, the unset prop's name, or a callable
_Test = tuple[int, int, str | None] | str | Callable[[StoredEdge], bool] | None
_Compiled = tuple[bool, int, int, _Test]
_Step = tuple[int, int, _Test]  # a compiled step without its exact flag
# a pass's steps along an edge (its kinds settled), by the state at its origin: (the state it
# goes to, the blocked states it adds: that one and those it covers, test) each; None: no step
# of the pass takes the edge, from any state
_Plan = tuple[tuple[tuple[int, int, _Test], ...], ...] | None


def _kinds_mask(kinds: frozenset[NodeKind] | None) -> int:
    return -1 if kinds is None else sum(1 << NODE_KIND_NO[k.value] for k in kinds)


class _Policy:
    """A walk's steps compiled for `SlotWalk` (states as bit numbers, steps by adjacency index):
    the same for every walk of a question, so made once per step table (`_policy`)."""

    def __init__(
        self,
        steps: Sequence[WalkStep],
        start_state: str,
        covers: Mapping[str, frozenset[str]],
    ) -> None:
        names = [start_state]
        for step in steps:
            names += [*(step.only_from or ()), *([step.then] if step.then is not None else [])]
        for state, covered in covers.items():
            names += [state, *covered]
        self.states = list(dict.fromkeys(names))
        no = {state: i for i, state in enumerate(self.states)}
        self.start = no[start_state]
        self.cover = [
            sum(1 << no[c] for c in covers.get(state, ()) if c in no) for state in self.states
        ]
        # (way, kind) -> the steps along it, in the policy's order; ways grouped by direction
        # in the order the policy first names each (as traverse reads them)
        by_way: dict[tuple[int, int], list[_Compiled]] = {}
        only: dict[tuple[int, int], int] = {}
        for step in steps:
            at = (WAY[step.direction], KIND_NO[step.kind.value])
            mask = -1 if step.only_from is None else sum(1 << no[s] for s in step.only_from)
            then = -1 if step.then is None else no[step.then]
            by_way.setdefault(at, []).append((step.exact, then, mask, SlotWalk._test(step.accepts)))
            only[at] = -1 if mask == -1 or only.get(at, 0) == -1 else only.get(at, 0) | mask
        # the ways in the order the policy first names each direction (as traverse reads them)
        self.directions = list(dict.fromkeys(way for way, _ in by_way))
        self.by_way, self.only = by_way, only
        # per (way, kind) and pass: the states its steps name for the far node, and whether one
        # keeps the origin's: when all those are blocked there, the edge can find nothing
        self.ends: dict[tuple[int, int], tuple[tuple[int, bool], tuple[int, bool]]] = {}
        for at, compiled in by_way.items():
            ends = []
            for exact_pass in (True, False):
                mine = [c for c in compiled if c[0] or not exact_pass]
                fixed = sum({1 << c[1] for c in mine if c[1] != -1})
                ends.append((fixed, any(c[1] == -1 for c in mine)))
            self.ends[at] = (ends[0], ends[1])
        # the same by adjacency index (kind * 2 + way), per pass (exact steps, every step)
        slots = 2 * len(KINDS)
        self.steps_at: list[tuple[list[_Step], list[_Step]]] = [([], [])] * slots
        self.ends_at: list[tuple[tuple[int, bool], tuple[int, bool]]] = [((0, False),) * 2] * slots
        for (w, k), compiled in by_way.items():
            every = [(then, mask, test) for _, then, mask, test in compiled]
            exact = [(then, mask, test) for ok, then, mask, test in compiled if ok]
            self.steps_at[k * 2 + w] = (exact, every)
            self.ends_at[k * 2 + w] = self.ends[(w, k)]
        # the steps by adjacency index and the kinds of the edge's ends (`_kinds_key`), their
        # kind tests settled: made as walks meet them, shared by every walk of the policy
        self.by_kinds: dict[int, tuple[_Plan, _Plan]] = {}
        self.wanted: dict[int, list[tuple[int, int]]] = {}  # by the states present (`_wanted`)
        # `fast_plan`'s, by their key (`_Fast`); for walks of at most 15 states (four bits each)
        self.fast: dict[int, _Fast] = {}
        self.fast_ok = len(self.states) <= 15
        self._shared: dict[str, object] | None = None

    def shared(self) -> dict[str, object]:
        """What each `SlotWalk` of the policy takes over (`_POLICY`), as one dict: a walk's setup
        is then one update, not a lookup and a set per name."""
        if self._shared is None:
            self._shared = {name: getattr(self, name) for name in _POLICY}
        return self._shared

    def steps_between(self, at: int, src_kind: int, dst_kind: int) -> tuple[_Plan, _Plan]:
        """`steps_at[at]` for an edge from a node of kind `src_kind` to one of `dst_kind`, as a
        plan per pass (`_Plan`): the steps whose `EdgeTest` kinds reject it left out, the tests
        left the property one (its name) or code, each state's steps with its state to go to."""
        found: list[_Plan] = []
        for steps in self.steps_at[at]:
            kept: list[_Step] = []
            for then, mask, test in steps:
                if type(test) is tuple:
                    src, dst, unset = test
                    if (src != -1 and not src >> src_kind & 1) or (
                        dst != -1 and not dst >> dst_kind & 1
                    ):
                        continue
                    test = unset  # noqa: PLW2901
                kept.append((then, mask, test))
            if not kept:
                found.append(None)
                continue
            plan = []
            for state in range(len(self.states)):
                ahead = []
                for then, mask, test in kept:
                    if mask == -1 or mask >> state & 1:
                        to = state if then == -1 else then
                        ahead.append((to, 1 << to | self.cover[to], test))
                plan.append(tuple(ahead))
            found.append(tuple(plan))
        made = self.by_kinds[_kinds_key(at, src_kind, dst_kind)] = (found[0], found[1])
        return made

    def fast_plan(self, key: int) -> _Fast:
        """What an edge does from an origin holding at most one visit in each pass (its key:
        the edge's `_kinds_key` and the origin's state in each pass): per pass, its steps from that
        state (`_Plan`'s entry; None: none, or no visit there), and the far node's blocked states
        that leave the edge nothing to find (the states its steps name, and the origin's if one
        keeps it: `_follow_level`'s skip)."""
        kinds, code = key >> 8, key & 255
        at = kinds >> 12
        plans = self.by_kinds.get(kinds)
        if plans is None:
            plans = self.steps_between(at, kinds >> 6 & 63, kinds & 63)
        made: list[tuple[tuple[int, int, _Test], ...] | int | None] = []
        for p in (0, 1):
            state, plan = (code >> 4 * p & 15) - 1, plans[p]
            fixed, keeps = self.ends_at[at][p]
            steps = plan[state] if state >= 0 and plan is not None else ()
            made += [steps or None, fixed | (1 << state if keeps and state >= 0 else 0)]
        found = self.fast[key] = tuple(made)  # type: ignore[assignment]
        return found  # type: ignore[return-value]


def _kinds_key(at: int, src_kind: int, dst_kind: int) -> int:
    return at << 12 | src_kind << 6 | dst_kind


# `_Policy.fast_plan`'s key: `_kinds_key(at, src, dst) << 8 | code`, code: the origin's state + 1
# in each pass (four bits each, exact pass low; 0: no visit). `_follow_paths` makes it per edge
# from two per-origin parts (`out_part`, `in_part`) and the edge's kind and far node's kind.
_Fast = tuple[
    tuple[tuple[int, int, "_Test"], ...] | None,
    int,
    tuple[tuple[int, int, "_Test"], ...] | None,
    int,
]


@lru_cache(maxsize=64)
def _policy(
    steps: tuple[WalkStep, ...],
    start_state: str,
    covers: tuple[tuple[str, frozenset[str]], ...],
) -> _Policy:
    return _Policy(steps, start_state, dict(covers))


def _policy_of(
    steps: Sequence[WalkStep], start_state: str, covers: Mapping[str, frozenset[str]]
) -> _Policy:
    """`_policy`, found first by the identity of a tuple of steps (traversal.py hands a step
    table over as the same tuple each time; hashing its steps per walk costs more than a small
    walk's first level)."""
    shared = tuple(sorted(covers.items()))
    if type(steps) is not tuple:
        return _policy(tuple(steps), start_state, shared)
    key = (id(steps), start_state, shared)
    hit = _BY_IDENTITY.get(key)
    if hit is not None and hit[0] is steps:
        return hit[1]
    policy = _policy(steps, start_state, shared)
    if len(_BY_IDENTITY) >= 64:
        _BY_IDENTITY.clear()
    _BY_IDENTITY[key] = (steps, policy)
    return policy


_BY_IDENTITY: dict[
    tuple[int, str, tuple[tuple[str, frozenset[str]], ...]], tuple[Sequence[WalkStep], _Policy]
] = {}


_POLICY = (
    "states",
    "start",
    "cover",
    "directions",
    "by_way",
    "only",
    "ends",
    "steps_at",
    "ends_at",
    "by_kinds",
    "steps_between",
    "wanted",
    "fast",
    "fast_ok",
    "fast_plan",
)


class SlotWalk:
    """`EmbeddedStore.walk` on slots: states as bit numbers, a blocked-state mask per node and
    pass, visits as parallel int lists; node ids and `StoredEdge`s made only for the answer.
    Mirrors queries/traversal.py's level loop step for step (its order decides which state
    reaches a node first, and so which a covering state blocks)."""

    def __init__(
        self,
        g: SlotGraph,
        steps: Sequence[WalkStep],
        start_state: str,
        covers: Mapping[str, frozenset[str]],
        as_of: str | None,
    ) -> None:
        self.g, self.as_of = g, as_of
        policy = _policy_of(steps, start_state, covers)
        # shared by every walk of the policy: read, never changed (added to, for its caches)
        self.__dict__.update(policy.shared())
        self.led_on: set[int] = set()
        self.visited = 0
        self.sort_key = self._sort_key()

    def _sort_key(self) -> Callable[[int], tuple[str, str, str, str]]:
        """A hop's edge id (src id, kind, dst id, disc): the order traverse takes edges in."""
        g = self.g
        names, esrc, edst, ekind, edisc = g.names, g.esrc, g.edst, g.ekind, g.edisc

        def key(hop: int) -> tuple[str, str, str, str]:
            e = hop >> 1
            return (names[esrc[e]], KIND_VALUES[ekind[e]], names[edst[e]], edisc[e])  # type: ignore[return-value]

        return key

    @staticmethod
    def _test(accepts: Callable[[StoredEdge], bool] | None) -> _Test:
        if accepts is None:
            return None
        if isinstance(accepts, EdgeTest):
            return (_kinds_mask(accepts.src), _kinds_mask(accepts.dst), accepts.unset)
        return accepts

    def run(
        self, start_ids: Sequence[str], *, max_depth: int, max_nodes: int, edges: bool
    ) -> Walked:
        g, cover, s0 = self.g, self.cover, self.start
        self.paths = edges  # led_on is part of the answer: every origin a step follows from
        starts = list(filter(NOT_NONE, map(g.ids.get, dict.fromkeys(start_ids))))
        # per pass: visits as parallel lists (node, state, level, parent, edge, way), and the
        # states blocked at each node (reached in them, or in one covering them)
        passes: list[_Visits] = []
        blocks = g.walk_blocks()
        for blocked in blocks:
            k = len(starts)
            j = k if edges else 0  # parent pointers: only paths need them
            passes.append((list(starts), [s0] * k, [0] * k, [-1] * j, [-1] * j, [-1] * j, blocked))
        self.count = len(starts)  # nodes the pass over every step holds (traverse's states)
        truncated = False
        try:
            for blocked in blocks:
                for n in starts:
                    blocked[n] = 1 << s0 | cover[s0]
            truncated = self._levels(passes, max_depth, max_nodes + len(starts))
        finally:  # every node blocked was visited: zeroed for the next walk
            for blocked, visits in zip(blocks, passes, strict=True):
                for n in visits[0]:
                    blocked[n] = 0
        name, state = g.names.__getitem__, self.states.__getitem__
        way = _WAYS_OR_NONE.__getitem__  # -1 (a start): None
        found = [
            WalkPass(
                list(map(name, vnode)),  # type: ignore[arg-type]
                list(map(state, vstate)),
                vlevel,
                vparent,
                vedge,
                list(map(way, vway)),
            )
            for vnode, vstate, vlevel, vparent, vedge, vway, _ in passes
        ]
        made: dict[int, StoredEdge] = {}
        if edges:  # each edge once: the two passes mostly reach a node by the same one
            slots = {*passes[0][4], *passes[1][4]}
            slots.discard(-1)
            # those cached looked up at C speed, the others built
            made = dict(zip(slots, map(g.ecache.get, slots), strict=True))
            for e in [e for e, edge in made.items() if edge is None]:
                made[e] = g.stored_edge(e)
        led_on = set(map(name, self.led_on))
        return Walked(found[0], found[1], made, led_on, truncated, self.visited)  # type: ignore[arg-type]

    def _levels(self, passes: list[_Visits], max_depth: int, cap: int) -> bool:
        """Level by level until the frontier runs out or `max_depth`; True: stopped at `cap`."""
        (vnode0, _, vlevel0, *_), (vnode1, _, vlevel1, *_) = passes
        frontiers = [range(len(vnode0)), range(len(vnode1))]
        if self.paths and self.fast_ok and self.as_of is None:
            return self._walk_paths(passes, max_depth, cap)
        self.hops_at = self._hops_at()
        for depth in range(1, max_depth + 1):
            level = self._read_level(passes, frontiers, cap)
            if level is None:
                return False
            went_on = self._follow_level(passes, level, cap)
            # a level's visits are appended together, after the last one's: the next frontier,
            # their level set at once
            frontiers = [range(len(vlevel0), len(vnode0)), range(len(vlevel1), len(vnode1))]
            vlevel0 += [depth] * len(frontiers[0])
            vlevel1 += [depth] * len(frontiers[1])
            if not went_on:
                return True
        return False

    def _hops_at(self) -> Callable[[int, list[tuple[int, int, array[int]]]], list[int]]:
        """A node's hops (edge << 1 | way) of the ways and kinds asked for (`_read_level`'s
        `ways`), those valid at `as_of` (live ones without it), unsorted: the one gathering of a
        node's edges every walk uses (made once per walk: the graph's lists bound)."""
        g, as_of = self.g, self.as_of
        adj, eto, efirst = g.adj, g.eto, g.efirst

        def now(n: int, ways: list[tuple[int, int, array[int]]]) -> list[int]:
            hops = []
            for w, m, masks in ways:
                if here := masks[n] & m:
                    for k in kind_bits(here):
                        for e in adj[k * 2 + w][n]:
                            if eto[e] is None:
                                hops.append(e << 1 | w)
            return hops

        def then(n: int, ways: list[tuple[int, int, array[int]]]) -> list[int]:
            hops = []
            for w, m, masks in ways:
                if here := masks[n] & m:
                    for k in kind_bits(here):
                        for e in adj[k * 2 + w][n]:
                            if valid_at(efirst[e], eto[e], as_of):
                                hops.append(e << 1 | w)
            return hops

        return now if as_of is None else then

    def _sorted_hops(
        self, n: int, ways: list[tuple[int, int, array[int]]]
    ) -> list[tuple[int, int, int, int]]:
        """`n`'s live hops of `ways` in walk order (by edge id), each as (edge, way, far node,
        `_Policy.fast_plan`'s key less the origin's states): what `_walk_paths` keeps per node
        (`SlotGraph.hops`)."""
        g = self.g
        adj, eto, esrc, edst, ekind, nkind = g.adj, g.eto, g.esrc, g.edst, g.ekind, g.nkind
        hops = []
        for w, m, masks in ways:
            if here := masks[n] & m:
                for k in kind_bits(here):
                    for e in adj[k * 2 + w][n]:
                        if eto[e] is None:
                            hops.append(e << 1 | w)
        if len(hops) > 1:
            hops.sort(key=self.sort_key)
        if (at := nkind[n]) < 0:
            at = g.kind_no(n)
        found = []
        for hop in hops:
            e, w = hop >> 1, hop & 1
            to = esrc[e] if w else edst[e]
            if (far := nkind[to]) < 0:
                far = g.kind_no(to)
            # `_kinds_key(kind * 2 + way, src kind, dst kind) << 8`
            src, dst = (far, at) if w else (at, far)
            found.append((e, w, to, ((ekind[e] * 2 + w) << 12 | src << 6 | dst) << 8))
        return found

    def _read_level(self, passes: list[_Visits], frontiers: list[range], cap: int) -> _Level | None:
        """The level's reads: each frontier node (in frontier order, exact pass first) with its
        edges of the kinds some step follows from a state the frontier holds, by edge id (ties,
        a loop read both ways: the reading order); each pass's frontier visits by node, and the
        states they hold there. None: the frontier is empty. With paths, nothing is dropped and
        the reads are left to `_follow_level`, each node's as it comes to follow them (the
        frontier's nodes and the ways to read: no flat list of the whole level)."""
        g = self.g
        ins, held, present = _by_node(passes, frontiers)
        order = {**ins[0][0], **ins[1][0]}  # the frontier's nodes: exact pass first
        if not order:
            return None
        kmask = g.kmask
        ways = [(w, m, kmask[w]) for w, m in self._wanted(present)]
        if self.paths:
            return (order, ways), ins, held
        if len(g.ids) < cap:  # no stop possible: dropped as they are read
            return self._read_live(order, ways, passes, held), ins, held
        key, hops_at = self.sort_key, self.hops_at
        reads: list[int] = []
        raw: list[tuple[int, list[int]]] = []
        read = 0
        for n in order:
            if hops := hops_at(n, ways):
                read += len(hops)
                raw.append((n, hops))
        self.visited += read
        # Without paths to explain, an edge into a node where every state it could bring is
        # already blocked can do nothing (blocking only grows): dropped before sorting, unless
        # this level could reach `cap` (where traverse stops counts, even at such an edge): each
        # edge finds one node at most, and no walk finds more than the graph holds.
        prune = min(self.count + read, len(g.ids)) < cap
        for n, hops in raw:
            if prune:
                hops = self._live(passes, held, n, hops)  # noqa: PLW2901
            if len(hops) > 1:
                hops.sort(key=key)
            if hops:
                reads += (n, len(hops), *hops)
        return reads, ins, held

    def _wanted(self, present: int) -> list[tuple[int, int]]:
        """Per direction (in reading order), the kinds (a bit each) some step follows from a
        state in `present`; the same few masks recur: kept with the policy, for all its walks."""
        found = self.wanted.get(present)
        if found is None:
            wanted = dict.fromkeys(self.directions, 0)
            for (w, k), m in self.only.items():
                if m == -1 or m & present:
                    wanted[w] |= 1 << k
            found = self.wanted[present] = [(w, m) for w, m in wanted.items() if m]
        return found

    def _read_live(
        self,
        order: Iterable[int],
        ways: list[tuple[int, int, array[int]]],
        passes: list[_Visits],
        held: list[dict[int, int]],
    ) -> list[int]:
        """`_read_level`'s reads with `_live` applied as each edge is read (one pass, no list of
        the dead ones): for a walk without paths that cannot reach its `cap`."""
        g, as_of, ends = self.g, self.as_of, self.ends_at
        adj, eto, efirst, esrc, edst = g.adj, g.eto, g.efirst, g.esrc, g.edst
        b0, b1 = passes[0][6], passes[1][6]
        held0, held1 = held
        now = as_of is None
        key = self.sort_key
        reads: list[int] = []
        read = 0
        for n in order:
            hops = []
            h0, h1 = held0.get(n, 0), held1.get(n, 0)
            for w, m, masks in ways:
                if not (here := masks[n] & m):
                    continue
                far = edst if w == OUT else esrc
                for k in kind_bits(here):
                    # per pass: the states an edge of this way could bring (those its steps
                    # name, and the origin's if one keeps it); live if one is not blocked there
                    (f0, k0), (f1, k1) = ends[k * 2 + w]
                    need0 = (f0 | h0 if k0 else f0) if h0 else 0
                    need1 = (f1 | h1 if k1 else f1) if h1 else 0
                    edges = adj[k * 2 + w][n]
                    if not now:
                        edges = [e for e in edges if valid_at(efirst[e], eto[e], as_of)]
                    for e in edges:
                        if now and eto[e] is not None:
                            continue
                        read += 1
                        to = far[e]
                        if b1[to] & need1 != need1 or b0[to] & need0 != need0:
                            hops.append(e << 1 | w)
            if hops:
                if len(hops) > 1:
                    hops.sort(key=key)
                reads += (n, len(hops), *hops)
        self.visited += read
        return reads

    def _live(
        self, passes: list[_Visits], held: list[dict[int, int]], n: int, hops: list[int]
    ) -> list[int]:
        """The hops from `n` that may still reach a node in a new state, in either pass."""
        esrc, edst, ekind, ends = self.g.esrc, self.g.edst, self.g.ekind, self.ends_at
        b0, b1 = passes[0][6], passes[1][6]
        h0, h1 = held[0].get(n, 0), held[1].get(n, 0)
        live = []
        for hop in hops:
            e, w = hop >> 1, hop & 1
            to = edst[e] if w == OUT else esrc[e]
            (f0, k0), (f1, k1) = ends[ekind[e] * 2 + w]
            if (h1 and (not (b := b1[to]) or b & f1 != f1 or (k1 and b & h1 != h1))) or (
                h0 and (not (b := b0[to]) or b & f0 != f0 or (k0 and b & h0 != h0))
            ):
                live.append(hop)
        return live

    def _follow_level(  # noqa: PLR0915
        self,
        passes: list[_Visits],
        level: _Level,
        cap: int,
    ) -> bool:
        """Follow the level's edges in order, both passes; False: stopped at `cap` nodes (before
        the edge that would find one more, as traverse stops)."""
        g, led_on, paths = self.g, self.led_on, self.paths
        esrc, edst, ekind, ends, by_kinds = g.esrc, g.edst, g.ekind, self.ends_at, self.by_kinds
        nkind, kind_no, rget, erec = g.nkind, g.kind_no, g.shapes.get, g.erec
        blockeds = (passes[0][6], passes[1][6])
        count = self.count  # nodes the pass over every step holds
        reads, ins, held = level
        (first0, more0), (first1, more1) = ins
        held0, held1 = held
        vstate0, vstate1 = passes[0][1], passes[1][1]
        lazy = type(reads) is tuple
        if lazy:  # each node's hops read as the walk comes to them: how many is not known ahead
            order, ways = reads
            by_origin: Iterator[tuple[int, list[int]]] = zip(
                order, map(self.hops_at, order, repeat(ways)), strict=True
            )
            key, visited = self.sort_key, 0
            # each hop finds one node at most, and no walk finds more than the graph holds
            check = len(g.ids) >= cap
        else:  # with room for all of them, no stop is possible
            check = count + len(reads) >= cap  # type: ignore[arg-type]
            by_origin = _unflatten(reads)  # type: ignore[arg-type]
        for origin, hops in by_origin:
            if lazy:
                if not hops:
                    continue
                visited += len(hops)
                if len(hops) > 1:
                    hops.sort(key=key)
            # each pass's visits at the origin with their states (a tuple each: none, mostly one)
            v0, v1 = first0.get(origin), first1.get(origin)
            froms = (
                None
                if v0 is None
                else tuple((v, vstate0[v]) for v in (v0, *more0[origin]))
                if origin in more0
                else ((v0, vstate0[v0]),),
                None
                if v1 is None
                else tuple((v, vstate1[v]) for v in (v1, *more1[origin]))
                if origin in more1
                else ((v1, vstate1[v1]),),
            )
            holds = (held0.get(origin, 0), held1.get(origin, 0))
            # with paths, `led_on` must learn every origin a step is followed from: until it
            # has this one, an edge into a blocked node is still tested
            settled = not paths or origin in led_on
            here = nkind[origin]
            if here < 0:
                here = kind_no(origin)
            for hop in hops:
                e = hop >> 1
                if check and count >= cap:
                    self.count = count
                    if lazy:  # the level's reads are counted, as traverse does
                        self.visited += visited + sum(map(len, map(_SECOND, by_origin)))
                    return False
                if hop & 1:
                    to, at = esrc[e], ekind[e] * 2 + 1
                    if (far := nkind[to]) < 0:
                        far = kind_no(to)
                    kinds = at << 12 | far << 6 | here  # `_kinds_key`: (src, dst) kinds
                else:
                    to, at = edst[e], ekind[e] * 2
                    if (far := nkind[to]) < 0:
                        far = kind_no(to)
                    kinds = at << 12 | here << 6 | far
                plans = by_kinds.get(kinds)
                if plans is None:
                    if hop & 1:
                        plans = self.steps_between(at, far, here)
                    else:
                        plans = self.steps_between(at, here, far)
                for p in (0, 1):
                    if not (from_ := froms[p]) or not (plan := plans[p]):
                        continue  # not at the origin, or no step of this pass takes the edge
                    blocked = blockeds[p]
                    b = blocked[to]
                    if b and settled:
                        fixed, keeps = ends[at][p]  # nothing left to find along here: skip
                        if b & fixed == fixed and (not keeps or b & holds[p] == holds[p]):
                            continue
                    for v, state in from_:
                        for then, add, test in plan[state]:
                            known = b >> then & 1  # b: the node's blocked states, kept current
                            if known and settled:
                                continue  # nothing new here (the test, pure, need not run)
                            if test is not None:  # kinds settled: a property, or code
                                if type(test) is str:
                                    if rget(erec[e], test):  # type: ignore[arg-type]
                                        continue
                                elif not test(g.stored_edge(e)):  # type: ignore[operator]
                                    continue
                            if not settled:
                                led_on.add(origin)
                                settled = True
                            if known:
                                continue
                            if p and not b:
                                count += 1
                            b = blocked[to] = b | add  # the state, and those it covers
                            vnode, vstate, _, vparent, vedge, vway, _ = passes[p]
                            vnode.append(to)  # its level: set with the level's (`_levels`)
                            vstate.append(then)
                            if paths:  # parent pointers: only paths need them
                                vparent.append(v)
                                vedge.append(e)
                                vway.append(hop & 1)
        self.count = count
        if lazy:
            self.visited += visited
        return True

    def _walk_paths(  # noqa: PLR0915
        self, passes: list[_Visits], max_depth: int, cap: int
    ) -> bool:
        """`_levels` for a walk with paths at the present time (impact's, the decision trace's):
        its hot loop, in one frame. An origin holding at most one visit in each pass (nearly
        every one) takes each edge's steps and skip test from one lookup (`_Policy.fast_plan`),
        the two passes written out, the visits' columns appended by bound methods; an origin
        holding more is followed by `_follow_level`. The same reads in the same order, so the
        same visits; True: stopped at `cap`."""
        g, led_on, fast, fast_plan = self.g, self.led_on, self.fast, self.fast_plan
        kmask, rget, erec, stored_edge, sorted_hops = (
            g.kmask,
            g.shapes.get,
            g.erec,
            g.stored_edge,
            g.hops,
        )
        (vnode0, vstate0, vlevel0, vparent0, vedge0, vway0, b0) = passes[0]
        (vnode1, vstate1, vlevel1, vparent1, vedge1, vway1, b1) = passes[1]
        an0, as0, ap0, ae0, aw0 = (
            vnode0.append,
            vstate0.append,
            vparent0.append,
            vedge0.append,
            vway0.append,
        )
        an1, as1, ap1, ae1, aw1 = (
            vnode1.append,
            vstate1.append,
            vparent1.append,
            vedge1.append,
            vway1.append,
        )
        hops_at = self.hops_at = self._hops_at()
        wanted = self._wanted
        count, visited = self.count, 0
        check = len(g.ids) >= cap  # each hop finds one node at most
        lo0 = lo1 = 0
        stopped = False
        ins: list[tuple[dict[int, int], dict[int, list[int]]]] = []
        held: list[dict[int, int]] = []
        for depth in range(1, max_depth + 1):
            hi0, hi1 = len(vnode0), len(vnode1)
            # each pass's frontier visits by node, at C speed unless a node holds several
            first0 = dict(zip(vnode0[lo0:hi0], range(lo0, hi0), strict=True))
            first1 = dict(zip(vnode1[lo1:hi1], range(lo1, hi1), strict=True))
            several: AbstractSet[int] = _NONE
            if len(first0) < hi0 - lo0 or len(first1) < hi1 - lo1:
                ins, held, present = _by_node(passes, [range(lo0, hi0), range(lo1, hi1)])
                (first0, more0), (first1, more1) = ins
                several = more0.keys() | more1.keys()
            else:
                present = 0
                for state in {*vstate0[lo0:hi0], *vstate1[lo1:hi1]}:
                    present |= 1 << state
            order = first0 | first1  # the frontier's nodes: exact pass first
            if not order:
                break
            ways = [(w, m, kmask[w]) for w, m in wanted(present)]
            sig = 0  # the kinds read, each way: with the node, the key of its hops (`hops`)
            for w, m, _ in ways:
                sig |= m << KIND_BITS * w
            origins = iter(order)
            for origin in origins:
                if several and origin in several:  # the general loop, for this origin
                    self.count, self.visited = count, self.visited + visited
                    visited = 0
                    one = (({origin: origin}, ways), ins, held)
                    stopped = not self._follow_level(passes, one, cap)
                    count = self.count
                    if stopped:
                        break
                    continue
                hops = sorted_hops.get(hkey := origin << 2 * KIND_BITS | sig)
                if hops is None:  # `_hops_at`'s, inline, sorted and kept with their far ends
                    hops = self._sorted_hops(origin, ways)
                    if len(sorted_hops) >= CACHED:
                        sorted_hops.clear()
                    sorted_hops[hkey] = hops
                if not hops:
                    continue
                visited += len(hops)
                v0, v1 = first0.get(origin), first1.get(origin)
                code = (0 if v0 is None else vstate0[v0] + 1) | (
                    0 if v1 is None else vstate1[v1] + 1 << 4
                )
                # `led_on` must learn every origin a step is followed from: until it has this
                # one, an edge into a blocked node is still tested
                settled = origin in led_on
                for e, way, to, kinds in hops:
                    if check and count >= cap:
                        stopped = True
                        break
                    at = kinds | code  # `fast_plan`'s key
                    plan = fast.get(at)
                    if plan is None:
                        plan = fast_plan(at)
                    steps0, need0, steps1, need1 = plan
                    if steps0 is not None:  # the exact pass
                        b = b0[to]
                        if not (b and settled and b & need0 == need0):
                            for then, add, test in steps0:
                                known = b >> then & 1  # b: the node's blocked states, current
                                if known and settled:
                                    continue  # nothing new here (the test, pure, need not run)
                                if test is not None:  # kinds settled: a property, or code
                                    if type(test) is str:
                                        if rget(erec[e], test):  # type: ignore[arg-type]
                                            continue
                                    elif not test(stored_edge(e)):  # type: ignore[operator]
                                        continue
                                if not settled:
                                    led_on.add(origin)
                                    settled = True
                                if known:
                                    continue
                                b = b0[to] = b | add  # the state, and those it covers
                                an0(to)  # its level: set with the level's, below
                                as0(then)
                                ap0(v0)
                                ae0(e)
                                aw0(way)
                    if steps1 is not None:  # the pass over every step: the same
                        b = b1[to]
                        if not (b and settled and b & need1 == need1):
                            for then, add, test in steps1:
                                known = b >> then & 1
                                if known and settled:
                                    continue
                                if test is not None:
                                    if type(test) is str:
                                        if rget(erec[e], test):  # type: ignore[arg-type]
                                            continue
                                    elif not test(stored_edge(e)):  # type: ignore[operator]
                                        continue
                                if not settled:
                                    led_on.add(origin)
                                    settled = True
                                if known:
                                    continue
                                if not b:
                                    count += 1
                                b = b1[to] = b | add
                                an1(to)
                                as1(then)
                                ap1(v1)
                                ae1(e)
                                aw1(way)
                if stopped:
                    break
            # a level's visits are appended together, after the last one's: their level set
            vlevel0 += [depth] * (len(vnode0) - hi0)
            vlevel1 += [depth] * (len(vnode1) - hi1)
            lo0, lo1 = hi0, hi1
            if stopped:  # the level's reads are counted, as traverse does
                visited += sum(map(len, map(hops_at, origins, repeat(ways))))
                break
        self.count = count
        self.visited += visited
        return stopped


def _unflatten(reads: list[int]) -> Iterator[tuple[int, list[int]]]:
    """A level's flat reads (`_Level`) as (frontier node, its hops in order)."""
    i, size = 0, len(reads)
    while i < size:
        many = reads[i + 1]
        yield reads[i], reads[i + 2 : i + 2 + many]
        i += 2 + many


# one pass's visits: node, state, level, parent visit, edge, way (lists), blocked states by node
# slot (the graph's `blocks`)
_Visits = tuple[list[int], list[int], list[int], list[int], list[int], list[int], list[int]]
# a level's reads, flat: frontier node, how many hops, its hops in order (edge << 1 | way) — ints
# rather than tuples and lists, so that a large walk's hundreds of thousands of hops give the
# collector nothing to track; or, with paths, the frontier's nodes and the ways to read (each
# node's hops read as it is followed); each pass's frontier visits by node, with their states;
# and the states each pass's frontier holds at a node (a bit each)
_Level = tuple[
    list[int] | tuple[dict[int, int], list[tuple[int, int, "array[int]"]]],
    list[tuple[dict[int, int], dict[int, list[int]]]],
    list[dict[int, int]],
]


def _by_node(
    passes: list[_Visits], frontiers: list[range]
) -> tuple[list[tuple[dict[int, int], dict[int, list[int]]]], list[dict[int, int]], int]:
    """Each pass's frontier visits by node (its first visit, and its others: rare, so no list
    per node for the collector), the states each pass holds at a node (a bit each), and all the
    states present."""
    present = 0
    ins: list[tuple[dict[int, int], dict[int, list[int]]]] = []
    held: list[dict[int, int]] = []
    for p, frontier in enumerate(frontiers):
        vnode, vstate = passes[p][0], passes[p][1]
        first: dict[int, int] = {}
        more: dict[int, list[int]] = {}
        states: dict[int, int] = {}
        for v in frontier:
            n = vnode[v]
            bit = 1 << vstate[v]
            present |= bit
            if n in first:
                more.setdefault(n, []).append(v)
                states[n] |= bit
            else:
                first[n] = v
                states[n] = bit
        ins.append((first, more))
        held.append(states)
    return ins, held, present


_WAYS_OR_NONE = (Direction.OUT, Direction.IN, None)
_NONE: frozenset[int] = frozenset()  # by way number; -1: None
