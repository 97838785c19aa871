"""A name as the producer or a person writes it finds its node, on both stores, through every
entry point: GraphQL `NodeRef`, `ownerId`, `search` and the CLI's node names (issues 15 §1, 16 §4).

The graph is built from real Spark events of the shared OpenLineage corpus (a Hive table written
by its storage path `file` + `/tmp/cll_test/tbl1`, with a TABLE symlink `file:/tmp/cll_test` +
`default.tbl1`), the same event as Spark writes it on an HDFS and on a GCS warehouse, and the
Hive hook's event (a table named `hive://localhost:9083` + `test.t1`, with a LOCATION symlink).
Only what identifies a corpus matcher (eventTime, runId, job name) is filled in here.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineage_kg.api.app import create_app
from lineage_kg.cli.questions import resolve_node
from lineage_kg.graph.errors import NotFound
from lineage_kg.graph.model import NodeKey, NodeKind
from lineage_kg.graph.store import GraphStore
from lineage_kg.ingest.openlineage.mapping import map_event
from lineage_kg.settings import Settings

_DEFAULT = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "openlineage"
CORPUS = Path(os.environ.get("LKG_OPENLINEAGE_CORPUS", _DEFAULT)) / "OpenLineage"
SPARK_CLL = "integration__spark__app__integrations__container__pysparkCLLEnd.json"
HIVE_CLL = "integration__hive__hive-openlineage-hook__integrations__container__cllSimpleQueryIndirectComplete.json"  # noqa: E501

HDFS = "hdfs://namenode:8020"
TBL1 = NodeKey.of(NodeKind.DATASET, namespace="file:/tmp/cll_test", name="default.tbl1")
HDFS_TBL1 = NodeKey.of(NodeKind.DATASET, namespace=f"{HDFS}/tmp/cll_test", name="default.tbl1")
GS_TBL1 = NodeKey.of(NodeKind.DATASET, namespace="gs://lake/tmp/cll_test", name="default.tbl1")
HIVE_T1 = NodeKey.of(NodeKind.DATASET, namespace="hive://localhost:9083", name="test.t1")
PRIYA = "priya.raman@nimbus.example"


def _identified(event: dict[str, Any], n: int) -> dict[str, Any]:
    """A corpus matcher with the identity it leaves out (test-only)."""
    event = copy.deepcopy(event)
    event["eventTime"] = f"2026-03-01T10:00:0{n}Z"
    event["run"] = {**(event.get("run") or {}), "runId": f"0190c0f4-0000-7000-8000-00000000000{n}"}
    event["job"] = {**event["job"], "name": event["job"].get("name") or f"spark-job-{n}"}
    return event


def _on_warehouse(event: dict[str, Any], namespace: str, strip: bool) -> dict[str, Any]:
    """The Spark event as Spark writes it when the warehouse is not the local disk: every
    `file` name on `namespace` (object stores name keys without the leading "/")."""
    text = json.dumps(event)
    text = text.replace(
        '"namespace": "file:/tmp/cll_test"', f'"namespace": "{namespace}/tmp/cll_test"'
    )
    text = text.replace('"namespace": "file"', f'"namespace": "{namespace}"')
    if strip:
        text = text.replace('"name": "/tmp/cll_test/', '"name": "tmp/cll_test/')
    return json.loads(text)


def _events() -> list[dict[str, Any]]:
    spark = json.loads((CORPUS / SPARK_CLL).read_text())
    hdfs = _on_warehouse(spark, HDFS, strip=False)
    # a maintainer named as OpenLineage's ownership facet writes a person: a `user:` URN
    owners = [{"name": "user:Priya.Raman@Nimbus.Example", "type": "MAINTAINER"}]
    hdfs["outputs"][0]["facets"]["ownership"] = {"owners": owners}
    hdfs["job"] = {**hdfs["job"], "name": "spark-on-hdfs"}
    gcs = _on_warehouse(spark, "gs://lake", strip=True)
    gcs["job"] = {**gcs["job"], "name": "spark-on-gcs"}
    hive = json.loads((CORPUS / HIVE_CLL).read_text())
    return [_identified(e, n) for n, e in enumerate([spark, hdfs, gcs, hive], start=1)]


@pytest.fixture
def world(store: GraphStore) -> GraphStore:
    for n, event in enumerate(_events()):
        store.apply(map_event(event, f"ev-{n}"))
    return store


@pytest.fixture
def client(world: GraphStore, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=tmp_path), store=world)) as c:
        yield c


def gql(client: TestClient, query: str, **variables: object) -> dict[str, Any]:
    response = client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()


IMPACT = """query ($ref: NodeRef!) { impact(ref: $ref) {
  start { id display aliases } summary { total } edges { node { node { id } } } } }"""
NODE = "query ($ref: NodeRef!) { node(ref: $ref) { id aliases } }"


def _impact(client: TestClient, ref: dict[str, str]) -> dict[str, Any]:
    body = gql(client, IMPACT, ref=ref)
    assert "errors" not in body, body
    return body["data"]["impact"]


@pytest.mark.parametrize(
    ("ref", "canonical"),
    [
        # as the Spark event names its output: the storage path, not the TABLE symlink
        ({"namespace": "file", "name": "/tmp/cll_test/tbl1"}, TBL1),
        ({"namespace": HDFS, "name": "/tmp/cll_test/tbl1"}, HDFS_TBL1),
        # another producer's spelling of the same namespace: case, trailing "/", gcs alias
        ({"namespace": "HDFS://NameNode:8020/", "name": "/tmp/cll_test/tbl1"}, HDFS_TBL1),
        ({"namespace": "gcs://lake", "name": "tmp/cll_test/tbl1"}, GS_TBL1),
        # the table name, as the symlink spells its namespace
        ({"namespace": "file:/tmp/cll_test/", "name": "default.tbl1"}, TBL1),
        # the Hive hook's table, by the location its LOCATION symlink names
        ({"namespace": "file", "name": "/opt/hive/data/warehouse/test.db/t1"}, HIVE_T1),
        ({"namespace": "HIVE://LocalHost:9083", "name": "test.t1"}, HIVE_T1),
    ],
)
def test_a_dataset_named_as_written_is_its_canonical_node(
    client: TestClient, ref: dict[str, str], canonical: NodeKey
) -> None:
    by_name = _impact(client, {"kind": "Dataset", **ref})
    by_key = _impact(client, {"id": canonical.id})
    assert by_name["start"]["id"] == canonical.id
    assert by_name == by_key  # the same answer, whichever name asked
    assert gql(client, NODE, ref={"kind": "Dataset", **ref})["data"]["node"]["id"] == canonical.id


def test_the_answer_shows_the_names_it_is_known_by(client: TestClient) -> None:
    spark = _impact(client, {"kind": "Dataset", "namespace": "file", "name": "/tmp/cll_test/tbl1"})
    assert spark["start"]["display"] == "file:/tmp/cll_test/default.tbl1"
    assert spark["start"]["aliases"] == ["file//tmp/cll_test/tbl1"]
    # the Hive hook's input, named by its location: its answer reaches the query's output
    location = {
        "kind": "Dataset",
        "namespace": "file",
        "name": "/opt/hive/data/warehouse/test.db/t1",
    }
    hive = _impact(client, location)
    assert hive["start"]["display"] == "hive://localhost:9083/test.t1"
    assert hive["start"]["aliases"] == ["file//opt/hive/data/warehouse/test.db/t1"]
    reached = {e["node"]["node"]["id"] for e in hive["edges"]}
    xxx = NodeKey.of(NodeKind.DATASET, namespace="hive://localhost:9083", name="test.xxx")
    assert xxx.id in reached


def test_a_column_named_by_the_storage_path_is_the_tables_column(client: TestClient) -> None:
    ref = {"kind": "Column", "namespace": HDFS, "name": "/tmp/cll_test/tbl1", "field": "agg"}
    answer = _impact(client, ref)
    want = NodeKey.of(
        NodeKind.COLUMN, namespace=HDFS_TBL1.parts[0], name="default.tbl1", field="agg"
    )
    assert answer["start"]["id"] == want.id


def test_a_name_that_matches_nothing_says_what_it_looked_for_and_what_is_near(
    client: TestClient,
) -> None:
    # HDFS has no default port in the naming spec: without one it is another namespace
    ref = {"kind": "Dataset", "namespace": "HDFS://NameNode", "name": "/tmp/cll_test/tbl1"}
    body = gql(client, IMPACT, ref=ref)
    (error,) = body["errors"]
    assert error["path"] == ["impact"]
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert error["extensions"]["lookedFor"] == "hdfs://namenode//tmp/cll_test/tbl1"
    near = error["extensions"]["suggestions"]
    assert 0 < len(near) <= 5
    assert HDFS_TBL1.display in near and "hdfs://namenode//tmp/cll_test/tbl1" in error["message"]
    assert gql(client, NODE, ref=ref)["data"]["node"] is None


OWNER = "query ($owner: String!) { accountability(ownerId: $owner) { owner { id } owned { node { id } } } }"  # noqa: E501


WRITTEN = [
    "Priya.Raman@Nimbus.Example",
    f"user:{PRIYA}",
    f" {PRIYA} ",
    "USER:Priya.Raman@Nimbus.EXAMPLE",
]


@pytest.mark.parametrize("written", WRITTEN)
def test_an_owner_named_as_people_write_it_is_one_owner(client: TestClient, written: str) -> None:
    body = gql(client, OWNER, owner=written)
    assert "errors" not in body, body
    answer = body["data"]["accountability"]
    assert answer["owner"]["id"] == NodeKey.of(NodeKind.OWNER, owner_id=PRIYA).id
    assert [o["node"]["id"] for o in answer["owned"]] == [HDFS_TBL1.id]


def test_an_unknown_owner_is_not_found_with_the_owners_near_it(client: TestClient) -> None:
    (error,) = gql(client, OWNER, owner="Priya.Ramen@Nimbus.Example")["errors"]
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert error["extensions"]["lookedFor"] == "priya.ramen@nimbus.example"
    assert error["extensions"]["suggestions"] == [PRIYA]


SEARCH = "query ($text: String!) { search(text: $text) { id } }"


def test_search_puts_the_node_a_name_names_first(client: TestClient) -> None:
    # the storage path is no substring of the table's display name: only resolution finds it
    found = gql(client, SEARCH, text="file//tmp/cll_test/tbl1")["data"]["search"]
    assert [n["id"] for n in found][:1] == [TBL1.id]
    found = gql(client, SEARCH, text=f"{HDFS}//tmp/cll_test/tbl1#agg")["data"]["search"]
    assert (
        found[0]["id"]
        == NodeKey.of(
            NodeKind.COLUMN, namespace=HDFS_TBL1.parts[0], name="default.tbl1", field="agg"
        ).id
    )


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("file//tmp/cll_test/tbl1", TBL1),
        ("/tmp/cll_test/tbl1", TBL1),
        ("file:///tmp/cll_test/tbl1", TBL1),
        ("hdfs://NameNode:8020//tmp/cll_test/tbl1", HDFS_TBL1),
        ("hdfs://namenode:8020/tmp/cll_test/tbl1", HDFS_TBL1),  # as a URI, the way Spark logs it
        ("gcs://lake/tmp/cll_test/tbl1", GS_TBL1),
        ("file//opt/hive/data/warehouse/test.db/t1", HIVE_T1),
    ],
)
def test_the_cli_resolves_names_with_the_same_resolver(
    world: GraphStore, text: str, canonical: NodeKey
) -> None:
    assert resolve_node(world, text) == canonical.id


def test_the_cli_not_found_names_what_it_looked_for(world: GraphStore) -> None:
    with pytest.raises(NotFound, match=r"closest known: .*default\.tbl1") as caught:
        resolve_node(world, "file//tmp/cll_test/tbl9")
    assert caught.value.looked_for == "file//tmp/cll_test/tbl9"
