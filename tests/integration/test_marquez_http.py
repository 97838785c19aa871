"""Marquez's read API in-process on each store (issue 18 §7): every answer validates against JSON
schemas written here from Marquez's spec (spec/openapi.yml components and the @NonNull fields
of marquez/service/models, MarquezProject/marquez @ a89b89c), independently of the serializer;
the two stores give the same JSON; paging and refusals as Marquez does them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jsonschema
import pytest
from fastapi.testclient import TestClient

from lineage_kg.api.app import create_app
from lineage_kg.graph.store import GraphStore
from lineage_kg.settings import Settings

CORPUS = Path("/work/shared/corpus/openlineage/marquez/docker__metadata.json")
NS = "food_delivery"
COLUMNS = "/api/v1/column-lineage"

# ---- the spec's response types ------------------------------------------------------------------
STR, INT, BOOL = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
TIME = {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$"}
NULLABLE_TIME = {"anyOf": [TIME, {"type": "null"}]}
NULLABLE_STR = {"type": ["string", "null"]}
DATASET_ID = {
    "type": "object",
    "required": ["namespace", "name"],
    "properties": {"namespace": STR, "name": STR},
}
FIELD = {
    "type": "object",
    "required": ["name", "type"],
    "properties": {
        "name": STR,
        "type": NULLABLE_STR,
        "tags": {"type": "array", "items": STR},
        "description": NULLABLE_STR,
    },
}
NAMESPACE = {
    "type": "object",
    "required": ["name", "createdAt", "updatedAt", "ownerName", "isHidden"],
    "properties": {
        "name": STR,
        "createdAt": TIME,
        "updatedAt": TIME,
        "ownerName": STR,
        "description": NULLABLE_STR,
        "isHidden": BOOL,
    },
}
DATASET = {
    "type": "object",
    "required": [
        "id", "type", "name", "physicalName", "createdAt", "updatedAt", "namespace",
        "sourceName", "fields", "tags",
    ],
    "properties": {
        "id": DATASET_ID,
        "type": {"enum": ["DB_TABLE", "STREAM"]},
        "name": STR,
        "physicalName": STR,
        "createdAt": TIME,
        "updatedAt": TIME,
        "namespace": STR,
        "sourceName": STR,
        "fields": {"type": "array", "items": FIELD},
        "tags": {"type": "array", "items": STR},
        "lastModifiedAt": NULLABLE_TIME,
        "lastLifecycleState": NULLABLE_STR,
        "description": NULLABLE_STR,
        "facets": {"type": "object"},
        "currentVersion": NULLABLE_STR,
        "deleted": BOOL,
    },
}  # fmt: skip
VERSION_ID = {
    "type": "object",
    "required": ["namespace", "name", "version"],
    "properties": {"namespace": STR, "name": STR, "version": NULLABLE_STR},
}
DATASET_VERSIONS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["datasetVersionId", "facets"],
        "properties": {"datasetVersionId": VERSION_ID, "facets": {"type": "object"}},
    },
}
RUN = {
    "type": "object",
    "required": ["id", "createdAt", "updatedAt", "state"],
    "properties": {
        "id": STR,
        "createdAt": TIME,
        "updatedAt": TIME,
        "nominalStartTime": NULLABLE_TIME,
        "nominalEndTime": NULLABLE_TIME,
        "state": {"enum": ["NEW", "RUNNING", "COMPLETED", "FAILED", "ABORTED"]},
        "startedAt": NULLABLE_TIME,
        "endedAt": NULLABLE_TIME,
        "durationMs": {"type": ["integer", "null"]},
        "args": {"type": "object"},
        "jobVersion": {"anyOf": [VERSION_ID, {"type": "null"}]},
        "inputDatasetVersions": DATASET_VERSIONS,
        "outputDatasetVersions": DATASET_VERSIONS,
        "facets": {"type": "object"},
    },
}
JOB = {
    "type": "object",
    "required": [
        "id", "type", "name", "simpleName", "createdAt", "updatedAt", "namespace", "inputs",
        "outputs",
    ],
    "properties": {
        "id": DATASET_ID,
        "type": {"enum": ["BATCH", "STREAM", "SERVICE"]},
        "name": STR,
        "simpleName": STR,
        "createdAt": TIME,
        "updatedAt": TIME,
        "namespace": STR,
        "inputs": {"type": "array", "items": DATASET_ID, "uniqueItems": True},
        "outputs": {"type": "array", "items": DATASET_ID, "uniqueItems": True},
        "location": NULLABLE_STR,
        "description": NULLABLE_STR,
        "latestRun": {"anyOf": [RUN, {"type": "null"}]},
        "latestRuns": {"type": "array", "items": RUN},
        "facets": {"type": "object"},
    },
}  # fmt: skip
EDGE = {
    "type": "object",
    "required": ["origin", "destination"],
    "properties": {"origin": STR, "destination": STR},
    "additionalProperties": False,
}
GRAPH = {
    "type": "object",
    "required": ["graph"],
    "properties": {
        "graph": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "type", "data", "inEdges", "outEdges"],
                "properties": {
                    "id": {"type": "string", "pattern": "^(dataset|job|datasetField):"},
                    "type": {"enum": ["DATASET", "JOB", "DATASET_FIELD"]},
                    "data": {"anyOf": [DATASET, JOB, {"type": "object"}]},
                    "inEdges": {"type": "array", "items": EDGE},
                    "outEdges": {"type": "array", "items": EDGE},
                },
            },
        }
    },
}


def page_of(key: str, item: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [key, "totalCount"],
        "properties": {key: {"type": "array", "items": item}, "totalCount": INT},
    }


SEARCH = {
    "type": "object",
    "required": ["totalCount", "results"],
    "properties": {
        "totalCount": INT,
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "name", "updatedAt", "namespace", "nodeId"],
                "properties": {
                    "type": {"enum": ["DATASET", "JOB"]},
                    "name": STR,
                    "updatedAt": TIME,
                    "namespace": STR,
                    "nodeId": {"type": "string", "pattern": "^(dataset|job):"},
                },
            },
        },
    },
}
ERROR = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {"code": INT, "message": STR},
    "additionalProperties": False,
}


# ---- the service --------------------------------------------------------------------------------
def demo_events() -> list[dict[str, Any]]:
    if not CORPUS.exists():
        pytest.skip(f"the shared corpus is not here: {CORPUS}")
    return json.loads(CORPUS.read_text())


def fed(client: TestClient) -> TestClient:
    answer = client.post("/api/v1/lineage/bulk", json=demo_events())
    assert answer.status_code == 200 and not answer.json()["rejected"], answer.text
    deadline = time.monotonic() + 120
    while True:
        body = client.post("/graphql", json={"query": "{ ingestStatus { lag } }"}).json()
        if body["data"]["ingestStatus"]["lag"] == 0:
            return client
        assert time.monotonic() < deadline, body
        time.sleep(0.1)


@pytest.fixture
def client(store: GraphStore, tmp_path: Path) -> Iterator[TestClient]:
    store.clear()
    with TestClient(create_app(Settings(data_dir=tmp_path), store=store)) as c:
        yield fed(c)


def get(client: TestClient, url: str, schema: dict[str, Any], status: int = 200) -> Any:
    answer = client.get(url)
    assert answer.status_code == status, (url, answer.text)
    jsonschema.validate(answer.json(), schema)
    return answer.json()


# every read the brief names, with the schema of its answer
READS = [
    ("/api/v1/namespaces", page_of("namespaces", NAMESPACE)),
    (f"/api/v1/namespaces/{NS}", NAMESPACE),
    (f"/api/v1/namespaces/{NS}/datasets", page_of("datasets", DATASET)),
    (f"/api/v1/namespaces/{NS}/datasets/public.delivery_7_days", DATASET),
    (f"/api/v1/namespaces/{NS}/jobs", page_of("jobs", JOB)),
    (f"/api/v1/namespaces/{NS}/jobs/etl_delivery_7_days", JOB),
    (f"/api/v1/namespaces/{NS}/jobs/etl_delivery_7_days/runs", page_of("runs", RUN)),
    (f"/api/v1/lineage?nodeId=dataset:{NS}:public.delivery_7_days&depth=2", GRAPH),
    (f"/api/v1/lineage?nodeId=job:{NS}:etl_orders_7_days", GRAPH),
    (f"/api/v1/column-lineage?nodeId=datasetField:{NS}:public.delivery_7_days:order_id", GRAPH),
    (f"/api/v1/column-lineage?nodeId=dataset:{NS}:public.orders&withDownstream=true", GRAPH),
    ("/api/v1/jobs?limit=5&offset=2", page_of("jobs", JOB)),
    (f"/api/v1/namespaces/{NS}/datasets/public.menus/versions", {"type": "object"}),
    ("/api/v1/search?q=delivery", SEARCH),
    ("/api/v1/search?q=%25orders%25&filter=DATASET&sort=UPDATE_AT&limit=3", SEARCH),
]


def test_every_read_has_marquezs_shape(client: TestClient) -> None:
    answers = {url: get(client, url, schema) for url, schema in READS}
    run = answers[READS[6][0]]["runs"][0]
    get(client, f"/api/v1/jobs/runs/{run['id']}", RUN)
    lineage = answers[READS[7][0]]["graph"]
    ids = {n["id"] for n in lineage}
    for node in lineage:  # every edge joins two nodes of the graph, and is listed at both ends
        for edge in node["inEdges"]:
            assert edge["destination"] == node["id"] and edge["origin"] in ids
        for edge in node["outEdges"]:
            assert edge["origin"] == node["id"] and edge["destination"] in ids
    assert answers[READS[13][0]]["totalCount"] == len(answers[READS[13][0]]["results"])
    everywhere = answers[READS[11][0]]
    assert [j["name"] for j in everywhere["jobs"]] == sorted(
        {e["job"]["name"] for e in demo_events()}
    )[2:7]


def test_paging_covers_the_list_once(client: TestClient) -> None:
    whole = get(client, f"/api/v1/namespaces/{NS}/jobs?limit=1000", page_of("jobs", JOB))
    names = [j["name"] for j in whole["jobs"]]
    assert len(names) == whole["totalCount"] == len({e["job"]["name"] for e in demo_events()})
    paged: list[str] = []
    for offset in range(0, whole["totalCount"] + 3, 3):
        page = get(
            client, f"/api/v1/namespaces/{NS}/jobs?limit=3&offset={offset}", page_of("jobs", JOB)
        )
        assert page["totalCount"] == whole["totalCount"]
        paged += [j["name"] for j in page["jobs"]]
    assert paged == names == sorted(names)
    assert get(client, f"/api/v1/namespaces/{NS}/jobs?limit=0", page_of("jobs", JOB))["jobs"] == []


@pytest.mark.parametrize(
    ("url", "status", "names"),
    [
        ("/api/v1/namespaces/nowhere", 404, "Namespace 'nowhere'"),
        ("/api/v1/namespaces/nowhere/datasets", 404, "Namespace 'nowhere'"),
        (f"/api/v1/namespaces/{NS}/datasets/nothing", 404, "Dataset 'nothing'"),
        (f"/api/v1/namespaces/{NS}/jobs/nothing/runs", 404, "Job 'nothing'"),
        ("/api/v1/jobs/runs/no-such-run", 404, "Run 'no-such-run'"),
        (f"/api/v1/namespaces/{NS}/datasets?limit=1001", 400, "limit"),
        (f"/api/v1/namespaces/{NS}/datasets?offset=-1", 400, "offset"),
        (f"/api/v1/namespaces/{NS}/datasets?limit=x", 400, "limit"),
        # every listing reads its paging the same way
        ("/api/v1/namespaces?limit=x", 400, "limit"),
        ("/api/v1/jobs?offset=x", 400, "offset"),
        ("/api/v1/tags?limit=x", 400, "limit"),
        (f"/api/v1/namespaces/{NS}/jobs/j/runs?offset=-2", 400, "offset"),
        ("/api/v1/search?q=a&limit=x", 400, "limit"),
        ("/api/v1/lineage", 400, "nodeId"),
        ("/api/v1/lineage?nodeId=table:a:b", 400, "nodeId"),
        (f"/api/v1/lineage?nodeId=dataset:{NS}:public.menus&depth=-1", 400, "depth"),
        (f"/api/v1/lineage?nodeId=datasetField:{NS}:public.menus:id", 400, "nodeId"),
        (f"{COLUMNS}?nodeId=dataset:{NS}:public.menus&withDownstream=maybe", 400, "withDownstream"),
        (f"{COLUMNS}?nodeId=datasetField:{NS}:public.menus:nope", 404, "Field 'nope'"),
        ("/api/v1/search?q=%20", 400, "q"),
        ("/api/v1/search?q=a&filter=TABLE", 400, "filter"),
        ("/api/v1/search?q=a&before=yesterday", 400, "before"),
        (f"/api/v1/namespaces/{NS}/tags", 404, "not part of the Marquez API"),
    ],
)  # fmt: skip
def test_refusals_name_the_parameter(client: TestClient, url: str, status: int, names: str) -> None:
    body = get(client, url, ERROR, status)
    assert body["code"] == status and names in body["message"]


@pytest.mark.neo4j
def test_both_stores_answer_alike(
    both_stores: tuple[GraphStore, GraphStore], tmp_path: Path
) -> None:
    answers = []
    for i, store in enumerate(both_stores):
        store.clear()
        settings = Settings(data_dir=tmp_path / str(i))
        with TestClient(create_app(settings, store=store)) as c:
            fed(c)
            answers.append({url: c.get(url).json() for url, _ in READS})
    embedded, neo4j = answers
    for url, _ in READS:
        assert embedded[url] == neo4j[url], url


def test_encoded_slashes_in_names(client: TestClient) -> None:
    event = {
        "eventType": "COMPLETE",
        "eventTime": "2026-01-05T06:00:00Z",
        "run": {"runId": "3f5e2d8a-1b1c-4d8e-9a55-0c2f8b7e6a11"},
        "job": {"namespace": "spark", "name": "copy"},
        "inputs": [{"namespace": "s3a://Lake", "name": "raw/orders.parquet"}],
        "outputs": [{"namespace": "s3://lake", "name": "clean/orders.parquet"}],
        "producer": "https://example.com/test",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json",
    }
    client.post("/api/v1/lineage", json=event)
    fed(client)
    ns, name = quote("s3a://Lake", safe=""), quote("raw/orders.parquet", safe="")
    found = get(client, f"/api/v1/namespaces/{ns}/datasets/{name}", DATASET)
    assert found["id"] == {"namespace": "s3://lake", "name": "raw/orders.parquet"}
    listed = get(
        client,
        f"/api/v1/namespaces/{quote('s3://lake', safe='')}/datasets",
        page_of("datasets", DATASET),
    )
    assert [d["name"] for d in listed["datasets"]] == ["clean/orders.parquet", "raw/orders.parquet"]


TAGS = {
    "type": "object",
    "required": ["tags"],
    "properties": {
        "tags": {
            "type": "array",
            "items": {"type": "object", "required": ["name"], "properties": {"name": STR}},
        }
    },
}


def test_tags_of_datasets_and_jobs(client: TestClient) -> None:
    sent = [{"key": "pii", "value": "true"}, {"key": "gold"}]
    event = {
        "eventType": "COMPLETE",
        "eventTime": "2026-01-05T07:00:00Z",
        "run": {"runId": "3f5e2d8a-1b1c-4d8e-9a55-0c2f8b7e6a12"},
        "job": {"namespace": "spark", "name": "tagged"},
        "outputs": [{"namespace": "s3://lake", "name": "t", "facets": {"tags": {"tags": sent}}}],
        "producer": "https://example.com/test",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json",
    }
    assert client.post("/api/v1/lineage", json=event).status_code == 201
    fed(client)
    expected = sorted(f"{t['key']}:{t['value']}" if "value" in t else t["key"] for t in sent)
    listed = get(client, "/api/v1/tags", TAGS)["tags"]
    assert sorted(t["name"] for t in listed) == expected  # the demo events carry no tags
    found = get(client, f"/api/v1/namespaces/{quote('s3://lake', safe='')}/datasets/t", DATASET)
    assert found["tags"] == expected
    assert get(client, "/api/v1/tags?limit=1&offset=1", TAGS)["tags"] == [
        {"name": expected[1], "description": None}
    ]


VERSION = {
    "type": "object",
    "required": [
        "id", "type", "name", "physicalName", "createdAt", "version", "namespace", "sourceName",
        "fields", "description", "createdByRun",
    ],
    "properties": {
        "id": VERSION_ID,
        "createdAt": TIME,
        "version": STR,
        "fields": {"type": "array", "items": FIELD},
        "createdByRun": {"anyOf": [RUN, {"type": "null"}]},
    },
}  # fmt: skip


def test_dataset_versions_keep_their_schema(client: TestClient) -> None:
    writes = [  # (run id, time, schema): each COMPLETE writes a new version of s3://lake/v
        ("3f5e2d8a-1b1c-4d8e-9a55-0c2f8b7e6a21", "2026-01-05T08:00:00Z", ["a", "b"]),
        ("3f5e2d8a-1b1c-4d8e-9a55-0c2f8b7e6a22", "2026-01-05T09:00:00Z", ["a", "c"]),
    ]
    for run_id, at, schema in writes:
        fields = [{"name": f, "type": "STRING"} for f in schema]
        event = {
            "eventType": "COMPLETE",
            "eventTime": at,
            "run": {"runId": run_id},
            "job": {"namespace": "spark", "name": "versioned"},
            "outputs": [
                {"namespace": "s3://lake", "name": "v", "facets": {"schema": {"fields": fields}}}
            ],
            "producer": "https://example.com/test",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json",
        }
        assert client.post("/api/v1/lineage", json=event).status_code == 201
    fed(client)
    base = f"/api/v1/namespaces/{quote('s3://lake', safe='')}/datasets/v/versions"
    listed = get(client, base, page_of("versions", VERSION))
    newest_first = list(reversed(writes))
    assert listed["totalCount"] == len(writes)
    for version, (run_id, _, schema) in zip(listed["versions"], newest_first, strict=True):
        assert version["createdByRun"]["id"] == run_id
        assert [f["name"] for f in version["fields"]] == schema
        one = get(client, f"{base}/{quote(version['version'], safe='')}", VERSION)
        assert one == version
    body = get(client, f"{base}/nope", ERROR, 404)
    assert body["message"] == "Dataset version 'nope' not found."


def test_a_walk_past_its_bound_says_so(store: GraphStore, tmp_path: Path) -> None:
    store.clear()
    url = f"/api/v1/lineage?nodeId=dataset:{NS}:public.delivery_7_days&depth=20"
    answers = {}
    for bound in (5, 100_000):
        settings = Settings(data_dir=tmp_path / str(bound), max_traversal_nodes=bound)
        with TestClient(create_app(settings, store=store)) as c:
            answer = fed(c).get(url)
            answers[bound] = (answer.headers.get("X-Lineage-KG-Truncated"), answer.json()["graph"])
    (cut, few), (whole, every) = answers[5], answers[100_000]
    assert (cut, whole) == ("true", None)
    assert {n["id"] for n in few} < {n["id"] for n in every}
