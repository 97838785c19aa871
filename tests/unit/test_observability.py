"""Request ids, the JSON log line, and metrics kept per app (api/observability.py)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from starlette.concurrency import run_in_threadpool

from lineage_kg.api.app import create_app
from lineage_kg.api.observability import (
    RequestIdFilter,
    configure_logging,
    json_formatter,
    operation_label,
    request_id_from,
    request_id_var,
)
from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.settings import Settings

# ---- request ids --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sent", ["abc", "4bf92f3577b34da6a3ce929d0e0e4736", "req-1.2_3:x@y/z+=", "a" * 128]
)
def test_a_short_safe_request_id_is_kept(sent: str) -> None:
    assert request_id_from(sent) == sent


@pytest.mark.parametrize(
    "sent",
    [None, "", "a" * 129, "two words", 'quote"d', "new\nline", "tab\t", "naïve", "<script>", "a;b"],
)
def test_a_missing_or_unsafe_request_id_is_replaced_by_a_new_one(sent: str | None) -> None:
    made = request_id_from(sent)
    assert made != sent
    assert len(made) == 32 and int(made, 16) >= 0  # a uuid4 in hex
    assert request_id_from(sent) != made  # new each time


# ---- the log line -------------------------------------------------------------------------------


def _json_logger(stream: io.StringIO) -> logging.Logger:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("lkg.test.json")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


def test_a_log_line_is_one_json_object_with_time_level_logger_message_and_request_id() -> None:
    stream = io.StringIO()
    logger = _json_logger(stream)
    token = request_id_var.set("req-7")
    try:
        logger.warning("stored %d events", 3, extra={"status": 201, "duration_ms": 1.5})
    finally:
        request_id_var.reset(token)
    logger.info("between requests")

    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first.keys() == {
        "time",
        "level",
        "logger",
        "message",
        "request_id",
        "status",
        "duration_ms",
    }
    assert (first["level"], first["logger"], first["message"]) == (
        "WARNING",
        "lkg.test.json",
        "stored 3 events",
    )
    assert (first["request_id"], first["status"], first["duration_ms"]) == ("req-7", 201, 1.5)
    assert datetime.fromisoformat(first["time"]).utcoffset() is not None  # an aware timestamp
    assert "request_id" not in second  # outside a request there is none


def test_an_exception_is_logged_inside_the_json_object() -> None:
    stream = io.StringIO()
    logger = _json_logger(stream)
    try:
        int("boom")
    except ValueError:
        logger.exception("failed")
    (line,) = stream.getvalue().splitlines()  # the traceback stays on the one line
    record = json.loads(line)
    assert record["message"] == "failed" and "ValueError: invalid literal" in record["exc_info"]


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("root_logging")
def test_configure_logging_sends_every_logger_through_one_handler() -> None:
    stream = io.StringIO()  # not a terminal: "auto" is JSON
    configure_logging("auto", "info", stream)
    logging.getLogger("uvicorn.error").info("Application startup complete.")
    logging.getLogger("lkg.access").debug("below the level")
    configure_logging("text", "debug", stream)  # replaces the handler: no line twice
    logging.getLogger("lkg").debug("as text")

    first, second = stream.getvalue().splitlines()
    assert json.loads(first)["logger"] == "uvicorn.error"
    assert second.endswith("DEBUG lkg [-] as text")
    assert len(logging.getLogger().handlers) == 1


# ---- in an app ----------------------------------------------------------------------------------


def _app(tmp_path: Path) -> FastAPI:
    return create_app(Settings(data_dir=tmp_path), store=EmbeddedStore())


def scrape(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = client.get("/metrics").text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _event(run_id: str, event_type: str = "COMPLETE") -> dict[str, object]:
    return {
        "eventType": event_type,
        "eventTime": "2026-01-05T06:00:00Z",
        "run": {"runId": run_id},
        "job": {"namespace": "airflow", "name": "job"},
        "producer": "https://example.com/test",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }


RUN = "0195a7a4-1b7c-7c3e-9d1a-5a9f2c3e4b5d"


def test_each_app_has_its_own_registry(tmp_path: Path) -> None:
    with TestClient(_app(tmp_path / "a")) as a, TestClient(_app(tmp_path / "b")) as b:
        assert a.post("/api/v1/lineage", json=_event(RUN)).status_code == 201
        accepted = ("lkg_events_accepted_total", frozenset({("source", "openlineage")}))
        assert scrape(a)[accepted] == 1
        assert accepted not in scrape(b)  # nothing was sent to b


def test_the_request_id_reaches_threadpool_work_and_the_response(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = _app(tmp_path)
    worker = logging.getLogger("lkg.test.worker")

    @app.get("/work")
    async def work() -> dict[str, str]:
        await run_in_threadpool(worker.info, "in a worker thread")
        return {"ok": "yes"}

    caplog.handler.addFilter(RequestIdFilter())
    with TestClient(app) as client, caplog.at_level(logging.INFO):
        sent = client.get("/work", headers={"X-Request-ID": "job-42"})
        made = client.get("/work", headers={"X-Request-ID": "not safe"})

    assert sent.headers["x-request-id"] == "job-42"
    assert made.headers["x-request-id"] not in {"job-42", "not safe"}
    in_thread = [r for r in caplog.records if r.name == "lkg.test.worker"]
    assert [r.request_id for r in in_thread] == ["job-42", made.headers["x-request-id"]]
    (access,) = [r for r in caplog.records if r.name == "lkg.access" and r.request_id == "job-42"]
    assert (access.method, access.path, access.route) == ("GET", "/work", "/work")
    assert access.status == 200
    assert access.duration_ms > 0


def test_request_durations_are_labelled_by_route_template_not_raw_path(tmp_path: Path) -> None:
    with TestClient(_app(tmp_path)) as client:
        for event_id in ("a", "b", "c"):
            assert client.get(f"/api/v1/events/{event_id}").status_code == 404
        assert client.get("/no/such/path").status_code == 404
        samples = scrape(client)

    def count(route: str) -> float:
        labels = frozenset({("method", "GET"), ("route", route), ("status", "404")})
        return samples[("lkg_http_request_duration_seconds_count", labels)]

    assert count("/api/v1/events/{event_id}") == 3
    assert count("unmatched") == 1
    routes = {dict(k[1]).get("route") for k in samples if k[0].startswith("lkg_http_request")}
    assert not any(r and r.startswith("/api/v1/events/") and "{" not in r for r in routes)


def test_graphql_operations_are_timed_by_top_level_field(tmp_path: Path) -> None:
    with TestClient(_app(tmp_path)) as client:
        ok = client.post("/graphql", json={"query": "{ ingestStatus { lag } }"}).json()
        assert "errors" not in ok
        client.post("/graphql", json={"query": "{ noSuchField }"})
        samples = scrape(client)

    def count(operation: str, outcome: str) -> float:
        labels = frozenset({("operation", operation), ("outcome", outcome)})
        return samples.get(("lkg_graphql_operation_duration_seconds_count", labels), 0)

    assert count("ingestStatus", "ok") == 1
    assert count("invalid", "error") == 1
    graphql = frozenset({("method", "POST"), ("route", "/graphql"), ("status", "200")})
    assert samples[("lkg_http_request_duration_seconds_count", graphql)] == 2


KNOWN = frozenset({"impact", "stats", "node"})


@pytest.mark.parametrize(
    ("query", "operation_name", "label"),
    [
        ("{ impact { id } }", None, "impact"),
        ("query Q { stats { nodeCount } __typename }", None, "stats"),
        ("{ a: stats { nodeCount } b: stats { nodeCount } }", None, "stats"),
        ("{ stats { nodeCount } node { id } }", None, "multiple"),
        ("{ __schema { types { name } } }", None, "introspection"),
        ("{ secretField }", None, "invalid"),
        ("{ stats { ", None, "invalid"),
        ("query A { stats { x } } query B { impact { id } }", "B", "impact"),
        ("query A { stats { x } } query B { impact { id } }", None, "invalid"),
    ],
)
def test_operation_label_is_a_known_top_level_field(
    query: str, operation_name: str | None, label: str
) -> None:
    assert operation_label(KNOWN, query, operation_name) == label
