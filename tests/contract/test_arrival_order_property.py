"""Property (issue 15 §3): the arrival order of events never changes the graph or its answers.

Generated OpenLineage streams: a few jobs, each with runs whose inputs, outputs, schemas and
column lineage change from run to run; a dataset named by its storage path with a TABLE symlink
in some events and by its table name in others; START then COMPLETE or FAIL; any event may be
late. Every sampled permutation, split into batches anywhere, gives on each store the graph the
time-ordered stream gives (nodes, edges, their valid periods) and the same `impact` answers now
and `as_of` earlier times. An independent check pins what "current" means: a job's current inputs
are those its newest COMPLETE listed plus those asserted at or after it. And at the level of
mutations: streams with retirements commute, on both stores.
"""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction, MutationBatch
from lineage_kg.graph.store import GraphStore
from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.ingest.openlineage.mapping import map_event
from lineage_kg.queries.impact import impact
from tests.contract.test_store_equivalence import apply_in_batches, graph_of, streams

PG = "postgres://db:5432"


def canonical(namespace: str, name: str) -> tuple[str, str]:
    return (
        ("hive://metastore:9083", "default.orders")
        if name.endswith("orders")
        else (namespace, name)
    )


TABLES = ["orders", "customers", "payments"]
FIELDS = ["id", "amount", "day"]
SOURCES = [canonical(PG, f"public.{name}") for name in TABLES]
JOBS = {"etl.daily_orders": ["orders_daily", "orders_wide"], "etl.revenue": ["revenue"]}
Event = tuple[str, dict[str, Any]]  # (event id, event)


def dataset(
    name: str, by_path: bool, columns: list[str] | None = None, linked: bool = True
) -> dict[str, Any]:
    """`orders` is a Hive table stored at a path: named either way, it is one dataset (some
    events name the path without the symlink; another event's link joins them: issue 15 §2)."""
    facets: dict[str, Any] = {}
    if columns is not None:
        facets["schema"] = {"fields": [{"name": c, "type": "int"} for c in columns]}
    if name != "orders":
        return {"namespace": PG, "name": f"public.{name}", "facets": facets}
    if not by_path:
        return {"namespace": "hive://metastore:9083", "name": "default.orders", "facets": facets}
    if linked:
        link = {"namespace": "hive://metastore:9083", "name": "default.orders", "type": "TABLE"}
        facets["symlinks"] = {"identifiers": [link]}
    return {"namespace": "file", "name": "/warehouse/orders", "facets": facets}


def input_ref(name: str, by_path: bool) -> tuple[str, str]:
    ds = dataset(name, by_path)
    return ds["namespace"], ds["name"]


@st.composite
def run_events(draw: st.DrawFn, job: str, index: int) -> list[Event]:
    start = draw(st.integers(0, 30))
    end = start + draw(st.integers(0, 4))
    inputs = draw(st.lists(st.sampled_from(TABLES), min_size=1, max_size=2, unique=True))
    output = draw(st.sampled_from(JOBS[job]))
    columns = draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=3, unique=True))
    by_path = draw(st.booleans())
    linked = not by_path or draw(st.booleans())
    ds_out = dataset(output, False, columns)
    if draw(st.booleans()):
        fields = {}
        for c in columns[: draw(st.integers(1, len(columns)))]:  # may leave columns unnamed
            namespace, name = input_ref(draw(st.sampled_from(inputs)), by_path)
            source = {"namespace": namespace, "name": name, "field": draw(st.sampled_from(FIELDS))}
            fields[c] = {"inputFields": [source]}
        ds_out["facets"]["columnLineage"] = {"fields": fields}
    run_id = f"{job}-{index}"

    def event(kind: str, minute: int) -> Event:
        body = {
            "eventType": kind,
            "eventTime": f"2024-03-01T10:{minute:02d}:00Z",
            "run": {"runId": run_id},
            "job": {"namespace": "etl", "name": job},
            "inputs": [dataset(name, by_path, linked=linked) for name in inputs],
            "outputs": [ds_out],
            "producer": "https://example.com/property-test",
        }
        return f"{run_id}-{kind.lower()}", body

    events = [event("START", start)] if draw(st.booleans()) else []
    return [*events, event(draw(st.sampled_from(["COMPLETE", "COMPLETE", "FAIL"])), end)]


@st.composite
def estates(draw: st.DrawFn) -> list[Event]:
    events: list[Event] = []
    for job in JOBS:
        for index in range(draw(st.integers(1, 3))):
            events += draw(run_events(job, index))
    # the path named without its symlink is the table as long as some event links them
    mentions = [ds for _, body in events for ds in body["inputs"] if ds["namespace"] == "file"]
    if mentions and not any("symlinks" in ds["facets"] for ds in mentions):
        link = {"namespace": "hive://metastore:9083", "name": "default.orders", "type": "TABLE"}
        mentions[draw(st.integers(0, len(mentions) - 1))]["facets"]["symlinks"] = {
            "identifiers": [link]
        }
    return events


def by_time(events: list[Event]) -> list[Event]:
    return sorted(events, key=lambda e: (canonical_time(e[1]["eventTime"]), e[0]))


def load(store: GraphStore, events: list[Event], cuts: list[int]) -> None:
    store.clear()
    bounds = sorted({0, len(events), *(c % (len(events) + 1) for c in cuts)})
    for lo, hi in itertools.pairwise(bounds):
        batch = MutationBatch()
        for event_id, body in events[lo:hi]:
            batch.extend(map_event(body, event_id).mutations)
        store.apply(batch)


def answers(store: GraphStore, times: list[str | None]) -> dict[Any, Any]:
    # from each input table (the outputs are downstream of them: their answers are in these)
    ids = [NodeKey.of(NodeKind.DATASET, namespace=ns, name=n).id for ns, n in SOURCES]
    starts = [n.id for n in store.get_nodes(ids)]
    return {
        (start, when): [
            (i.node.id, i.distance, i.certainty.value)
            for i in impact(store, start, as_of=when).items
        ]
        for start in starts
        for when in times
    }


def current_inputs_by_rule(events: list[Event], job: str) -> set[str]:
    """The rule, independently of the store: the newest COMPLETE's inputs, and any asserted at or
    after its time (a newer run still going, or one that failed, said them)."""
    mine = [(canonical_time(b["eventTime"]), b) for _, b in events if b["job"]["name"] == job]
    completes = [t for t, b in mine if b["eventType"] == "COMPLETE"]
    since = max(completes) if completes else ""
    named = set()
    for t, body in mine:
        if t >= since:
            for ds in body["inputs"]:
                is_orders = ds["name"].endswith("orders")
                named.add("default.orders" if is_orders else ds["name"])
    return named


def canonical(namespace: str, name: str) -> tuple[str, str]:
    return (
        ("hive://metastore:9083", "default.orders")
        if name.endswith("orders")
        else (namespace, name)
    )


def current_feeds_by_rule(events: list[Event]) -> set[tuple[tuple[str, str, str], str, str]]:
    """Per output column: the sources the newest COMPLETE naming it in its column lineage (or
    listing it in the schema beside one) listed, and any listed at or after that time; every
    source ever listed if no such COMPLETE names it; none that a writer's schema leaving the
    column out came after."""
    said: dict[tuple[str, str], list[tuple[str, str, tuple[str, str, str]]]] = {}
    for _, body in events:
        at = canonical_time(body["eventTime"])
        for ds in body["outputs"]:
            if "columnLineage" not in ds["facets"]:
                continue
            lineage = ds["facets"]["columnLineage"]["fields"]
            # the facet is the output's whole column lineage: its schema's columns too
            schema = [f["name"] for f in ds["facets"]["schema"]["fields"]]
            for field in {*lineage, *schema}:
                said.setdefault((ds["name"], field), []).append((at, body["eventType"], ()))
            for field in lineage:
                for f in lineage[field]["inputFields"]:
                    source = (*canonical(f["namespace"], f["name"]), f["field"])
                    said[(ds["name"], field)].append((at, body["eventType"], source))
    current = set()
    for (output, field), listed in said.items():
        since = max((t for t, kind, _ in listed if kind == "COMPLETE"), default="")
        current |= {(src, output, field) for t, _, src in listed if src and t >= since}
    # a column a writer's schema leaves out after the FEEDS' last listing is dropped, and the
    # FEEDS into it with it (session 34, graph/dropped_columns.py)
    schemas: dict[str, list[tuple[str, set[str]]]] = {}
    for _, body in events:
        for ds in body["outputs"]:
            if names := {f["name"] for f in ds["facets"].get("schema", {}).get("fields", [])}:
                schemas.setdefault(ds["name"], []).append(
                    (canonical_time(body["eventTime"]), names)
                )
    for src, output, field in list(current):
        last = max(t for t, _, s in said[(output, field)] if s == src)
        if any(at > last and field not in names for at, names in schemas.get(output, [])):
            current.discard((src, output, field))
    return current


def current_feeds(store: GraphStore) -> set[tuple[tuple[str, str, str], str, str]]:
    columns = [n.id for n in store.iter_nodes() if n.key.kind is NodeKind.COLUMN]
    return {
        (e.key.src.parts, e.key.dst.parts[1], e.key.dst.parts[2])
        for e in store.neighbors(columns, Direction.IN, [EdgeKind.FEEDS])
    }


def current_inputs(store: GraphStore, job: str) -> set[str]:
    job_id = next(n.id for n in store.iter_nodes() if n.key.parts == ("etl", job))
    edges = store.neighbors([job_id], Direction.IN, [EdgeKind.INPUT_TO])
    return {e.key.src.parts[1] for e in edges}


SETTINGS = settings(
    max_examples=6,  # Neo4j on a loaded 2-core machine: a few seconds an example
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


ARRIVALS = (
    estates(),
    st.lists(st.permutations(range(12)), min_size=1, max_size=1),
    st.lists(st.integers(0, 20), max_size=3),
    st.integers(0, 30),
)


@SETTINGS
@given(*ARRIVALS)
def test_any_arrival_order_gives_the_same_graph_and_answers(
    store: GraphStore,
    events: list[Event],
    shuffles: list[list[int]],
    cuts: list[int],
    earlier: int,
) -> None:
    check_arrival_orders(store, events, shuffles, cuts, earlier)


@settings(SETTINGS, max_examples=60)
@given(*ARRIVALS)
def test_any_arrival_order_more_examples_embedded(
    events: list[Event], shuffles: list[list[int]], cuts: list[int], earlier: int
) -> None:
    check_arrival_orders(EmbeddedStore(), events, shuffles, cuts, earlier)


def check_arrival_orders(
    store: GraphStore, events: list[Event], shuffles: list[list[int]], cuts: list[int], earlier: int
) -> None:
    # the reference: one event at a time in time order, on the embedded store
    reference = EmbeddedStore()
    ordered = by_time(events)
    load(reference, ordered, list(range(len(ordered))))
    graph = graph_of(reference)
    times: list[str | None] = [None, canonical_time(f"2024-03-01T10:{earlier:02d}:30Z")]
    expected = answers(reference, times)
    for job in JOBS:
        assert current_inputs(reference, job) == current_inputs_by_rule(events, job)
    assert current_feeds(reference) == current_feeds_by_rule(events)
    for shuffle in shuffles:
        # a permutation of the first 12 events (all of them, in the small estates drawn)
        rank = {i: r for r, i in enumerate(shuffle)}
        late = [e for _, e in sorted(enumerate(events), key=lambda x: rank.get(x[0], x[0]))]
        load(store, late, cuts)
        assert graph_of(store) == graph
        assert answers(store, times) == expected


MUTATIONS = (streams, st.randoms(use_true_random=False), st.lists(st.integers(0, 30), max_size=4))


@settings(SETTINGS, max_examples=30)
@given(*MUTATIONS)
def test_mutations_with_retirements_commute(
    store: GraphStore, mutations: list[Any], rnd: Any, cuts: list[int]
) -> None:
    check_commute(store, mutations, rnd, cuts)


@settings(SETTINGS, max_examples=300)
@given(*MUTATIONS)
def test_mutations_with_retirements_commute_more_examples_embedded(
    mutations: list[Any], rnd: Any, cuts: list[int]
) -> None:
    check_commute(EmbeddedStore(), mutations, rnd, cuts)


def check_commute(store: GraphStore, mutations: list[Any], rnd: Any, cuts: list[int]) -> None:
    reference = EmbeddedStore()
    apply_in_batches(reference, mutations, [])
    shuffled = list(mutations)
    rnd.shuffle(shuffled)
    store.clear()
    apply_in_batches(store, shuffled, cuts)
    assert graph_of(store) == graph_of(reference)
