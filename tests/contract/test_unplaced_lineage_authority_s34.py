"""The newest run's columnLineage facet decides whether an output's column lineage is
authoritative, whatever the older runs said and in any arrival order (session 34, both stores).

A facet is authoritative only when it names at least one input column and places every input
field it lists; one that lists a field without a namespace (Spark's JDBC inputs:
`{"name": "jdbc_source1", "field": "j1"}`) or names no input column (`{}`) is not, and the output
is then reached, possible, from the input columns it does not name. Before session 34 a facet
with an unplaced field asserted nothing on PRODUCES, so an older run's `column_lineage: true`
stood and impact from an unnamed input column reached nothing.

The oracle, `expected`, is written from that rule alone (no graph/, ingest/ or queries/ code):
the newest run's facet by event time; each output column it maps from the start column is
reached exactly (and the output with it); a non-authoritative facet adds the output, possible.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lineage_kg.graph.model import NodeKind
from lineage_kg.graph.mutations import MutationBatch
from lineage_kg.graph.naming import column_key, dataset_key
from lineage_kg.graph.store import GraphStore
from lineage_kg.ingest.eventlog import event_id_of
from lineage_kg.ingest.openlineage.mapping import map_event
from lineage_kg.queries.impact import impact

IN_FIELDS = ("a", "b", "c")
OUT_FIELDS = ("a", "b")
SOURCE = ("file", "/tmp/s34/in")
TARGET = ("file", "/tmp/s34/out")
UNPLACED = {"name": "jdbc_source1", "field": "j1"}  # no namespace: the mapping cannot place it

Facet = dict[str, list[Any]]  # output field -> its input fields (a field name or UNPLACED)


def event(n: int, facet: Facet) -> dict[str, Any]:
    src = {"namespace": SOURCE[0], "name": SOURCE[1]}
    schema = lambda fields: {"fields": [{"name": f, "type": "long"} for f in fields]}  # noqa: E731
    fields = {
        out: {"inputFields": [x if isinstance(x, dict) else {**src, "field": x} for x in inputs]}
        for out, inputs in facet.items()
    }
    return {
        "eventType": "COMPLETE",
        "eventTime": f"2026-06-02T09:0{n}:00.000Z",
        "run": {"runId": f"00000000-0000-4000-8000-0000000034{n:02d}"},
        "job": {"namespace": "spark", "name": "app.execute_save_into_data_source_command.out"},
        "inputs": [{**src, "facets": {"schema": schema(IN_FIELDS)}}],
        "outputs": [
            {
                "namespace": TARGET[0],
                "name": TARGET[1],
                "facets": {
                    "schema": schema(OUT_FIELDS),
                    "columnLineage": {"fields": fields} if facet else {},
                },
            }
        ],
    }


def _facet(draw: st.DrawFn, unplaced: bool) -> Facet:
    facet: Facet = {
        out: draw(st.lists(st.sampled_from(IN_FIELDS), min_size=1, max_size=2, unique=True))
        for out in OUT_FIELDS
    }
    if unplaced:  # under one output field, or both; alone there, or beside placed ones
        for out in draw(st.lists(st.sampled_from(OUT_FIELDS), min_size=1, unique=True)):
            facet[out] = [*(facet[out] if draw(st.booleans()) else []), UNPLACED]
    return facet


@st.composite
def facets(draw: st.DrawFn) -> Facet:
    """`{}` (names nothing), a facet placing every input field, or one with an unplaced one."""
    kind = draw(st.sampled_from(["empty", "placed", "unplaced"]))
    return {} if kind == "empty" else _facet(draw, kind == "unplaced")


@st.composite
def streams(draw: st.DrawFn) -> tuple[list[Facet], list[int]]:
    """The runs' facets in time order, and the order they arrive in."""
    runs = draw(st.lists(facets(), min_size=2, max_size=3))
    return runs, draw(st.permutations(range(len(runs))))


FULL: Facet = {"a": ["a"], "b": ["b"]}
WITH_UNPLACED: Facet = {"a": ["a", UNPLACED], "b": ["b"]}


def expected(runs: list[Facet], start: str) -> dict[tuple[str, ...], str]:
    newest = runs[-1]
    placed = {out: {x for x in inputs if isinstance(x, str)} for out, inputs in newest.items()}
    authoritative = any(placed.values()) and all(
        all(isinstance(x, str) for x in inputs) for inputs in newest.values()
    )
    found = {("Dataset", *SOURCE): "exact"}  # a column's change is its dataset's
    for out, inputs in placed.items():
        if start in inputs:
            found[("Column", *TARGET, out)] = "exact"
            found[("Dataset", *TARGET)] = "exact"
    if not authoritative:
        found.setdefault(("Dataset", *TARGET), "possible")
    return found


@settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(streams())
@example(([FULL, WITH_UNPLACED], [0, 1]))  # session 33's case, in time order and late
@example(([FULL, WITH_UNPLACED], [1, 0]))
@example(([WITH_UNPLACED, FULL], [1, 0]))
def test_the_newest_facet_decides_authority(
    store: GraphStore, stream: tuple[list[Facet], list[int]]
) -> None:
    runs, arrival = stream
    events = [event(n, facet) for n, facet in enumerate(runs)]
    store.clear()
    for n in arrival:  # one event a batch: a late run arrives late
        batch = MutationBatch()
        batch.extend(map_event(events[n], event_id_of("openlineage", events[n])).mutations)
        store.apply(batch)
    for field in IN_FIELDS:
        got = {
            (i.node.key.kind.value, *i.node.key.parts): i.certainty.value
            for i in impact(store, column_key(dataset_key(*SOURCE), field).id).items
            if i.node.key.kind in (NodeKind.DATASET, NodeKind.COLUMN)
        }
        assert got == expected(runs, field), (field, runs, arrival)
