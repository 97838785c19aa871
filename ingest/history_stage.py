"""The audit trail's own stage: history rows derived and written beside the graph, not before it.

The projector maps each batch once; it hands the mapped events here and goes on to merge and
write the graph. A worker thread derives their entries (graph/sides/history.py) and writes them
with the stage's own checkpoint — `EventLog.history_position` — in one log transaction. So:

- the graph's write never waits for the audit trail (it was 31-45 % of the projector);
- nothing is lost in a crash, wherever it falls: rows and position commit together, so after a
  crash between the graph's commit and the history's, the position is behind the graph's and the
  stage derives that gap again from the log (mapping those events afresh: mappers are pure);
- nothing is recorded twice in vain: events at or below the position are skipped, so a replay
  (the embedded store at every start, a wiped Neo4j) derives no history at all.

`Projector.catch_up` waits for the stage too, and the projector's lag counts it: an event is
projected once both the graph and its history hold it. Entries of an event the store refuses
are hidden once it is parked (as before); `EventLog.unpark_all` moves the position back so a
rebuild that maps them now records them.

The worker runs only while there is work (it is started by `hand`/`fill` and ends when the
queue is empty), so a projector that is simply dropped leaves no thread behind.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from lineage_kg.graph.gc_pause import no_cyclic_gc
from lineage_kg.graph.mutations import MutationBatch
from lineage_kg.graph.sides.history import HistoryEntry, history_entries
from lineage_kg.ingest.eventlog import EventLog, LogEntry

log = logging.getLogger(__name__)

Mapper = Callable[[LogEntry], MutationBatch]
# (seq, the event's mutations; None: it could not be mapped, it has no history)
Mapped = list[tuple[int, MutationBatch | None]]
READ_BATCH = 500
# mapped batches held for the worker at most: past it the projector hands only the last seq and
# the worker maps those events again from the log, so a lagging stage costs time, not memory
MAX_QUEUED = 8


class HistoryStage:
    def __init__(self, log_: EventLog, mappers: dict[str, Mapper]) -> None:
        self.log, self.mappers = log_, mappers
        self._position: int | None = None  # read from the log on first use
        self._work: deque[Mapped | int] = deque()  # mapped batches, or "fill up to seq"
        self._cond = threading.Condition()
        self._running = False
        self.error: Exception | None = None  # the last failure (the next fill retries)
        self.seconds = 0.0  # the worker's time: derive + write

    @property
    def position(self) -> int:
        if self._position is None:
            self._position = self.log.history_position()
        return self._position

    def hand(self, mapped: Mapped) -> None:
        """The projector's mapped events, in log order; returns at once."""
        if mapped and mapped[-1][0] > self.position:
            with self._cond:
                full = len(self._work) >= MAX_QUEUED
            self._submit(mapped[-1][0] if full else mapped)

    def fill(self, upto: int) -> None:
        """Make sure every event up to `upto` gets its history (reading the log for gaps)."""
        if upto > self.position:
            self._submit(upto)

    def wait(self, upto: int, timeout: float | None = None) -> bool:
        """Fill up to `upto` and wait until done (or `timeout`); False if not done."""
        self.fill(upto)
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self.position < upto:
                if not self._running and not self._work:
                    return False  # the worker stopped short (self.error says why)
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def idle(self, timeout: float | None = None) -> bool:
        """Wait until the worker has nothing left to do (before the log is closed)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._running:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
        return True

    # ---- the worker ---------------------------------------------------------------------
    def _submit(self, item: Mapped | int) -> None:
        with self._cond:
            if isinstance(item, int) and self._work and isinstance(self._work[-1], int):
                self._work[-1] = max(self._work[-1], item)  # one "fill up to" is enough
            else:
                self._work.append(item)
            if not self._running:
                self._running = True
                threading.Thread(target=self._drain, name="lkg-history", daemon=True).start()

    def _drain(self) -> None:
        while True:
            with self._cond:
                if not self._work:
                    self._running = False
                    self._cond.notify_all()
                    return
                item = self._work.popleft()
            began = time.perf_counter()
            try:
                if isinstance(item, int):
                    self._fill_from_log(item)
                else:
                    self._record(item)
                self.error = None
            except Exception as exc:  # the log unavailable: a later fill derives it again
                log.exception("audit trail: recording failed; the next fill retries")
                self.error = exc
            finally:
                self.seconds += time.perf_counter() - began
            with self._cond:
                self._cond.notify_all()

    def _record(self, mapped: Mapped) -> None:
        first, last = mapped[0][0], mapped[-1][0]
        if first > self.position + 1:  # a gap (a restart, a failed write): from the log first
            self._fill_from_log(first - 1)
        fresh = [(seq, batch) for seq, batch in mapped if seq > self.position]
        if fresh:
            self._write(fresh, last)

    def _fill_from_log(self, upto: int) -> None:
        while self.position < upto:
            entries = self.log.read(self.position, READ_BATCH, upto=upto)
            if not entries:
                self._write([], upto)  # nothing logged in between (a gap in the seqs)
                return
            self._write([(e.seq, self._map(e)) for e in entries], entries[-1].seq)

    def _map(self, entry: LogEntry) -> MutationBatch | None:
        mapper = self.mappers.get(entry.source)
        try:
            return mapper(entry) if mapper is not None else None
        except Exception:  # the projector parks it; no history, as for any parked event
            return None

    def _write(self, mapped: Mapped, upto: int) -> None:
        entries: list[HistoryEntry] = []
        # the collector paused while deriving, as for the map (ingest/projector.py): every
        # entry lives on in `entries`, so each collection went over them again (100k log:
        # ~5.4 s CPU paused against 6.9-9.6 s running). Back on for the log's write.
        with no_cyclic_gc():
            for seq, batch in mapped:
                if batch is not None:
                    entries.extend(history_entries(seq, batch))
        self.log.record_history(entries, upto=upto)
        self._position = max(self.position, upto)
