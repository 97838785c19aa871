"""Accountability: "what am I accountable for?" — for a person or a team.

The answer holds what the owner owns (a person also through the teams they are a member of), the
KPIs that depend on it, the upstream assets it depends on and who owns those, the downstream
owners who depend on it, and the gaps in those chains: unowned assets, owners who have left,
jobs whose latest run failed, datasets whose latest version fails its quality checks.

Assets, parts, ownership and the other conventions it shares with the decision trace and the
suspects are in queries/assets.py. Here:
- membership is one level: a person's map holds their own assets and their teams' (marked
  `via` the team); a team's map holds the team's own, and lists its members.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from lineage_kg.graph.errors import InvalidArgument
from lineage_kg.graph.gc_pause import no_cyclic_gc
from lineage_kg.graph.model import EDGE_SPECS, Certainty, EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.records import StoredNode
from lineage_kg.graph.store import GraphStore, keep_first_assets
from lineage_kg.queries.arguments import check_depth, time_arg
from lineage_kg.queries.assets import (
    ASSET_KINDS,
    FAILED_STATES,
    PART_KINDS,
    PART_OF,
    UPSTREAM_STEPS,
    WALK_PARTS,
    AssetReach,
    Ownership,
    events,
    node_ref,
    ownerships,
    quality_failed,
    runs_of,
    versions_of,
)
from lineage_kg.queries.closeness import Nearness, Policy, Reach, reach_pair, reach_pair_then
from lineage_kg.queries.impact import IMPACT_STEPS, canonical_owners, node_kind
from lineage_kg.queries.impact_steps import COVERS, WHOLE
from lineage_kg.queries.traversal import START_REACH, answers_itself

K, E = NodeKind, EdgeKind

# ---- the accountability answer ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OwnedAsset:
    node: StoredNode
    ownership_type: str  # the OWNS edge's discriminator
    via: str  # owner id holding the OWNS edge: the owner itself, or one of its teams


@dataclass(frozen=True, slots=True)
class RelatedAsset:
    node: StoredNode
    distance: int  # 0 for an owned KPI
    certainty: Certainty
    owners: tuple[str, ...]  # owner ids, departed ones included (see the gaps)


@dataclass(frozen=True, slots=True)
class OwnerLink:
    """Another owner in the chain, and their assets through which the link runs."""

    owner: str
    left: bool
    assets: tuple[str, ...]  # node ids, sorted
    asset_nodes: tuple[StoredNode, ...] = ()  # the same assets as nodes, in the same order


class GapKind(StrEnum):
    FAILING_QUALITY = "failing_quality"
    FAILING_RUN = "failing_run"
    OWNER_LEFT = "owner_left"
    UNOWNED = "unowned"


@dataclass(frozen=True, slots=True)
class Gap:
    kind: GapKind
    asset: StoredNode
    related: StoredNode | None  # the owner who left, the failing run, the failing version
    detail: str
    evidence: tuple[str, ...]


@dataclass(slots=True)
class AccountabilityMap:
    owner: StoredNode
    teams: list[str]  # owner ids of the teams the owner is a member of
    members: list[str]  # owner ids of the owner's members (for a team)
    owned: list[OwnedAsset]
    kpis: list[RelatedAsset]  # owned KPIs (distance 0) and KPIs downstream of owned assets
    upstream: list[RelatedAsset]  # assets the owned ones depend on (not owned by us)
    downstream: list[RelatedAsset]  # assets depending on the owned ones (not owned by us)
    upstream_owners: list[OwnerLink]
    downstream_owners: list[OwnerLink]
    gaps: list[Gap] = field(default_factory=list)
    truncated: bool = False


def accountability(
    store: GraphStore,
    owner_id: str,
    *,
    depth: int = 10,
    as_of: str | datetime | None = None,
    max_nodes: int = 100_000,
) -> AccountabilityMap:
    """What `owner_id` (an owner id such as `team:ml-risk`, or an Owner node id) answers for."""
    with _collector_paused(_MAP):
        return _map(store, owner_id, depth=depth, as_of=as_of, max_nodes=max_nodes)


def _map(
    store: GraphStore,
    owner_id: str,
    *,
    depth: int,
    as_of: str | datetime | None,
    max_nodes: int,
) -> AccountabilityMap:
    check_depth(depth)
    when = time_arg("as_of", as_of)
    owner = node_ref(store, owner_id, K.OWNER, "owner_id")
    if owner.key.kind is not K.OWNER:
        raise InvalidArgument(f"owner_id must name an Owner, not a {owner.key.kind}")

    # asked by an alias (`a.smith`): the answer is the owner's it is an alias of
    canonical = canonical_owners(store, [owner.id], when)[owner.id]
    if canonical != owner.id:
        owner = store.get_nodes([canonical])[0]

    # what is owned (or joined) under one of our aliases is ours: the alias is the owner it names
    my_aliases = [
        e.key.src.id for e in store.neighbors([owner.id], Direction.IN, [E.ALIAS_OF], when)
    ]
    teams = sorted(
        {
            e.key.dst.id
            for e in store.neighbors([owner.id, *my_aliases], Direction.OUT, [E.MEMBER_OF], when)
        }
    )
    members = sorted(
        e.key.src.id for e in store.neighbors([owner.id], Direction.IN, [E.MEMBER_OF], when)
    )
    us = {owner.id, *teams}
    alias_of = {a: owner.id for a in my_aliases} | {
        e.key.src.id: e.key.dst.id for e in store.neighbors(teams, Direction.IN, [E.ALIAS_OF], when)
    }

    owns = store.neighbors(sorted(us | set(alias_of)), Direction.OUT, [E.OWNS], when)
    nodes = {n.id: n for n in store.get_nodes(sorted({e.key.dst.id for e in owns}))}
    held = {
        (e.key.dst.id, e.key.disc, NodeKey.from_id(alias_of.get(e.key.src.id, e.key.src.id)))
        for e in owns
    }
    owned = sorted(
        (OwnedAsset(nodes[asset], disc, via.parts[0]) for asset, disc, via in held),
        key=lambda o: (o.node.key.display, o.node.id, o.via, o.ownership_type),
    )
    mine = set(nodes)
    # the parts' ids alone (tens of thousands for a large team: no edge built for them), and on
    # a store or a request's budget view the assets they are parts of, in the same call
    parts, known = _parts_of(store, sorted(mine), when)
    starts = [*sorted(mine), *parts]

    # the two walks, the assets they reached and those's ownerships (`_walks_and_reads`)
    read = _walks_and_reads(
        store, when=when, starts=starts, mine=mine, nodes=nodes, known=known, depth=depth,
        max_nodes=max_nodes,
    )  # fmt: skip
    down, up, up_ids, owns_of = read.down, read.up, read.up_ids, read.owns_of
    down_ids = [a for a, r in down.items() if a not in mine and r.distance > 0]

    def related(asset: str, reach: AssetReach) -> RelatedAsset:
        holders = sorted({o.owner_id for o in owns_of.get(asset, [])})
        return RelatedAsset(nodes[asset], reach.distance, reach.certainty, tuple(holders))

    def by_closeness(items: Iterable[RelatedAsset]) -> list[RelatedAsset]:
        return sorted(items, key=lambda r: (r.distance, r.node.key.display, r.node.id))

    downstream = by_closeness(related(a, down[a]) for a in down_ids)
    upstream = by_closeness(related(a, up[a]) for a in up_ids)
    owned_kpis = [
        related(a, AssetReach(0, Certainty.EXACT)) for a in mine if nodes[a].key.kind is K.KPI
    ]
    kpis = by_closeness([*owned_kpis, *(r for r in downstream if r.node.key.kind is K.KPI)])

    answer = AccountabilityMap(
        owner=owner,
        teams=[NodeKey.from_id(t).parts[0] for t in teams],
        members=[NodeKey.from_id(m).parts[0] for m in members],
        owned=owned,
        kpis=kpis,
        upstream=upstream,
        downstream=downstream,
        upstream_owners=_owner_links(up_ids, owns_of, us, nodes),
        downstream_owners=_owner_links(down_ids, owns_of, us, nodes),
        truncated=read.truncated,
    )
    answer.gaps = _gaps(
        store, nodes=nodes, mine=mine, up_ids=up_ids, down_ids=down_ids, owns_of=owns_of,
        when=when, runs=read.runs, versions=read.versions,
    )  # fmt: skip
    return answer


class _Read(NamedTuple):
    """The map's two walks and the reads after them: each walk's assets and their reach, the
    upstream ones' ids, the ownerships of ours and both walks' assets, whether a walk was cut
    short, and the gaps' runs and versions when they were read with the upstream half."""

    down: dict[str, AssetReach]
    up: dict[str, AssetReach]
    up_ids: list[str]
    owns_of: dict[str, list[Ownership]]
    truncated: bool
    runs: dict[str, list[StoredNode]] | None
    versions: dict[str, list[StoredNode]] | None


def _walks_and_reads(
    store: GraphStore,
    *,
    when: str | None,
    starts: list[str],
    mine: set[str],
    nodes: dict[str, StoredNode],
    known: dict[str, str],
    depth: int,
    max_nodes: int,
) -> _Read:
    """One walk each way from all the starts at once, the two in one store call (Neo4j walks them
    at the same time); only distance and certainty are kept, read from the store's visits
    directly (queries/closeness.py `reach_pair`: no path, no `Reached` made per node). Which
    asset each node reached is or belongs to: read after each walk on the thread that walked it
    (`_AssetsAfter`, when the store walks pairs so: Neo4j), and the upstream half of the reads
    after (`_UpstreamSide`); else in one read for both walks after them. Then the assets
    themselves (into `nodes`), the only nodes the answer shows (a part is known by its id's
    kind), and their ownerships (distance 0: an owned asset, or the asset of an owned part)."""
    upstream = None
    if UPSTREAM_AFTER_ITS_WALK:
        upstream = _UpstreamSide(store, when, mine, {a: nodes[a] for a in mine})
    after = _AssetsAfter(store, when, known, upstream)
    policies = Policy(IMPACT_STEPS, WHOLE, COVERS), Policy(UPSTREAM_STEPS)
    bounds = {"max_depth": depth, "as_of": when, "max_nodes": max_nodes}
    up_side: _Upstream | None = None
    with _collector_paused(_WALKS):
        if ASSETS_AFTER_EACH_WALK:
            (down_walk, _), (up_walk, up_side) = reach_pair_then(
                store, starts, *policies, then=after.read, **bounds
            )
        else:
            down_walk, up_walk = reach_pair(store, starts, *policies, **bounds)
    truncated = down_walk.truncated or up_walk.truncated
    down_reach, up_reach = down_walk.reach, up_walk.reach
    asset_of = after.rest(down_reach, up_reach)
    down = _closest(down_reach, asset_of)
    down_ids = [a for a, r in down.items() if a not in mine and r.distance > 0]
    if up_side is None:  # everything after both walks, here
        up = _closest(up_reach, asset_of)
        nodes.update((n.id, n) for n in store.get_nodes(sorted((down.keys() | up.keys()) - mine)))
        up_ids = [a for a, r in up.items() if a not in mine and r.distance > 0]
        owns_of = ownerships(store, [*mine, *down_ids, *up_ids], when)
        return _Read(down, up, up_ids, owns_of, truncated, None, None)
    # the upstream half was read after its walk: the downstream half here
    up = up_side.up
    nodes.update(up_side.nodes)
    nodes.update((n.id, n) for n in store.get_nodes(sorted(down.keys() - mine - up.keys())))
    theirs = ownerships(store, [a for a in down_ids if a not in up_side.ours], when)
    owns_of = up_side.owns | theirs
    return _Read(down, up, up_side.up_ids, owns_of, truncated, up_side.runs, up_side.versions)


_START = START_REACH  # a start's (distance, certainty): `_closest` knows it by identity

# The cyclic collector paused while the two walks are read and decoded (`_WALKS`), or for the
# whole map (`_MAP`), or not (None: the collector as the process has it, the benchmarks'
# "before"); graph/gc_pause.py: off from the first paused block under way to the last, in any
# thread, and back after, exceptions too. The walks make hundreds of thousands of short-lived
# lists and tuples (the rows, hops, visits: bounded by `max_nodes`), none of them cyclic garbage,
# and each young collection passes over the ones still alive.
_WALKS, _MAP = "walks", "map"
PAUSE_GC: str | None = _WALKS


def _collector_paused(scope: str) -> AbstractContextManager[None]:
    return no_cyclic_gc() if scope == PAUSE_GC else nullcontext()


# Whether the reached nodes' assets are read after each walk on its own thread (`_AssetsAfter`);
# off: after both, in the caller (the benchmarks' "before", the tests' reference).
ASSETS_AFTER_EACH_WALK = True
# Whether (with the above) the upstream walk's reads go on after its assets on its thread
# (`_UpstreamSide`); off: after both walks, in the caller.
UPSTREAM_AFTER_ITS_WALK = True


class _AssetsAfter:
    """`_assets_of` of the nodes both walks reached, read in parts: after each walk, on the
    thread that walked it, the nodes no earlier part claimed (`read`: the upstream walk's worker
    usually ends first, and reads while the downstream walk is still walking), then in the caller
    whatever is left (`rest`: nothing, unless a walk was not answered so). Each node is looked up
    in exactly one `_assets_of` call, and a node's asset depends on its own edges alone (its
    first part edge by edge id), so the answer is one `_assets_of` of them all. With `upstream`,
    the upstream walk's reads go on from there (`_UpstreamSide`), once the assets of every node
    it reached are known: its own part, and any part the other walk claimed first (waited for)."""

    def __init__(
        self,
        store: GraphStore,
        as_of: str | None,
        known: dict[str, str],
        upstream: _UpstreamSide | None = None,
    ) -> None:
        self._store, self._as_of, self._known = store, as_of, known
        self._upstream = upstream
        self._lock = threading.Lock()
        self._claimed: set[str] = set()
        self._found: dict[str, str] = {}
        self._reading: list[threading.Event] = []  # each `read`'s, set once it has read
        self._read: list[Reach] = []  # the walks' answers `read` claimed all of

    def read(self, walk: int, near: Nearness) -> _Upstream | None:
        done = threading.Event()
        with self._lock:
            ids = [node_id for node_id in near.reach if node_id not in self._claimed]
            self._claimed.update(ids)
            self._read.append(near.reach)
            earlier = list(self._reading)
            self._reading.append(done)
        try:
            found = _assets_of(self._store, ids, self._as_of, self._known)
            with self._lock:
                self._found.update(found)
        finally:
            done.set()
        if walk != _UP or self._upstream is None:
            return None
        for other in earlier:  # nodes of this walk another walk's read claimed first
            other.wait()
        with self._lock:
            asset_of = {n: self._found[n] for n in near.reach if n in self._found}
        return self._upstream.after(near, asset_of)

    def rest(self, *reaches: Reach) -> dict[str, str]:
        """The assets of the nodes of `reaches` no `read` claimed: none of a walk `read` was
        handed (not even looked at: ~85k ids at 100k, ~25 ms), then those of the others."""
        with self._lock:
            unread = [r for r in reaches if not any(r is done for done in self._read)]
            every = dict.fromkeys(node_id for reach in unread for node_id in reach)
            left = [node_id for node_id in every if node_id not in self._claimed]
            self._claimed.update(left)
            found = self._found
        if left:
            found.update(_assets_of(self._store, left, self._as_of, self._known))
        return found


_UP = 1  # the upstream walk's place in the pair (the downstream walk's is 0)


@dataclass(frozen=True, slots=True)
class _Upstream:
    """The upstream half of the map's reads: its assets and their reach, the nodes read for them,
    the ownerships of ours and theirs, and their jobs' runs and datasets' versions (the gaps')."""

    up: dict[str, AssetReach]
    up_ids: list[str]
    nodes: dict[str, StoredNode]
    ours: set[str]  # ours and the upstream assets: `owns` holds theirs
    owns: dict[str, list[Ownership]]
    runs: dict[str, list[StoredNode]]
    versions: dict[str, list[StoredNode]]


class _UpstreamSide:
    """What the map reads of the upstream walk's assets (`_Upstream`), read after that walk on the
    thread that walked it, while the downstream walk is still walking (it ends later: ~0.75 s
    against ~1.3 s at 100k). Each read is of assets alone, and each asset's answer is its own
    (`ownerships`, `runs_of`, `versions_of` per asset), so the map's reads of the rest after
    both walks, merged with these, answer as its reads of them all."""

    def __init__(
        self, store: GraphStore, as_of: str | None, mine: set[str], owned: dict[str, StoredNode]
    ) -> None:
        self._store, self._as_of, self._mine, self._owned = store, as_of, mine, owned

    def after(self, near: Nearness, asset_of: dict[str, str]) -> _Upstream:
        store, as_of, mine = self._store, self._as_of, self._mine
        up = _closest(near.reach, asset_of)
        nodes = {n.id: n for n in store.get_nodes(sorted(up.keys() - mine))}
        up_ids = [a for a, r in up.items() if a not in mine and r.distance > 0]
        ours = mine | set(up_ids)
        kinds = {a: (nodes.get(a) or self._owned[a]).key.kind for a in ours}
        ours_and_upstream = sorted(ours)
        jobs = [a for a in ours_and_upstream if kinds[a] is K.JOB]
        datasets = [a for a in ours_and_upstream if kinds[a] is K.DATASET]
        return _Upstream(
            up=up,
            up_ids=up_ids,
            nodes=nodes,
            ours=ours,
            owns=ownerships(store, ours_and_upstream, as_of),
            runs=runs_of(store, jobs, as_of),
            versions=versions_of(store, datasets, as_of),
        )


def _parts_of(
    store: GraphStore, mine: list[str], as_of: str | None
) -> tuple[list[str], dict[str, str]]:
    """The parts of the assets `mine` (along WALK_PARTS, in edge id order), and each part's asset
    as `_assets_of` finds it (its first part edge in, by edge id) when the store answers both in
    one call (`GraphStore.parts_and_assets`: the kinds a part is walked to are those its asset is
    read along); a request's budget view charges it as the two `neighbors` reads it stands for.
    Through a view that does not answer it (tests' read counters), the parts alone: `_assets_of`
    then reads their assets as before."""
    if not answers_itself(store, "parts_and_assets") or not _PARTS_READ_IN:
        return [dst for _, dst in _ends(store, mine, Direction.OUT, set(WALK_PARTS), as_of)], {}
    ends, into = store.parts_and_assets(mine, WALK_PARTS, as_of)
    known: dict[str, str] = {}
    keep_first_assets(known, Direction.IN, into)
    return [dst for _, dst in ends], known


def _assets_of(
    store: GraphStore, ids: Iterable[str], as_of: str | None, known: dict[str, str]
) -> dict[str, str]:
    """node id -> the asset it is or belongs to, as queries/assets.py `assets_of` answers, from
    the ids alone (a node's kind is in its id): no node is read, one edge read per direction,
    for the parts whose asset is not `known` already (`_parts_of`: every edge of the part kinds
    into them read)."""
    # a known part's kind is one read IN (`_PARTS_READ_IN`): its id is not parsed for its kind
    # (~32k of them in the largest team's map at 100k)
    every = dict.fromkeys(ids)
    found = {node_id: known[node_id] for node_id in every if node_id in known}
    parts: dict[Direction, list[str]] = {Direction.IN: [], Direction.OUT: []}
    unique = [node_id for node_id in every if node_id not in found]
    for node_id, role in zip(unique, map(_ROLE.get, map(node_kind, unique)), strict=True):
        if role is _ASSET:
            found[node_id] = node_id
        elif role is not None:
            parts[role].append(node_id)
    for direction, part_ids in sorted(parts.items()):
        if not part_ids:
            continue
        # sorted by edge id: a part with two assets (rare) gets the first, on every store
        ends = _ends(store, part_ids, direction, PART_KINDS[direction], as_of)
        keep_first_assets(found, direction, ends)
    return found


# a node kind's role for `_assets_of`: an asset, or a part found along the way it is read
_ASSET = "asset"
_ROLE: dict[NodeKind, str | Direction] = {kind: _ASSET for kind in ASSET_KINDS} | {
    kind: way for kind, (_, way) in PART_OF.items()
}
# the starts' parts' assets are read with the parts (`_parts_of`) when a part is walked to along
# exactly the kinds its asset is read IN along, and every node those kinds lead to is such a part
_PARTS_READ_IN = set(WALK_PARTS) == set(PART_KINDS[Direction.IN]) and all(
    EDGE_SPECS[kind].targets <= {k for k, (_, w) in PART_OF.items() if w is Direction.IN}
    for kind in WALK_PARTS
)


def _ends(
    store: GraphStore,
    ids: list[str],
    direction: Direction,
    kinds: Iterable[EdgeKind],
    as_of: str | None,
) -> list[tuple[str, str]]:
    """The ends of `neighbors`' edges: on a store, without building the edges; through a view
    of one (the request budget, which charges `neighbors`), from `neighbors` itself."""
    if isinstance(store, GraphStore):
        return store.neighbor_ends(ids, direction, kinds, as_of)
    return [(e.key.src.id, e.key.dst.id) for e in store.neighbors(ids, direction, kinds, as_of)]


def _closest(
    reach: dict[str, tuple[int, Certainty]], asset_of: dict[str, str]
) -> dict[str, AssetReach]:
    """asset id -> its least distance and best certainty over itself and its reached parts (by
    asset id), as queries/assets.py `reached_assets` answers."""
    best: dict[str, AssetReach] = {}
    zero = AssetReach(0, Certainty.EXACT)
    for node_id, got in reach.items():
        if (asset := asset_of.get(node_id)) is None:
            continue
        if got is _START:  # a start (thousands of them): nothing is closer or surer
            best[asset] = zero
            continue
        distance, certainty = got
        seen = best.get(asset)
        if seen is None:
            best[asset] = AssetReach(distance, certainty)
        elif distance < seen.distance or (
            certainty is Certainty.EXACT and seen.certainty is not Certainty.EXACT
        ):
            exact = Certainty.EXACT in (seen.certainty, certainty)
            best[asset] = AssetReach(
                min(distance, seen.distance), Certainty.EXACT if exact else Certainty.POSSIBLE
            )
    return dict(sorted(best.items()))


def _owner_links(
    assets: list[str],
    owns_of: dict[str, list[Ownership]],
    us: set[str],
    nodes: dict[str, StoredNode],
) -> list[OwnerLink]:
    found: dict[str, tuple[bool, set[str]]] = {}
    for asset in assets:
        for o in owns_of.get(asset, []):
            if o.owner.id not in us:
                found.setdefault(o.owner_id, (o.left, set()))[1].add(asset)
    links = []
    for owner, (left, held) in sorted(found.items()):
        ids = tuple(sorted(held))
        links.append(OwnerLink(owner, left, ids, tuple(nodes[a] for a in ids)))
    return links


def _gaps(
    store: GraphStore,
    *,
    nodes: dict[str, StoredNode],
    mine: set[str],
    up_ids: list[str],
    down_ids: list[str],
    owns_of: dict[str, list[Ownership]],
    when: str | None,
    runs: dict[str, list[StoredNode]] | None = None,
    versions: dict[str, list[StoredNode]] | None = None,
) -> list[Gap]:
    """The gaps; `runs` and `versions` (of our and the upstream jobs and datasets) when they were
    read already (`_UpstreamSide`)."""
    gaps: list[Gap] = []
    chains = sorted(set(up_ids) | set(down_ids))
    for asset in chains:
        if not owns_of.get(asset):
            gaps.append(Gap(GapKind.UNOWNED, nodes[asset], None, "no owner", events(nodes[asset])))
    for asset in sorted(mine | set(chains)):
        for o in owns_of.get(asset, []):
            if o.left:
                detail = f"owner {o.owner_id} ({o.type}) has left"
                if all(x.left for x in owns_of[asset]):
                    detail += "; no remaining owner"
                evidence = events(nodes[asset], o.edge, o.owner)
                gaps.append(Gap(GapKind.OWNER_LEFT, nodes[asset], o.owner, detail, evidence))

    # failing runs and quality: of what we own and what we depend on, not of our dependants
    ours_and_upstream = sorted(mine | set(up_ids))
    jobs = [a for a in ours_and_upstream if nodes[a].key.kind is K.JOB]
    if runs is None:
        runs = runs_of(store, jobs, when)
    for job in jobs:
        if job not in runs:
            continue
        latest = runs[job][-1]
        state = latest.props.get("state")
        if state in FAILED_STATES:
            detail = f"latest run {latest.key.parts[0]} is {state}"
            if message := latest.props.get("error_message"):
                detail += f": {message}"
            gaps.append(Gap(GapKind.FAILING_RUN, nodes[job], latest, detail, events(latest)))

    datasets = [a for a in ours_and_upstream if nodes[a].key.kind is K.DATASET]
    if versions is None:
        versions = versions_of(store, datasets, when)
    for ds in datasets:
        # the latest version speaks for the dataset; quality stated on the dataset itself only
        # counts when no version is known
        judged = versions[ds][-1] if ds in versions else nodes[ds]
        if failed := quality_failed(judged):
            passed = judged.props.get("quality_passed", 0)
            detail = f"{failed} quality check(s) failed, {passed} passed, on {judged.key.display}"
            related = judged if judged.id != ds else None
            gaps.append(Gap(GapKind.FAILING_QUALITY, nodes[ds], related, detail, events(judged)))

    gaps.sort(
        key=lambda g: (
            g.kind.value,
            g.asset.key.display,
            g.asset.id,
            g.related.id if g.related else "",
        )
    )
    return gaps
