"""Column lineage replaced by a newer run: FEEDS a COMPLETE no longer lists stop being current.

A COMPLETE RunEvent (or a JobEvent) whose output carries a `columnLineage` facet states that
output's column lineage as of the event's time. Each output column it names keeps only the input
columns listed for it, and the output dataset keeps only the dataset-wide inputs (`dataset`, if
the facet has that list); the other FEEDS into them are retired. The store decides by time
whether a retirement applies (graph/validity.py), so an older run's COMPLETE arriving late never
closes a newer run's edges. The facet is the output's whole column lineage: a column it names
with no inputs, or one the same output's schema facet lists and the facet does not name, loses
all its FEEDS. Columns named by neither are left alone (nothing in a pure mapping knows them).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lineage_kg.graph.model import EdgeKind, NodeKey
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.naming import column_key
from lineage_kg.ingest.facets import facet, facets_of, schema_columns
from lineage_kg.ingest.openlineage.builder import EventGraph
from lineage_kg.ingest.openlineage.columns import column_flows
from lineage_kg.ingest.openlineage.identity import AliasTable


def retire_replaced_feeds(
    g: EventGraph, written: Iterable[tuple[Any, NodeKey | None]], aliases: AliasTable
) -> None:
    for ds, output in written:
        lineage = facet(facets_of(ds), "columnLineage")
        if lineage is None or output is None:
            continue
        with g.isolated(f"column lineage retirement of {output.display}"):
            # the dataset-wide list only where the producer writes one (the newer form of the
            # facet, possibly empty); the legacy form never has dataset-wide inputs to replace
            keep: dict[NodeKey, set[NodeKey]] = {output: set()} if "dataset" in lineage else {}
            for out_field in lineage.get("fields") or {}:
                if out_field:
                    # named by the lineage, so a column of the output (as add_feed says), even
                    # when it lists no input: the retirement's anchor never hangs loose
                    column = column_key(output, aliases.field(output, out_field))
                    named = g.edge(output, EdgeKind.HAS_COLUMN, column)
                    keep[named.dst] = set()
            # the output's columns its schema lists and the lineage does not name: none of their
            # inputs is current any more (the facet is the whole column lineage of the output)
            for path in _schema_paths(ds):
                keep.setdefault(column_key(output, path), set())
            for source, target in column_flows(output, lineage, aliases):
                keep.setdefault(target, set()).add(source)
            for target, sources in sorted(keep.items()):
                g.retire(target, EdgeKind.FEEDS, Direction.IN, sources)


def _schema_paths(ds: Any) -> list[str]:
    schema = facet(facets_of(ds), "schema")
    try:
        return [path for path, _ in schema_columns(schema.get("fields"))] if schema else []
    except TypeError:
        return []  # reported when the schema facet was mapped
