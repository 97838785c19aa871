"""An output's columnLineage facet is read once per event (ingest/openlineage/columns.py
`column_flows`, kept in the event's AliasTable) and the event maps to the same mutations as when
every caller reads it afresh: generated events with column lineage in both forms, inputs that name
no column (skipped: no authority), malformed shapes (a shape error at every caller), symlinked
names, and one facet object shared by two outputs."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lineage_kg.graph.model import NodeKey
from lineage_kg.graph.mutations import Mutation
from lineage_kg.graph.naming import dataset_key
from lineage_kg.ingest.openlineage import columns, retirement
from lineage_kg.ingest.openlineage.columns import Transformations
from lineage_kg.ingest.openlineage.identity import AliasTable
from lineage_kg.ingest.openlineage.mapping import map_event

NAMESPACES = ["postgres://db:5432"] * 6 + ["hive://m:9083", None, ""]  # None, "": skipped
NAMES = ["shop.orders", "shop.items", "shop.users"]
FIELDS = ["id", "amount", "user_id"] * 3 + ["", None]


def rarely(bad: st.SearchStrategy[Any], good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`good` mostly, `bad` (a shape error) one time in eight."""
    return st.integers(0, 7).flatmap(lambda i: bad if i == 0 else good)


transformation = rarely(
    st.just("not an object"),  # AttributeError inside the facet: the facet is skipped
    st.fixed_dictionaries(
        {},
        optional={
            "type": st.sampled_from(["DIRECT", "INDIRECT", "indirect", None]),
            "subtype": st.sampled_from(["IDENTITY", "FILTER", "JOIN", ""]),
            "description": st.sampled_from(["copied", "summed", ""]),
            "masking": st.sampled_from([True, False, None]),
        },
    ),
)
input_field = st.fixed_dictionaries(
    {
        "namespace": st.sampled_from(NAMESPACES),
        "name": st.sampled_from(NAMES),
        "field": st.sampled_from(FIELDS),
    },
    optional={"transformations": rarely(st.just({}), st.lists(transformation, max_size=3))},
)
field_spec = st.fixed_dictionaries(
    {"inputFields": rarely(st.just("not a list"), st.lists(input_field, max_size=4))},
    optional={
        "transformationType": st.sampled_from(["IDENTITY", "MASKED", None]),
        "transformationDescription": st.sampled_from(["a description", ""]),
    },
)
lineage = st.fixed_dictionaries(
    {
        "fields": rarely(
            st.just(["not", "an", "object"]),
            st.dictionaries(st.sampled_from(["id", "amount", "total", ""]), field_spec, max_size=3),
        )
    },
    optional={"dataset": st.lists(input_field, max_size=3)},
)


def _dataset(name: str, facets: dict[str, Any], symlink: bool) -> dict[str, Any]:
    if symlink:
        facets = {
            **facets,
            "symlinks": {
                "identifiers": [
                    {"namespace": "hive://m:9083", "name": f"t.{name}", "type": "TABLE"}
                ]
            },
        }
    return {"namespace": "postgres://db:5432", "name": name, "facets": facets}


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    outputs = []
    shared = draw(lineage) if draw(st.booleans()) else None
    for i in range(draw(st.integers(1, 3))):
        facets: dict[str, Any] = {}
        if draw(st.integers(0, 3)):
            # the same object for two outputs: each output's flows are its own
            facets["columnLineage"] = shared if shared is not None else draw(lineage)
        if draw(st.booleans()):
            facets["schema"] = {"fields": [{"name": "id", "type": "int"}, {"name": "total"}]}
        outputs.append(_dataset(f"shop.out{i}", facets, draw(st.booleans())))
    inputs = [
        _dataset(name, {}, draw(st.booleans()))
        for name in draw(st.lists(st.sampled_from(NAMES), max_size=3, unique=True))
    ]
    return {
        "eventType": draw(st.sampled_from(["COMPLETE", "START"])),
        "eventTime": "2026-01-01T00:00:00Z",
        "run": {"runId": "9f0e1c6a-0000-4000-8000-000000000001"},
        "job": {"namespace": "etl", "name": "orders_daily"},
        "inputs": inputs,
        "outputs": outputs,
    }


def _afresh(
    output: NodeKey,
    lineage: dict[str, Any],
    aliases: AliasTable,
    skipped: list[Any] | None = None,
) -> dict[tuple[NodeKey, NodeKey], Transformations]:
    """The facet read at every call, as before it was kept (the oracle)."""
    return columns._column_flows(output, lineage, aliases, [] if skipped is None else skipped)


def _mapped(event: dict[str, Any]) -> list[Mutation]:
    return map_event(event, "e-1").mutations


_SHARED = {"fields": {"id": {"inputFields": [{"namespace": "pg", "name": "a", "field": "id"}]}}}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events())
@example(
    {
        "eventType": "COMPLETE",
        "eventTime": "2026-01-01T00:00:00Z",
        "run": {"runId": "9f0e1c6a-0000-4000-8000-000000000001"},
        "job": {"namespace": "etl", "name": "j"},
        "inputs": [],
        "outputs": [
            {"namespace": "pg", "name": f"o{i}", "facets": {"columnLineage": _SHARED}}
            for i in (1, 2)
        ],
    }
)
def test_kept_read_maps_as_reading_afresh(event: dict[str, Any]) -> None:
    kept = _mapped(event)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(columns, "column_flows", _afresh)
        mp.setattr(retirement, "column_flows", _afresh)
        fresh = _mapped(event)
    assert kept == fresh


def test_one_read_per_output_and_facet() -> None:
    """The kept read is used: a facet mapped for one output is read once, whoever asks."""
    facet = {"fields": {"id": {"inputFields": [{"namespace": "pg", "name": "a", "field": "id"}]}}}
    aliases = AliasTable([])
    out, out2 = dataset_key("pg", "b"), dataset_key("pg", "c")
    reads = []
    real = columns._column_flows

    def counted(*args: Any) -> Any:
        reads.append(args[0])
        return real(*args)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(columns, "_column_flows", counted)
        first = columns.column_flows(out, facet, aliases)
        skipped: list[Any] = []
        again = columns.column_flows(out, facet, aliases, skipped)
        other = columns.column_flows(out2, facet, aliases)
    assert first is again and skipped == []
    assert reads == [out, out2]
    assert {target.parts[1] for _, target in other} == {"c"}
