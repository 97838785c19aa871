"""The ownership facet (dataset and job): Owner -OWNS-> asset, one edge per ownership type."""

from __future__ import annotations

import re
from typing import Any

from graph.model import EdgeKind, NodeKey, NodeKind
from ingest.openlineage.builder import EventGraph, text

# an email, maybe behind an OpenLineage owner prefix such as "user:"
_EMAIL = re.compile(r"^(?:[A-Za-z_]+:)?[^@\s:]+@[^@\s]+\.[^@\s]+$")


def owner_id(name: str) -> str:
    """One identity per owner across sources: trimmed, and lowercased if it is an email
    (email addresses are matched case-insensitively in practice; team names may not be)."""
    name = name.strip()
    return name.lower() if _EMAIL.match(name) else name


def map_ownership(g: EventGraph, asset: NodeKey, ownership: dict[str, Any]) -> None:
    owners = ownership.get("owners") or []
    if not isinstance(owners, list):
        raise TypeError("ownership owners must be a list")
    for owner in owners:
        name = text(owner.get("name"))
        if name and (oid := owner_id(name)):
            key = NodeKey.of(NodeKind.OWNER, owner_id=oid)
            g.edge(key, EdgeKind.OWNS, asset, disc=text(owner.get("type")) or "owner")
