"""The accountability map as it was computed before issue 19's rework, kept callable as the
naive baseline of `benchmarks.accountability_walk` and as the contract tests' reference
(tests/contract/test_accountability_property.py): the same answer, reached the old way — the
impact walk and the upstream walk with every path kept (`traverse`), then every node either walk
reached read (`reached_assets`, once per walk). Only the way it walks and reads differs from
queries/accountability.py; the answer's types and the gaps are that module's own.

Kept as a copy, not read from git (`harness.module_at`) as the other baselines are: a contract
test stands on it, and a test must not need the repository's history (a CI checkout may be
shallow or no checkout at all)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from lineage_kg.graph.errors import InvalidArgument
from lineage_kg.graph.model import Certainty, EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.accountability import (
    AccountabilityMap,
    OwnedAsset,
    RelatedAsset,
    _gaps,
    _owner_links,
)
from lineage_kg.queries.arguments import check_depth, time_arg
from lineage_kg.queries.assets import (
    UPSTREAM_STEPS,
    WALK_PARTS,
    AssetReach,
    node_ref,
    ownerships,
    reached_assets,
)
from lineage_kg.queries.impact import canonical_owners, walk_downstream
from lineage_kg.queries.traversal import traverse

K, E = NodeKind, EdgeKind


def accountability_before(
    store: GraphStore,
    owner_id: str,
    *,
    depth: int = 10,
    as_of: str | datetime | None = None,
    max_nodes: int = 100_000,
) -> AccountabilityMap:
    check_depth(depth)
    when = time_arg("as_of", as_of)
    owner = node_ref(store, owner_id, K.OWNER, "owner_id")
    if owner.key.kind is not K.OWNER:
        raise InvalidArgument(f"owner_id must name an Owner, not a {owner.key.kind}")

    canonical = canonical_owners(store, [owner.id], when)[owner.id]
    if canonical != owner.id:
        owner = store.get_nodes([canonical])[0]

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
    parts = store.neighbors(sorted(mine), Direction.OUT, WALK_PARTS, when)
    starts = [*sorted(mine), *(e.key.dst.id for e in parts)]

    down_walk = walk_downstream(store, starts, depth=depth, as_of=when, max_nodes=max_nodes)
    up_walk = traverse(
        store, starts, UPSTREAM_STEPS, max_depth=depth, as_of=when, max_nodes=max_nodes
    )
    down, up = reached_assets(store, down_walk, when), reached_assets(store, up_walk, when)
    nodes.update(down.nodes)
    nodes.update(up.nodes)
    down_ids = [a for a, r in down.assets.items() if a not in mine and r.distance > 0]
    up_ids = [a for a, r in up.assets.items() if a not in mine and r.distance > 0]
    owns_of = ownerships(store, [*mine, *down_ids, *up_ids], when)

    def related(asset: str, reach: AssetReach) -> RelatedAsset:
        holders = sorted({o.owner_id for o in owns_of.get(asset, [])})
        return RelatedAsset(nodes[asset], reach.distance, reach.certainty, tuple(holders))

    def by_closeness(items: Iterable[RelatedAsset]) -> list[RelatedAsset]:
        return sorted(items, key=lambda r: (r.distance, r.node.key.display, r.node.id))

    downstream = by_closeness(related(a, down.assets[a]) for a in down_ids)
    upstream = by_closeness(related(a, up.assets[a]) for a in up_ids)
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
        truncated=down_walk.truncated or up_walk.truncated,
    )
    answer.gaps = _gaps(
        store, nodes=nodes, mine=mine, up_ids=up_ids, down_ids=down_ids, owns_of=owns_of, when=when
    )
    return answer
