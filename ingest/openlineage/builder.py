"""The mutations of one event under construction (the facet readers are in ingest/facets.py).

Facets come from many producers in many shapes. Each facet is mapped inside `EventGraph.isolated`:
if it is not what the spec says, the mutations it had added are dropped and a warning logged,
so one odd facet never costs the rest of the event.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from lineage_kg.graph.model import EdgeKind, NodeKey
from lineage_kg.graph.mutations import (
    DatasetLink,
    Direction,
    EdgeKey,
    EdgeRetire,
    EdgeUpsert,
    MutationBatch,
    Provenance,
)
from lineage_kg.ingest.facets import Facets, text

log = logging.getLogger("lineage_kg.ingest.openlineage")


def tag_strings(tags: Any) -> list[str]:
    """The tags facet's [{key, value}] as ["key:value", ...] (just "key" when there is no value)."""
    if not isinstance(tags, list):
        raise TypeError("tags must be a list")
    out = []
    for tag in tags:
        key, value = text(tag.get("key")), text(tag.get("value"))
        if key:
            out.append(f"{key}:{value}" if value else key)
    return sorted(set(out))


def _clean(props: dict[str, Any]) -> dict[str, Any]:
    # None and "" say nothing; omitting them leaves what earlier events said in place
    return {k: v for k, v in props.items() if v is not None and v != ""}


class EventGraph:
    """Collects one event's mutations, all with the event's provenance."""

    def __init__(self, prov: Provenance) -> None:
        self.prov = prov
        self._batch = MutationBatch()
        self._facet_names: dict[NodeKey, set[str]] = {}

    def node(self, key: NodeKey, **props: Any) -> NodeKey:
        return self._batch.node(key, self.prov, **_clean(props))

    def edge(
        self, src: NodeKey, kind: EdgeKind, dst: NodeKey, disc: str = "", **props: Any
    ) -> EdgeKey:
        # what MutationBatch.edge does, without copying the cleaned props once more: most of
        # an event's mutations are edges (~250k in a large batch)
        key = EdgeKey(src, kind, dst, disc)
        self._batch.mutations.append(EdgeUpsert(key, self.prov, _clean(props) if props else {}))
        return key

    def retire(
        self,
        anchor: NodeKey,
        kind: EdgeKind,
        direction: Direction,
        keep: set[NodeKey],
        *,
        disc: str | None = None,
    ) -> None:
        """See EdgeRetire; `disc`: only edges with that discriminator."""
        self._batch.add(EdgeRetire(anchor, kind, direction, frozenset(keep), self.prov, disc))

    def link(self, alias: NodeKey, canonical: NodeKey) -> None:
        """`alias` is another name of the dataset `canonical` (see DatasetLink)."""
        self._batch.add(DatasetLink(alias, canonical, self.prov))

    def note_facets(self, key: NodeKey, facets: Facets) -> None:
        """Remember which facets (standard or custom) came with a node: its `facets` prop."""
        self._facet_names.setdefault(key, set()).update(str(name) for name in facets)

    @contextmanager
    def isolated(self, what: str) -> Iterator[None]:
        """Map one facet: on a shape error, undo what it added, log, and carry on."""
        mark = len(self._batch.mutations)
        try:
            yield
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            del self._batch.mutations[mark:]
            log.warning("event %s: skipped %s: %s", self.prov.event_id, what, exc)

    def finish(self) -> MutationBatch:
        for key, names in sorted(self._facet_names.items()):
            if names:
                self._batch.node(key, self.prov, facets=sorted(names))
        return self._batch
