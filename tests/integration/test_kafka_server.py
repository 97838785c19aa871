"""LocalKafka starts a real Kafka 4 node (KRaft) from Maven Central artifacts; what an idempotent
producer got acknowledged comes back in order per key, through a clean restart and a kill -9.

One broker for the module (a JVM start is the cost); each test uses topics of its own. The oracle
is the producer's own delivery reports: every acknowledged (partition, offset) must hold exactly
the record sent, and a full read of the topic must hold each sent record once.
"""

from __future__ import annotations

import collections
import logging
import signal
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pytest
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import NewTopic

from tools.kafka_server import KAFKA_DIR, LocalKafka

# No skip when java/mvn are missing: a real broker is the point, so that must fail loudly. A test
# may wait on a start or two (each bounded by LKG_KAFKA_START_TIMEOUT), hence the larger limit.
pytestmark = [pytest.mark.kafka, pytest.mark.timeout(900)]

_log = logging.getLogger(__name__)
WAIT = 120.0  # bound on a wait for the broker's answers; a hang fails with what it saw


@dataclass(frozen=True, order=True)
class Record:
    partition: int
    offset: int
    key: str
    value: str


@pytest.fixture(scope="module")
def kafka() -> Iterator[LocalKafka]:
    with LocalKafka() as server:
        yield server


def keyed_values(keys: int, per_key: int, tag: str) -> list[tuple[str, str]]:
    """Interleaved keys, each with a running sequence number in its value: key-3 -> 'tag:0', …"""
    return [(f"key-{k}", f"{tag}:{seq}") for seq in range(per_key) for k in range(keys)]


def create_topic(kafka: LocalKafka, partitions: int) -> str:
    topic = f"t-{uuid.uuid4().hex[:12]}"
    admin = kafka.admin()
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(timeout=WAIT)
    # created is not yet led: wait until every partition has its leader
    deadline = time.monotonic() + WAIT
    while True:
        meta = admin.list_topics(topic, timeout=WAIT).topics[topic]
        led = [p for p in meta.partitions.values() if p.leader >= 0 and p.error is None]
        if meta.error is None and len(led) == partitions:
            return topic
        if time.monotonic() > deadline:
            raise TimeoutError(f"{topic}: {len(led)} of {partitions} partitions led, {meta.error}")
        time.sleep(0.1)


def idempotent_producer(kafka: LocalKafka) -> Producer:
    return Producer(kafka.client_config(**{"enable.idempotence": True, "acks": "all"}, logger=_log))


class Deliveries:
    """The broker's answers to one producer's sends: acknowledged records and failures."""

    def __init__(self) -> None:
        self.acks: list[Record] = []
        self.failures: list[str] = []

    def __call__(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self.failures.append(str(err))
        else:
            record = Record(msg.partition(), msg.offset(), _text(msg.key()), _text(msg.value()))
            self.acks.append(record)


def produce(producer: Producer, topic: str, records: Iterable[tuple[str, str]]) -> list[Record]:
    """Send, flush, and return the broker's acknowledgements; any failed delivery fails."""
    deliveries = Deliveries()
    sent = 0
    for key, value in records:
        producer.produce(topic, key=key, value=value, on_delivery=deliveries)
        producer.poll(0)
        sent += 1
    left = producer.flush(WAIT)
    assert left == 0, f"{left} records still unacknowledged"
    assert deliveries.failures == []
    assert len(deliveries.acks) == sent
    return deliveries.acks


def read_all(kafka: LocalKafka, topic: str) -> list[Record]:
    """Every record of the topic, up to the high watermarks seen at the call (no group)."""
    consumer = Consumer(
        kafka.client_config(
            **{"group.id": f"reader-{uuid.uuid4().hex}", "enable.auto.commit": False},
            logger=_log,
        )
    )
    try:
        partitions = sorted(consumer.list_topics(topic, timeout=WAIT).topics[topic].partitions)
        ends = {p: _high_watermark(consumer, topic, p) for p in partitions}
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        return _poll_until(consumer, dict.fromkeys(partitions, 0), ends)
    finally:
        consumer.close()


def consume_as_group(kafka: LocalKafka, topic: str, group: str) -> list[Record]:
    """What the group has not consumed yet, from its committed offsets; commits where it ends
    (explicit offsets, as the projector will commit them with its graph write)."""
    consumer = Consumer(
        kafka.client_config(
            **{
                "group.id": group,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
            },
            logger=_log,
        )
    )
    try:
        partitions = sorted(consumer.list_topics(topic, timeout=WAIT).topics[topic].partitions)
        ends = {p: _high_watermark(consumer, topic, p) for p in partitions}
        starts = committed_offsets(consumer, topic, partitions)
        consumer.subscribe([topic])
        records = _poll_until(consumer, starts, ends)
        consumer.commit(
            offsets=[TopicPartition(topic, p, ends[p]) for p in partitions], asynchronous=False
        )
        return records
    finally:
        consumer.close()


def committed_offsets(consumer: Consumer, topic: str, partitions: list[int]) -> dict[int, int]:
    """The group's committed offsets; a partition it never committed starts at 0 (earliest)."""
    asked = [TopicPartition(topic, p) for p in partitions]
    return {tp.partition: max(tp.offset, 0) for tp in consumer.committed(asked, timeout=WAIT)}


def _poll_until(
    consumer: Consumer, positions: dict[int, int], ends: dict[int, int]
) -> list[Record]:
    records: list[Record] = []
    deadline = time.monotonic() + WAIT
    while any(positions[p] < ends[p] for p in ends):
        if time.monotonic() > deadline:
            raise TimeoutError(f"read up to {positions}, the topic ends at {ends}")
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error() is not None:
            raise KafkaException(msg.error())
        records.append(Record(msg.partition(), msg.offset(), _text(msg.key()), _text(msg.value())))
        positions[msg.partition()] = msg.offset() + 1
    return records


def _high_watermark(consumer: Consumer, topic: str, partition: int) -> int:
    _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=WAIT)
    return int(high)


def _text(raw: bytes | str | None) -> str:
    assert raw is not None
    return raw.decode() if isinstance(raw, bytes) else raw


def assert_exactly_the_acknowledged(read: list[Record], acks: list[Record]) -> None:
    """Each acknowledged record is where its ack said, and the topic holds nothing else."""
    assert sorted(read) == sorted(acks)


def assert_in_order_per_key(read: list[Record]) -> None:
    """A key lives in one partition, and its values come back in the order they were sent."""
    by_key: dict[str, list[Record]] = collections.defaultdict(list)
    for record in sorted(read):  # partition, then offset: the log's own order
        by_key[record.key].append(record)
    for key, records in by_key.items():
        assert len({r.partition for r in records}) == 1, key
        sequence = [(r.value.split(":")[0], int(r.value.split(":")[1])) for r in records]
        assert sequence == sorted(sequence), key


def test_broker_is_the_built_kafka_on_loopback(kafka: LocalKafka) -> None:
    pom_version = (
        ET.parse(KAFKA_DIR / "pom.xml")
        .getroot()
        .findtext(
            "m:properties/m:kafka.version", namespaces={"m": "http://maven.apache.org/POM/4.0.0"}
        )
    )
    assert kafka.version == pom_version
    meta = kafka.admin().list_topics(timeout=WAIT)
    assert meta.cluster_id == kafka.cluster_id
    assert [(b.host, b.port) for b in meta.brokers.values()] == [("127.0.0.1", kafka.port)]
    assert kafka.bootstrap_servers == f"127.0.0.1:{kafka.port}"


def test_keyed_records_come_back_exactly_once_in_order_per_key(kafka: LocalKafka) -> None:
    topic = create_topic(kafka, partitions=3)
    sent = keyed_values(keys=12, per_key=25, tag="a")
    acks = produce(idempotent_producer(kafka), topic, sent)

    read = read_all(kafka, topic)

    assert_exactly_the_acknowledged(read, acks)
    assert collections.Counter((r.key, r.value) for r in read) == collections.Counter(sent)
    assert_in_order_per_key(read)
    assert len({r.partition for r in read}) > 1  # the keys were spread: order is per key


def test_restart_keeps_records_and_the_groups_offsets(kafka: LocalKafka) -> None:
    topic = create_topic(kafka, partitions=2)
    producer = idempotent_producer(kafka)
    before = produce(producer, topic, keyed_values(keys=5, per_key=20, tag="a"))
    group = f"projector-{uuid.uuid4().hex[:8]}"
    assert sorted(consume_as_group(kafka, topic, group)) == sorted(before)
    cluster_id = kafka.cluster_id

    kafka.restart()

    # a clean stop: the JVM ran Kafka's shutdown hook and exited 128 + SIGTERM
    assert kafka.exit_code == 128 + signal.SIGTERM
    assert kafka.cluster_id == cluster_id
    assert_exactly_the_acknowledged(read_all(kafka, topic), before)
    # the group resumes where it committed: only what came after the restart
    after = produce(producer, topic, keyed_values(keys=5, per_key=8, tag="b"))
    assert sorted(consume_as_group(kafka, topic, group)) == sorted(after)
    assert_in_order_per_key(read_all(kafka, topic))


def test_kill_9_keeps_every_acknowledged_record(kafka: LocalKafka) -> None:
    topic = create_topic(kafka, partitions=3)
    producer = idempotent_producer(kafka)
    acked_first = produce(producer, topic, keyed_values(keys=10, per_key=20, tag="a"))

    # More records, and the broker killed while they go out: some acknowledged before the kill,
    # some in flight, the rest sent while it is down. Whichever way that race goes, the producer
    # retries what was not acknowledged once the broker is back.
    deliveries = Deliveries()
    sending = keyed_values(keys=10, per_key=150, tag="b")
    for n, (key, value) in enumerate(sending):
        producer.produce(topic, key=key, value=value, on_delivery=deliveries)
        producer.poll(0)
        if n == len(sending) // 3:
            producer.flush(WAIT)  # a third acknowledged for sure, then the kill in mid-stream
        if n == len(sending) // 2:
            kafka.kill()
    assert kafka.exit_code == -signal.SIGKILL
    kafka.start()
    assert producer.flush(WAIT) == 0
    assert deliveries.failures == []
    assert len(deliveries.acks) == len(sending)

    # each record once (no retry written twice), each where its ack said, in order per key
    read = read_all(kafka, topic)
    assert_exactly_the_acknowledged(read, acked_first + deliveries.acks)
    assert_in_order_per_key(read)


def test_a_start_that_cannot_succeed_fails_with_the_brokers_reason() -> None:
    server = LocalKafka(settings={"num.io.threads": "not-a-number"})
    with pytest.raises(RuntimeError, match="Kafka did not start") as failed:
        server.start()
    assert "num.io.threads" in str(failed.value)  # the broker's own words, from its log tail
    assert not server.running
    data_dir = server.data_dir
    server.stop()
    assert data_dir is not None
    assert not data_dir.exists()
