"""The projector: applies the event log to the store, in batches, in log order, forever.

Intake only appends to the log; this is the one writer of the graph. It keeps its position in
the store itself (written in the same transaction as each batch), so a new or wiped Neo4j is
refilled from the log and a restart resumes where the store says it stopped. While the store is
down it waits and retries; intake keeps accepting meanwhile. An event it cannot map is parked
(kept in the log, reported), never allowed to block the events behind it. Each event's audit-trail
entries (ingest/history.py) are derived from its mutations here and kept in the log too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
)

from graph.mutations import MutationBatch
from graph.store import GraphStore, StoreUnavailable
from ingest.eventlog import EventLog, LogEntry
from ingest.history import HistoryEntry, history_entries

log = logging.getLogger(__name__)

Mapper = Callable[[LogEntry], MutationBatch]


class _Side(Protocol):
    def catch_up(self, log: EventLog, store: GraphStore, upto: int) -> None: ...


@dataclass(frozen=True, slots=True)
class ProjectorStatus:
    log_seq: int
    projected_seq: int
    parked: int

    @property
    def lag(self) -> int:
        return self.log_seq - self.projected_seq


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
    ) -> None:
        self.log, self.store, self.mappers = log_, store, mappers
        # tables beside the graph (ingest/sources.py SideProjection), each on its own checkpoint
        self.side = list(side)
        self.batch_size, self.poll_seconds, self.max_backoff = batch_size, poll_seconds, max_backoff
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._position: int | None = None
        # plain counts for the metrics (api/observability.py reads them when scraped)
        self.batches_applied = 0
        self.events_projected = 0
        self._parked_now: set[int] = set()  # seqs parked in the current step

    # ---- one step -----------------------------------------------------------------------
    def run_once(self) -> int:
        """Apply the next batch of the log; return how many log entries it covered."""
        if self._position is None:
            self._position = self.store.checkpoint()
        entries = self.log.read(self._position, self.batch_size)
        if not entries:
            self._side_catch_up(self._position)  # a side table left behind by a crash
            return 0
        self._parked_now.clear()
        batch = MutationBatch()
        history: list[HistoryEntry] = []
        for entry in entries:
            mapped = self._map(entry)
            if mapped is not None:
                batch.extend(mapped.mutations)
                history.extend(history_entries(entry.seq, mapped))
        last = entries[-1].seq
        # the audit trail first (idempotent): a crash after the store's commit loses none of it;
        # entries of an event the store then refuses are hidden once it is parked
        self.log.record_history(history)
        try:
            self.store.apply(batch, checkpoint=last)
        except StoreUnavailable:
            raise
        except Exception:
            # a mutation the store refused: apply one by one so only the culprit is parked
            log.exception("batch up to seq %d failed; applying its events one by one", last)
            self._apply_singly(entries)
        self._position = last
        self.batches_applied += 1
        self.events_projected += len(entries) - len(self._parked_now)
        self._side_catch_up(last)
        return len(entries)

    def _side_catch_up(self, upto: int) -> None:
        for side in self.side:
            side.catch_up(self.log, self.store, upto)

    def _map(self, entry: LogEntry) -> MutationBatch | None:
        mapper = self.mappers.get(entry.source)
        if mapper is None:
            return self._park(entry, f"no mapper for source {entry.source!r}")
        try:
            return mapper(entry)
        except Exception as exc:
            return self._park(entry, f"{type(exc).__name__}: {exc}")

    def _park(self, entry: LogEntry, error: str) -> None:
        log.warning("parking event seq=%d (%s): %s", entry.seq, entry.source, error)
        self._parked_now.add(entry.seq)
        self.log.park(entry.seq, error)

    def _apply_singly(self, entries: list[LogEntry]) -> None:
        for entry in entries:
            mapped = self._map(entry)
            try:
                self.store.apply(mapped or MutationBatch(), checkpoint=entry.seq)
            except StoreUnavailable:
                raise
            except Exception as exc:
                self._parked_now.add(entry.seq)
                self.log.park(entry.seq, f"{type(exc).__name__}: {exc}")
                self.store.apply(MutationBatch(), checkpoint=entry.seq)

    # ---- until caught up ----------------------------------------------------------------
    def catch_up(self, timeout: float | None = None) -> ProjectorStatus:
        """Apply the log up to its current end, waiting out store outages up to `timeout`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        target = self.log.last_seq()
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutError(f"projector at {self._position}, log at {target}")
            done = self._retrying(remaining)(self.run_once)
            if done == 0 or (self._position or 0) >= target:
                break
        return self.status()

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
        return ProjectorStatus(self.log.last_seq(), position, len(self.log.parked()))

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
                done = self._retrying(None)(self.run_once)
            except StoreUnavailable:
                continue  # stopping while the store is down
            except Exception:
                log.exception("projector step failed; retrying")
                done = 0
                self._stop.wait(self.poll_seconds)
            if done == 0:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
