"""Issue 15 §2: a symlink joins a dataset's names across events, in any order (docs/identity.md).

Spark names a Hive table by its storage path (`file` + `/warehouse/orders`), Hive by its table
name (`hive://metastore:9083` + `default.orders`); Spark's `symlinks` facet says they are one
dataset. Whether the link comes with the first event naming the path, with a later event of the
same job, or only on an input of a third job's event, and whatever the arrival order, the graph
is the same: one node under the table name, holding the edges, columns, owners, quality results
and audit history recorded under either name; impact from either name gives the same answer.
Each case goes through the real intake and GraphQL, on both stores.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import DatasetLink, Direction, MutationBatch
from lineage_kg.graph.store import GraphStore
from lineage_kg.ingest.openlineage.mapping import map_event
from tests.oracle.service import Service, service

PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.9.1/integration/spark"
PATH = ("file", "/warehouse/orders")
TABLE = ("hive://metastore:9083", "default.orders")
SOURCE = ("s3://lake", "raw/orders")
REPORT = ("postgres://db:5432", "shop.public.report")
AUDIT = ("s3://lake", "out/audit")
LINK = {"identifiers": [{"namespace": TABLE[0], "name": TABLE[1], "type": "TABLE"}]}


def _ds(where: tuple[str, str], **facets: Any) -> dict[str, Any]:
    return {"namespace": where[0], "name": where[1], "facets": facets}


def _schema(*fields: str) -> dict[str, Any]:
    return {"fields": [{"name": f, "type": "string"} for f in fields]}


def _lineage(source: tuple[str, str], pairs: dict[str, str]) -> dict[str, Any]:
    return {
        "fields": {
            out: {"inputFields": [{"namespace": source[0], "name": source[1], "field": field}]}
            for out, field in pairs.items()
        }
    }


def _event(job: str, run: int, at: str, inputs: list[Any], outputs: list[Any]) -> dict[str, Any]:
    return {
        "eventType": "COMPLETE",
        "eventTime": f"2026-03-01T{at}:00Z",
        "run": {"runId": f"00000000-0000-4000-8000-{run:012d}"},
        "job": {"namespace": "spark", "name": job},
        "inputs": inputs,
        "outputs": outputs,
        "producer": PRODUCER,
    }


def events(link: str) -> list[dict[str, Any]]:
    """The estate in time order; `link`: "first" (the path's first event has its symlink),
    "later" (a later run of the same job brings it), "third" (only a third job's input has it).

        s3 raw/orders --spark.load--> file /warehouse/orders  (owner, quality, columns)
        hive default.orders --hive.report--> postgres report  (total <- amount)
        file /warehouse/orders --spark.audit--> s3 out/audit  (id <- id)
    """
    path_out = _ds(
        PATH,
        schema=_schema("id", "amount"),
        columnLineage=_lineage(SOURCE, {"id": "id", "amount": "amount"}),
        ownership={"owners": [{"name": "user:ana@shop.example", "type": "MAINTAINER"}]},
    )
    path_out["outputFacets"] = {"outputStatistics": {"rowCount": 42}}
    path_out["facets"]["dataQualityMetrics"] = {"rowCount": 42, "columnMetrics": {}}
    load = _event(
        "spark.load", 1, "10:00", [_ds(SOURCE, schema=_schema("id", "amount"))], [path_out]
    )
    if link == "first":
        load["outputs"][0]["facets"]["symlinks"] = LINK
    report = _event(
        "hive.report",
        2,
        "10:10",
        [_ds(TABLE, schema=_schema("id", "amount"))],
        [_ds(REPORT, schema=_schema("total"), columnLineage=_lineage(TABLE, {"total": "amount"}))],
    )
    audit_in = _ds(PATH) if link != "third" else _ds(PATH, symlinks=LINK)
    audit = _event(
        "spark.audit",
        3,
        "10:20",
        [audit_in],
        [_ds(AUDIT, schema=_schema("id"), columnLineage=_lineage(PATH, {"id": "id"}))],
    )
    found = [load, report, audit]
    if link == "later":
        again = copy.deepcopy(load)
        again.update(
            eventTime="2026-03-01T10:30:00Z",
            run={"runId": _event("", 4, "", [], [])["run"]["runId"]},
        )
        again["outputs"][0]["facets"]["symlinks"] = LINK
        found.append(again)
    return found


def _key(kind: NodeKind, where: tuple[str, str], *rest: str) -> NodeKey:
    return NodeKey(kind, (*where, *rest))


@pytest.fixture(params=["first", "later", "third"])
def link(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def running(store: GraphStore, link: str) -> Iterator[Service]:
    with service(store, list(reversed(events(link)))) as answer:  # the link arrives first or last
        yield answer


def _graph(store: GraphStore) -> tuple[list[Any], list[Any]]:
    return list(store.iter_nodes()), list(store.iter_edges())


@pytest.mark.parametrize("order", ["time", "reversed", "link last"])
def test_any_arrival_order_gives_one_node_and_the_same_graph(
    store: GraphStore, link: str, order: str
) -> None:
    ordered = events(link)
    with service(store, ordered):
        expected = _graph(store)
    arrivals = {
        "time": ordered,
        "reversed": list(reversed(ordered)),
        # the event carrying the link after every other (a third job's input, a later run)
        "link last": sorted(ordered, key=lambda e: "symlinks" in str(e)),
    }[order]
    with service(store, arrivals):
        assert _graph(store) == expected
        ids = {n.id for n in store.iter_nodes()}
        assert _key(NodeKind.DATASET, TABLE).id in ids
        assert not any(PATH[1] in i for i in ids), "nothing is left under the storage path"
        linked = store.linked_names([_key(NodeKind.DATASET, PATH).id])
        assert linked == {_key(NodeKind.DATASET, PATH).id: _key(NodeKind.DATASET, TABLE).id}


def test_impact_from_either_name_is_the_same(running: Service) -> None:
    by_path = running.impact(*PATH, "amount")
    by_table = running.impact(*TABLE, "amount")
    assert by_path == by_table
    start, reached = by_path
    assert start == ("Column", *TABLE, "amount")
    assert reached[("Column", *REPORT, "total")] == "exact"
    # upstream written under the path, downstream read under the table name and the path
    start, reached = running.impact(*SOURCE, "id")
    assert reached[("Column", *TABLE, "id")] == "exact"
    assert reached[("Column", *AUDIT, "id")] == "exact"


def test_owners_quality_and_columns_are_rehomed(store: GraphStore, running: Service) -> None:
    table = _key(NodeKind.DATASET, TABLE)
    owners = store.neighbors([table.id], Direction.IN, [EdgeKind.OWNS])
    assert [e.key.src.parts for e in owners] == [("ana@shop.example",)]
    columns = store.neighbors([table.id], Direction.OUT, [EdgeKind.HAS_COLUMN])
    assert {e.key.dst.parts[2] for e in columns} == {"id", "amount"}
    versions = store.neighbors([table.id], Direction.OUT, [EdgeKind.HAS_VERSION])
    measured = store.get_nodes([e.key.dst.id for e in versions])
    assert {n.props.get("quality_row_count") for n in measured} == {42}  # a run each
    node = store.get_node(table.id)
    assert node is not None and node.props["aliases"] == ["file//warehouse/orders"]


AUDIT_TRAIL = """
query ($ref: NodeRef!) {
  auditTrail(ref: $ref, first: 100) { node { id } entries { eventId summary } }
}
"""


def test_audit_trail_keeps_both_histories(running: Service) -> None:
    """The merged node's audit trail lists what each event did to it, under whichever name, each
    with the id of its event (whose raw body names the job that sent it)."""
    trails = []
    for where in (PATH, TABLE):
        ref = {"kind": "Dataset", "namespace": where[0], "name": where[1]}
        body = running.graphql(AUDIT_TRAIL, ref=ref)
        assert "errors" not in body, body
        trails.append(body["data"]["auditTrail"])
    assert trails[0] == trails[1]
    jobs = set()
    for entry in trails[0]["entries"]:
        raw = running.client.get(f"/api/v1/events/{entry['eventId']}")
        assert raw.status_code == 200, raw.text
        jobs.add(raw.json()["event"]["job"]["name"])
    assert {"spark.load", "hive.report", "spark.audit"} <= jobs


class _Counting:
    """A unit of work that counts the calls made to it (each at least one statement on Neo4j)."""

    def __init__(self, inner: Any, calls: list[str]) -> None:
        self._inner, self._calls = inner, calls

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            if any(a for a in args if isinstance(a, list | dict)) or name == "set_checkpoint":
                self._calls.append(name)  # a call with nothing to load or write sends nothing
            return attr(*args, **kwargs)

        return counted


def _calls(store: GraphStore, batch: MutationBatch, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    opened = store._unit_of_work

    @contextmanager
    def counting() -> Iterator[Any]:
        with opened() as uow:
            yield _Counting(uow, calls)

    with monkeypatch.context() as patch:
        patch.setattr(store, "_unit_of_work", counting)
        store.apply(batch)
    return calls


def test_a_link_already_held_costs_no_round_trip(
    store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ingest hot path: once a path is linked, another event naming it with its symlink (or
    without) makes the same calls as the event with its links left out — the names are read with
    the batch's nodes; only a new link reads more (and a merge, more again)."""
    store.clear()
    first = events("first")
    store.apply(map_event(first[0], "e-1"))
    again = copy.deepcopy(first[0])
    again.update(
        eventTime="2026-03-01T11:00:00Z", run={"runId": _event("", 9, "", [], [])["run"]["runId"]}
    )
    batch = map_event(again, "e-2")
    unlinked = MutationBatch([m for m in batch.mutations if not isinstance(m, DatasetLink)])
    assert len(unlinked) < len(batch)
    with_links = _calls(store, batch, monkeypatch)
    store.clear()
    store.apply(map_event(first[0], "e-1"))
    assert with_links == _calls(store, unlinked, monkeypatch)
    # one load of the batch's nodes with its names, nothing more
    assert with_links.count("load_nodes_and_aliases") == 1
    assert not {"load_nodes", "load_aliases", "load_aliases_to", "load_around"} & set(with_links)


def test_a_path_linked_to_two_tables_joins_them_in_any_order(store: GraphStore) -> None:
    """One path given two TABLE names by two events: the three names are one dataset, on the
    smaller table name, whichever event came first (the other table's node is re-homed)."""
    other = ("hive://metastore:9083", "default.orders_v2")
    first = events("first")[0]
    second = copy.deepcopy(first)
    second.update(
        eventTime="2026-03-01T11:00:00Z", run={"runId": _event("", 8, "", [], [])["run"]["runId"]}
    )
    second["outputs"][0]["facets"]["symlinks"] = {
        "identifiers": [{"namespace": other[0], "name": other[1], "type": "TABLE"}]
    }
    graphs = []
    for order in ([first, second], [second, first]):
        store.clear()
        for event in order:
            store.apply(map_event(event, f"e-{event['eventTime']}"))
        graphs.append(_graph(store))
        ids = {n.id for n in store.iter_nodes()}
        assert (
            _key(NodeKind.DATASET, TABLE).id in ids and _key(NodeKind.DATASET, other).id not in ids
        )
        names = [_key(NodeKind.DATASET, PATH).id, _key(NodeKind.DATASET, other).id]
        assert set(store.linked_names(names).values()) == {_key(NodeKind.DATASET, TABLE).id}
    assert graphs[0] == graphs[1]
