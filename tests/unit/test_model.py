from __future__ import annotations

import pytest

from lineage_kg.graph.model import EDGE_SPECS, KEY_FIELDS, Certainty, EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import (
    Direction,
    EdgeKey,
    EdgeRetire,
    MutationBatch,
    NodeUpsert,
    Provenance,
)
from lineage_kg.graph.records import merge_edge, merge_node, retire_edge
from lineage_kg.graph.timefmt import canonical_time

P1 = Provenance("openlineage", "e1", "2024-01-01T00:00:00Z")
P2 = Provenance("dbt", "e2", "2024-01-02T00:00:00Z")
DS = NodeKey.of("Dataset", namespace="postgres://db:5432", name="shop.public.orders")
JOB = NodeKey.of("Job", namespace="airflow", name="etl")


def test_every_kind_has_key_fields_and_every_edge_a_spec() -> None:
    assert set(KEY_FIELDS) == set(NodeKind)
    assert set(EDGE_SPECS) == set(EdgeKind)
    assert EdgeKind.FEEDS.spec.certainty is Certainty.EXACT
    assert EdgeKind.INPUT_TO.spec.certainty is Certainty.POSSIBLE
    assert not EdgeKind.OWNS.is_flow and EdgeKind.PRODUCES.is_flow


def test_node_key_id_round_trips_whatever_the_name_holds() -> None:
    for name in ["a/b", 'quote"d', "comma,and]bracket", "ünï 表", "x|y"]:
        key = NodeKey.of(NodeKind.COLUMN, namespace=name, name=name, field=name)
        assert NodeKey.from_id(key.id) == key
    a = NodeKey.of(NodeKind.DATASET, namespace="a/b", name="c")
    b = NodeKey.of(NodeKind.DATASET, namespace="a", name="b/c")
    assert a.id != b.id and a.display == b.display  # display may collide, ids never


def test_node_key_validation_names_the_field() -> None:
    with pytest.raises(ValueError, match=r"Dataset key needs fields"):
        NodeKey.of(NodeKind.DATASET, namespace="x")
    with pytest.raises(ValueError, match=r"Dataset.name must be a non-empty string"):
        NodeKey.of(NodeKind.DATASET, namespace="x", name="")
    with pytest.raises(ValueError, match="not a node id"):
        NodeKey.from_id('["Nope","x"]')


def test_edges_only_connect_the_kinds_their_spec_allows() -> None:
    EdgeKey(DS, EdgeKind.INPUT_TO, JOB)
    with pytest.raises(ValueError, match="INPUT_TO cannot connect Job to Dataset"):
        EdgeKey(JOB, EdgeKind.INPUT_TO, DS)


def test_props_must_be_storable_and_not_reserved() -> None:
    NodeUpsert(DS, P1, {"tags": ["a", "b"], "rows": 3, "ok": True, "ratio": 0.5})
    with pytest.raises(ValueError, match="reserved"):
        NodeUpsert(DS, P1, {"first_seen": "x"})
    with pytest.raises(ValueError, match="reserved"):
        NodeUpsert(DS, P1, {"namespace": "other"})  # a key field of this kind
    with pytest.raises(ValueError, match="null"):
        NodeUpsert(DS, P1, {"description": None})
    with pytest.raises(ValueError, match="flat list of one type"):
        NodeUpsert(DS, P1, {"mixed": ["a", 1]})
    with pytest.raises(TypeError, match="unsupported type"):
        NodeUpsert(DS, P1, {"facet": {"nested": 1}})


def test_canonical_time_is_utc_fixed_width() -> None:
    assert canonical_time("2020-12-28T19:52:00.001+10:00") == "2020-12-28T09:52:00.001000Z"
    assert canonical_time("2020-12-28T09:52:00Z") == "2020-12-28T09:52:00.000000Z"
    assert canonical_time("2020-12-28T09:52:00") == "2020-12-28T09:52:00.000000Z"
    with pytest.raises(ValueError, match="not an ISO-8601 timestamp"):
        canonical_time("yesterday")


def test_merge_is_order_independent_per_property() -> None:
    a = NodeUpsert(DS, P1, {"description": "old", "rows": 1})
    b = NodeUpsert(DS, P2, {"description": "new"})
    ab = merge_node(merge_node(None, DS, a.props, a.prov), DS, b.props, b.prov)
    ba = merge_node(merge_node(None, DS, b.props, b.prov), DS, a.props, a.prov)
    assert ab == ba
    assert (ab["description"], ab["rows"], ab["sources"]) == ("new", 1, ["dbt", "openlineage"])
    assert merge_node(ab, DS, a.props, a.prov) == ab  # idempotent


def test_edge_reopens_only_when_asserted_after_retirement() -> None:
    key = EdgeKey(DS, EdgeKind.INPUT_TO, JOB)
    edge = merge_edge(None, key, {}, P1)
    retire = EdgeRetire(JOB, EdgeKind.INPUT_TO, Direction.IN, frozenset(), P2)
    closed = retire_edge(edge, retire)
    assert closed["valid_to"] == P2.event_time and closed["retired_by"] == "e2"
    # an older assertion arriving late does not reopen it
    assert "valid_to" in merge_edge(closed, key, {}, Provenance("ol", "e0", "2023-12-31T00:00:00Z"))
    reopened = merge_edge(closed, key, {}, Provenance("ol", "e3", "2024-01-03T00:00:00Z"))
    assert "valid_to" not in reopened and "retired_by" not in reopened


def test_batch_helpers_build_validated_mutations() -> None:
    batch = MutationBatch()
    batch.node(DS, P1, description="d")
    batch.edge(DS, EdgeKind.INPUT_TO, JOB, P1)
    assert len(batch) == 2
    with pytest.raises(ValueError, match="cannot connect"):
        batch.edge(DS, EdgeKind.PRODUCES, JOB, P1)
