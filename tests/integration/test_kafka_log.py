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


def test_a_copy_stops_rather_than_skip_records_gone_from_the_topic(
    tmp_path: Path, kafka: LocalKafka
) -> None:
    """Records deleted from the topic before a copy read them (an admin's delete, a retention
    someone set): the follower refuses to go past the gap — the local log keeps what it had,
    the fault names the offsets — instead of starting again wherever the topic now begins."""
    from confluent_kafka import Producer, TopicPartition

    from lineage_kg.ingest.eventlog import EventLog, NewEvent
    from lineage_kg.ingest.intake import to_new_event
    from lineage_kg.ingest.kafka_log import TopicFollower, ensure_topic, to_record

    config = KafkaLogConfig.parse(topic_url(kafka))
    ensure_topic(config, 30)
    producer = Producer(kafka.client_config(**{"enable.idempotence": True, "acks": "all"}))

    def produce(first: int, count: int) -> None:
        for i in range(first, first + count):
            event = NewEvent("openlineage", "RunEvent", "2026-11-01T00:00:00Z", {"n": i})
            key, value = to_record(event)
            producer.produce(config.topic, key=key, value=value, headers=[("lkg-record", b"1")])
        assert producer.flush(30) == 0

    def follow(log: EventLog, group: str) -> TopicFollower:
        follower = TopicFollower(log, config, group, to_new_event)
        follower.start()
        return follower

    def delete_before(offset: int) -> None:
        wanted = [TopicPartition(config.topic, 0, offset)]
        admin = kafka.admin()  # kept while its futures are waited on: they need it alive
        for future in admin.delete_records(wanted, operation_timeout=30).values():
            future.result(30)

    produce(0, 3)
    read_then_cut = EventLog(tmp_path / "a.sqlite3")
    follower = follow(read_then_cut, "copy-a")
    wait_for(lambda: read_then_cut.last_seq() == 3, 60, "the first three copied")
    follower.stop()
    produce(3, 4)  # offsets 3..6; 3 and 4 then deleted before this copy reads them
    delete_before(5)
    never_read = EventLog(tmp_path / "b.sqlite3")  # a new copy: the topic now starts at 5
    for log, group, gone in ((read_then_cut, "copy-a", "3..4"), (never_read, "copy-b", "0..4")):
        follower = follow(log, group)
        wait_for(lambda f=follower: f.fault is not None, 60, f"{group} refuses the gap")
        follower.stop()
        assert f"offsets {gone}" in (follower.fault or "")
        assert log.fault == follower.fault  # /readyz answers 503 with it
        assert log.last_seq() == (3 if log is read_then_cut else 0)  # nothing skipped to
        log.close()
