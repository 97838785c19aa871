"""Limits on what one request may ask, end to end on a real `lkg serve`: events per bulk request
(413 naming LKG_MAX_BULK_EVENTS) and the traversal size cap (an answer flagged truncated)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import httpx

from tests.conftest import ServiceProcess

NS = "postgres://warehouse:5432"


def fan_out(outputs: int) -> dict:
    """One run reading raw.orders and writing `outputs` tables."""
    return {
        "eventType": "COMPLETE",
        "eventTime": "2026-01-05T06:00:05.000Z",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "airflow", "name": "fan.out"},
        "inputs": [{"namespace": NS, "name": "raw.orders"}],
        "outputs": [{"namespace": NS, "name": f"shop.t{i}"} for i in range(outputs)],
        "producer": "https://example.com/test",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/RunEvent",
    }


def ndjson(count: int) -> bytes:
    return b"\n".join(json.dumps(fan_out(1)).encode() for _ in range(count))


def test_more_events_than_allowed_in_one_bulk_request_is_413(
    service_factory: Callable[..., ServiceProcess],
) -> None:
    service = service_factory(LKG_MAX_BULK_EVENTS="3").start()
    url = f"{service.url}/api/v1/lineage/bulk"
    refused = httpx.post(url, content=ndjson(4))
    assert refused.status_code == 413
    assert "4 events" in refused.json()["error"]
    assert "LKG_MAX_BULK_EVENTS" in refused.json()["error"]
    as_array = httpx.post(url, json=[fan_out(1)] * 4)
    assert as_array.status_code == 413
    assert httpx.post(url, content=ndjson(3)).json()["accepted"] == 3
    assert service.wait_projected()["logSeq"] == 3  # nothing of the refused requests


IMPACT = """query($ref: NodeRef!) {
  impact(ref: $ref) { summary { total truncated } }
}"""
ORDERS = {"kind": "Dataset", "namespace": NS, "name": "raw.orders"}


def test_a_traversal_past_the_node_cap_is_flagged_truncated(
    service_factory: Callable[..., ServiceProcess],
) -> None:
    capped = service_factory(LKG_MAX_TRAVERSAL_NODES="3").start()
    assert httpx.post(f"{capped.url}/api/v1/lineage", json=fan_out(8)).status_code == 201
    capped.wait_projected()
    summary = capped.graphql(IMPACT, ref=ORDERS)["impact"]["summary"]
    assert summary["truncated"] is True
    assert summary["total"] <= 3
    capped.stop()

    # the same log under the default cap: the whole answer, not flagged
    whole = ServiceProcess(capped.data_dir, {"NEO4J_URI": ""}).start()
    try:
        whole.wait_projected()
        summary = whole.graphql(IMPACT, ref=ORDERS)["impact"]["summary"]
        assert summary["truncated"] is False
        assert summary["total"] >= 8
    finally:
        whole.stop()
