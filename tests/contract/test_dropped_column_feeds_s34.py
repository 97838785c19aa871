"""The lineage into a column its dataset's schema drops ends with it, on both stores, in any
arrival order, and `as_of` still sees it before the drop (session 34; graph/dropped_columns.py).

Run 1 (10:01) writes out.c <- src.x; run 2 (10:02) writes only out.d <- src.y (its schema lists
d alone); run 3 (10:03), when present, writes out.c <- src.x again. The oracle for the generated
streams is tests/oracle/reference.py (a job's current lineage is its newest completed run's).
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings

from lineage_kg.graph.model import EdgeKind, NodeKind
from lineage_kg.graph.mutations import Direction, MutationBatch
from lineage_kg.graph.naming import column_key, dataset_key
from lineage_kg.graph.store import GraphStore
from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.ingest.eventlog import event_id_of
from lineage_kg.ingest.openlineage.mapping import map_event
from lineage_kg.queries.impact import impact
from tests.oracle.reference import Reference
from tests.oracle.test_schema_evolution_s33 import PG, SOURCES, evolving_streams

SRC, OUT = ("file", "/s34/src"), ("file", "/s34/out")
X, Y = column_key(dataset_key(*SRC), "x"), column_key(dataset_key(*SRC), "y")
C, D = column_key(dataset_key(*OUT), "c"), column_key(dataset_key(*OUT), "d")


def run(n: int, lineage: dict[str, str]) -> dict[str, Any]:
    """Run n of the job, at 10:0n, writing out's fields from src's as `lineage` maps them."""
    schema = lambda fields: {"fields": [{"name": f, "type": "long"} for f in fields]}  # noqa: E731
    src = {"namespace": SRC[0], "name": SRC[1]}
    fields = {
        out: {"inputFields": [{**src, "field": f, "transformations": [{"type": "DIRECT"}]}]}
        for out, f in lineage.items()
    }
    return {
        "eventType": "COMPLETE",
        "eventTime": f"2026-06-03T10:0{n}:00.000Z",
        "run": {"runId": f"00000000-0000-4000-8000-00000000340{n}"},
        "job": {"namespace": "spark", "name": "s34.write_out"},
        "inputs": [{**src, "facets": {"schema": schema(["x", "y"])}}],
        "outputs": [
            {
                "namespace": OUT[0],
                "name": OUT[1],
                "facets": {"schema": schema(sorted(lineage)), "columnLineage": {"fields": fields}},
            }
        ],
    }


RUN1, RUN2, RUN3 = run(1, {"c": "x"}), run(2, {"d": "y"}), run(3, {"c": "x"})
T1, T2, T3 = (canonical_time(f"2026-06-03T10:0{n}:00.000Z") for n in (1, 2, 3))
T1_5 = canonical_time("2026-06-03T10:01:30.000Z")


def load(store: GraphStore, events: list[dict[str, Any]]) -> None:
    store.clear()
    for event in events:  # one event a batch: a late one arrives late
        batch = MutationBatch()
        batch.extend(map_event(event, event_id_of("openlineage", event)).mutations)
        store.apply(batch)


def reached(store: GraphStore, start: str, as_of: str | None = None) -> dict[str, str]:
    return {
        i.node.key.display: i.certainty.value
        for i in impact(store, start, as_of=as_of).items
        if i.node.key.kind in (NodeKind.DATASET, NodeKind.COLUMN)
    }


def feeds_into_c(store: GraphStore, as_of: str | None = None) -> list[Any]:
    return store.neighbors([C.id], Direction.IN, [EdgeKind.FEEDS], as_of=as_of)


def dated_edges(store: GraphStore) -> set[tuple[Any, ...]]:
    """Every edge with its dates: the graph as the audit of its validity reads it."""
    return {
        (e.key.id, e.first_seen, e.last_seen, e.valid_to, e.retired_by) for e in store.iter_edges()
    }


def test_a_dropped_column_is_fed_by_nothing_in_any_order(store: GraphStore) -> None:
    graphs = []
    for n, order in enumerate([[RUN1, RUN2], [RUN2, RUN1]]):
        load(store, order)
        # the schema of run 2 retired out.c's HAS_COLUMN, and now the FEEDS into it too
        (has_c,) = [
            e
            for e in store.neighbors([dataset_key(*OUT).id], Direction.OUT, [EdgeKind.HAS_COLUMN])
            + store.neighbors(
                [dataset_key(*OUT).id], Direction.OUT, [EdgeKind.HAS_COLUMN], as_of=T1
            )
            if e.key.dst == C
        ]
        assert (has_c.valid_to, has_c.retired_by) == (T2, event_id_of("openlineage", RUN2))
        assert feeds_into_c(store) == []
        # its dated history stays: asserted at run 1, ended by run 2's event
        (feed,) = feeds_into_c(store, as_of=T1)
        assert (feed.key.src, feed.first_seen, feed.last_seen) == (X, T1, T1)
        assert (feed.valid_to, feed.retired_by) == (T2, event_id_of("openlineage", RUN2))
        # impact now: src.x reaches nothing of out; as of run 1, out.c exactly
        assert reached(store, X.id) == {dataset_key(*SRC).display: "exact"}
        if n == 0:  # the walks once (Neo4j: a few statements each); the graphs are compared
            assert reached(store, X.id, as_of=T1_5) == {
                dataset_key(*SRC).display: "exact",
                C.display: "exact",
                dataset_key(*OUT).display: "exact",
            }
            assert reached(store, Y.id)[D.display] == "exact"
        graphs.append(dated_edges(store))
    assert graphs[0] == graphs[1]


def test_a_newer_run_writing_the_column_again_reopens_what_it_asserts(store: GraphStore) -> None:
    graphs = []
    # in time order and reversed (run 1 the late one; run 3 the late one: arrival property)
    for order in ([RUN1, RUN2, RUN3], [RUN3, RUN2, RUN1]):
        load(store, order)
        (feed,) = feeds_into_c(store)
        assert (feed.key.src, feed.valid_to, feed.last_seen) == (X, None, T3)
        assert reached(store, X.id)[C.display] == "exact"
        # (as of 10:02:30 the edge is walked too: a record holds one interval, first_seen to
        # valid_to, so an edge asserted again after its end has no gap: graph/records.py)
        graphs.append(dated_edges(store))
    assert all(g == graphs[0] for g in graphs[1:])


def test_an_older_run_arriving_late_does_not_reopen_a_dropped_column(store: GraphStore) -> None:
    """Run 2 first; run 1 (older) arrives late, in its own batch: its FEEDS into out.c are
    recorded (first_seen 10:01) but end at 10:02, whatever else the late batch brings."""
    load(store, [RUN2, RUN1, RUN1])
    assert feeds_into_c(store) == []
    assert C.display not in reached(store, X.id)


SETTINGS = settings(
    max_examples=2,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@SETTINGS
@given(evolving_streams(evolve=True))
def test_evolving_outputs_match_the_reference(
    store: GraphStore, events: list[dict[str, Any]]
) -> None:
    """The oracle test's generated streams (outputs that lose and gain columns, any arrival
    order) on this store: every source column's impact is the reference's."""
    load(store, events)
    oracle = Reference(events)
    for name, fields in SOURCES.items():
        if not any(d["name"] == name for e in events for d in e["inputs"]):
            continue  # no event reads this table
        for field in fields:
            start = column_key(dataset_key(PG, name), field)
            got = {
                tuple([i.node.key.kind.value, *i.node.key.parts, ""][:4]): i.certainty.value
                for i in impact(store, start.id, depth=25).items
                if i.node.key.kind in (NodeKind.DATASET, NodeKind.COLUMN)
            }
            assert got == oracle.impact(PG, name, field), (name, field)
