"""An output whose newer run brings an empty columnLineage facet (`{}`: Spark's MERGE INTO it
cannot follow, as its integration tests expect) has no column lineage known as of that run:
reached `possible` from any input column, as the reference implementation says
(tests/oracle/reference.py: a facet naming no input column is dataset-level). Session 33 red team.

Wrong answer found and fixed (ingest/openlineage/columns.py `lineage_authority`,
ingest/openlineage/mapping.py): run 1 maps updates.a -> t1.a, b -> b (authoritative); run 2
(later) sends `columnLineage: {}`. Run 2's retirement closed run 1's FEEDS, but run 1's
authority flag on PRODUCES stayed (an empty facet asserted nothing), so impact from updates.a
reached nothing at all, not even t1. Generated Spark-shaped streams: 2-3 runs of a MERGE job,
each with a full or an empty facet, in time order or any arrival order.

The other stale-authority case (fixed in session 34): a newer facet that lists an input field
without a namespace (Spark's JDBC inputs) is not authoritative either, and now says so
(`column_lineage` false): run 1's true no longer outlives it, and from an input column the facet
does not name the output is reached, possible (generated: tests/contract/
test_unplaced_lineage_authority_s34.py, both stores).
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import NodeKind
from lineage_kg.graph.mutations import MutationBatch
from lineage_kg.graph.naming import column_key, dataset_key
from lineage_kg.graph.store import GraphStore
from lineage_kg.ingest.eventlog import event_id_of
from lineage_kg.ingest.openlineage.mapping import map_event
from lineage_kg.queries.impact import impact
from tests.oracle.reference import Reference
from tests.oracle.streams import describe

FIELDS = ("a", "b")
SOURCE = ("file", "/tmp/delta/updates")
TARGET = ("file", "/tmp/delta/t1")


@st.composite
def streams(draw: st.DrawFn) -> list[dict[str, Any]]:
    schema = {"fields": [{"name": f, "type": "long"} for f in FIELDS]}
    src = {"namespace": SOURCE[0], "name": SOURCE[1]}
    events = []
    for r in range(draw(st.integers(2, 3))):
        lineage: dict[str, Any] = {}
        if draw(st.booleans()):
            lineage = {
                "fields": {
                    f: {"inputFields": [{**src, "field": draw(st.sampled_from(FIELDS))}]}
                    for f in FIELDS
                }
            }
        events.append(
            {
                "eventType": "COMPLETE",
                "eventTime": f"2026-06-01T10:0{r}:00.000Z",
                "run": {"runId": f"00000000-0000-4000-8000-00000000000{r}"},
                "job": {"namespace": "delta", "name": "app.execute_merge_into_command.t1"},
                "inputs": [{**src, "facets": {"schema": schema}}],
                "outputs": [
                    {
                        "namespace": TARGET[0],
                        "name": TARGET[1],
                        "facets": {"schema": schema, "columnLineage": lineage},
                    }
                ],
            }
        )
    return draw(st.sampled_from([events, draw(st.permutations(events))]))


@settings(max_examples=80, suppress_health_check=[HealthCheck.too_slow])
@given(streams())
def test_an_empty_facet_leaves_dataset_level_lineage(events: list[dict[str, Any]]) -> None:
    store = EmbeddedStore()
    for event in events:  # one event a batch: a late one arrives late
        batch = MutationBatch()
        batch.extend(map_event(event, event_id_of("openlineage", event)).mutations)
        store.apply(batch)
    oracle = Reference(events)
    for field in FIELDS:
        start = column_key(dataset_key(*SOURCE), field)
        got = {}
        for item in impact(store, start.id, depth=25).items:
            key = item.node.key
            if key.kind in (NodeKind.DATASET, NodeKind.COLUMN):
                extra = key.parts[2] if key.kind is NodeKind.COLUMN else ""
                got[(key.kind.value, key.parts[0], key.parts[1], extra)] = item.certainty.value
        assert got == oracle.impact(*SOURCE, field), f"from {field} after:\n{describe(events)}"


def test_an_empty_facet_after_a_full_one_on_each_store(store: GraphStore) -> None:
    """By hand, on both stores (Neo4j's walk reads the authority flag in Cypher): run 1 maps
    updates.a -> t1.a, run 2 sends `{}`; from updates.a, t1 is reached, possible."""
    src = {"namespace": SOURCE[0], "name": SOURCE[1]}
    full = {"fields": {f: {"inputFields": [{**src, "field": f}]} for f in FIELDS}}
    events = []
    for r, lineage in enumerate([full, {}]):
        schema = {"fields": [{"name": f, "type": "long"} for f in FIELDS]}
        events.append(
            {
                "eventType": "COMPLETE",
                "eventTime": f"2026-06-01T10:0{r}:00.000Z",
                "run": {"runId": f"00000000-0000-4000-8000-00000000010{r}"},
                "job": {"namespace": "delta", "name": "app.execute_merge_into_command.t1"},
                "inputs": [
                    {"namespace": SOURCE[0], "name": SOURCE[1], "facets": {"schema": schema}}
                ],
                "outputs": [
                    {
                        "namespace": TARGET[0],
                        "name": TARGET[1],
                        "facets": {"schema": schema, "columnLineage": lineage},
                    }
                ],
            }
        )
    store.clear()
    for event in events:
        batch = MutationBatch()
        batch.extend(map_event(event, event_id_of("openlineage", event)).mutations)
        store.apply(batch)
    start = column_key(dataset_key(*SOURCE), "a")
    reached = {
        (i.node.key.parts, i.certainty.value)
        for i in impact(store, start.id).items
        if i.node.key.kind in (NodeKind.DATASET, NodeKind.COLUMN)
    }
    assert reached == {(SOURCE, "exact"), (TARGET, "possible")}


def test_a_facet_with_an_unplaced_field_after_a_full_one() -> None:
    """Run 1: out.a <- in.a, out.b <- in.b (authoritative). Run 2 (later): out.a <- in.a and
    jdbc_source1.j1 (no namespace), out.b <- in.b: not authoritative. From in.c (named by
    neither) out is reached, possible, as after run 2 alone."""
    schema = lambda *c: {"fields": [{"name": x, "type": "long"} for x in c]}  # noqa: E731
    source = {"namespace": "file", "name": "/tmp/in"}

    def run(n: int, a_inputs: list[dict[str, Any]]) -> dict[str, Any]:
        lineage = {
            "fields": {
                "a": {"inputFields": a_inputs},
                "b": {"inputFields": [{**source, "field": "b"}]},
            }
        }
        return {
            "eventType": "COMPLETE",
            "eventTime": f"2026-06-01T11:0{n}:00.000Z",
            "run": {"runId": f"00000000-0000-4000-8000-00000000020{n}"},
            "job": {"namespace": "spark", "name": "app.execute_save_into_data_source_command"},
            "inputs": [{**source, "facets": {"schema": schema("a", "b", "c")}}],
            "outputs": [
                {
                    "namespace": "file",
                    "name": "/tmp/out",
                    "facets": {"schema": schema("a", "b"), "columnLineage": lineage},
                }
            ],
        }

    unplaced = {"name": "jdbc_source1", "field": "j1"}
    store = EmbeddedStore()
    for event in (run(1, [{**source, "field": "a"}]), run(2, [{**source, "field": "a"}, unplaced])):
        batch = MutationBatch()
        batch.extend(map_event(event, event_id_of("openlineage", event)).mutations)
        store.apply(batch)
    start = column_key(dataset_key("file", "/tmp/in"), "c")
    reached = {i.node.key.parts[:2] for i in impact(store, start.id).items}
    assert ("file", "/tmp/out") in reached
