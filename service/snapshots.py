"""The embedded store's start-up snapshot, held to the event log it was taken from.

The embedded store lives in memory; without a snapshot every start projects the whole log again.
With one (graph/snapshot.py: the file format), a start loads it and projects only the log's tail
after it. A snapshot is used only when it still describes a prefix of this log: the entry at its
seq is still there with the chain hash recorded in it, and nothing before it is missing
(`EventLog.anchor_problem`). Otherwise — the log rewound, replaced, rewritten; the file
truncated, damaged, of another format or written by another version — it is ignored with a
warning naming why, and the store is rebuilt from the whole log, exactly as without one.

What a snapshot covers: the graph (nodes, edges, the dataset alias indexes and alias table) and
the projector's position. The side tables need none: the decisions table is on disk with its own
checkpoint (its DECIDED edges are re-asserted into the store at every start, idempotently), and
the audit history and parked events live in the log's own file, keyed by seq. The history has
its own position there (ingest/history_stage.py): a start derives what it lacks — the tail, or
more if it lagged behind the graph when the snapshot was taken — and skips what it holds, so no
row is lost and none doubled.

`SnapshotKeeper` writes them off the request path: on its own thread (checked every
`check_seconds`) and on a clean close, once the store is `every` log entries past the last
snapshot or the projector has spent `after_seconds` on the entries since — what a start would
replay, bounded either way (entries differ a hundredfold in cost: a small OpenLineage event, a
whole registry dump). Never sooner after a write than twice what that write took, so a large
graph under heavy intake does not spend its time writing snapshots.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

from lineage_kg import graph, ingest
from lineage_kg.graph.gc_pause import no_cyclic_gc
from lineage_kg.graph.snapshot import (
    FORMAT,
    SnapshotHeader,
    SnapshotInvalid,
    read_header,
    read_snapshot,
    write_snapshot,
)
from lineage_kg.graph.timefmt import now

if TYPE_CHECKING:
    from lineage_kg.graph.embedded import EmbeddedState, EmbeddedStore
    from lineage_kg.ingest.eventlog import EventLog

log = logging.getLogger(__name__)


@cache
def writer_version() -> str:
    """Who writes a snapshot: the release, a digest of the code that turns the log into the graph
    (graph/ and ingest/, so a changed mapping or merge counts even within one release, and so
    does a change of the store's state layout, graph/embedded.py). A snapshot by another writer
    is not trusted to equal what this one would build from the log."""
    try:
        ours = version("lineage-kg")
    except PackageNotFoundError:  # a bare checkout
        ours = "unknown"
    digest = hashlib.sha256()
    for package in (graph, ingest):
        root = Path(package.__file__).parent
        for source in sorted(root.rglob("*.py")):
            digest.update(f"{source.relative_to(root.parent)}\n".encode())
            digest.update(source.read_bytes())
    return f"lineage-kg {ours} (code {digest.hexdigest()[:16]})"


@dataclass(frozen=True, slots=True)
class Loaded:
    """A snapshot that passed every check: its header and the state to build the store from."""

    header: SnapshotHeader
    state: EmbeddedState


def load_checked(path: Path, event_log: EventLog) -> tuple[Loaded | None, str | None]:
    """The snapshot at `path` if it may be used with `event_log`: (loaded, None); else
    (None, why) — why is None only when there is no snapshot at all. Warnings are logged."""
    try:
        header = read_header(path)
    except FileNotFoundError:
        return None, None
    except (OSError, SnapshotInvalid) as exc:
        return None, _refuse(path, f"unreadable: {exc}")
    if header.writer != (ours := writer_version()):
        return None, _refuse(path, f"written by {header.writer}, this is {ours}")
    last = event_log.last_seq()
    if header.seq > last:
        why = (
            f"it is ahead of the log (taken at seq {header.seq}, the log ends at seq {last}): "
            "the log was rewound or replaced"
        )
        return None, _refuse(path, why)
    if (problem := event_log.anchor_problem(header.seq, header.log_hash)) is not None:
        why = f"the log is not the one it was taken from (at seq {header.seq}: {problem})"
        return None, _refuse(path, why)
    try:
        header, state = read_snapshot(path)
    except (OSError, SnapshotInvalid) as exc:
        return None, _refuse(path, f"unreadable: {exc}")
    if (at := getattr(state, "checkpoint", None)) != header.seq:
        why = f"its state stands at {at!r}, its header at seq {header.seq}"
        return None, _refuse(path, why)
    return Loaded(header, state), None


def _refuse(path: Path, why: str) -> str:
    log.warning("snapshot %s not used: %s; rebuilding the store from the whole log", path, why)
    return why


def write_checked(path: Path, state: EmbeddedState, event_log: EventLog) -> SnapshotHeader | None:
    """Write `state` with the log's chain hash at its position; None (and nothing written) when
    it holds nothing or the log has no entry there."""
    seq = state.checkpoint
    if seq <= 0:
        return None
    digest = event_log.entry_hash_at(seq)
    if digest is None:
        log.warning("snapshot not written: the log has no entry at seq %d", seq)
        return None
    header = SnapshotHeader(FORMAT, seq, digest, writer_version(), now())
    began = time.monotonic()
    size = write_snapshot(path, state, header)
    log.info(
        "snapshot of the embedded store at seq %d written to %s (%.1f MiB in %.2fs)",
        seq,
        path,
        size / 2**20,
        time.monotonic() - began,
    )
    return header


class SnapshotKeeper:
    """Writes the store's snapshot on its own thread when one is due (module docstring), and on
    `close`. One write at a time; a failed write is logged and tried again later. `work` tells
    the projector's cumulative seconds of work."""

    def __init__(
        self,
        store: EmbeddedStore,
        event_log: EventLog,
        path: Path,
        *,
        every: int,
        after_seconds: float,
        check_seconds: float,
        last_seq: int,
        work: Callable[[], float] = lambda: 0.0,
    ) -> None:
        self.store, self.log, self.path = store, event_log, path
        self.every, self.after_seconds, self.check_seconds = every, after_seconds, check_seconds
        self.last_seq = last_seq  # where the snapshot on disk stands (0: none)
        self._work, self._work_at_last = work, 0.0  # the projector's seconds, then and now
        self._next_at = 0.0  # monotonic time before which no further write starts
        self.written = 0  # snapshots written by this keeper
        self._writing = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def behind(self) -> int:
        return self.store.checkpoint() - self.last_seq

    def due(self) -> bool:
        behind = self.behind()
        if behind <= 0 or time.monotonic() < self._next_at:
            return False
        return behind >= self.every or self._work() - self._work_at_last >= self.after_seconds

    def take_state(self) -> EmbeddedState:
        """The store's state, copied under its lock (what readers and the projector wait for)."""
        with no_cyclic_gc():  # the copy makes a container per node and edge, none of them garbage
            return self.store.export_state()

    def write_now(self) -> SnapshotHeader | None:
        """Take the store's state and write it (the caller's thread). None if nothing new."""
        with self._writing:
            if self.behind() <= 0:
                return None
            began, work = time.monotonic(), self._work()
            state = self.take_state()
            header = write_checked(self.path, state, self.log)
            del state
            if header is not None:
                self.last_seq, self.written, self._work_at_last = header.seq, self.written + 1, work
                self._next_at = time.monotonic() + 2 * (time.monotonic() - began)
            return header

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="lkg-snapshot", daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        """Check now rather than at the next tick (e.g. right after a long start-up replay)."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            if self.due():
                try:
                    self.write_now()
                except Exception:
                    log.exception("snapshot write failed; the previous snapshot stays")
            self._wake.wait(self.check_seconds)
            self._wake.clear()

    def close(self, *, final: bool = True) -> None:
        """Stop the thread (waiting for a write under way); with `final`, write once more if
        one is due."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if final and self.due():
            try:
                self.write_now()
            except Exception:
                log.exception("snapshot write at close failed; the previous snapshot stays")
