"""The event log on a real Kafka topic (issue 21, docs/decisions/0004-kafka-as-the-log.md).

Two `lkg serve` replicas on the embedded store share one topic (`LKG_LOG=kafka://…`): events
posted to either by openlineage-python's HTTP client, and events openlineage-python's own
`KafkaTransport` writes straight to the topic, reach both; both build the same graph and the
same local log, in the same order (the same chain head). A replica killed -9 right after its
201s loses nothing; a broker that does not answer gets 503, never a 201.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.transport.http import HttpConfig, HttpTransport
from openlineage.client.transport.kafka import KafkaConfig, KafkaTransport

from lineage_kg.ingest.kafka_log import KafkaLogConfig
from tests.conftest import ServiceProcess, free_port
from tests.webhook_receiver import wait_for
from tools.kafka_server import LocalKafka

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(600)]

PRODUCER = "https://github.com/lineage-kg/tests/kafka"
NS = "kafka-test"
SCHEMA = "https://example.com/blob.json#/$defs/Blob"
BIG = 3 * 1024 * 1024  # bytes of one facet: 3x a broker's default record size


@pytest.fixture(scope="module")
def kafka() -> Iterator[LocalKafka]:
    with LocalKafka() as server:
        yield server


def topic_url(kafka: LocalKafka) -> str:
    return f"kafka://{kafka.bootstrap_servers}/lkg-events-{uuid.uuid4().hex[:8]}"


def replica(tmp_path: Path, name: str, log_url: str, **env: str) -> ServiceProcess:
    return ServiceProcess(tmp_path / name, {"NEO4J_URI": "", "LKG_LOG": log_url, **env})


def chain_events(prefix: str, n: int) -> list[RunEvent]:
    """n COMPLETE runs, job i reading {prefix}{i} and writing {prefix}{i+1}: one chain of n+1
    datasets, so the last dataset's upstream names every event's job."""
    events = []
    for i in range(n):
        job = Job(namespace=NS, name=f"{prefix}job{i}")
        events.append(
            RunEvent(
                eventType=RunState.COMPLETE,
                eventTime=f"2026-11-01T00:{i // 60:02d}:{i % 60:02d}Z",
                run=Run(runId=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{prefix}{i}"))),
                job=job,
                inputs=[InputDataset(NS, f"{prefix}ds{i}")],
                outputs=[OutputDataset(NS, f"{prefix}ds{i + 1}")],
                producer=PRODUCER,
            )
        )
    return events


def post(service: ServiceProcess, events: list[RunEvent]) -> None:
    client = OpenLineageClient(transport=HttpTransport(HttpConfig(url=service.url)))
    for event in events:
        client.emit(event)  # raises on anything but 2xx


def jobs(service: ServiceProcess) -> set[str]:
    found = service.graphql('{ search(text: "job", kinds: ["Job"], limit: 200) { display } }')
    return {n["display"] for n in found["search"]}


def head(service: ServiceProcess) -> tuple[int, str]:
    """(entries, the newest entry's chain hash) of the replica's local copy."""
    with sqlite3.connect(service.data_dir / "events.sqlite3") as db:
        count, digest = db.execute(
            "SELECT count(*), (SELECT entry_hash FROM events ORDER BY seq DESC LIMIT 1) FROM events"
        ).fetchone()
    return count, digest


def test_replicas_on_one_topic_build_the_same_graph_and_log_and_a_killed_one_loses_nothing(
    tmp_path: Path, kafka: LocalKafka
) -> None:
    # one scenario, two replicas started once (each start costs seconds on a loaded machine)
    url = topic_url(kafka)
    a, b = (replica(tmp_path, n, url).start() for n in ("a", "b"))
    try:
        # -- fed over HTTP to either, and straight to the topic by openlineage-python ----------
        post(a, chain_events("a", 30))
        post(b, chain_events("b", 30))
        transport = KafkaTransport(
            KafkaConfig(config=kafka.client_config(), topic=KafkaLogConfig.parse(url).topic)
        )
        for event in chain_events("k", 20):
            transport.emit(event)
        sent = (("a", 30), ("b", 30), ("k", 20))
        expected = {f"{NS}/{p}job{i}" for p, n in sent for i in range(n)}
        for service in (a, b):
            wait_for(lambda s=service: jobs(s) >= expected, 120, f"every job on {service.url}")
            assert service.wait_projected()["lag"] == 0
        assert jobs(a) == jobs(b) == expected
        assert head(a) == head(b)  # one partition: the same entries, in the same order
        assert head(a)[0] == 80
        # a duplicate posted again to the other replica is recognised, not stored twice
        post(b, chain_events("a", 1))
        assert head(b)[0] == 80
        # a bulk counts as the local log counts: an event sent twice in it is new once, then a
        # duplicate; sent again later, a duplicate
        fresh = event_json(chain_events("r", 1)[0])
        for lines, counts in (([fresh, fresh], (1, 1)), ([fresh], (0, 1))):
            answer = httpx.post(
                f"{b.url}/api/v1/lineage/bulk",
                content=b"\n".join(lines),
                headers={"content-type": "application/x-ndjson"},
                timeout=60,
            )
            assert answer.status_code == 200, answer.text
            assert (answer.json()["accepted"], answer.json()["duplicates"]) == counts, answer.text
        expected.add(f"{NS}/rjob0")
        # an event over a broker's default record size (1 MB) is taken as over HTTP alone
        big = json.loads(event_json(chain_events("big", 1)[0]))
        blob = {"_producer": PRODUCER, "_schemaURL": SCHEMA, "x": "y" * BIG}
        big["run"]["facets"] = {"blob": blob}
        answer = httpx.post(f"{a.url}/api/v1/lineage", json=big, timeout=60)
        assert answer.status_code == 201, answer.text
        expected.add(f"{NS}/bigjob0")
        for service in (a, b):
            wait_for(lambda s=service: jobs(s) >= expected, 120, f"the big event on {service.url}")

        # -- a replica killed -9 right after its 201s ------------------------------------------
        post(a, chain_events("x", 40))  # every one answered 201 by a
        a.kill()
        expected |= {f"{NS}/xjob{i}" for i in range(40)}
        wait_for(lambda: jobs(b) >= expected, 120, "the other replica has every acknowledged event")
        a.start()
        wait_for(lambda: jobs(a) >= expected, 120, "the killed replica, restarted, has them too")
        assert jobs(a) == jobs(b) == expected
        assert head(a) == head(b) and head(a)[0] == 122  # each once, in the same order
    finally:
        a.stop()
        b.stop()


def test_no_broker_no_201(tmp_path: Path) -> None:
    """A topic nobody serves: the append waits for the ack, then 503; nothing is answered 201."""
    url = f"kafka://127.0.0.1:{free_port()}/lkg-events"  # nothing listens there
    service = replica(tmp_path, "a", url, LKG_KAFKA_ACK_TIMEOUT="2").start()
    try:
        event = chain_events("z", 1)[0]
        answer = httpx.post(
            f"{service.url}/api/v1/lineage",
            content=event_json(event),
            headers={"content-type": "application/json"},
            timeout=60,
        )
        assert answer.status_code == 503, answer.text
        assert head(service)[0] == 0
    finally:
        service.stop()


def event_json(event: RunEvent) -> bytes:
    from openlineage.client.serde import Serde

    return Serde.to_json(event).encode()
