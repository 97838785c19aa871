"""Logs and metrics of a real `lkg serve`: the openlineage-python client posts, a bad event is
refused, GraphQL is asked, and /metrics moves by exactly that much; the request id a client sends
comes back in the header and in the service's JSON log lines."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.serde import Serde
from openlineage.client.transport.http import HttpConfig, HttpTransport
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    response = httpx.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, frozenset(labels.items()))
    return after.get(key, 0) - before.get(key, 0)


def run_events() -> list[RunEvent]:
    run, job = Run(runId=str(uuid.uuid4())), Job(namespace="airflow", name="etl.orders_daily")
    source = InputDataset("postgres://db:5432", "shop.public.orders")
    target = OutputDataset("postgres://db:5432", "shop.marts.orders_daily")
    return [
        RunEvent(
            eventType=state,
            eventTime=f"2026-02-01T06:00:0{i}.000Z",
            run=run,
            job=job,
            inputs=[source],
            outputs=[target] if state is RunState.COMPLETE else [],
            producer="https://example.com/test",
        )
        for i, state in enumerate((RunState.START, RunState.COMPLETE))
    ]


@pytest.fixture(params=["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def service(request: pytest.FixtureRequest, service_factory: Callable) -> Any:
    if request.param == "embedded":
        return service_factory(LKG_LOG_FORMAT="json").start()
    server = request.getfixturevalue("neo4j_server")
    request.getfixturevalue("neo4j_store")  # a cleared database
    return service_factory(
        LKG_LOG_FORMAT="json",
        NEO4J_URI=server.uri,
        NEO4J_USER=server.user,
        NEO4J_PASSWORD=server.password,
    ).start()


def test_counters_move_by_exactly_what_was_sent_and_lag_drops_to_zero(service: Any) -> None:
    before = scrape(service.url)
    client = OpenLineageClient(transport=HttpTransport(HttpConfig(url=service.url)))
    events = run_events()
    for event in events:
        client.emit(event)  # raises on anything but 2xx
    bad = {"eventType": "COMPLETE", "run": {"runId": "not-a-uuid"}, "producer": "x"}
    assert httpx.post(f"{service.url}/api/v1/lineage", json=bad).status_code == 422
    # a bulk of one new, one already-stored and one invalid event
    lines = [Serde.to_json(run_events()[0]), Serde.to_json(events[0]), json.dumps(bad)]
    summary = httpx.post(
        f"{service.url}/api/v1/lineage/bulk",
        content="\n".join(lines),
        headers={"content-type": "application/x-ndjson"},
    ).json()
    assert (summary["accepted"], summary["duplicates"], len(summary["rejected"])) == (1, 1, 1)
    status = service.wait_projected(timeout=90)  # returns as soon as the lag is 0
    assert status["lag"] == 0, "".join(service.output)[-4000:]
    stats = service.graphql("{ stats { nodeCount } }")
    assert stats["stats"]["nodeCount"] > 0
    after = scrape(service.url)

    assert moved(before, after, "lkg_events_accepted_total", source="openlineage") == 3
    assert moved(before, after, "lkg_events_duplicate_total", source="openlineage") == 1
    assert (
        moved(before, after, "lkg_events_rejected_total", source="openlineage", reason="422") == 2
    )
    assert moved(before, after, "lkg_projected_events_total") == 3
    assert after[("lkg_projector_lag_events", frozenset())] == 0
    assert after[("lkg_projector_parked_events", frozenset())] == 0
    assert after[("lkg_event_log_seq", frozenset())] == 3
    single = {"method": "POST", "route": "/api/v1/lineage"}
    http = "lkg_http_request_duration_seconds_count"
    assert moved(before, after, http, **single, status="201") == 2
    assert moved(before, after, http, **single, status="422") == 1
    assert (
        moved(before, after, http, method="POST", route="/api/v1/lineage/bulk", status="200") == 1
    )
    gql = "lkg_graphql_operation_duration_seconds_count"
    assert moved(before, after, gql, operation="stats", outcome="ok") == 1
    assert moved(before, after, http, method="POST", route="/graphql", status="200") >= 2
    assert moved(before, after, gql, operation="ingestStatus", outcome="ok") >= 1


def log_lines(service: Any) -> list[dict[str, Any]]:
    """Every line the service wrote, each of which must be one JSON object."""
    text = "".join(service.output)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_the_request_id_is_echoed_and_on_every_log_line_of_the_request(service: Any) -> None:
    # the OpenLineage client can send one (custom_headers); httpx shows what comes back
    config = HttpConfig(url=service.url, custom_headers={"X-Request-ID": "ol-client-7"})
    OpenLineageClient(transport=HttpTransport(config)).emit(run_events()[0])
    sent = httpx.post(
        f"{service.url}/api/v1/lineage",
        content=Serde.to_json(run_events()[1]),
        headers={"content-type": "application/json", "X-Request-ID": "trace-0042"},
    )
    assert (sent.status_code, sent.headers["x-request-id"]) == (201, "trace-0042")
    unsafe = httpx.get(f"{service.url}/healthz", headers={"X-Request-ID": "two words"})
    made = unsafe.headers["x-request-id"]
    assert made != "two words" and len(made) == 32
    plain = httpx.get(f"{service.url}/readyz").headers["x-request-id"]
    assert plain not in {made, "trace-0042"}
    service.stop()

    lines = log_lines(service)  # json.loads fails on any line that is not JSON
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    assert not any("color_message" in line for line in lines)  # uvicorn's ANSI copy is left out
    loggers = {line["logger"] for line in lines}
    assert {"lkg", "uvicorn.error", "lkg.access"} <= loggers  # uvicorn's own lines too
    (access,) = [line for line in lines if line.get("request_id") == "trace-0042"]
    assert access["logger"] == "lkg.access"
    assert (access["method"], access["path"], access["status"]) == ("POST", "/api/v1/lineage", 201)
    assert access["duration_ms"] > 0
    assert [line["path"] for line in lines if line.get("request_id") == made] == ["/healthz"]
    (emitted,) = [line for line in lines if line.get("request_id") == "ol-client-7"]
    assert (emitted["path"], emitted["status"]) == ("/api/v1/lineage", 201)
    startup = [line for line in lines if line["logger"] == "uvicorn.error"]
    assert any("startup complete" in line["message"] for line in startup)
    assert all("request_id" not in line for line in startup)  # not inside a request
