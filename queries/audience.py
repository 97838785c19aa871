"""Who to tell of a change (issue 20, part 3): the owners of what it may break.

The impact walk of queries/impact.py from the change's start nodes (a dataset stands for itself
and its columns, as in `impact`): the owners of the changed node and its starts, and of every
asset reached with *exact* certainty, are told by name; the assets reached only *possibly* are
summarised (how many, of which kinds, whose). Owners that are an alias count as the owner they
are an alias of; owners who left are named apart, so a message can say nobody reads it there.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from lineage_kg.graph.model import Certainty, NodeKey, NodeKind
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.assets import has_left
from lineage_kg.queries.impact import owners_of, training_data, walk_downstream
from lineage_kg.queries.traversal import start_nodes

LISTED = 25  # exact assets named in a message; the rest counted


def audience(
    store: GraphStore,
    subject: str,
    starts: list[str],
    *,
    depth: int = 10,
    max_nodes: int = 20_000,
) -> dict[str, Any]:
    """The owners to tell of a change to `subject` starting at `starts` (node ids), JSON-able."""
    known = {n.id for n in store.get_nodes(sorted({subject, *starts}))}
    start_ids: list[str] = []
    for node_id in starts:
        if node_id in known:
            start_ids += start_nodes(store, node_id, None)[1]
    walk = walk_downstream(
        store, sorted(set(start_ids)), depth=depth, as_of=None, max_nodes=max_nodes
    )
    # what changed and where the walk began are the subject, not its impact
    begun = set(start_ids) | known
    reached = [r for r in training_data(walk, depth) if r.node_id not in begun]
    exact = [r for r in reached if r.certainty is Certainty.EXACT]
    possible = [r for r in reached if r.certainty is not Certainty.EXACT]
    own = sorted(known)
    owners = owners_of(store, [*own, *(r.node_id for r in reached)])
    told = {o for i in own for o in owners.get(i, ())}
    told |= {o for r in exact for o in owners.get(r.node_id, ())}
    possibly = Counter(o for r in possible for o in owners.get(r.node_id, ()) if o not in told)
    everyone = sorted(told | set(possibly))
    people = store.get_nodes([NodeKey.of(NodeKind.OWNER, owner_id=o).id for o in everyone])
    left = sorted(p.key.parts[0] for p in people if has_left(p))

    def named(node_id: str) -> dict[str, Any]:
        key = NodeKey.from_id(node_id)
        return {
            "id": node_id,
            "kind": key.kind.value,
            "name": key.display,
            "owners": owners.get(node_id, []),
        }

    exact.sort(key=lambda r: (r.distance, r.node_id))
    return {
        "owners": sorted(told - set(left)),
        "possible_owners": {o: n for o, n in sorted(possibly.items()) if o not in left},
        "left": left,
        "exact": [named(r.node_id) for r in exact[:LISTED]],
        "exact_count": len(exact),
        "possible_count": len(possible),
        "possible_by_kind": dict(
            sorted(Counter(NodeKey.from_id(r.node_id).kind.value for r in possible).items())
        ),
        "kpis": sorted(
            NodeKey.from_id(r.node_id).display
            for r in reached
            if NodeKey.from_id(r.node_id).kind is NodeKind.KPI
        ),
        "decision_points": sorted(
            NodeKey.from_id(r.node_id).display
            for r in reached
            if NodeKey.from_id(r.node_id).kind is NodeKind.DECISION_POINT
        ),
        "truncated": walk.truncated,
    }
