"""Intake bodies that gave 500s or lost events silently (issue 17, "Medium"): each is now a 4xx
naming the problem (a JSON path, a key, a limit), or is stored whole and counted truthfully."""

from __future__ import annotations

import copy
import gzip
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage_kg.graph.naming import normalise_job_namespace
from lineage_kg.graph.timefmt import canonical_time, from_epoch_millis
from lineage_kg.ingest.eventlog import EventLog
from lineage_kg.ingest.files import read_events
from lineage_kg.ingest.intake import accept_many
from tests.fuzz.conftest import app_client
from tests.fuzz.test_intake_fuzz import VALID

JSON = {"content-type": "application/json"}
BIG = "1" + "0" * 5000  # 5,001 digits: past Python's int-string limit (4,300)
HANG = 120  # seconds: a bound on a hang, not a speed requirement


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with app_client(tmp_path) as client:
        yield client


def event(**changes: Any) -> dict[str, Any]:
    found = copy.deepcopy(VALID)
    found["run"] = {"runId": str(uuid.uuid4())}
    found.update(changes)
    return found


def log_of(client: TestClient) -> EventLog:
    return client.app.state.event_log  # type: ignore[attr-defined]


def with_raw(value: str) -> bytes:
    """A valid event whose schema field carries `x: <value>` written as raw JSON text."""
    text = json.dumps(event())
    return text.replace('"type": "int"}', f'"type": "int", "x": {value}}}').encode()


FIELD_X = "$.inputs[0].facets.schema.fields[0].x"


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (BIG, "5,001 digits"),
        ("-" + BIG, "5,001 digits"),
        ("NaN", "NaN"),
        ("Infinity", "Infinity"),
        ("-Infinity", "-Infinity"),
        ("1e400", "out of range"),
    ],
)
def test_unstorable_numbers_are_a_422_naming_the_path(
    client: TestClient, raw: str, says: str
) -> None:
    response = client.post("/api/v1/lineage", content=with_raw(raw), headers=JSON)
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert error["path"] == FIELD_X
    assert says in error["message"]
    assert log_of(client).count() == 0


@pytest.mark.parametrize("as_array", [True, False])
def test_one_huge_number_in_bulk_rejects_that_event_alone(
    client: TestClient, as_array: bool
) -> None:
    good = json.dumps(event()).encode()
    items = [good, with_raw(BIG), json.dumps(event()).encode()]
    body = b"[" + b",".join(items) + b"]" if as_array else b"\n".join(items)
    response = client.post("/api/v1/lineage/bulk", content=body, headers=JSON)
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["accepted"] == 2
    ((rejected),) = summary["rejected"]
    assert rejected["index"] == 1  # 0-based for arrays and NDJSON lines alike
    assert rejected["errors"][0]["path"] == FIELD_X
    assert log_of(client).count() == 2


def test_a_key_given_twice_is_a_422_naming_it(client: TestClient) -> None:
    text = json.dumps(event()).replace('"eventType": "COMPLETE"', '"eventType": "COMPLETE", '
                                       '"eventType": "FAIL"')  # fmt: skip
    response = client.post("/api/v1/lineage", content=text.encode(), headers=JSON)
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert error["path"] == "$.eventType"
    assert "'eventType' appears more than once" in error["message"]


@pytest.mark.parametrize("when", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"])
def test_event_times_past_the_calendar_in_utc_are_a_422(client: TestClient, when: str) -> None:
    response = client.post("/api/v1/lineage", json=event(eventTime=when))
    assert response.status_code == 422, response.text
    assert [e["path"] for e in response.json()["errors"]] == ["$.eventTime"]


def test_years_before_1000_are_fixed_width() -> None:
    assert canonical_time("0999-01-01T00:00:00Z") == "0999-01-01T00:00:00.000000Z"
    assert canonical_time("0001-01-01T00:00:00Z") == "0001-01-01T00:00:00.000000Z"
    assert canonical_time("0999-01-01T00:00:00Z") < canonical_time("2026-01-01T00:00:00Z")
    assert from_epoch_millis(0) == "1970-01-01T00:00:00.000000Z"
    with pytest.raises(ValueError, match="out of range"):
        from_epoch_millis(1e20)


def test_an_early_event_time_is_stored_fixed_width(client: TestClient) -> None:
    response = client.post("/api/v1/lineage", json=event(eventTime="0999-06-01T00:00:00Z"))
    assert response.status_code == 201, response.text
    (entry,) = log_of(client).read(0, 10)
    assert entry.event_time == "0999-06-01T00:00:00.000000Z"


def decision(**changes: Any) -> dict[str, Any]:
    base = {
        "decision_id": "loan-1",
        "timestamp": "2026-01-06T00:00:00Z",
        "decision_point": "loan-approval",
        "model": "credit-risk",
        "outcome": 1,
    }
    return {**base, **changes}


@pytest.mark.parametrize(
    ("body", "path", "says"),
    [
        (json.dumps([decision()]).replace('"outcome": 1', f'"outcome": {BIG}'), "[0].outcome",
         "5,001 digits"),
        (json.dumps([decision()]).replace('"outcome": 1', '"outcome": NaN'), "[0].outcome", "NaN"),
        (json.dumps([decision(timestamp=1e20)]), "[0].timestamp", "out of range"),
        (json.dumps([decision(timestamp=-1e20)]), "[0].timestamp", "out of range"),
    ],
)  # fmt: skip
def test_decisions_that_gave_500s_are_a_422_naming_the_field(
    client: TestClient, body: str, path: str, says: str
) -> None:
    response = client.post("/api/v1/decisions", content=body.encode(), headers=JSON)
    assert response.status_code == 422, response.text
    ((error,),) = [r["errors"] for r in response.json()["rejected"]]
    assert error["path"] == path
    assert says in error["message"]


def gz(*events: dict[str, Any]) -> bytes:
    return gzip.compress(b"\n".join(json.dumps(e).encode() for e in events) + b"\n")


def test_every_member_of_a_gzip_body_is_stored(client: TestClient) -> None:
    body = gz(event(), event()) + gz(event())  # `cat a.gz b.gz`: one legal gzip body
    headers = {**JSON, "content-encoding": "gzip"}
    response = client.post("/api/v1/lineage/bulk", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 3
    assert log_of(client).count() == 3


@pytest.mark.parametrize(
    ("cut", "says"),
    [
        (lambda b: b[:-9], "truncated"),
        (lambda b: b[: len(b) // 2], "truncated"),
        (lambda b: b + b"garbage", "after the end"),
        (lambda b: b + b"\x1f\x8b", "truncated"),  # the start of a member, and no more
    ],
)
def test_a_damaged_gzip_body_is_a_400_and_nothing_is_stored(
    client: TestClient, cut: Any, says: str
) -> None:
    headers = {**JSON, "content-encoding": "gzip"}
    response = client.post("/api/v1/lineage/bulk", content=cut(gz(event())), headers=headers)
    assert response.status_code == 400, response.text
    assert says in response.json()["error"]
    assert log_of(client).count() == 0


def test_a_bulk_request_with_nothing_accepted_is_a_422(client: TestClient) -> None:
    for body in (b"{}\n\n{}\n", b"[{}, {}]"):
        response = client.post("/api/v1/lineage/bulk", content=body, headers=JSON)
        assert response.status_code == 422, response.text
        indexes = [r["index"] for r in response.json()["rejected"]]
        assert indexes in ([0, 2], [0, 1])  # NDJSON: line indexes (a blank line counts)


def test_an_out_of_range_nominal_time_skips_that_facet_alone(client: TestClient) -> None:
    run_id = str(uuid.uuid4())
    facets = {"nominalTime": {"nominalStartTime": "9999-12-31T23:59:59-01:00"}}
    response = client.post("/api/v1/lineage", json=event(run={"runId": run_id, "facets": facets}))
    assert response.status_code == 201, response.text
    status = wait_projected(client)
    assert status["parked"] == 0
    assert status["projectedSeq"] == status["logSeq"] == 1


def wait_projected(client: TestClient) -> dict[str, Any]:
    """Wait (a condition, hang-bounded) until the graph reflects the whole log."""
    query = "{ ingestStatus { logSeq projectedSeq parked } }"
    bound = time.monotonic() + HANG
    while True:
        status = client.post("/graphql", json={"query": query}).json()["data"]["ingestStatus"]
        if status["projectedSeq"] >= status["logSeq"] or time.monotonic() > bound:
            return status
        time.sleep(0.05)


def test_job_namespaces_differing_in_blanks_or_a_trailing_slash_are_one_job(
    client: TestClient,
) -> None:
    for namespace in ("ns-a", "ns-a/", " ns-a", "ns-a\n", "\tns-a/ "):
        job = {"namespace": namespace, "name": "etl"}
        response = client.post("/api/v1/lineage", json=event(job=job))
        assert response.status_code == 201, response.text
    assert wait_projected(client)["parked"] == 0
    store = client.app.state.store  # type: ignore[attr-defined]
    jobs = [n.key.parts for n in store.iter_nodes() if n.key.kind.value == "Job"]
    assert jobs == [("ns-a", "etl")]
    query = "query ($ref: NodeRef!) { node(ref: $ref) { display } }"
    ref = {"kind": "Job", "namespace": "ns-a/ ", "name": "etl"}
    answer = client.post("/graphql", json={"query": query, "variables": {"ref": ref}}).json()
    assert answer["data"]["node"]["display"] == "ns-a/etl", answer


def test_lkg_ingest_files_refuse_what_the_http_intake_refuses(tmp_path: Path) -> None:
    # `lkg ingest` reads files (ingest/files.py) and must accept exactly what the HTTP intake does
    lines = [json.dumps(event()).encode(), with_raw("NaN"), with_raw(BIG)]
    path = tmp_path / "events.ndjson.gz"
    path.write_bytes(gzip.compress(b"\n".join(lines)))
    log = EventLog(tmp_path / "events.sqlite3")
    try:
        summary = accept_many(log, enumerate(event for _, event in read_events(path)))
        assert summary.accepted == 1
        assert [(r.index, r.errors[0].path) for r in summary.rejected] == [
            (1, FIELD_X),
            (2, FIELD_X),
        ]
    finally:
        log.close()


@settings(max_examples=300, derandomize=True)
@given(st.text(alphabet=st.sampled_from(" \t\n/ab"), max_size=8) | st.text(max_size=12))
def test_job_namespace_normalisation_is_idempotent(text: str) -> None:
    once = normalise_job_namespace(text)
    assert normalise_job_namespace(once) == once
    assert once.strip() == once or once == ""
