"""Columns: the schema facet (HAS_COLUMN) and the columnLineage facet (FEEDS).

Column lineage comes in two forms. Legacy: `fields.{out}.inputFields[]` with the transformation
given once per output field (`transformationType`/`transformationDescription`). Newer: each input
field carries `transformations[]` ({type DIRECT|INDIRECT, subtype, description, masking}), and the
`dataset` list names input columns that affect the whole output (filters, joins, grouping). Both
become one FEEDS edge per (input column, output column or dataset) with the transformations merged.
An input listed as INDIRECT under one output field affects the whole output too: it also gets the
FEEDS edge into the output dataset that the `dataset` list would give it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lineage_kg.graph.model import COLUMN_LINEAGE, EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.naming import column_key, dataset_of
from lineage_kg.ingest.facets import scalar, schema_columns, text
from lineage_kg.ingest.openlineage.builder import EventGraph, log
from lineage_kg.ingest.openlineage.identity import AliasTable


def map_schema(
    g: EventGraph,
    dataset: NodeKey,
    schema: dict[str, Any],
    *,
    complete: bool = True,
    columns: list[tuple[str, dict[str, Any]]] | None = None,
) -> None:
    """HAS_COLUMN per field (type, description, ordinal = depth-first position from 0); columns
    the schema no longer lists stop being current, so schema history stays queryable.
    `columns`: schema_columns of the facet's fields, if the caller read them already."""
    listed = columns if columns is not None else schema_columns(schema.get("fields"))
    columns_seen = set()
    for ordinal, (path, entry) in enumerate(listed):
        column = column_key(dataset, path)
        columns_seen.add(column)
        g.edge(
            dataset,
            EdgeKind.HAS_COLUMN,
            column,
            type=scalar(entry.get("type")),
            description=scalar(entry.get("description")),
            ordinal=ordinal,
        )
    # only a complete schema (the writer's) retires columns; an empty list means "not known"
    if complete and columns_seen:
        g.retire(dataset, EdgeKind.HAS_COLUMN, Direction.OUT, columns_seen)


@dataclass
class Transformations:
    """What is known of how one input column reaches one output, merged over all mentions."""

    types: set[str] = field(default_factory=set)
    subtypes: set[str] = field(default_factory=set)
    masking: bool | None = None
    descriptions: list[str] = field(default_factory=list)

    def add(
        self, kind: Any = None, subtype: Any = None, description: Any = None, masking: Any = None
    ) -> None:
        # None says nothing (text(None) is None), and most calls leave two of the four out:
        # ~300k calls for a large batch, each one a loop and four `text` calls before
        if kind is not None and (value := text(kind)):
            self.types.add(value)
        if subtype is not None and (value := text(subtype)):
            self.subtypes.add(value)
        if (
            description is not None
            and (description := text(description))
            and description not in self.descriptions
        ):
            self.descriptions.append(description)
        if isinstance(masking, bool):
            self.masking = bool(self.masking) or masking

    def add_list(self, transformations: Any) -> None:
        if transformations is None:
            return
        if not isinstance(transformations, list):
            raise TypeError("transformations must be a list")
        for t in transformations:
            self.add(t.get("type"), t.get("subtype"), t.get("description"), t.get("masking"))

    def props(self) -> dict[str, Any]:
        return {
            "transformation_types": sorted(self.types) or None,
            "transformation_subtypes": sorted(self.subtypes) or None,
            "masking": self.masking,
            "description": "; ".join(self.descriptions) or None,
        }


def _input_column(entry: Any, aliases: AliasTable, skipped: list[Any] | None) -> NodeKey | None:
    if not isinstance(entry, dict):
        raise TypeError("an input field must be an object")
    try:
        dataset = aliases.resolve(entry.get("namespace"), entry.get("name"))
        return column_key(dataset, aliases.field(dataset, entry.get("field")))
    except ValueError as exc:
        # matchers and some producers leave out the namespace: never guess one
        log.info("column lineage input skipped: %s", exc)
        if skipped is not None:
            skipped.append(entry)
        return None


def column_flows(
    output: NodeKey,
    lineage: dict[str, Any],
    aliases: AliasTable,
    skipped: list[Any] | None = None,
) -> dict[tuple[NodeKey, NodeKey], Transformations]:
    """(input column, output column | output dataset) -> merged transformations; input fields
    that name no column (no namespace, no field) are left out, and added to `skipped`.

    Read once per event: the output's mapping, its PRODUCES edge's authority, the inputs the
    lineage names and the retirement of replaced FEEDS all ask for the same facet (a quarter of
    a large event's mapping each). The answer, the fields skipped and a shape error are kept
    in the event's alias table and given again; callers only read the flows."""
    read = aliases.flows_read.get((output, id(lineage)))
    if read is None or read[0] is not lineage:
        found: list[Any] = []
        try:
            read = (lineage, _column_flows(output, lineage, aliases, found), found, None)
        except Exception as exc:  # given again to every caller, as a fresh read would raise it
            read = (lineage, None, found, exc)
        aliases.flows_read[(output, id(lineage))] = read
    _, flows, found, error = read
    if skipped is not None:
        skipped.extend(found)
    if error is not None:
        raise error
    return flows


def _column_flows(
    output: NodeKey, lineage: dict[str, Any], aliases: AliasTable, skipped: list[Any]
) -> dict[tuple[NodeKey, NodeKey], Transformations]:
    fields = lineage.get("fields") or {}
    if not isinstance(fields, dict):
        raise TypeError("columnLineage fields must be an object")
    flows: dict[tuple[NodeKey, NodeKey], Transformations] = {}
    for out_field, spec in fields.items():
        if not out_field:
            # a column without a name: nothing to attach its inputs to
            if isinstance(spec, dict) and spec.get("inputFields"):
                skipped.append(spec)
            continue
        target = column_key(output, aliases.field(output, out_field))
        inputs = spec.get("inputFields") or []
        if not isinstance(inputs, list):
            raise TypeError("inputFields must be a list")
        for entry in inputs:
            if (source := _input_column(entry, aliases, skipped)) is None:
                continue
            merged = flows.setdefault((source, target), Transformations())
            merged.add_list(entry.get("transformations"))
            # legacy form: one type/description per output field, applying to all its inputs
            merged.add(spec.get("transformationType"), None, spec.get("transformationDescription"))
            # an INDIRECT input (a filter, a join, a grouping) decides which rows the output
            # holds, whichever field a producer lists it under: every column of the output can
            # change with it, as for the dataset-wide list
            if indirect := _indirect(entry.get("transformations")):
                flows.setdefault((source, output), Transformations()).add_list(indirect)
    whole = lineage.get("dataset") or []
    if not isinstance(whole, list):
        raise TypeError("columnLineage dataset must be a list")
    for entry in whole:
        if (source := _input_column(entry, aliases, skipped)) is not None:
            flows.setdefault((source, output), Transformations()).add_list(
                entry.get("transformations")
            )
    return flows


def _indirect(transformations: Any) -> list[Any]:
    """The INDIRECT entries of an input field's `transformations` (a list, checked by
    `Transformations.add_list`)."""
    if not isinstance(transformations, list):
        return []
    return [
        t
        for t in transformations
        if isinstance(t, dict) and str(t.get("type") or "").upper() == "INDIRECT"
    ]


def lineage_inputs(output: NodeKey, lineage: dict[str, Any], aliases: AliasTable) -> set[NodeKey]:
    """The datasets whose columns the lineage says feed `output`."""
    return {dataset_of(source) for source, _ in column_flows(output, lineage, aliases)}


def lineage_authority(
    output: NodeKey, lineage: dict[str, Any], aliases: AliasTable, at: str
) -> dict[str, Any]:
    """Props for the job's PRODUCES edge into `output`: its column lineage is authoritative (an
    input column it does not name does not reach `output`) when the facet reads cleanly, names
    at least one input column and identifies every input field it lists. A facet that reads
    cleanly but names no input column (`{}`, as Spark sends for a MERGE it cannot follow) or
    lists an input field it cannot place (no namespace: Spark's JDBC inputs) says it is not, as
    of its time (`column_lineage: false`; every reader takes false as absent): the newest run's
    facet decides, so an older run's authority never outlives it, and the output is reached
    (possible) from the input columns the facet does not name. Nothing for a facet that does not
    read (its retirement is dropped too: it says nothing of the lineage)."""
    skipped: list[Any] = []
    try:
        flows = column_flows(output, lineage, aliases, skipped)
    except (KeyError, TypeError, ValueError, AttributeError):
        return {}  # reported when the facet itself is mapped
    if not flows or skipped:
        return {COLUMN_LINEAGE: False, "column_lineage_at": at}
    return {COLUMN_LINEAGE: True, "column_lineage_at": at}


def _flow_order(flow: tuple[tuple[NodeKey, NodeKey], Transformations]) -> tuple[Any, ...]:
    """The order of the (source, target) pair itself (NodeKey orders by kind, then parts),
    spelled out: comparing the keys went through the dataclass's `__lt__`/`__eq__` in Python,
    ~5 calls a flow (the pairs are a dict's keys: no two are equal)."""
    (source, target), _ = flow
    return (source.kind, source.parts, target.kind, target.parts)


def map_column_lineage(
    g: EventGraph, output: NodeKey, lineage: dict[str, Any], aliases: AliasTable
) -> None:
    flows = column_flows(output, lineage, aliases)
    for (source, target), merged in sorted(flows.items(), key=_flow_order):
        add_feed(g, source, target, **merged.props())


def add_feed(g: EventGraph, source: NodeKey, target: NodeKey, disc: str = "", **props: Any) -> None:
    """A FEEDS edge, and the HAS_COLUMN edges of its columns: lineage names columns that schema
    facets omit (dbt lists only documented ones), and a column must hang off its dataset."""
    g.edge(dataset_of(source), EdgeKind.HAS_COLUMN, source)
    if target.kind is NodeKind.COLUMN:
        g.edge(dataset_of(target), EdgeKind.HAS_COLUMN, target)
    g.edge(source, EdgeKind.FEEDS, target, disc, **props)
