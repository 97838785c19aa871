"""An event dated in the future pinned the graph (session 34, helper 96's red team).

The graph keeps what the latest event says: a job's facets, a dataset's schema, the inputs a
COMPLETE lists. One event dated 9999-01-01 stayed the latest for ever: every true event after it
was older and lost (its job's description, its output's columns, its inputs). Intake now refuses
an eventTime more than MAX_AHEAD_SECONDS ahead of the clock, 422 at `$.eventTime`; in a bulk
request that event alone.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.ingest.openlineage.validate import MAX_AHEAD_SECONDS, ahead_error
from tests.fuzz.conftest import app_client, projected
from tests.fuzz.test_intake_fuzz import VALID

HANG = 120  # seconds: a bound on a hang, not a speed requirement


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with app_client(tmp_path_factory.mktemp("future")) as client:
        yield client


def spelled(moment: datetime, zone: int = 0) -> str:
    """`moment` written in ISO-8601 at a UTC offset of `zone` hours."""
    return moment.astimezone(timezone(timedelta(hours=zone))).isoformat()


def event(
    when: str, description: str = "", inputs: tuple[str, ...] = ("in",), job: str = "job"
) -> dict[str, Any]:
    found = copy.deepcopy(VALID)
    found["run"] = {"runId": str(uuid.uuid4())}
    found["eventTime"] = when
    found["job"] = {"namespace": "fuzz", "name": job}
    found["job"]["facets"] = {"documentation": {"description": description}}
    found["inputs"] = [{"namespace": "fuzz", "name": name} for name in inputs]
    return found


def now() -> datetime:
    return datetime.now(UTC)


@pytest.mark.parametrize("zone", [0, 14, -12])
def test_an_event_from_the_future_is_a_422_naming_event_time(client: TestClient, zone: int) -> None:
    far = client.post("/api/v1/lineage", json=event(spelled(now() + timedelta(days=2), zone)))
    assert far.status_code == 422, far.text
    (error,) = far.json()["errors"]
    assert error["path"] == "$.eventTime"
    assert "ahead of this service's clock" in error["message"]
    near = client.post("/api/v1/lineage", json=event(spelled(now() + timedelta(hours=1), zone)))
    assert near.status_code == 201, near.text


def test_in_bulk_the_future_event_alone_is_rejected(client: TestClient) -> None:
    today = spelled(now())
    items = [event(today), event("9999-01-01T00:00:00Z"), event(today)]
    response = client.post("/api/v1/lineage/bulk", json=items)
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["accepted"] == 2
    assert [(r["index"], r["errors"][0]["path"]) for r in summary["rejected"]] == [
        (1, "$.eventTime")
    ]


def test_a_future_event_no_longer_hides_the_true_ones(client: TestClient) -> None:
    pin = client.post(
        "/api/v1/lineage", json=event("9999-01-01T00:00:00Z", "FUTURE", inputs=("a",), job="pinned")
    )
    true = client.post(
        "/api/v1/lineage", json=event(spelled(now()), "NOW", inputs=("b",), job="pinned")
    )
    assert (pin.status_code, true.status_code) == (422, 201)
    projected(client, HANG)
    job = '{ node(ref: {kind: Job, namespace: "fuzz", name: "pinned"}) { props } }'
    props = client.post("/graphql", json={"query": job}).json()["data"]["node"]["props"]
    assert props["description"] == "NOW"


def reference_refused(when: datetime, clock: datetime) -> bool:
    """More than a day ahead of the clock, in datetime arithmetic."""
    return when - clock > timedelta(seconds=86_400)


@settings(max_examples=50, derandomize=True, deadline=None)
@given(
    st.one_of(
        st.integers(-(10**9), MAX_AHEAD_SECONDS - 5),
        st.integers(MAX_AHEAD_SECONDS + 5, 10**10),
    ),
    st.integers(0, 999_999),
    st.integers(-12, 14),
)
def test_the_bound_is_a_day_of_datetime_arithmetic(ahead: int, micros: int, zone: int) -> None:
    # 5 s from the edge either way: the bound is worked out again once a second
    assert MAX_AHEAD_SECONDS == 86_400
    clock = now()
    when = clock + timedelta(seconds=ahead, microseconds=micros)
    if not datetime(1, 1, 2, tzinfo=UTC) < when < datetime(9999, 12, 30, tzinfo=UTC):
        return
    refused = ahead_error(canonical_time(spelled(when, zone))) is not None
    assert refused == reference_refused(when, clock)
