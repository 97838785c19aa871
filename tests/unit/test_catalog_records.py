"""Catalog, deployment and monitoring records: parsing, owner consistency and mapping."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction, EdgeRetire, EdgeUpsert, NodeUpsert
from lineage_kg.ingest.catalog.mapping import map_entry
from lineage_kg.ingest.catalog.owners import catalog_owners
from lineage_kg.ingest.catalog.records import CheckResult, Deployment, Kpi, describe
from lineage_kg.ingest.eventlog import LogEntry
from lineage_kg.ingest.identity import column_from_display, dataset_from_display
from lineage_kg.ingest.source_sync import SyncReport

E, K = EdgeKind, NodeKind


def owner(ident: str) -> NodeKey:
    return NodeKey.of(K.OWNER, owner_id=ident)


@pytest.mark.parametrize(
    ("text", "namespace", "name"),
    [
        ("postgres://DB/analytics.marts.x", "postgres://db:5432", "analytics.marts.x"),
        ("s3://lake/orders/2024", "s3://lake", "orders/2024"),
        ("file//data/orders.parquet", "file", "/data/orders.parquet"),
        ("bigquery/p.d.t", "bigquery", "p.d.t"),
    ],
)
def test_dataset_from_display(text: str, namespace: str, name: str) -> None:
    assert dataset_from_display(text).parts == (namespace, name)


def test_column_from_display_takes_the_field_after_the_last_hash() -> None:
    assert column_from_display("s3://lake/orders/2024#id").parts == (
        "s3://lake",
        "orders/2024",
        "id",
    )
    for bad in ("postgres://db:5432/t", "nons#f", "postgres://db:5432/t#"):
        with pytest.raises(ValueError, match="namespace"):
            column_from_display(bad)


def test_kpi_refs_are_canonical_whichever_way_written() -> None:
    kpi = Kpi.model_validate(
        {
            "name": "k",
            "fed_by": ["postgresql://DB/a.b.c#x", {"namespace": "postgres://db", "name": "a.b.c",
                                                   "field": "y"}],
            "datasets": ["postgres://db:5432/a.b.c"],
        }
    )  # fmt: skip
    ns = "postgres://db:5432"
    assert kpi.fed_by == [
        {"namespace": ns, "name": "a.b.c", "field": "x"},
        {"namespace": ns, "name": "a.b.c", "field": "y"},
    ]
    assert kpi.datasets == [{"namespace": ns, "name": "a.b.c"}]


def test_errors_name_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        Deployment.model_validate(
            {"model": "m", "version": 1, "decision_point": "d", "traffic": 2, "valid_from": "x"}
        )
    text = describe(caught.value)
    assert "traffic:" in text
    assert "valid_from:" in text
    assert "not an ISO-8601 timestamp" in text


def test_times_from_yaml_dates_and_datetimes_are_canonical() -> None:
    from datetime import date

    d = Deployment.model_validate(
        {"model": "m", "version": 3, "decision_point": "d", "valid_from": date(2026, 1, 5)}
    )
    assert d.valid_from == "2026-01-05T00:00:00.000000Z"
    assert d.version == "3"
    assert d.event_time == d.valid_from


def test_memberships_written_on_either_side_are_one_consistent_list() -> None:
    report = SyncReport("catalog")
    people = [
        ("p[0]", {"id": "Ann@X.com", "aliases": ["ann", "ANN@y.com"], "teams": ["team:a"]}),
        ("p[1]", {"id": "bo@x.com"}),
        ("p[2]", {"id": "bo@x.com"}),  # twice
        ("p[3]", {"id": "cy@x.com", "aliases": ["ann"]}),  # an alias taken
    ]
    teams = [
        ("t[0]", {"id": "team:a", "members": ["bo@x.com", "team:sub"], "email": "a@x.com"}),
        ("t[1]", {"id": "team:b", "members": ["ann"]}),  # an alias: means Ann
        ("t[2]", {"id": "team:sub", "parent": "team:b"}),  # and also listed under team:a
    ]
    owners, people_bodies, team_bodies = catalog_owners(people, teams, report)
    by_id = {b["id"]: b for b in people_bodies}
    assert by_id["ann@x.com"]["teams"] == ["team:a", "team:b"]
    assert by_id["bo@x.com"]["teams"] == ["team:a"]
    teams_by_id = {b["id"]: b for b in team_bodies}
    assert teams_by_id["team:a"]["members"] == ["ann@x.com", "bo@x.com"]
    assert teams_by_id["team:b"]["members"] == ["ann@x.com", "team:sub"]
    assert teams_by_id["team:sub"]["parent"] == "team:b"
    assert owners.aliases("ann") == "ann@x.com"
    assert owners.aliases("a@x.com") == "team:a"
    skipped = {(s.where, s.why.split(":")[0]) for s in report.skipped}
    assert skipped == {
        ("person bo@x.com", "id"),
        ("owner cy@x.com", "aliases"),
        ("team team:a", "members"),
    }


def entry(source: str, kind: str, body: dict, at: str = "2026-01-05T00:00:00Z") -> LogEntry:
    return LogEntry(1, "ev-1", source, kind, at, at, body)


def test_person_maps_to_owner_memberships_and_aliases() -> None:
    body = {"id": "ann@x.com", "name": "Ann", "aliases": ["ann"], "teams": ["team:a"],
            "left": True}  # fmt: skip
    batch = map_entry(entry("catalog", "person", body))
    nodes = {m.key: m.props for m in batch.mutations if isinstance(m, NodeUpsert)}
    assert nodes[owner("ann@x.com")] == {
        "name": "Ann",
        "email": "ann@x.com",
        "owner_kind": "person",
        "on_call": False,
        "status": "left",
    }
    edges = {
        (m.key.src, m.key.kind, m.key.dst) for m in batch.mutations if isinstance(m, EdgeUpsert)
    }
    assert edges == {
        (owner("ann@x.com"), E.MEMBER_OF, owner("team:a")),
        (owner("ann"), E.ALIAS_OF, owner("ann@x.com")),
    }
    retires = {(m.kind, m.direction, m.keep) for m in batch.mutations if isinstance(m, EdgeRetire)}
    assert retires == {
        (E.MEMBER_OF, Direction.OUT, frozenset({owner("team:a")})),
        (E.ALIAS_OF, Direction.IN, frozenset({owner("ann")})),
    }
    assert all(m.prov.source == "catalog" and m.prov.event_id == "ev-1" for m in batch.mutations)


def test_deployment_and_check_result_mapping() -> None:
    body = Deployment.model_validate(
        {"model": "m", "version": "3", "decision_point": "d", "mode": "canary", "traffic": 0.1,
         "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2026-01-02T00:00:00Z"}
    ).model_dump(mode="json", exclude_none=True)  # fmt: skip
    edge, end = map_entry(entry("deployment", "deployment", body)).mutations
    assert isinstance(edge, EdgeUpsert)
    # the edge exists from valid_from and is retired at valid_until: this deployment, only
    assert edge.prov.event_time == "2026-01-01T00:00:00.000000Z"
    assert isinstance(end, EdgeRetire)
    assert (end.anchor, end.kind, end.disc) == (edge.key.src, E.DEPLOYED_TO, "canary")
    assert end.only == frozenset({edge.key.dst})
    assert end.prov.event_time == "2026-01-02T00:00:00.000000Z"
    assert edge.key.kind is E.DEPLOYED_TO
    assert edge.key.disc == "canary"
    assert edge.key.src == NodeKey.of(K.MODEL_VERSION, registry="mlflow", name="m", version="3")
    assert edge.props == {
        "mode": "canary",
        "traffic": 0.1,
        "valid_from": "2026-01-01T00:00:00.000000Z",
        "valid_until": "2026-01-02T00:00:00.000000Z",
    }

    result = CheckResult.model_validate(
        {"subject": {"dataset": "s3://lake/orders"}, "check": "nulls", "status": "FAIL",
         "value": 3, "checked_at": "2026-01-03T00:00:00Z"}
    ).model_dump(mode="json", exclude_none=True)  # fmt: skip
    node, checks = map_entry(entry("monitoring", "check_result", result)).mutations
    assert node.key == NodeKey.of(K.CHECK, subject="s3://lake/orders", name="nulls")
    assert node.props == {
        "status": "fail",
        "value": 3.0,
        "checked_at": "2026-01-03T00:00:00.000000Z",
    }
    assert checks.key.dst == NodeKey.of(K.DATASET, namespace="s3://lake", name="orders")


def test_unknown_kind_and_bad_body_raise_so_the_projector_parks_them() -> None:
    with pytest.raises(ValueError, match="no catalog record kind 'nope'"):
        map_entry(entry("catalog", "nope", {}))
    with pytest.raises(ValidationError):
        map_entry(entry("deployment", "deployment", {"model": "m"}))
