"""Which process writes a shared graph: a lease held through a Kafka consumer group (issue 21;
docs/decisions/0004-kafka-as-the-log.md §4).

Projector candidates for one Neo4j graph (`LKG_PROJECTOR=group`) join one consumer group on a
lease topic of one partition to which nothing is ever written. The member the group assigns that
partition holds the lease and projects; the others follow (ingest/projector.py). When the holder
dies, the group's coordinator misses its heartbeats for `session_seconds` and hands the partition
to a standby: the takeover needs no code of ours beyond asking, and no clock of ours.

The lease is advisory. A holder told late that it lost the partition (a long pause, a network
split) may still try a write; the graph's fence refuses it whole (`GraphStore.commit(after=…)`:
each batch names the checkpoint it continues from). So the lease decides who does the work, and
the fence decides what lands.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Protocol

from lineage_kg.ingest.eventlog import LogUnavailable
from lineage_kg.ingest.kafka_log import KafkaLogConfig, ensure_topic

log = logging.getLogger(__name__)

LEASE_SUFFIX = ".projector"  # the lease topic: the log's topic with this after it


class Lease(Protocol):
    def held(self) -> bool: ...


class KafkaLease:
    """Held while this process's consumer is assigned the lease topic's partition."""

    def __init__(
        self,
        config: KafkaLogConfig,
        group: str,
        *,
        session_seconds: float = 6.0,
        poll_seconds: float = 0.5,
    ) -> None:
        self.config, self.group = config, group
        self.topic = config.topic + LEASE_SUFFIX
        self.session_seconds, self.poll_seconds = session_seconds, poll_seconds
        self._held = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lkg-projector-lease", daemon=True)
        self.changes = 0  # times the lease was gained or lost (the metrics, the tests)

    def held(self) -> bool:
        return self._held.is_set()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Leave the group at once (a clean stop hands the lease over without a timeout)."""
        self._stop.set()
        self._thread.join(30)
        self._held.clear()

    def _set(self, held: bool) -> None:
        if held != self._held.is_set():
            self.changes += 1
            log.info("projector lease %s (group %s)", "taken" if held else "lost", self.group)
        if held:
            self._held.set()
        else:
            self._held.clear()

    def _run(self) -> None:
        from confluent_kafka import Consumer

        while not self._stop.is_set():
            try:
                ensure_topic(KafkaLogConfig(self.config.bootstrap, self.topic), 5.0)
                break
            except LogUnavailable as exc:
                log.warning("projector lease: %s; trying again", exc)
                self._stop.wait(2.0)
        session_ms = int(self.session_seconds * 1000)
        consumer = Consumer(
            {
                "bootstrap.servers": self.config.bootstrap,
                "group.id": self.group,
                "enable.auto.commit": False,
                "session.timeout.ms": session_ms,
                "heartbeat.interval.ms": max(100, session_ms // 6),
                # ours: a member gives up the partition itself if the group cannot be reached
                # for a session, instead of holding a lease the others have moved on from
                "max.poll.interval.ms": max(session_ms * 2, 10_000),
            }
        )

        def assigned(_: Any, partitions: list[Any]) -> None:
            self._set(bool(partitions))

        def revoked(_: Any, __: list[Any]) -> None:
            self._set(False)

        consumer.subscribe([self.topic], on_assign=assigned, on_revoke=revoked, on_lost=revoked)
        try:
            while not self._stop.is_set():
                message = consumer.poll(self.poll_seconds)  # callbacks run in here
                if message is not None and message.error() is not None:
                    log.warning("projector lease: %s", message.error())
        finally:
            self._set(False)
            consumer.close()
