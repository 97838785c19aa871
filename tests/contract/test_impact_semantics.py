"""Issue 15 §4 and §5 on real producers' events, on both stores: column lineage is authoritative
for its output, and indirect lineage reaches every output column.

Events come from the shared OpenLineage corpus (Marquez' seed data, Hive's and Spark's
integration-test events, Airflow's BigQuery run) through the real mapping; the answers are
asked of `queries.impact` and over GraphQL.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineage_kg.api.app import create_app
from lineage_kg.graph.model import COLUMN_LINEAGE, EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.store import GraphStore
from lineage_kg.ingest.openlineage.mapping import map_event
from lineage_kg.queries.impact import ImpactAnswer, impact
from lineage_kg.settings import Settings
from tests.unit.test_openlineage_corpus import events_of

MARQUEZ = "marquez/docker__metadata.json"
HIVE = (
    "OpenLineage/integration__hive__hive-openlineage-hook__integrations__container__"
    "cllSimpleQueryIndirectComplete.json"
)
SPARK = "OpenLineage/integration__spark__app__integrations__container__pysparkCLLEnd.json"
BIGQUERY = "OpenLineage/integration__airflow__tests__integration__requests__bigquery.json"

FOOD = "food_delivery"
HIVE_NS = "hive://localhost:9083"
TBL1 = ("file:/tmp/cll_test", "default.tbl1")  # the Spark output, by its TABLE symlink


def col(namespace: str, name: str, field: str) -> NodeKey:
    return NodeKey.of(NodeKind.COLUMN, namespace=namespace, name=name, field=field)


def ds(namespace: str, name: str) -> NodeKey:
    return NodeKey.of(NodeKind.DATASET, namespace=namespace, name=name)


def apply_events(store: GraphStore, file: str, events: list[dict[str, Any]] | None = None) -> None:
    for i, event in enumerate(events if events is not None else events_of(file)):
        store.apply(map_event(event, f"{Path(file).stem}#{i}"))


def reach(answer: ImpactAnswer) -> dict[str, tuple[str, int, list[str]]]:
    """display -> (certainty, distance, the explaining path's edge kinds)."""
    return {
        i.node.key.display: (i.certainty.value, i.distance, [h.edge.key.kind for h in i.path])
        for i in answer.items
    }


# ---- §5: column lineage is authoritative for its output ------------------------------------


def test_a_column_the_lineage_does_not_name_does_not_reach_the_output(store: GraphStore) -> None:
    """Marquez' seed: etl_orders_7_days reads public.orders and declares column lineage for
    public.orders_7_days that never names orders.comment. Changing comment cannot change
    orders_7_days, nor anything built from it — not even "possibly" (it used to reach the whole
    chain downstream, nine hops, as possible)."""
    apply_events(store, MARQUEZ)
    job = NodeKey.of(NodeKind.JOB, namespace=FOOD, name="etl_orders_7_days")
    (produces,) = store.neighbors([job.id], Direction.OUT, [EdgeKind.PRODUCES])
    assert produces.key.dst == ds(FOOD, "public.orders_7_days")
    assert produces.props[COLUMN_LINEAGE] is True  # recorded by the mapping, with its time
    assert produces.props["column_lineage_at"]

    comment = reach(impact(store, col(FOOD, "public.orders", "comment").id))
    assert comment[f"{FOOD}/public.orders"] == ("exact", 1, [EdgeKind.HAS_COLUMN])
    assert comment[f"{FOOD}/etl_orders_7_days"][:2] == ("possible", 2)  # the job reads it
    reached_datasets = {d for d in comment if d.startswith(f"{FOOD}/public.") and "#" not in d}
    assert reached_datasets == {f"{FOOD}/public.orders"}

    # a column it names still reaches the output, exactly, and on down the chain
    placed_on = reach(impact(store, col(FOOD, "public.orders", "placed_on").id))
    assert placed_on[f"{FOOD}/public.orders_7_days#placed_on"] == ("exact", 1, [EdgeKind.FEEDS])
    assert placed_on[f"{FOOD}/public.orders_7_days"][0] == "exact"
    assert placed_on[f"{FOOD}/public.popular_orders_day_of_week"][0] == "exact"


def test_a_whole_dataset_still_reaches_every_output_of_its_jobs(store: GraphStore) -> None:
    """From the dataset itself (dropped, reloaded, renamed: any change), every output of the
    jobs reading it may break: dataset-level reach stays, possible where no column says more."""
    apply_events(store, MARQUEZ)
    whole = reach(impact(store, ds(FOOD, "public.categories").id))
    assert whole[f"{FOOD}/public.orders_7_days"][0] in ("exact", "possible")
    assert f"{FOOD}/public.delivery_7_days" in whole


def test_dataset_level_lineage_alone_keeps_possible(store: GraphStore) -> None:
    """Airflow's BigQuery run lists inputs and an output, no column lineage: any input column
    may matter, so the output is reached as possible through the job."""
    apply_events(store, BIGQUERY)
    prefix = "openlineage-ci.airflow_integration.{{ env_var('BIGQUERY_PREFIX') }}"
    start = col("bigquery", f"{prefix}_top_delivery_times", "order_placed_on")
    answer = reach(impact(store, start.id))
    certainty, _, path = answer[f"bigquery/{prefix}_popular_orders_day_of_week"]
    assert certainty == "possible"
    assert path == [EdgeKind.HAS_COLUMN, EdgeKind.INPUT_TO, EdgeKind.PRODUCES]


def test_lineage_naming_an_unidentified_input_is_not_authoritative(store: GraphStore) -> None:
    """If the facet lists an input field the mapping cannot place (no namespace), the lineage is
    not known whole: the output keeps dataset-level reach (possible) for the columns it omits.
    The facet says so (`column_lineage` false, as an empty facet does, session 34): false and
    absent are one to every reader (graph/store.py `EdgeTest.unset`: missing or false; the
    Neo4j walks' `coalesce(r[m.unset] = true, false)`), and false, newer, outlives an older
    run's true (tests/oracle/test_empty_lineage_s33.py)."""
    (event,) = copy.deepcopy(events_of(HIVE))
    (output,) = event["outputs"]
    del output["facets"]["columnLineage"]["fields"]["a"]["inputFields"][0]["namespace"]
    apply_events(store, HIVE, [event])
    job = NodeKey.of(NodeKind.JOB, namespace="default", name="createtable_as_select.test.xxx")
    (produces,) = store.neighbors([job.id], Direction.OUT, [EdgeKind.PRODUCES])
    assert produces.props.get(COLUMN_LINEAGE) is False
    answer = reach(impact(store, col(HIVE_NS, "test.t1", "a").id))
    assert answer[f"{HIVE_NS}/test.xxx"][0] == "possible"


# ---- §4: indirect lineage reaches every output column --------------------------------------


def test_a_filter_column_reaches_every_output_column(store: GraphStore) -> None:
    """Hive: CREATE TABLE xxx AS SELECT a FROM t1 WHERE b > 1 — b is in the facet's dataset
    list (INDIRECT/FILTER): it can change every column of xxx."""
    apply_events(store, HIVE)
    answer = impact(store, col(HIVE_NS, "test.t1", "b").id)
    found = {i.node.key.display: i for i in answer.items}
    item = found[f"{HIVE_NS}/test.xxx#a"]
    assert (item.certainty.value, item.distance) == ("exact", 2)
    feeds, has_column = item.path
    assert (feeds.edge.key.kind, has_column.edge.key.kind) == (EdgeKind.FEEDS, EdgeKind.HAS_COLUMN)
    assert feeds.edge.props["transformation_types"] == ["INDIRECT"]
    assert feeds.edge.props["transformation_subtypes"] == ["FILTER"]

    # without indirect lineage, b reaches nothing of xxx: the lineage is authoritative
    direct = reach(impact(store, col(HIVE_NS, "test.t1", "b").id, include_indirect=False))
    assert f"{HIVE_NS}/test.xxx" not in direct and f"{HIVE_NS}/test.xxx#a" not in direct
    # ... while a, selected directly, still does
    kept = reach(impact(store, col(HIVE_NS, "test.t1", "a").id, include_indirect=False))
    assert kept[f"{HIVE_NS}/test.xxx#a"] == ("exact", 1, [EdgeKind.FEEDS])


@pytest.fixture
def client(store: GraphStore, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=tmp_path), store=store)) as c:
        yield c


IMPACT = """query ($ref: NodeRef!, $indirect: Boolean!) {
  impact(ref: $ref, first: 100, includeIndirect: $indirect) {
    summary { total }
    edges { node { certainty distance node { display }
                   path { kind props } } } } }"""


def test_graphql_join_and_filter_columns_reach_each_output_column(
    store: GraphStore, client: TestClient
) -> None:
    """Spark: cll_source2.a only joins and filters (INDIRECT JOIN, FILTER) into each column of
    tbl1; over GraphQL each column is reached exactly, the path says how; includeIndirect:
    false leaves them out — and tbl1 too, since its lineage names no direct use of a."""
    apply_events(store, SPARK)
    ref = {"kind": "Column", "namespace": "file", "name": "/tmp/cll_test/cll_source2", "field": "a"}

    def ask(indirect: bool) -> dict[str, dict[str, Any]]:
        body = client.post(
            "/graphql", json={"query": IMPACT, "variables": {"ref": ref, "indirect": indirect}}
        ).json()
        assert "errors" not in body, body
        return {e["node"]["node"]["display"]: e["node"] for e in body["data"]["impact"]["edges"]}

    every = ask(True)
    for field in ("ident", "trans", "agg"):
        item = every[f"{TBL1[0]}/{TBL1[1]}#{field}"]
        assert (item["certainty"], item["distance"]) == ("exact", 1)
        (step,) = item["path"]
        assert step["kind"] == "FEEDS"
        assert step["props"]["transformation_types"] == ["INDIRECT"]
        assert step["props"]["transformation_subtypes"] == ["FILTER", "JOIN"]
    direct = ask(False)
    assert not [d for d in direct if d.startswith(f"{TBL1[0]}/{TBL1[1]}")]
    assert direct["file//tmp/cll_test/cll_source2"]["certainty"] == "exact"
