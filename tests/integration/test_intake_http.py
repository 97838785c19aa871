"""OpenLineage intake end to end: the real openlineage-python client posting to `lkg serve`.

What a user sees: 201s, the graph showing what was sent on either store, clear 4xx for bad input,
nothing lost when the service is killed right after a 201 or when Neo4j goes away for a while.
"""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import column_lineage_dataset, schema_dataset
from openlineage.client.transport.http import (
    ApiKeyTokenProvider,
    HttpCompression,
    HttpConfig,
    HttpTransport,
)

from lineage_kg.graph.neo4j_store import Neo4jStore
from tests.conftest import ServiceProcess
from tools.neo4j_server import LocalNeo4j

NS = "postgres://warehouse:5432"


def schema(*fields: str) -> schema_dataset.SchemaDatasetFacet:
    return schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name=f, type="varchar") for f in fields]
    )


def pipeline_events(run_id: str, when: str = "2026-01-05T06:00") -> list[RunEvent]:
    """A job reading orders and writing daily_revenue, with column lineage on COMPLETE."""
    job = Job(namespace="airflow", name="marts.daily_revenue")
    orders = InputDataset(NS, "shop.public.orders", facets={"schema": schema("id", "amount")})
    lineage = column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={
            "revenue": column_lineage_dataset.Fields(
                inputFields=[column_lineage_dataset.InputField(NS, "shop.public.orders", "amount")]
            )
        }
    )
    revenue = OutputDataset(
        NS,
        "analytics.marts.daily_revenue",
        facets={"schema": schema("day", "revenue"), "columnLineage": lineage},
    )
    start = RunEvent(
        eventType=RunState.START,
        eventTime=f"{when}:00.000Z",
        run=Run(runId=run_id),
        job=job,
        inputs=[orders],
        producer="https://example.com/test",
    )
    complete = RunEvent(
        eventType=RunState.COMPLETE,
        eventTime=f"{when}:05.000Z",
        run=Run(runId=run_id),
        job=job,
        inputs=[orders],
        outputs=[revenue],
        producer="https://example.com/test",
    )
    return [start, complete]


def client_for(url: str, compression: str | None = None) -> OpenLineageClient:
    config = HttpConfig(
        url=url,
        auth=ApiKeyTokenProvider({"apiKey": "test-key"}),
        compression=HttpCompression(compression) if compression else None,
    )
    return OpenLineageClient(transport=HttpTransport(config))


STATS = "{ stats { nodes { kind count } edges { kind count } } }"


def counts(service, part: str) -> dict[str, int]:
    return {c["kind"]: c["count"] for c in service.graphql(STATS)["stats"][part]}


@pytest.fixture(params=["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def service(request: pytest.FixtureRequest, service_factory: Callable):
    if request.param == "embedded":
        return service_factory().start()
    server = request.getfixturevalue("neo4j_server")
    request.getfixturevalue("neo4j_store")  # a cleared database
    return service_factory(
        NEO4J_URI=server.uri, NEO4J_USER=server.user, NEO4J_PASSWORD=server.password
    ).start()


@pytest.mark.parametrize("compression", [None, "gzip"])
def test_openlineage_client_gets_201s_and_the_graph_shows_it(service, compression) -> None:
    client = client_for(service.url, compression)
    for event in pipeline_events(str(uuid.uuid4())):
        client.emit(event)  # HttpTransport raises on anything but 2xx
    status = service.wait_projected()
    assert (status["logSeq"], status["lag"], status["parked"]) == (2, 0, 0)

    assert counts(service, "nodes") == {
        "Column": 4,  # orders.id, orders.amount, daily_revenue.day, daily_revenue.revenue
        "Dataset": 2,
        "DatasetVersion": 1,  # the version the COMPLETE run wrote
        "Job": 1,
        "Run": 1,
    }
    edges = counts(service, "edges")
    assert edges["FEEDS"] == 1 and edges["HAS_COLUMN"] == 4
    assert edges["INPUT_TO"] == 1 and edges["PRODUCES"] == 1 and edges["RUN_OF"] == 1
    found = service.graphql('{ search(text: "amount", kinds: ["Column"]) { display } }')
    assert found["search"] == [{"display": f"{NS}/shop.public.orders#amount"}]


def test_same_event_twice_is_stored_once(service_factory: Callable) -> None:
    service = service_factory().start()
    event = json.loads(json.dumps(_as_dict(pipeline_events(str(uuid.uuid4()))[0])))
    for _ in range(2):
        assert httpx.post(f"{service.url}/api/v1/lineage", json=event).status_code == 201
    assert service.wait_projected()["logSeq"] == 1


def _as_dict(event: RunEvent) -> dict:
    from openlineage.client.serde import Serde

    return json.loads(Serde.to_json(event))


@pytest.fixture(scope="module")
def refusing_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """One service for every refusal below: a refused body leaves nothing behind (each case checks
    the log is still empty), so the cases need no service of their own."""
    env = {"NEO4J_URI": "", "LKG_MAX_BODY_BYTES": "4096"}
    service = ServiceProcess(tmp_path_factory.mktemp("refusals") / "data", env)
    yield service.start()
    service.stop()


@pytest.mark.parametrize(
    ("body", "headers", "status", "needle"),
    [
        (b"{not json", {}, 400, "not valid JSON"),
        (b'{"eventTime": "2026-01-01T00:00:00Z", "run": {"runId": "x"}, "job": {}}', {}, 422,
         "$.run.runId"),
        (b'{"run": {"runId": "3f1f4a4e-3a6e-4a52-9f8e-4d9c8a1b2c3d"}, "job": {"namespace": "n",'
         b' "name": "j"}}', {}, 422, "$.eventTime"),
        (b"x" * 5000, {}, 413, "over the limit"),
        (gzip.compress(b"[" * 5000, mtime=0), {"content-encoding": "gzip"}, 413, "over the limit"),
        (b"abc", {"content-encoding": "br"}, 415, "not supported"),
        (b"abc", {"content-encoding": "gzip"}, 400, "not valid gzip"),
    ],
)  # fmt: skip
def test_bad_input_gets_a_4xx_naming_the_problem(
    refusing_service: ServiceProcess, body: bytes, headers: dict, status: int, needle: str
) -> None:
    service = refusing_service
    response = httpx.post(
        f"{service.url}/api/v1/lineage",
        content=body,
        headers={"content-type": "application/json", **headers},
    )
    assert response.status_code == status, response.text
    assert needle in response.text
    assert service.wait_projected()["logSeq"] == 0


def test_bulk_ndjson_reports_each_line(service_factory: Callable) -> None:
    service = service_factory().start()
    good = [_as_dict(e) for e in pipeline_events(str(uuid.uuid4()))]
    lines = [json.dumps(good[0]), "{broken", json.dumps({"eventTime": "x"}), json.dumps(good[1])]
    response = httpx.post(
        f"{service.url}/api/v1/lineage/bulk",
        content="\n".join([*lines, json.dumps(good[0])]).encode(),
        headers={"content-type": "application/x-ndjson"},
    )
    assert response.status_code == 200
    summary = response.json()
    assert (summary["accepted"], summary["duplicates"]) == (2, 1)
    assert [r["index"] for r in summary["rejected"]] == [1, 2]  # 0-based line indexes
    assert "not valid JSON" in summary["rejected"][0]["errors"][0]["message"]
    assert service.wait_projected()["logSeq"] == 2


def test_raw_event_is_retrievable_as_evidence(service_factory: Callable) -> None:
    service = service_factory().start()
    event = _as_dict(pipeline_events(str(uuid.uuid4()))[0])
    httpx.post(f"{service.url}/api/v1/lineage", json=event).raise_for_status()
    from lineage_kg.ingest.eventlog import event_id_of

    got = httpx.get(f"{service.url}/api/v1/events/{event_id_of('openlineage', event)}")
    assert got.status_code == 200 and got.json()["event"] == event
    assert httpx.get(f"{service.url}/api/v1/events/nope").status_code == 404


def test_kill_9_right_after_201_loses_nothing(service_factory: Callable) -> None:
    service = service_factory().start()
    client = client_for(service.url)
    sent = 0
    for i in range(20):
        for event in pipeline_events(str(uuid.uuid4()), when=f"2026-01-05T06:{i:02d}"):
            client.emit(event)
            sent += 1
    service.kill()  # no shutdown: whatever was acknowledged must already be on disk
    service.start()
    status = service.wait_projected()
    assert (status["logSeq"], status["projectedSeq"], status["parked"]) == (sent, sent, 0)
    assert counts(service, "nodes")["Run"] == 20


@pytest.mark.neo4j
@pytest.mark.timeout(900)  # two JVM starts and two first projections: 137 s at load 8-20 (ci32)
def test_neo4j_down_during_intake_then_everything_lands(
    service_factory: Callable, tmp_path: Path
) -> None:
    with LocalNeo4j(data_dir=tmp_path / "neo4j") as neo4j:
        service = service_factory(
            NEO4J_URI=neo4j.uri, NEO4J_USER=neo4j.user, NEO4J_PASSWORD=neo4j.password
        ).start()
        client = client_for(service.url)
        for event in pipeline_events(str(uuid.uuid4()), when="2026-01-05T06:00"):
            client.emit(event)
        # a fresh Neo4j's first writes (schema, plans) take long on a loaded machine: the
        # deadlines only bound a hang (as in test_api.py)
        assert service.wait_projected(timeout=300)["projectedSeq"] == 2

        neo4j.kill()
        for i in range(1, 6):  # intake keeps saying 201 while the store is gone
            for event in pipeline_events(str(uuid.uuid4()), when=f"2026-01-05T07:{i:02d}"):
                client.emit(event)
        assert httpx.get(f"{service.url}/readyz").status_code == 503

        neo4j.start()
        status = service.wait_projected(timeout=300)  # the restarted JVM is cold again
        assert (status["logSeq"], status["projectedSeq"], status["parked"]) == (12, 12, 0)
        # the service reads again too, and a fresh connection sees the same graph
        assert counts(service, "nodes")["Run"] == 6
        with Neo4jStore(neo4j.uri, user=neo4j.user, password=neo4j.password) as store:
            assert store.stats().nodes["Run"] == 6
            assert store.checkpoint() == 12
