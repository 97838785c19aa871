"""The event log on a Kafka topic (issue 21; docs/decisions/0004-kafka-as-the-log.md).

With `LKG_LOG=kafka://host:port[,host:port…]/topic` the topic is the log of record and each
process keeps a local copy in its own SQLite `EventLog`, which everything downstream (the
projector, the side tables, `lkg verify`) goes on reading unchanged:

- `KafkaLog.append` (what intake, decisions and syncs call) writes each new event to the topic
  with an idempotent producer and `acks=all` — key: the event id, value: the entry as the local
  log stores it — and returns once the broker acknowledged every one (else `LogUnavailable`:
  nothing is answered 2xx that the broker does not hold), then waits, bounded, for the local copy
  so that a read right after a 201 on the same replica sees the event.
- `TopicFollower` copies the topic into the local log in topic order, in its own consumer group
  per data dir, committing offsets only after the local append; a copy interrupted by a kill is
  read again from the last commit and the local log's dedup by event id stores each entry once.
  Records without this module's header are bare OpenLineage run events, as openlineage-python's
  `KafkaTransport` writes them: they are checked as HTTP intake checks them; one that fails is
  skipped and counted (there is no one to answer).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lineage_kg.graph.canonical import canonical_json
from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.ingest.eventlog import Appended, EventLog, LogUnavailable, NewEvent

log = logging.getLogger(__name__)

HEADER = "lkg-record"  # this module's records carry it; anything else is a bare OpenLineage event
FORMAT = b"1"
REPLICA_FILE = "kafka-replica-id"  # in the data dir: this copy's consumer group, kept across starts


@dataclass(frozen=True)
class KafkaLogConfig:
    bootstrap: str
    topic: str

    @classmethod
    def parse(cls, url: str) -> KafkaLogConfig:
        """`kafka://host:port[,host:port…]/topic`; ValueError naming what is wrong."""
        parts = urlsplit(url)
        if parts.scheme != "kafka":
            raise ValueError(f"{url!r}: the scheme must be kafka://")
        topic = parts.path.strip("/")
        if not parts.netloc or not topic or "/" in topic:
            raise ValueError(f"{url!r}: expected kafka://host:port[,host:port]/topic")
        return cls(parts.netloc, topic)


def to_record(event: NewEvent) -> tuple[str, bytes]:
    """(key, value) of one event on the topic: the entry as the local log stores it — a line of
    JSON (source, kind, time, salt, namespaces), then the body's canonical text as it is (not
    escaped into a string: a record is no bigger than the body and a line)."""
    text = event.text if event.text is not None else canonical_json(event.body)
    head = {
        "source": event.source,
        "kind": event.kind,
        "event_time": event.event_time,
        "salt": event.salt,
        "namespaces": list(event.namespaces),
    }
    line = json.dumps(head, separators=(",", ":"))  # no raw newline: JSON escapes it
    return event.event_id, f"{line}\n{text}".encode()


def from_record(value: bytes) -> NewEvent:
    """The event a record of `to_record` holds (its id the same: the same text is hashed)."""
    line, _, body = value.decode().partition("\n")
    d = json.loads(line)
    return NewEvent(
        d["source"],
        d["kind"],
        d["event_time"],
        json.loads(body),
        salt=d.get("salt", ""),
        namespaces=tuple(d.get("namespaces", ())),
        text=body,
    )


BareParser = Callable[[Any], NewEvent]  # HTTP intake's check of one OpenLineage event


def ensure_topic(config: KafkaLogConfig, timeout: float, record_bytes: int = 1 << 20) -> None:
    """Create the topic if the cluster lacks it: one partition (one order, one chain for every
    copy), records kept for ever (the topic is the log of record), records up to `record_bytes`
    (a broker's default is 1 MB; a decision batch or a large event is more). Raises
    LogUnavailable."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": config.bootstrap})
    try:
        if config.topic in admin.list_topics(timeout=timeout).topics:
            return
        settings = {"retention.ms": "-1", "max.message.bytes": str(record_bytes)}
        wanted = NewTopic(config.topic, 1, -1, config=settings)
        (future,) = admin.create_topics([wanted], request_timeout=timeout).values()
        future.result(timeout)
    except KafkaException as exc:
        error = exc.args[0] if exc.args else None
        if getattr(error, "code", lambda: None)() == KafkaError.TOPIC_ALREADY_EXISTS:
            return  # another replica made it meanwhile
        raise LogUnavailable(f"the Kafka log's topic {config.topic!r}: {exc}") from exc
    except Exception as exc:  # a timeout of the future: the cluster did not answer
        raise LogUnavailable(f"the Kafka log's topic {config.topic!r}: {exc!r}") from exc


class KafkaLog:
    """The log intake appends through: the topic first, then (bounded) the local copy. Every
    other call is the local copy's. `copy_timeout`: how long an append waits for the follower
    to copy what it wrote — 0 where no follower runs in the process (a command), which
    `TopicFollower.start` callers raise (the service: reads right after a 201 see it)."""

    def __init__(
        self,
        local: EventLog,
        config: KafkaLogConfig,
        *,
        ack_timeout: float = 30.0,
        copy_timeout: float = 0.0,
        record_bytes: int = 1 << 20,
        producer_settings: dict[str, Any] | None = None,
    ) -> None:
        from confluent_kafka import KafkaException, Producer

        self._refused = (BufferError, KafkaException)  # what `produce` raises at once
        self.local, self.config = local, config
        self.ack_timeout, self.copy_timeout = ack_timeout, copy_timeout
        self.record_bytes = record_bytes
        self._producer = Producer(
            {
                "bootstrap.servers": config.bootstrap,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 2,
                "message.timeout.ms": int(ack_timeout * 1000),
                "message.max.bytes": record_bytes,
                **(producer_settings or {}),
            }
        )
        self._lock = threading.Lock()  # one producer, flushed by one append at a time
        self._topic_ready = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.local, name)

    def append(self, events: Sequence[NewEvent]) -> list[Appended]:
        if not self._topic_ready:
            ensure_topic(self.config, self.ack_timeout, self.record_bytes)
            self._topic_ready = True
        # each body's canonical text once: the id hashes it and the record carries it
        events = [
            e if e.text is not None else replace(e, text=canonical_json(e.body)) for e in events
        ]
        ids = [e.event_id for e in events]
        known = self.local.seqs(ids)
        new: dict[str, NewEvent] = {}  # in the batch's order, each once
        for event_id, event in zip(ids, events, strict=True):
            if event_id not in known:
                new.setdefault(event_id, event)
        failures: list[str] = []

        def delivered(err: Any, _msg: Any) -> None:
            if err is not None:
                failures.append(str(err))

        with self._lock:
            for event_id, event in new.items():
                _, value = to_record(event)
                try:
                    self._producer.produce(
                        self.config.topic,
                        key=event_id.encode(),
                        value=value,
                        headers={HEADER: FORMAT},
                        on_delivery=delivered,
                    )
                except self._refused as exc:  # too big, or the queue is full
                    self._producer.flush(self.ack_timeout)  # what went before: sent or failed
                    raise LogUnavailable(
                        f"the Kafka log did not take an event of {len(value)} bytes: {exc}"
                    ) from exc
            left = self._producer.flush(self.ack_timeout)
        if failures or left:
            why = failures[0] if failures else f"{left} events not acknowledged in time"
            raise LogUnavailable(f"the Kafka log did not take the events: {why}")
        copied = self._wait_for_copy(list(new))
        # as the local log answers: an event it held, or met before in this batch, is a duplicate
        appended, seen = [], set(known)
        for event_id in ids:
            seq = known.get(event_id, copied.get(event_id, 0))
            appended.append(Appended(event_id, seq, event_id in seen))
            seen.add(event_id)
        return appended

    def _wait_for_copy(self, ids: list[str]) -> dict[str, int]:
        """The local seq of each id, waiting at most `copy_timeout` for the follower; an id not
        copied by then maps to nothing (the broker holds it: it is durable all the same)."""
        deadline = time.monotonic() + self.copy_timeout
        while True:
            seqs = self.local.seqs(ids)  # one read per look
            if len(seqs) == len(ids) or time.monotonic() > deadline:
                return seqs
            time.sleep(0.01)

    def close(self) -> None:
        self._producer.flush(self.ack_timeout)
        self.local.close()


def replica_group(data_dir: Path) -> str:
    """This data dir's consumer group: its own, so that it reads every record of the topic."""
    path = data_dir / REPLICA_FILE
    if not path.exists():
        path.write_text(f"lkg-copy-{uuid.uuid4().hex}\n")
    return path.read_text().strip()


@dataclass
class FollowerCounts:
    copied: int = 0
    duplicates: int = 0
    skipped: int = 0  # bare records that are not a valid OpenLineage event
    errors: list[str] = field(default_factory=list)  # the last few skips' reasons


class TopicFollower:
    """Copies the topic into the local log, in topic order, on a thread of its own."""

    def __init__(
        self,
        local: EventLog,
        config: KafkaLogConfig,
        group: str,
        parse_bare: BareParser,
        *,
        on_copied: Callable[[], None] = lambda: None,
        batch: int = 500,
        record_bytes: int = 1 << 20,
    ) -> None:
        self.local, self.config, self.group = local, config, group
        self.parse_bare, self.on_copied, self.batch = parse_bare, on_copied, batch
        self.record_bytes = record_bytes  # for the topic, if this follower makes it
        self.counts = FollowerCounts()
        self.fault: str | None = None  # why the copy stopped (records gone from the topic)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lkg-topic-follower", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def _event(self, message: Any) -> NewEvent | None:
        headers = dict(message.headers() or ())
        # received when the broker took it: the same on every copy, so is their chain
        _, millis = message.timestamp()
        at = canonical_time(datetime.fromtimestamp(millis / 1000, UTC))
        try:
            if headers.get(HEADER) == FORMAT:
                return replace(from_record(message.value()), received_at=at)
            return replace(self.parse_bare(json.loads(message.value())), received_at=at)
        except Exception as exc:  # a record no one can answer for: counted, then passed
            self.counts.skipped += 1
            self.counts.errors = [*self.counts.errors[-9:], f"offset {message.offset()}: {exc}"]
            log.warning("kafka log: record at offset %s skipped: %s", message.offset(), exc)
            return None

    def _gap(self, consumer: Any, found: list[Any], expected: dict[int, int]) -> str | None:
        """Why these records cannot be copied, if records before them that this copy never read
        are gone from the topic (deleted, or aged out by a retention someone set): skipping
        them would leave a copy that silently lacks events. Offsets may skip without loss
        (a transaction's markers), so a jump counts only when the topic no longer holds what
        was skipped: its low watermark is past what this copy read."""
        from confluent_kafka import TopicPartition

        for message in found:
            partition, offset = message.partition(), message.offset()
            if partition not in expected:  # this run's first record: where the copy left off
                (committed,) = consumer.committed([TopicPartition(self.config.topic, partition)])
                expected[partition] = max(committed.offset, 0)
            if offset > expected[partition]:
                low, _ = consumer.get_watermark_offsets(
                    TopicPartition(self.config.topic, partition), timeout=10
                )
                if low > expected[partition]:
                    return (
                        f"topic {self.config.topic!r} partition {partition} no longer holds "
                        f"offsets {expected[partition]}..{low - 1}, which this copy never read "
                        f"(its records start at {low}): the copy stops rather than skip them; "
                        "rebuild it from a full source (docs/scale.md)"
                    )
            expected[partition] = offset + 1
        return None

    def _run(self) -> None:
        from confluent_kafka import Consumer

        consumer = Consumer(
            {
                "bootstrap.servers": self.config.bootstrap,
                "group.id": self.group,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
            }
        )
        while not self._stop.is_set():  # the topic first: a replica may start before the broker
            try:
                ensure_topic(self.config, 5.0, self.record_bytes)
                break
            except LogUnavailable as exc:
                log.warning("kafka log: %s; trying again", exc)
                self._stop.wait(2.0)
        consumer.subscribe([self.config.topic])
        expected: dict[int, int] = {}  # partition -> the offset this copy reads next
        try:
            while not self._stop.is_set():
                # wait for one record, then take what has come with it: `consume` alone waits
                # its whole timeout for a full batch, which a 201 waiting for its copy would feel
                first = consumer.poll(0.5)
                if first is None:
                    continue
                messages = [first, *consumer.consume(self.batch - 1, timeout=0)]
                found = [m for m in messages if m.error() is None]
                for m in messages:
                    if m.error() is not None:
                        log.warning("kafka log: %s", m.error())
                if not found:
                    continue
                if (gap := self._gap(consumer, found, expected)) is not None:
                    self.fault = gap
                    self.local.fault = gap  # the copy stops here; /readyz says why
                    log.error("kafka log: %s", gap)
                    return
                events = [e for m in found if (e := self._event(m)) is not None]
                while not self._stop.is_set():
                    try:
                        appended = self.local.append(events) if events else []
                        break
                    except LogUnavailable as exc:  # the local disk: wait, never skip
                        log.warning("kafka log: the local copy cannot be written: %s", exc)
                        self._stop.wait(1.0)
                else:
                    return
                consumer.commit(asynchronous=False)
                for a in appended:
                    if a.duplicate:
                        self.counts.duplicates += 1
                    else:
                        self.counts.copied += 1
                self.on_copied()
        finally:
            consumer.close()
