"""The composition root: the one place that opens the event log, the store, the side tables and
the projector, from the settings, and brings them up to date.

The app (`api/app.py`), every `lkg` command (`cli/`) and the benchmarks ask a `Runtime` for them;
no other module opens them, so they cannot drift apart (the pool size and query timeout the
settings give reach every store; every projector keeps the side tables). The import-map test
(tests/unit/test_import_map.py) holds that line.

The embedded store starts from its snapshot when one matches the log (service/snapshots.py), so
a start projects only the log's tail; the snapshot is kept current off the request path.

Parts are opened on first use: a command that only appends to the log (`lkg ingest`,
`lkg sync …`) never connects to Neo4j — intake keeps accepting while the store is down — and
`--project` opens the rest when it needs it.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self, cast

from lineage_kg.settings import Settings

if TYPE_CHECKING:
    from lineage_kg.governance_watch import GovernanceWatch
    from lineage_kg.graph.embedded import EmbeddedStore
    from lineage_kg.graph.sides.decisions import DecisionTable
    from lineage_kg.graph.sides.governance_log import GovernanceLog, Observation
    from lineage_kg.graph.sides.outbox import Outbox
    from lineage_kg.graph.store import GraphStore
    from lineage_kg.ingest.eventlog import EventLog
    from lineage_kg.ingest.kafka_log import TopicFollower
    from lineage_kg.ingest.projector import Projector, ProjectorStatus
    from lineage_kg.ingest.projector_lease import KafkaLease
    from lineage_kg.ingest.sources import SideProjection
    from lineage_kg.notifications import Notifier, StoreAudience
    from lineage_kg.snapshots import SnapshotKeeper

log = logging.getLogger(__name__)

# with the log on Kafka, how long an append waits for this process's copy of what it wrote
COPY_TIMEOUT = 10.0
# the durable event log, in the settings' data dir: the one place its file name is written
LOG_FILE = "events.sqlite3"
# the embedded store's start-up snapshot, beside the log (service/snapshots.py)
SNAPSHOT_FILE = "embedded.snapshot"
# the violations' starts and ends (graph/sides/governance_log.py), beside the log
GOVERNANCE_FILE = "governance.sqlite3"


def log_path(settings: Settings) -> Path:
    """Where the settings keep the event log."""
    return settings.data_dir / LOG_FILE


def snapshot_path(settings: Settings) -> Path:
    """Where the settings keep the embedded store's snapshot."""
    return settings.data_dir / SNAPSHOT_FILE


def open_log_at(path: Path) -> EventLog:
    """A log file named explicitly (`lkg verify FILE`, a backup's copy), opened as the service
    opens its own (which adds what an older file lacks, e.g. the hash chain)."""
    from lineage_kg.ingest.eventlog import EventLog

    return EventLog(path)


def record_bytes(settings: Settings) -> int:
    """With the log on Kafka, the largest record: what intake may accept in one event (a
    decision batch included), with room for its line of metadata."""
    return 2 * settings.max_body_bytes


class Runtime:
    """The service's parts, opened from one `Settings`; close it (or use `with`) when done."""

    def __init__(
        self,
        settings: Settings,
        store: GraphStore | None = None,
        *,
        start_without_store: bool = False,
    ) -> None:
        self.settings = settings
        self._given_store = store  # a store handed in (tests) is used as is, never closed
        # the service: a Neo4j that does not answer at start is reached later (the projector
        # retries, /readyz says why); a command fails within LKG_STORE_CONNECT_TIMEOUT instead
        self._start_without_store = start_without_store
        # the snapshot the embedded store started from (its seq), or why one was not used
        self.snapshot_seq: int | None = None
        self.snapshot_refused: str | None = None
        self._keeper: SnapshotKeeper | None = None
        self._froze = False  # gc.freeze() after the embedded graph was built
        # the collector's thresholds as they were: set back at close (tests open many runtimes)
        self._gc_thresholds = gc.get_threshold()
        gc.set_threshold(settings.gc_young_threshold, *self._gc_thresholds[1:])
        self.notifier: Notifier | None = None  # started by `start_notifications`
        self.follower: TopicFollower | None = None  # by `start_follower` (LKG_LOG=kafka://…)
        self.governance_watch: GovernanceWatch | None = None  # by `start_governance_watch`

    @classmethod
    def open(
        cls,
        settings: Settings | None = None,
        *,
        store: GraphStore | None = None,
        start_without_store: bool = False,
    ) -> Runtime:
        """The parts of the service `settings` describe, each opened when first asked for.
        `start_without_store`: open a Neo4j store even if it does not answer yet (the service)."""
        return cls(settings or Settings(), store, start_without_store=start_without_store)

    # ---- the parts, opened on first use ----------------------------------------------------
    @cached_property
    def log(self) -> EventLog:
        """The durable event log: the source of truth every other part follows."""
        from lineage_kg.ingest.eventlog import EventLog

        opened = EventLog(log_path(self.settings))
        if self.settings.log:  # the topic first, this copy after (docs/decisions/0004)
            from lineage_kg.ingest.kafka_log import KafkaLog, KafkaLogConfig

            config = KafkaLogConfig.parse(self.settings.log)
            # every other call is the local copy's: the projector and the side tables read it
            kafka = KafkaLog(
                opened,
                config,
                ack_timeout=self.settings.kafka_ack_timeout,
                record_bytes=record_bytes(self.settings),
            )
            opened = cast("EventLog", kafka)
        if self.settings.demo:  # data like any other: appended once, a duplicate after a restart
            from lineage_kg.ingest.demo import load_demo

            loaded = load_demo(opened)
            log.info("demo: %d events appended (%d already logged)", *loaded.counts)
        return opened

    @cached_property
    def store(self) -> GraphStore:
        """The configured store: Neo4j when a URI is set (with the settings' pool size and
        query timeout), else the embedded one."""
        if self._given_store is not None:
            return self._given_store
        from lineage_kg.graph.factory import open_store

        s = self.settings
        if not s.neo4j_uri and self._snapshots_on():
            return self._embedded_from_snapshot()
        return open_store(
            s.neo4j_uri,
            user=s.neo4j_user,
            password=s.neo4j_password.get_secret_value(),
            database=s.neo4j_database,
            pool_size=s.neo4j_pool_size,
            query_timeout=s.neo4j_query_timeout,
            first_contact_timeout=s.store_connect_timeout,
            defer_first_contact=self._start_without_store,
        )

    @cached_property
    def side(self) -> list[SideProjection]:
        """The tables kept beside the graph (the decisions), following the log."""
        from lineage_kg.ingest.sources import side_projections

        return side_projections(self.settings.data_dir)

    @property
    def decisions(self) -> DecisionTable | None:
        from lineage_kg.ingest.decisions.projection import table_of

        return table_of(self.side)

    @property
    def outbox(self) -> Outbox | None:
        """The notifications outbox (graph/sides/outbox.py), kept by its side projection."""
        from lineage_kg.ingest.notifications.projection import projection_of

        projection = projection_of(self.side)
        return None if projection is None else projection.outbox

    def start_notifications(self, audience: StoreAudience) -> Notifier | None:
        """Deliver the outbox's changes to the configured webhooks, on a thread of its own,
        told who to tell by `audience` (the caller's: queries/audience.py); None when no
        webhook is configured (the changes wait in the outbox). Stopped by `close`."""
        from lineage_kg.ingest.notifications.projection import projection_of
        from lineage_kg.notifications import Notifier, targets_of

        projection = projection_of(self.side)
        if projection is None or not targets_of(self.settings):
            return None
        store, projector = self.store, self.projector
        self.notifier = Notifier(
            projection.outbox,
            lambda subject, starts: audience(store, subject, starts),
            self.settings,
            # told once: by the graph's writer alone (every replica keeps the outbox); where
            # several processes share the graph, how far it settled is kept in the graph
            active=lambda: projector.writing,
            shared=store if self.settings.projector != "on" else None,
        )
        projection.on_change = self.notifier.wake
        self.notifier.start()
        return self.notifier

    @cached_property
    def governance(self) -> GovernanceLog:
        """The governance log: when each policy violation was seen to start and end."""
        from lineage_kg.graph.sides.governance_log import GovernanceLog

        return GovernanceLog(self.settings.data_dir / GOVERNANCE_FILE)

    def start_governance_watch(
        self, observe: Callable[[GraphStore, DecisionTable | None], Observation]
    ) -> GovernanceWatch:
        """Record the policy's violations as they start and end (service/governance_watch.py),
        evaluated by `observe` (the caller's: queries/governance/trail.py) on a thread of its
        own whenever the graph moved. Stopped by `close`."""
        from lineage_kg.governance_watch import GovernanceWatch

        store, decisions = self.store, self.decisions
        self.governance_watch = GovernanceWatch(
            self.governance,
            store.checkpoint,  # written with the graph: the projector's own figure lags it
            lambda: observe(store, decisions),
            max(self.settings.governance_metrics_seconds, 0.1),  # 0: every look, not a spin
        )
        self.governance_watch.start()
        return self.governance_watch

    def start_background(
        self,
        audience: StoreAudience,
        observe: Callable[[GraphStore, DecisionTable | None], Observation] | None = None,
    ) -> Notifier | None:
        """The service's threads: the projector, the governance watch (given `observe`), then
        the notifications' delivery (if a webhook is configured, else None)."""
        self.start_follower()
        if self.lease is not None:
            self.lease.start()
        self.projector.start()
        if observe is not None:
            self.start_governance_watch(observe)
        return self.start_notifications(audience)

    def start_follower(self) -> TopicFollower | None:
        """With the log on a Kafka topic: the thread copying it into the local log (the
        projector woken after each copy); else None."""
        if not self.settings.log:
            return None
        from lineage_kg.ingest.intake import to_new_event
        from lineage_kg.ingest.kafka_log import KafkaLogConfig, TopicFollower, replica_group

        local = getattr(self.log, "local", self.log)
        self.follower = TopicFollower(
            local,
            KafkaLogConfig.parse(self.settings.log),
            replica_group(self.settings.data_dir),
            to_new_event,
            on_copied=self.projector.wake,
            record_bytes=record_bytes(self.settings),
        )
        self.follower.start()
        if hasattr(self.log, "copy_timeout"):  # a 201 waits for this copy (bounded)
            self.log.copy_timeout = COPY_TIMEOUT
        return self.follower

    @cached_property
    def projector(self) -> Projector:
        """The one writer of the graph (and, through its side projections, of the side tables)."""
        from lineage_kg.ingest.projector import Projector
        from lineage_kg.ingest.sources import default_mappers

        return Projector(
            self.log,
            self.store,
            default_mappers(),
            batch_size=self.settings.projector_batch_size,
            side=self.side,
            writes=self.settings.projector != "off",
            lease=self.lease,
            cache_records=self.settings.record_cache,
        )

    @cached_property
    def lease(self) -> KafkaLease | None:
        """With LKG_PROJECTOR=group: the projector lease this process competes for (started by
        `start_background`; until then not held, so a command follows, never writes)."""
        if self.settings.projector != "group" or not self.settings.log:
            return None
        from lineage_kg.ingest.kafka_log import KafkaLogConfig
        from lineage_kg.ingest.projector_lease import KafkaLease

        return KafkaLease(
            KafkaLogConfig.parse(self.settings.log),
            self.settings.projector_group,
            session_seconds=self.settings.projector_session_seconds,
        )

    # ---- the embedded store's snapshot -------------------------------------------------------
    def _snapshots_on(self) -> bool:
        # the demo too: it is appended to the log like any data, so a snapshot holds it as such
        return self.settings.snapshot

    def _embedded_from_snapshot(self) -> GraphStore:
        """The embedded store from a snapshot that matches the log, else empty (to be rebuilt
        from the whole log); a snapshot that does not match is named in a warning."""
        from lineage_kg.graph.factory import embedded_from_state, open_store
        from lineage_kg.graph.gc_pause import no_cyclic_gc
        from lineage_kg.snapshots import load_checked

        # The collector stays off from the read until the loaded graph is frozen: re-enabled
        # with millions of young objects, its next collections walked them all, twice (2 x 1.4 s
        # of a 1M start, profiled). Frozen here and again by `rebuild_embedded`, undone at close.
        with no_cyclic_gc():
            loaded, self.snapshot_refused = load_checked(snapshot_path(self.settings), self.log)
            if loaded is None:
                return open_store(None)
            self.snapshot_seq = loaded.header.seq
            store = embedded_from_state(loaded.state)
            del loaded
            gc.freeze()  # inside: the point is that no collection walks them before
            self._froze = True
        log.info(
            "embedded store loaded from its snapshot at seq %d (log at seq %d)",
            self.snapshot_seq,
            self.log.last_seq(),
        )
        return store

    def snapshot_keeper(self) -> SnapshotKeeper | None:
        """What keeps the embedded store's snapshot (None for Neo4j, a store handed in, or when
        snapshots are off); started by `rebuild_embedded`, closed (with a last write) by `close`."""
        if self._keeper is None and self._snapshots_on() and self._given_store is None:
            if self.store.name != "embedded":
                return None
            from lineage_kg.snapshots import SnapshotKeeper

            self._keeper = SnapshotKeeper(
                cast("EmbeddedStore", self.store),
                self.log,
                snapshot_path(self.settings),
                every=self.settings.snapshot_every,
                after_seconds=self.settings.snapshot_after_seconds,
                check_seconds=self.settings.snapshot_check_seconds,
                last_seq=self.snapshot_seq or 0,
                work=lambda: sum(self.projector.seconds.values()),
            )
        return self._keeper

    # ---- bringing the graph up to date -----------------------------------------------------
    def catch_up(self, progress: Callable[[int, int], None] | None = None) -> ProjectorStatus:
        """Project the log into the store up to its end. With `progress`, step by step:
        `progress(done, total)` after each batch (the positions relative to the start)."""
        if progress is None:
            return self.projector.catch_up()
        projector = self.projector
        begin, target = self.store.checkpoint(), self.log.last_seq()
        progress(0, max(target - begin, 1))
        while projector.step():  # as its role allows: written, or followed
            progress(projector.status().projected_seq - begin, max(target - begin, 1))
        return projector.status()

    def rebuild_embedded(
        self, progress: Callable[[int, int], None] | None = None
    ) -> ProjectorStatus | None:
        """Bring the embedded store, which starts from its snapshot or empty, up to the log's
        end; then keep its snapshot current (written at once if this replay made one due:
        `LKG_SNAPSHOT_EVERY` entries or `LKG_SNAPSHOT_AFTER_SECONDS` of projection). Neo4j is
        left as it stands (the service's projector keeps it current); None then."""
        if self.store.name != "embedded":
            return None
        status = self.catch_up(progress)
        if (keeper := self.snapshot_keeper()) is not None and not keeper.running:
            keeper.start()  # its first check is now: a long replay is written at once
        # The graph just built is long-lived: out of the collector's generations, a full
        # collection no longer walks its million objects. Impact at 100k, p50 12.0 -> 8.4 ms
        # (docs/benchmarks.md). Undone at close, so a process opening many runtimes (the tests)
        # still collects what each left behind.
        gc.freeze()
        self._froze = True
        return status

    # ---- closing -----------------------------------------------------------------------------
    def close(self) -> None:
        """Close what was opened, the log last. The projector's thread is stopped first."""
        try:
            gc.set_threshold(*self._gc_thresholds)
            if self._froze:
                gc.unfreeze()
                self._froze = False
            if self.follower is not None:
                self.follower.stop()
            if "projector" in self.__dict__:
                self.projector.stop()
            if self.__dict__.get("lease") is not None:
                self.lease.stop()  # leaving the group hands the lease over at once
            if self.notifier is not None:
                self.notifier.stop()
            if self.governance_watch is not None:
                self.governance_watch.stop()
            if "governance" in self.__dict__:
                self.governance.close()
            if self._keeper is not None:  # the store is quiet now: a last snapshot if due
                self._keeper.close()
            for projection in self.__dict__.get("side", []):
                projection.close()
            if "store" in self.__dict__ and self._given_store is None:
                self.store.close()
        finally:
            if "log" in self.__dict__:
                self.log.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
