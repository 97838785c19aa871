"""The projector: applies the event log to the store, in batches, in log order, forever.

Intake only appends to the log; this is the one writer of the graph. It keeps its position in
the store itself (written in the same transaction as each batch), so a new or wiped Neo4j is
refilled from the log and a restart resumes where the store says it stopped. While the store is
down it waits and retries; intake keeps accepting meanwhile. An event it cannot map is parked
(kept in the log, reported), never allowed to block the events behind it. Each event's audit-trail
entries (graph/sides/history.py) are derived from the mutations mapped here, in a stage of their
own beside the graph's write, with their own checkpoint in the log (ingest/history_stage.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from typing import Protocol, cast

from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
)

from lineage_kg.graph.confine import allowed_names
from lineage_kg.graph.gc_pause import no_cyclic_gc
from lineage_kg.graph.mutations import MutationBatch
from lineage_kg.graph.record_cache import RecordCache, attach
from lineage_kg.graph.store import CheckpointMoved, GraphStore, Prepared, StoreUnavailable
from lineage_kg.ingest.eventlog import EventLog, LogEntry, LogUnavailable
from lineage_kg.ingest.history_stage import HistoryStage, Mapped

log = logging.getLogger(__name__)

Mapper = Callable[[LogEntry], MutationBatch]


class _Side(Protocol):
    def catch_up(self, log: EventLog, store: GraphStore, upto: int) -> None: ...


class _Lease(Protocol):  # ingest/projector_lease.py
    def held(self) -> bool: ...


class _ReadOnly:
    """The graph as a following process's side tables see it: read, never written — the edges
    they add (decisions' DECIDED) are the writing projector's to write, from its own tables."""

    def __init__(self, store: GraphStore) -> None:
        self._store = store

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)

    def apply(self, *_: object, **__: object) -> None:
        return None


@dataclass(frozen=True, slots=True)
class ProjectorStatus:
    log_seq: int
    projected_seq: int  # the graph's position
    parked: int
    history_seq: int | None = None  # the audit trail's (ingest/history_stage.py)

    @property
    def lag(self) -> int:
        """Events not yet in the graph or not yet in the audit trail."""
        behind = self.projected_seq
        if self.history_seq is not None:
            behind = min(behind, self.history_seq)
        return self.log_seq - behind


@dataclass(frozen=True, slots=True)
class _InFlight:
    entries: list[LogEntry]
    prepared: Prepared
    parked: int
    done: Future[Exception | None]  # the writer's `_commit`

    @property
    def last(self) -> int:
        return self.entries[-1].seq


class Projector:
    def __init__(
        self,
        log_: EventLog,
        store: GraphStore,
        mappers: dict[str, Mapper],
        *,
        batch_size: int = 500,
        poll_seconds: float = 1.0,
        max_backoff: float = 10.0,
        side: Sequence[_Side] = (),
        pipeline: bool = True,
        writes: bool = True,
        lease: _Lease | None = None,
        cache_records: int = 20_000,  # ~0.5-1 KB each: the last few batches' records
    ) -> None:
        """`writes=False`: never write the graph, follow it (another process writes a shared
        Neo4j: LKG_PROJECTOR=off). `lease`: write only while it is held, follow otherwise
        (LKG_PROJECTOR=group). Following keeps this process's side tables and audit trail as
        far as both the graph and this copy of the log reach. `cache_records`: how many records
        the store may keep of what this process wrote (graph/record_cache.py; 0: none)."""
        self.log, self.store, self.mappers = log_, store, mappers
        self.writes, self.lease = writes, lease
        # What it wrote, read back from memory: only where it is the graph's one writer by
        # configuration. With a lease, a standby that took over may write (its side tables,
        # without moving the checkpoint) before this one's next lease check.
        self.records: RecordCache | None = None
        if writes and lease is None and cache_records > 0:
            self.records = attach(store, cache_records)
        self._writing = False  # whether the last step wrote (or would have): see `writing`
        self._reading_store = cast("GraphStore", _ReadOnly(store))
        # tables beside the graph (ingest/sources.py SideProjection), each on its own checkpoint
        self.side = list(side)
        self.batch_size, self.poll_seconds, self.max_backoff = batch_size, poll_seconds, max_backoff
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._position: int | None = None
        # where the side tables stand (None: not asked yet this run). The status reports the
        # lower of it and the graph's position: a batch is "projected" once the tables beside
        # the graph (decisions' DECIDED edges) hold it too, so a reader that waits for no lag
        # never sees the graph without them (ci16: an impact path read before the DECIDED edge)
        self._sides_at: int | None = None
        # plain counts for the metrics (api/observability.py reads them when scraped)
        self.batches_applied = 0
        # where the projector's own thread spends its time (seconds, cumulative): mapping,
        # loading + merging, waiting for the writer thread's commit, the side tables
        self.seconds = {"map": 0.0, "prepare": 0.0, "wait_write": 0.0, "side": 0.0}
        self.events_projected = 0
        self._parked_now: set[int] = set()  # seqs parked in the current step
        # the batch being committed on the writer thread while the next one is prepared
        self.pipeline = pipeline
        self._inflight: _InFlight | None = None
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lkg-projector-write")
        # the audit trail, derived and written beside the graph (ingest/history_stage.py)
        self.history = HistoryStage(log_, mappers)

    # ---- one step -----------------------------------------------------------------------
    @property
    def writing(self) -> bool:
        """Whether this process is the graph's writer now (its notifier sends only then)."""
        return self._writing

    def step(self) -> int:
        """One step of whichever role this process has now: write the next batch, or follow
        the graph another process writes. How many log entries it moved past."""
        if not self.writes or (self.lease is not None and not self.lease.held()):
            return self._follow()
        if not self._writing:
            self._take_over()
        try:
            return self.run_once()
        except CheckpointMoved as exc:
            self._stand_down(exc)
            return 0

    def _take_over(self) -> None:
        """Becoming the writer: start from the graph's checkpoint as it is now, and let the
        side tables write again what the graph may lack (a writer killed between its decisions
        table and the DECIDED edges left them out)."""
        at = self.store.checkpoint()
        log.info("projector: writing the graph from seq %d", at)
        self._forget()  # another writer may have written since this one last did
        if self.records is not None and at == 0 and self.store.is_empty():
            self.records.start_from_empty()  # a key it has not written is absent: not read
        self._writing, self._position, self._inflight = True, None, None
        for side in self.side:
            if (reassert := getattr(side, "reassert", None)) is not None:
                reassert()

    def _stand_down(self, why: CheckpointMoved | None = None) -> None:
        """No longer the writer (the lease went, or another writer moved the checkpoint: then
        the batch in flight wrote nothing). What comes next is read from the graph again."""
        if self._writing:
            log.warning("projector: no longer writing the graph (%s)", why or "lease lost")
        with suppress(CheckpointMoved):  # fenced: it wrote nothing
            self._land()
        self._forget()
        self._writing, self._position, self._inflight = False, None, None

    def _forget(self) -> None:
        """Drop the records cached of this process's writes: another writer may change them."""
        if self.records is not None:
            self.records.clear()

    def _follow(self) -> int:
        if self._writing or self._inflight is not None:
            self._stand_down()
        upto = min(self.store.checkpoint(), self.log.last_seq())
        before = self._sides_at
        if before is None or upto > before:
            self._side_catch_up(upto, self._reading_store)
        self.history.fill(upto)
        return 0 if before is None else max(0, upto - before)

    def run_once(self) -> int:
        """Take the next batch of the log; return how many log entries it covered.

        Two stages overlap: while the writer thread commits batch k, this thread maps batch k+1
        and merges it (reading k's records from k itself, `GraphStore.prepare`). So the Python
        work and Neo4j's write and commit run on both cores at once. Batch k lands (position,
        side tables) before k+1 is handed to the writer; if k fell back to one-by-one or a side
        table wrote meanwhile, k+1 is merged again from the store."""
        if self._position is None:
            self._position = self.store.checkpoint()
            # the side tables as far as the graph, as the last run left them (a crash's gap is
            # filled below, when the log has nothing new)
            self._sides_at = self._position
        after = self._inflight.last if self._inflight is not None else self._position
        entries = self.log.read(after, self.batch_size)
        if not entries:
            self._land()
            self._side_catch_up(self._position)  # a side table left behind by a crash
            self.history.fill(self._position)  # the audit trail left behind by a crash
            return 0
        began = time.perf_counter()
        batch, parked = self._map_all(entries)
        self.seconds["map"] += time.perf_counter() - began
        last = entries[-1].seq
        pending = self._inflight
        try:
            began = time.perf_counter()
            prepared = self.store.prepare(batch, pending.prepared if pending else None)
            self.seconds["prepare"] += time.perf_counter() - began
        except Exception as exc:
            self._land()  # the batch in flight first (its failure, if any, wins)
            if isinstance(exc, StoreUnavailable):
                raise
            self._refused(entries, exc)
            return len(entries)
        # re-prepared from the store if the batch in flight did not land as prepared, or if
        # this one merges names (graph/merge.py) and so needs the store to hold that batch
        if not self._land() or prepared.stale:
            try:
                prepared = self.store.prepare(batch)
            except StoreUnavailable:
                raise
            except Exception as exc:
                self._refused(entries, exc)
                return len(entries)
        if not self.pipeline:
            if (refused := self._commit(prepared, last, self._position)) is not None:
                self._refused(entries, refused)
            else:
                self._landed(entries, parked)
            return len(entries)
        done = self._writer.submit(self._commit, prepared, last, self._position)
        self._inflight = _InFlight(entries, prepared, parked, done)
        return len(entries)

    def _map_all(self, entries: list[LogEntry]) -> tuple[MutationBatch, int]:
        """The batch's mutations (parking what cannot be mapped). The mapped events go to the
        audit trail's stage, which derives and records their entries beside the graph's write
        (ingest/history_stage.py: its own checkpoint, so a crash loses none of them); entries of
        an event the store then refuses are hidden once it is parked."""
        self._parked_now.clear()
        batch = MutationBatch()
        mapped_all: Mapped = []
        # The collector paused, as for the merge (GraphStore.prepare): every mutation mapped
        # lives on in the batch, so each collection it triggered went over the growing batch
        # again, and a full one over the whole heap (the batch in flight, the record cache).
        # Measured at about half the map's CPU (benchmarks/projector_map_s30.py). It runs again
        # at the first allocation after the block, so cycles made meanwhile are still collected.
        with no_cyclic_gc():
            for entry in entries:
                mapped = self._map(entry)
                mapped_all.append((entry.seq, mapped))
                if mapped is not None:
                    batch.extend(mapped.mutations)
                    batch.confined.update(mapped.confined)
        self.history.hand(mapped_all)
        for side in self.side:  # a side table reading the mapped events (the changes' outbox)
            if (hand := getattr(side, "hand", None)) is not None:
                hand(mapped_all)
        return batch, len(self._parked_now)

    def _commit(self, prepared: Prepared, last: int, after: int) -> Exception | None:
        """Write a prepared batch (on the writer thread), fenced: only onto the checkpoint this
        projector left (`after`), so a projector that lost its place to another writes nothing
        twice. A refusal is returned, not raised: the projector's own thread applies that batch
        one by one (it owns the log's connection)."""
        try:
            self.store.commit(prepared, checkpoint=last, after=after)
        except (StoreUnavailable, CheckpointMoved):
            raise
        except Exception as exc:
            return exc
        return None

    def _land(self) -> bool:
        """Wait for the batch in flight and land it. True if nothing was in flight, or it went
        in as prepared and nothing else wrote since: a batch prepared against it is still
        good."""
        flight, self._inflight = self._inflight, None
        if flight is None:
            return True
        began = time.perf_counter()
        try:
            refused = flight.done.result()  # StoreUnavailable: the position stays before it
        finally:
            self.seconds["wait_write"] += time.perf_counter() - began
        if refused is not None:
            self._refused(flight.entries, refused)
            return False
        # a merge deleted nodes: a batch prepared against it may hold their old records
        return self._landed(flight.entries, flight.parked) and not flight.prepared.deleted

    def _refused(self, entries: list[LogEntry], exc: Exception) -> None:
        # a mutation the store refused: apply one by one so only the culprit is parked
        log.error(
            "batch up to seq %d failed (%s: %s); applying its events one by one",
            entries[-1].seq,
            type(exc).__name__,
            exc,
        )
        self._parked_now.clear()
        self._apply_singly(entries)
        self._landed(entries, len(self._parked_now))

    def _landed(self, entries: list[LogEntry], parked: int) -> bool:
        """Move past a written batch and let the side tables catch up; False if they wrote."""
        self._position = entries[-1].seq
        self.batches_applied += 1
        self.events_projected += len(entries) - parked
        writes, began = self.store.write_count, time.perf_counter()
        self._side_catch_up(self._position)
        self.seconds["side"] += time.perf_counter() - began
        return self.store.write_count == writes

    def _side_catch_up(self, upto: int, store: GraphStore | None = None) -> None:
        for side in self.side:
            side.catch_up(self.log, store or self.store, upto)
        self._sides_at = upto

    def _map(self, entry: LogEntry) -> MutationBatch | None:
        mapper = self.mappers.get(entry.source)
        if mapper is None:
            return self._park(entry, f"no mapper for source {entry.source!r}")
        try:
            mapped = mapper(entry)
        except Exception as exc:
            return self._park(entry, f"{type(exc).__name__}: {exc}")
        if entry.namespaces:  # a restricted key's: it writes only inside them (graph/confine.py)
            mapped.confined[entry.event_id] = allowed_names(entry.namespaces)
        return mapped

    def _park(self, entry: LogEntry, error: str) -> None:
        log.warning("parking event seq=%d (%s): %s", entry.seq, entry.source, error)
        self._parked_now.add(entry.seq)
        self.log.park(entry.seq, error)

    def _apply_singly(self, entries: list[LogEntry]) -> None:
        at = self._position
        assert at is not None  # read at the first step
        for entry in entries:
            mapped = self._map(entry)
            try:
                self.store.apply(mapped or MutationBatch(), checkpoint=entry.seq, after=at)
            except (StoreUnavailable, CheckpointMoved):
                raise
            except Exception as exc:
                self._parked_now.add(entry.seq)
                self.log.park(entry.seq, f"{type(exc).__name__}: {exc}")
                self.store.apply(MutationBatch(), checkpoint=entry.seq, after=at)
            at = entry.seq

    # ---- until caught up ----------------------------------------------------------------
    def catch_up(self, timeout: float | None = None, *, audit: bool = True) -> ProjectorStatus:
        """Apply the log up to its current end, waiting out store outages up to `timeout`; and,
        unless `audit` is False, wait for the audit trail to hold the same events."""
        deadline = None if timeout is None else time.monotonic() + timeout
        target = self.log.last_seq()
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutError(f"projector at {self._position}, log at {target}")
            done = self._retrying(remaining)(self.step)
            if not self._writing:  # following another writer: as far as it got, no waiting
                break
            if done == 0 or (self._position or 0) >= target:
                break
        self._retrying(None if deadline is None else max(0.0, deadline - time.monotonic()))(
            self._land
        )  # nothing left in flight when this returns
        if audit:
            self.history_caught_up(None if deadline is None else deadline - time.monotonic())
        return self.status()

    def history_caught_up(self, timeout: float | None = None) -> None:
        """Wait until the audit trail holds every event the graph does."""
        upto = self._position if self._position is not None else self.store.checkpoint()
        upto = min(upto, self.log.last_seq())  # a follower's copy may be behind the graph
        if not self.history.wait(upto, timeout):
            if self.history.error is not None:
                raise LogUnavailable(f"audit trail behind the graph: {self.history.error}")
            raise TimeoutError(f"audit trail at {self.history.position}, graph at {upto}")

    def _retrying(self, within: float | None) -> Retrying:
        return Retrying(
            retry=retry_if_exception_type(StoreUnavailable),
            wait=wait_exponential(multiplier=0.2, max=self.max_backoff),
            stop=stop_after_delay(within)
            if within is not None
            else (lambda _: self._stop.is_set()),
            reraise=True,
            before_sleep=lambda state: log.warning(
                "store unavailable, retrying (attempt %d): %s",
                state.attempt_number,
                state.outcome.exception() if state.outcome else "",
            ),
        )

    def _stopping(self, _: object) -> bool:
        return self._stop.is_set()

    def status(self) -> ProjectorStatus:
        position = self._position if self._position is not None else self.store.checkpoint()
        if (sides := self._sides_at) is not None:
            position = min(position, sides)
        last = self.log.last_seq()
        # a follower's copy of the log may be behind the graph another process writes
        return ProjectorStatus(
            last, min(position, last), len(self.log.parked()), self.history.position
        )

    def holds(self, seq: int) -> tuple[bool, ProjectorStatus]:
        """Whether the graph and the side tables this process reads hold the log up to `seq`
        (and the status that says so). Positions are the same on every copy of a Kafka log, so
        a position one replica gave can be asked of another (api/consistency.py)."""
        status = self.status()
        history = status.history_seq if status.history_seq is not None else seq
        return status.projected_seq >= seq and history >= seq, status

    # ---- in the background --------------------------------------------------------------
    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="lkg-projector", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                done = self._retrying(None)(self.step)
            except StoreUnavailable:
                continue  # stopping while the store is down
            except Exception:
                log.exception("projector step failed; retrying")
                done = 0
                self._stop.wait(self.poll_seconds)
            if done == 0:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()
        try:
            self._land()
        except Exception:  # stopping: what did not land is applied again at the next start
            log.exception("projector: the last batch did not land")

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        # what it was handed is written before the log closes (else derived again at start)
        self.history.idle(timeout)
