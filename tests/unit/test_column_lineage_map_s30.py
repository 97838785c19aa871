"""Session 30's column lineage mapping (ingest/openlineage/columns.py): flows sorted by the keys'
own order spelled out (`_flow_order`), `Transformations.add` skipping what is None. The oracle is
the code before, kept verbatim here (`OldTransformations`, `old_column_flows`,
`old_map_column_lineage`): over generated columnLineage facets, in both of the facet's forms and
with odd values (numbers, empty strings, None, nested objects, an alias of the output, input
fields without a namespace or a field), the mapped mutations are the same, in the same order,
with the same props in the same order, and a facet the old code refused is refused alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Provenance
from lineage_kg.graph.naming import column_key, dataset_key
from lineage_kg.ingest.facets import text
from lineage_kg.ingest.openlineage.builder import EventGraph
from lineage_kg.ingest.openlineage.columns import add_feed, map_column_lineage
from lineage_kg.ingest.openlineage.identity import AliasTable

PROV = Provenance("openlineage", "e1", "2026-01-01T00:00:00Z")


# ---- the code before (session 29), verbatim --------------------------------------------------
@dataclass
class OldTransformations:
    types: set[str] = field(default_factory=set)
    subtypes: set[str] = field(default_factory=set)
    masking: bool | None = None
    descriptions: list[str] = field(default_factory=list)

    def add(
        self, kind: Any = None, subtype: Any = None, description: Any = None, masking: Any = None
    ) -> None:
        for value, into in ((kind, self.types), (subtype, self.subtypes)):
            if value := text(value):
                into.add(value)
        if (description := text(description)) and description not in self.descriptions:
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


def _old_input_column(entry: Any, aliases: AliasTable, skipped: list[Any]) -> NodeKey | None:
    if not isinstance(entry, dict):
        raise TypeError("an input field must be an object")
    try:
        dataset = aliases.resolve(entry.get("namespace"), entry.get("name"))
        return column_key(dataset, entry.get("field"))
    except ValueError:
        skipped.append(entry)
        return None


def _old_indirect(transformations: Any) -> list[Any]:
    if not isinstance(transformations, list):
        return []
    return [
        t
        for t in transformations
        if isinstance(t, dict) and str(t.get("type") or "").upper() == "INDIRECT"
    ]


def old_column_flows(
    output: NodeKey, lineage: dict[str, Any], aliases: AliasTable, skipped: list[Any]
) -> dict[tuple[NodeKey, NodeKey], OldTransformations]:
    fields = lineage.get("fields") or {}
    if not isinstance(fields, dict):
        raise TypeError("columnLineage fields must be an object")
    flows: dict[tuple[NodeKey, NodeKey], OldTransformations] = {}
    for out_field, spec in fields.items():
        if not out_field:
            if isinstance(spec, dict) and spec.get("inputFields"):
                skipped.append(spec)
            continue
        target = column_key(output, out_field)
        inputs = spec.get("inputFields") or []
        if not isinstance(inputs, list):
            raise TypeError("inputFields must be a list")
        for entry in inputs:
            if (source := _old_input_column(entry, aliases, skipped)) is None:
                continue
            merged = flows.setdefault((source, target), OldTransformations())
            merged.add_list(entry.get("transformations"))
            merged.add(spec.get("transformationType"), None, spec.get("transformationDescription"))
            if indirect := _old_indirect(entry.get("transformations")):
                flows.setdefault((source, output), OldTransformations()).add_list(indirect)
    whole = lineage.get("dataset") or []
    if not isinstance(whole, list):
        raise TypeError("columnLineage dataset must be a list")
    for entry in whole:
        if (source := _old_input_column(entry, aliases, skipped)) is not None:
            flows.setdefault((source, output), OldTransformations()).add_list(
                entry.get("transformations")
            )
    return flows


def old_map_column_lineage(
    g: EventGraph, output: NodeKey, lineage: dict[str, Any], aliases: AliasTable
) -> None:
    flows = old_column_flows(output, lineage, aliases, [])
    for (source, target), merged in sorted(flows.items(), key=lambda flow: flow[0]):
        add_feed(g, source, target, **merged.props())


# ---- generated facets --------------------------------------------------------------------------
odd = st.one_of(
    st.none(),
    st.just(""),
    st.sampled_from(["DIRECT", "INDIRECT", "indirect", "x"]),
    st.integers(0, 2),
    st.booleans(),
    st.just({"k": 1}),
)
transformation = st.fixed_dictionaries(
    {},
    optional={
        "type": odd,
        "subtype": odd,
        "description": st.one_of(odd, st.sampled_from(["d1", "d2"])),
        "masking": st.one_of(st.booleans(), st.none(), st.just("true")),
    },
)
names = st.sampled_from(["a", "b", "B", "a.b", "é"])
# small pools: the same input column listed twice under one output (merged transformations,
# a description given twice) must come up often
input_field = st.fixed_dictionaries(
    {
        "namespace": st.sampled_from(["s3://b", "s3://b", "pg://h:5432", None]),
        "name": st.sampled_from(["db.t1", "path/out"]),
        "field": st.sampled_from(["a", "b", ""]),
    },
    optional={"transformations": st.one_of(st.none(), st.lists(transformation, max_size=3))},
)
spec = st.fixed_dictionaries(
    {"inputFields": st.lists(input_field, max_size=4)},
    optional={"transformationType": odd, "transformationDescription": odd},
)
lineage_st = st.fixed_dictionaries(
    {"fields": st.dictionaries(st.one_of(names, st.just("")), spec, max_size=4)},
    optional={"dataset": st.lists(input_field, max_size=3)},
)


def _mapped(mapper: Any, lineage: dict[str, Any]) -> tuple[list[Any], str | None]:
    output = dataset_key("s3://b", "db.out")
    # the output's other name: lineage naming it lands on the output's own columns
    aliases = AliasTable(
        [
            {
                "namespace": "s3://b",
                "name": "db.out",
                "facets": {
                    "symlinks": {
                        "identifiers": [{"namespace": "s3://b", "name": "path/out", "type": "x"}]
                    }
                },
            }
        ]
    )
    g = EventGraph(PROV)
    try:
        mapper(g, output, lineage, aliases)
    except Exception as exc:
        return [], f"{type(exc).__name__}: {exc}"
    return g.finish().mutations, None


@settings(max_examples=400, deadline=None)
@given(lineage=lineage_st)
def test_the_same_mutations_as_the_old_mapping(lineage: dict[str, Any]) -> None:
    new, new_error = _mapped(map_column_lineage, lineage)
    old, old_error = _mapped(old_map_column_lineage, lineage)
    assert new_error == old_error
    assert new == old
    for n, o in zip(new, old, strict=True):
        assert list(n.props.items()) == list(o.props.items())


def test_flows_across_kinds_sort_as_the_keys_do() -> None:
    """A flow into the dataset itself (a Column target beside a Dataset target) sorts by kind
    first, as NodeKey's own order does."""
    lineage = {
        "fields": {"b": {"inputFields": [{"namespace": "s3://b", "name": "db.t1", "field": "a"}]}},
        "dataset": [{"namespace": "s3://b", "name": "db.t1", "field": "a"}],
    }
    new, _ = _mapped(map_column_lineage, lineage)
    old, _ = _mapped(old_map_column_lineage, lineage)
    assert new == old
    feeds = [m.key.dst.kind for m in new if m.key.kind is EdgeKind.FEEDS]
    assert feeds == sorted(feeds) and set(feeds) == {NodeKind.COLUMN, NodeKind.DATASET}
