"""The MLflow mapper on hand-written records: edge cases the real server is not asked to make
(a missing run, code and malformed dataset sources, alias snapshots arriving out of order)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.naming import dataset_key
from lineage_kg.ingest.eventlog import LogEntry, event_id_of
from lineage_kg.ingest.identity import metastore_table
from lineage_kg.ingest.mlflow.mapping import (
    feature_service_of,
    map_entry,
    model_key,
    place_input,
    prop_key,
    version_key,
)
from lineage_kg.ingest.source_sync import record_time
from lineage_kg.ingest.sources import MLFLOW

T1, T2 = 1_767_225_600_000, 1_767_312_000_000  # 2026-01-01, 2026-01-02 (epoch ms)
RUN = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
MODEL = model_key("mlflow", "credit-risk")
V1, V2 = version_key("mlflow", "credit-risk", "1"), version_key("mlflow", "credit-risk", "2")


def entry(body: dict[str, Any], at: int = T1, seq: int = 1) -> LogEntry:
    return LogEntry(
        seq, event_id_of(MLFLOW, body), MLFLOW, body["kind"], record_time(at), "now", body
    )


def version(**changes: Any) -> dict[str, Any]:
    return {
        "kind": "model_version",
        "name": "credit-risk",
        "version": "1",
        "status": "READY",
        "run_id": RUN,
        "tags": {"feast.feature_service": "credit_scoring/credit_risk_v1"},
        "created_ms": T1,
        "updated_ms": T1,
        **changes,
    }


def run(inputs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "kind": "training_run",
        "run_id": RUN,
        "experiment_id": "1",
        "experiment_name": "credit-risk-training",
        "status": "FAILED",
        "start_ms": T1,
        "end_ms": T2,
        "params": {"C": "0.5", "penalty.type": "l2"},
        "metrics": {"val/auc": 0.81},
        "inputs": inputs,
    }


def dataset_input(source_type: str, source: dict[str, Any] | str, **extra: Any) -> dict[str, Any]:
    text = source if isinstance(source, str) else json.dumps(source)
    return {"name": "orders", "digest": "dbb77dd4", "source_type": source_type, "source": text,
            **extra}  # fmt: skip


def edges(store: EmbeddedStore, node: NodeKey, kind: EdgeKind, as_of: str | None = None) -> list:
    return store.neighbors([node.id], Direction.OUT, [kind], as_of=as_of)


def test_a_version_whose_run_is_gone_keeps_its_props_but_trains_from_nothing() -> None:
    store = EmbeddedStore()
    store.apply(map_entry(entry(version(run_found=False))))
    node = store.get_node(V1.id)
    assert node is not None
    assert node.props["source_run_id"] == RUN
    assert store.get_node(NodeKey.of(NodeKind.RUN, run_id=RUN).id) is None
    assert [e.key.src for e in store.neighbors([V1.id], Direction.IN, [EdgeKind.TRAINED])] == []
    # the feature service tag still links the version
    service = NodeKey.of(NodeKind.FEATURE_SERVICE, project="credit_scoring", name="credit_risk_v1")
    assert [e.key.dst for e in edges(store, service, EdgeKind.FEEDS)] == [V1]


def test_a_version_with_its_run_is_trained_by_it() -> None:
    store = EmbeddedStore()
    store.apply(map_entry(entry(version())))
    trained = store.neighbors([V1.id], Direction.IN, [EdgeKind.TRAINED])
    assert [e.key.src for e in trained] == [NodeKey.of(NodeKind.RUN, run_id=RUN)]


def test_a_run_maps_state_times_params_metrics_and_its_placeable_inputs() -> None:
    inputs = [
        dataset_input("s3", {"uri": "s3a://lake/orders/"}, context="training",
                      schema='{"mlflow_colspec": [{"type": "double", "name": "income"}]}'),
        dataset_input("code", {"tags": {"mlflow.user": "me"}}, name="holdout"),
        dataset_input("delta_table", {"delta_table_name": "main.features.cust",
                                      "delta_table_version": 7}, name="cust"),
        dataset_input("s3", "{not json", name="broken"),
    ]  # fmt: skip
    store = EmbeddedStore()
    store.apply(map_entry(entry(run(inputs), at=T2)))
    node = store.get_node(NodeKey.of(NodeKind.RUN, run_id=RUN).id)
    assert node is not None
    props = node.props
    assert (props["state"], props["started_at"], props["ended_at"]) == (
        "FAIL", record_time(T1), record_time(T2)
    )  # fmt: skip
    assert (props["param_C"], props["param_penalty_type"], props["metric_val_auc"]) == (
        "0.5", "l2", 0.81
    )  # fmt: skip
    assert sorted(props["unlinked_inputs"]) == [
        "broken: source is not JSON: Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)",
        "holdout: code (the dataset came from the training code itself)",
    ]
    job = NodeKey.of(NodeKind.JOB, namespace="mlflow", name="credit-risk-training")
    run_key = NodeKey.of(NodeKind.RUN, run_id=RUN)
    assert [e.key.dst for e in edges(store, run_key, EdgeKind.RUN_OF)] == [job]
    read = store.neighbors([run_key.id], Direction.IN, [EdgeKind.READ_BY])
    orders = dataset_key("s3://lake", "orders")
    cust = metastore_table("main.features.cust")
    assert sorted(e.key.src for e in read) == sorted([
        NodeKey.of(NodeKind.DATASET_VERSION, namespace="s3://lake", name="orders",
                   version="dbb77dd4"),
        NodeKey.of(NodeKind.DATASET_VERSION, namespace="metastore", name="main.features.cust",
                   version="7"),
    ])  # fmt: skip
    assert {e.key.src: e.props for e in read}[
        NodeKey.of(
            NodeKind.DATASET_VERSION, namespace="s3://lake", name="orders", version="dbb77dd4"
        )
    ] == {"context": "training"}
    columns = edges(store, orders, EdgeKind.HAS_COLUMN)
    assert [e.key.dst.parts[2] for e in columns] == ["income"]
    assert edges(store, cust, EdgeKind.HAS_COLUMN) == []


def alias_snapshot(aliases: dict[str, str], at: int, removed: tuple[str, ...] = ()) -> LogEntry:
    body = {"kind": "aliases", "model": "credit-risk", "aliases": aliases,
            "removed": list(removed), "observed_ms": at}  # fmt: skip
    return entry(body, at=at)


def test_an_alias_move_retires_the_old_edge_and_a_replay_does_not_reopen_it() -> None:
    # snapshots are logged in the order a sync observes them; the projector applies log order
    first = alias_snapshot({"champion": "1", "challenger": "2"}, T1)
    second = alias_snapshot({"champion": "2", "challenger": "2"}, T2)
    store = EmbeddedStore()
    for snapshot in (first, second, first):  # the last: the older snapshot projected again
        store.apply(map_entry(snapshot))
    current = {(e.key.disc, e.key.dst) for e in edges(store, MODEL, EdgeKind.ALIAS)}
    assert current == {("champion", V2), ("challenger", V2)}
    before = {(e.key.disc, e.key.dst) for e in edges(store, MODEL, EdgeKind.ALIAS, record_time(T1))}
    assert before == {("champion", V1), ("challenger", V2)}
    retired = [e for e in store.iter_edges() if e.valid_to is not None]
    assert [(e.key.disc, e.key.dst, e.valid_to) for e in retired] == [
        ("champion", V1, record_time(T2))
    ]


def test_a_removed_alias_is_retired() -> None:
    store = EmbeddedStore()
    store.apply(map_entry(alias_snapshot({"champion": "1"}, T1)))
    store.apply(map_entry(alias_snapshot({}, T2, removed=("champion",))))
    assert edges(store, MODEL, EdgeKind.ALIAS) == []


def test_the_owner_tag_owns_the_model_and_the_creator_does_not() -> None:
    tags = {"owner": " Risk-Team@Example.com, ml-platform", "mlflow.user": "alice"}
    body = {"kind": "registered_model", "name": "credit-risk", "created_ms": T1, "updated_ms": T1,
            "tags": tags}  # fmt: skip
    store = EmbeddedStore()
    store.apply(map_entry(entry(body)))
    owns = store.neighbors([MODEL.id], Direction.IN, [EdgeKind.OWNS])
    assert sorted((e.key.src.parts[0], e.key.disc) for e in owns) == [
        ("ml-platform", "technical"), ("risk-team@example.com", "technical")
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"feast.feature_service": "credit/risk_v1"}, ("credit", "risk_v1")),
        ({"feast.feature_service": "risk_v1", "feast.project": "credit"}, ("credit", "risk_v1")),
        ({"feast.feature_service": "risk_v1"}, None),  # no project: not guessed
        ({}, None),
    ],
)
def test_feature_service_tags(tags: dict[str, str], expected: tuple[str, str] | None) -> None:
    found = feature_service_of(tags)
    assert (found.parts if found else None) == expected


@pytest.mark.parametrize(
    ("source_type", "source", "expected"),
    [
        ("s3", {"uri": "s3://lake/orders/"}, ("s3://lake", "orders", None)),
        ("local", {"uri": "/data/orders.parquet"}, ("file", "/data/orders.parquet", None)),
        ("http", {"url": "https://example.com/x.csv"}, ("https://example.com", "x.csv", None)),
        ("delta_table", {"delta_table_name": "`main`.`f`.`c`", "delta_table_version": 3},
         ("metastore", "main.f.c", "3")),
        ("spark", {"table": "db.orders"}, ("metastore", "db.orders", None)),
        ("spark", {"path": "s3a://lake/t"}, ("s3://lake", "t", None)),
        ("spark", {"sql": "SELECT 1"}, None),
        ("huggingface", {"path": "org/ds"}, None),
        ("code", {"tags": {}}, None),
    ],
)  # fmt: skip
def test_placing_dataset_sources(
    source_type: str, source: dict[str, Any], expected: tuple[str, str, str | None] | None
) -> None:
    placed = place_input(source_type, json.dumps(source))
    got = (*placed.dataset.parts, placed.version) if placed.dataset else None
    assert got == expected
    assert bool(placed.why) == (expected is None)


@pytest.mark.parametrize(
    ("source_type", "source", "message"),
    [
        ("s3", "s3://not-json", "source is not JSON"),
        ("s3", "[1]", "not a JSON object"),
        ("s3", "{}", "s3 source has no 'uri'"),
        ("delta_table", '{"delta_table_version": 1}', "neither delta_table_name nor path"),
        ("s3", '{"uri": "s3://bucket-only/"}', "names a bucket"),
    ],
)
def test_malformed_dataset_sources_are_errors(source_type: str, source: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        place_input(source_type, source)


def test_metastore_table_unquotes_and_refuses_an_empty_name() -> None:
    assert metastore_table('"main"."features"."cust"').parts == ("metastore", "main.features.cust")
    with pytest.raises(ValueError, match="needs a name"):
        metastore_table("  ")


def test_prop_keys_are_sanitised() -> None:
    assert prop_key("tag_", "mlflow.source.git-commit") == "tag_mlflow_source_git_commit"


def test_a_bad_record_names_its_field_and_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValidationError, match="updated_ms"):
        map_entry(entry(version(updated_ms="yesterday")))
    with pytest.raises(ValueError, match="unknown MLflow record kind"):
        map_entry(entry({"kind": "experiment"}))
