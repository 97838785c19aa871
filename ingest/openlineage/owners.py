"""The ownership facet (dataset and job): Owner -OWNS-> asset, one edge per ownership type."""

from __future__ import annotations

from typing import Any

from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.naming import owner_id
from lineage_kg.ingest.facets import text
from lineage_kg.ingest.openlineage.builder import EventGraph

__all__ = ["map_ownership", "owner_id"]  # owner_id: the rule lives in graph/naming.py


def map_ownership(g: EventGraph, asset: NodeKey, ownership: dict[str, Any]) -> None:
    owners = ownership.get("owners") or []
    if not isinstance(owners, list):
        raise TypeError("ownership owners must be a list")
    for owner in owners:
        name = text(owner.get("name"))
        if name and (oid := owner_id(name)):
            key = NodeKey.of(NodeKind.OWNER, owner_id=oid)
            g.edge(key, EdgeKind.OWNS, asset, disc=text(owner.get("type")) or "owner")
