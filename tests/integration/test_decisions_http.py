"""Decision intake end to end against a real `lkg serve` (embedded store, demo graph: model
mlflow/credit-risk@3, champion and deployed to loan-approval): 10,000 decisions over HTTP in
batches, the bad ones reported, the rest stored and found by id; kill -9 right after a 201 and
every acknowledged decision is there after the restart."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from tests.conftest import ServiceProcess

BATCH = 2_500


def decision(i: int) -> dict[str, Any]:
    """A third name version 3, a third the champion alias, a third nothing (deployment)."""
    base: dict[str, Any] = {
        "decision_id": f"loan-{i:06d}",
        "timestamp": f"2026-01-06T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z",
        "decision_point": "loan-approval",
        "model": "credit-risk",
        "features": ["risk/customer_features:spend_30d"],
        "outcome": {"approved": i % 3 != 0, "score": round(i / 10_000, 4)},
        "request_id": f"req-{i}",
    }
    if i % 3 == 0:
        base["version"] = "3"
    elif i % 3 == 1:
        base["alias"] = "champion"
    return base


def post(service: ServiceProcess, body: Any, **headers: str) -> httpx.Response:
    return httpx.post(f"{service.url}/api/v1/decisions", json=body, headers=headers, timeout=60)


def table_status(service: ServiceProcess) -> dict[str, Any]:
    response = httpx.get(f"{service.url}/api/v1/decisions/parked", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


DEMO = 1  # the demo's own logged decision, loan-42 (ingest/demo.py)


def wait_for(service: ServiceProcess, stored: int, parked: int, timeout: float = 240) -> None:
    """Until the decisions table holds these counts; the timeout only bounds a hang."""
    deadline = time.monotonic() + timeout
    status = table_status(service)
    while (status["stored"], status["parked"]) != (stored, parked):
        assert time.monotonic() < deadline, status
        time.sleep(0.2)
        status = table_status(service)


MADE_BY = """query($id: String!) { decision(id: $id) {
    decisionId timestamp version alias outcome eventId
    madeBy { resolution detail modelVersions { display } } } }"""


def test_ten_thousand_decisions_over_http(service_factory: Callable[..., ServiceProcess]) -> None:
    service = service_factory(LKG_DEMO="1").start()
    decisions = [decision(i) for i in range(10_000)]
    decisions[1234]["decision_point"] = "nowhere"
    del decisions[5678]["outcome"]
    answers = []
    for start in range(0, len(decisions), BATCH):
        answers.append(post(service, decisions[start : start + BATCH]))
    assert [a.status_code for a in answers] == [201, 201, 207, 201]
    assert answers[2].json()["rejected"] == [
        {"index": 5678 - 5000, "errors": [{"path": "[678].outcome", "message": "Field required"}]}
    ]
    assert answers[2].json()["accepted"] == BATCH - 1
    # the same batch again is the same event: nothing new
    again = post(service, decisions[:BATCH])
    assert (again.status_code, again.json()["duplicate"]) == (200, True)

    wait_for(service, stored=9_998 + DEMO, parked=1)
    parked = httpx.get(f"{service.url}/api/v1/decisions/loan-001234", timeout=10).json()
    assert parked["status"] == "parked"
    assert parked["reason"] == "decision_point: unknown DecisionPoint nowhere"
    assert httpx.get(f"{service.url}/api/v1/decisions/loan-005678", timeout=10).status_code == 404

    stored = httpx.get(f"{service.url}/api/v1/decisions/loan-000042", timeout=10).json()
    assert stored["status"] == "stored"
    assert stored["eventId"] == answers[0].json()["eventId"]
    assert stored["outcome"] == {"approved": False, "score": 0.0042}
    event = httpx.get(f"{service.url}/api/v1/events/{stored['eventId']}", timeout=10).json()
    assert len(event["event"]["decisions"]) == BATCH

    for decision_id, resolution in (
        ("loan-000042", "observed"),
        ("loan-000043", "resolved"),  # the champion alias
        ("loan-000044", "resolved"),  # the deployment serving then
    ):
        found = service.graphql(MADE_BY, id=decision_id)["decision"]
        assert found["madeBy"]["resolution"] == resolution, found
        assert [n["display"] for n in found["madeBy"]["modelVersions"]] == ["mlflow/credit-risk@3"]
    page = service.graphql(
        """{ decisions(modelVersion: {kind: ModelVersion, registry: "mlflow",
             name: "credit-risk", version: "3"}, first: 2) {
             nodes { decisionId } pageInfo { hasNextPage endCursor } } }"""
    )["decisions"]
    # the demo's loan-42 (2026-01-05, naming version 3) comes first in time
    assert [n["decisionId"] for n in page["nodes"]] == ["loan-42", "loan-000000"]
    assert page["pageInfo"]["hasNextPage"]
    lineage = service.graphql(
        """{ decisionLineage(ref: {kind: Decision, decisionId: "loan-000042"}) {
             decision { time evidence } modelVersions { node { display } resolution } } }"""
    )["decisionLineage"]
    assert lineage["decision"]["evidence"] == [stored["eventId"]]
    assert lineage["modelVersions"] == [
        {"node": {"display": "mlflow/credit-risk@3"}, "resolution": "observed"}
    ]


def test_bad_requests_are_refused_clearly(service_factory: Callable[..., ServiceProcess]) -> None:
    service = service_factory().start()
    too_many = post(service, [decision(i) for i in range(10_001)])
    assert too_many.status_code == 413
    assert "at most 10000" in too_many.json()["error"]
    wrong_type = httpx.post(
        f"{service.url}/api/v1/decisions",
        content=b"a,b\n1,2\n",
        headers={"content-type": "text/csv"},
        timeout=10,
    )
    assert wrong_type.status_code == 415
    assert post(service, {"decisions": "no"}).status_code == 400
    none_valid = post(service, [{"decision_id": "x"}])
    assert none_valid.status_code == 422
    assert none_valid.json()["rejected"][0]["errors"][0]["path"] == "[0].timestamp"
    # NDJSON, gzipped, with one line that is not JSON
    lines = [json.dumps(decision(1)), "{oops", json.dumps(decision(2))]
    ndjson = httpx.post(
        f"{service.url}/api/v1/decisions",
        content=gzip.compress("\n".join(lines).encode()),
        headers={"content-type": "application/x-ndjson", "content-encoding": "gzip"},
        timeout=10,
    )
    assert ndjson.status_code == 207
    assert ndjson.json()["rejected"][0]["errors"][0]["path"] == "[1].$"


def test_acknowledged_decisions_survive_kill_9(
    service_factory: Callable[..., ServiceProcess],
) -> None:
    service = service_factory(LKG_DEMO="1").start()
    assert post(service, [decision(i) for i in range(2_000)]).status_code == 201
    wait_for(service, stored=2_000 + DEMO, parked=0)
    # acknowledged, then the process dies before (or while) projecting it
    assert post(service, [decision(i) for i in range(2_000, 3_000)]).status_code == 201
    service.kill()
    service.start()
    # the rebuild at start projects before the demo graph is back: those wait parked, and the
    # projection's retry stores them once the decision point is known again
    wait_for(service, stored=3_000 + DEMO, parked=0)
    for i in (0, 1_999, 2_000, 2_999):
        found = httpx.get(f"{service.url}/api/v1/decisions/loan-{i:06d}", timeout=10)
        assert found.json()["status"] == "stored"
