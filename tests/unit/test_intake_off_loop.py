"""The intake routes parse (and inflate) their bodies on a worker thread, never on the event loop:
a bulk body's strict parse takes ~45 us an event, so parsed on the loop it held every other
request for tens of ms. Each parse and inflate records whether it ran on a thread with a running
event loop; a route that parses before its hop to the worker fails here."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineage_kg.api.app import create_app
from lineage_kg.api.http import body as body_module
from lineage_kg.ingest import intake, strict_json
from lineage_kg.settings import Settings
from tests.faults.load import run_event
from tests.integration.test_decisions_http import decision


def _on_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data = tmp_path_factory.mktemp("data")
    with TestClient(create_app(Settings(data_dir=data, auth="off", snapshot=False))) as c:
        yield c


@pytest.fixture
def where(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[bool]]:
    """For each watched function, whether each call ran on the event loop's thread."""
    seen: dict[str, list[bool]] = {"parse": [], "inflate": []}

    def watched(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            seen[name].append(_on_loop())
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(strict_json, "loads", watched("parse", strict_json.loads))
    # the NDJSON reader's own parse (it asks strict_json only where its fast road does not hold)
    monkeypatch.setattr(intake, "read_event", watched("parse", intake.read_event))
    monkeypatch.setattr(body_module, "decode_body", watched("inflate", body_module.decode_body))
    return seen


def test_one_event_is_parsed_off_the_loop(client: TestClient, where: dict[str, list[bool]]) -> None:
    response = client.post("/api/v1/lineage", json=run_event(1))
    assert response.status_code == 201, response.text
    assert where["parse"] == [False]


@pytest.mark.parametrize("shape", ["ndjson", "array"])
def test_a_bulk_body_is_parsed_off_the_loop(
    client: TestClient, where: dict[str, list[bool]], shape: str
) -> None:
    events = [run_event(i) for i in range(10, 40)]
    body = (
        "\n".join(json.dumps(e) for e in events) if shape == "ndjson" else json.dumps(events)
    ).encode()
    response = client.post("/api/v1/lineage/bulk", content=body)
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] + response.json()["duplicates"] == len(events)
    assert where["parse"] and not any(where["parse"])


def test_a_bulk_body_over_the_count_is_refused_from_the_worker(
    client: TestClient, where: dict[str, list[bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client.app.state.settings, "max_bulk_events", 2)  # type: ignore[attr-defined]
    body = "\n".join(json.dumps(run_event(i)) for i in range(50, 53)).encode()
    response = client.post("/api/v1/lineage/bulk", content=body)
    assert response.status_code == 413, response.text
    assert "LKG_MAX_BULK_EVENTS" in response.json()["error"]
    assert where["parse"] and not any(where["parse"])


def test_decisions_are_parsed_off_the_loop(
    client: TestClient, where: dict[str, list[bool]]
) -> None:
    response = client.post("/api/v1/decisions", json=[decision(i) for i in range(5)])
    assert response.status_code in (201, 207, 422), response.text  # parsed whatever it decides
    assert where["parse"] and not any(where["parse"])


def test_a_gzip_body_is_inflated_off_the_loop(
    client: TestClient, where: dict[str, list[bool]]
) -> None:
    events = [run_event(i) for i in range(60, 70)]
    body = gzip.compress("\n".join(json.dumps(e) for e in events).encode())
    response = client.post(
        "/api/v1/lineage/bulk", content=body, headers={"Content-Encoding": "gzip"}
    )
    assert response.status_code == 200, response.text
    assert where["inflate"] == [False]
    assert where["parse"] and not any(where["parse"])
