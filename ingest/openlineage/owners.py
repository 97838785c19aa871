"""The ownership facet (dataset and job): Owner -OWNS-> asset, one edge per ownership type.

The facet lists the asset's owners as of the event's time: owners OpenLineage named before and
this facet does not list stop being owners then (a retirement scoped to this source: an OWNS
edge dbt, the catalog, MLflow or Feast assert stays while they do). `owners: []` says the asset
has no owners any more (as far as OpenLineage is concerned); an event without the facet, or
whose list names no owner we can read (every entry without a name), says nothing and retires
nothing. The retirement is by owner, not by type: an (owner, type) edge ends at the first newer
facet that omits the owner, while a facet that lists the owner under another type leaves it;
two facets at one time each speak. docs/openlineage-facets.md.
"""

from __future__ import annotations

from typing import Any

from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction, EdgeRetire
from lineage_kg.graph.naming import owner_id
from lineage_kg.ingest.facets import text
from lineage_kg.ingest.openlineage.builder import EventGraph

__all__ = ["map_ownership", "owner_id"]  # owner_id: the rule lives in graph/naming.py


def map_ownership(g: EventGraph, asset: NodeKey, ownership: dict[str, Any]) -> None:
    owners = ownership.get("owners") or []
    if not isinstance(owners, list):
        raise TypeError("ownership owners must be a list")
    listed: set[NodeKey] = set()
    for owner in owners:
        name = text(owner.get("name"))
        if name and (oid := owner_id(name)):
            key = NodeKey.of(NodeKind.OWNER, owner_id=oid)
            g.edge(key, EdgeKind.OWNS, asset, disc=text(owner.get("type")) or "owner")
            listed.add(key)
    if listed or not owners:
        # EventGraph.retire has no `scoped` (builder.py is not this module's): added as it adds
        # one, to the batch the facet's isolation undoes on a shape error
        g._batch.add(
            EdgeRetire(asset, EdgeKind.OWNS, Direction.IN, frozenset(listed), g.prov, scoped=True)
        )
