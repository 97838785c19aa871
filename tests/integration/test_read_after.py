"""Read your writes (api/consistency.py): intake says where its events are in the log
(`LKG-Seq`); a read sending that back (`LKG-Min-Seq`) is answered only from a graph that holds
them — it waits, bounded, and says where the graph stands when it gives up."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineage_kg.api.app import create_app
from lineage_kg.settings import Settings
from tests.webhook_receiver import wait_for

NS = "read-after"
QUERY = '{ search(text: "read-after-job", kinds: ["Job"], limit: 50) { display } }'


def event(name: str) -> dict[str, Any]:
    return {
        "eventType": "COMPLETE",
        "eventTime": "2026-11-01T00:00:00Z",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": NS, "name": f"read-after-job-{name}"},
        "inputs": [],
        "outputs": [{"namespace": NS, "name": f"out-{name}"}],
        "producer": "https://github.com/lineage-kg/tests/read-after",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }


@pytest.fixture
def client(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[TestClient]:
    # long enough never to end a wait that should not, however loaded the machine (the most
    # the setting allows): a read held for a position returns as soon as the graph holds it
    wait = getattr(request, "param", 60.0)
    settings = Settings(data_dir=tmp_path, auth="off", snapshot=False, read_wait_seconds=wait)
    with TestClient(create_app(settings)) as c:
        yield c


def jobs(client: TestClient, **headers: str) -> Any:
    return client.post("/graphql", json={"query": QUERY}, headers=headers)


def test_a_read_naming_a_position_waits_for_the_graph_to_hold_it(client: TestClient) -> None:
    projector = client.app.state.projector  # type: ignore[attr-defined]
    first = client.post("/api/v1/lineage", json=event("a"))
    assert first.status_code == 201
    seq = int(first.headers["LKG-Seq"])
    assert seq >= 1
    answer = jobs(client, **{"LKG-Min-Seq": str(seq)})
    assert answer.status_code == 200
    assert {n["display"] for n in answer.json()["data"]["search"]} == {f"{NS}/read-after-job-a"}

    # the projector held back: a read naming the next event's position waits for it
    projector.stop()
    second = client.post("/api/v1/lineage", json=event("b"))
    later = int(second.headers["LKG-Seq"])
    assert later > seq
    answers: list[Any] = []
    reader = threading.Thread(
        target=lambda: answers.append(jobs(client, **{"LKG-Min-Seq": str(later)}))
    )
    reader.start()
    reader.join(0.2)
    assert reader.is_alive() and not answers  # still waiting: the graph lacks it
    projector.start()
    reader.join(90)  # past the read's own wait (the fixture's): it ends by itself
    assert answers and answers[0].status_code == 200
    found = {n["display"] for n in answers[0].json()["data"]["search"]}
    assert found == {f"{NS}/read-after-job-a", f"{NS}/read-after-job-b"}
    # a read not naming a position is not held
    assert jobs(client).status_code == 200


@pytest.mark.parametrize("client", [0.3], indirect=True)
def test_a_position_not_reached_in_time_is_503_naming_where_the_graph_is(
    client: TestClient,
) -> None:
    bulk = client.post(
        "/api/v1/lineage/bulk",
        content=b"\n".join(json.dumps(event(n)).encode() for n in ("c", "d")),
        headers={"content-type": "application/x-ndjson"},
    )
    assert bulk.status_code == 200 and bulk.json()["seq"] == int(bulk.headers["LKG-Seq"]) == 2
    answer = jobs(client, **{"LKG-Min-Seq": "1000"})
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"
    body = answer.json()
    assert body["wanted_seq"] == 1000 and body["projected_seq"] <= 2
    assert "LKG-Min-Seq" in body["error"]
    for bad in ("-1", "x", "1.5", "9" * 30):
        refused = jobs(client, **{"LKG-Min-Seq": bad})
        assert refused.status_code == 400 and "LKG-Min-Seq" in refused.json()["error"]
    # intake is never held by it: it writes, it does not read the graph
    posted = client.post("/api/v1/lineage", json=event("e"), headers={"LKG-Min-Seq": "1000"})
    assert posted.status_code == 201


@pytest.mark.parametrize("client", [0.3], indirect=True)
def test_the_cli_asking_a_service_sends_the_position_it_is_given(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`lkg impact … --url` with LKG_MIN_SEQ: the header goes with every question."""
    from lineage_kg.cli.questions import remote as remote_of
    from lineage_kg.cli.remote import RemoteFailure

    seq = client.post("/api/v1/lineage", json=event("f")).headers["LKG-Seq"]
    # held here before asking, so the answer below never depends on this fixture's short wait
    projector = client.app.state.projector  # type: ignore[attr-defined]
    wait_for(lambda: projector.holds(int(seq))[0], 60, "the event projected")

    def post(url: str, **options: Any) -> Any:  # the CLI's requests, to this app
        options.pop("timeout", None)  # the test client has none
        return client.post(url, **options)

    monkeypatch.setattr("httpx.post", post)
    for wanted, answered in ((seq, True), ("1000", False)):
        monkeypatch.setenv("LKG_MIN_SEQ", wanted)
        remote = remote_of("http://testserver")
        assert remote.min_seq == wanted
        if answered:
            assert remote.ask(QUERY)["search"] == [{"display": f"{NS}/read-after-job-f"}]
        else:
            with pytest.raises(RemoteFailure, match="LKG-Min-Seq"):
                remote.ask(QUERY)
