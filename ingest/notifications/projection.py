"""Keeps the outbox following the event log (an `ingest.sources.SideProjection`).

`catch_up` reads the log after its own checkpoint, up to the position the graph has reached,
takes each entry's mutations as the projector mapped them (handed over by `hand`; an entry not
handed, e.g. after a restart, is mapped again with its source's mapper: the same pure function),
so the changes are read from the graph's vocabulary whatever the source, detects the changes
(ingest/notifications/changes.py) against the state it keeps, and writes the changes, that state
and its checkpoint in one transaction: a kill -9 in between replays the chunk from the same
state, the same change ids come out, and `INSERT OR IGNORE` stores each once. The projector sets
where the side tables stand from the graph's checkpoint at start, as for the decisions.

An entry its mapper refuses is skipped here (the projector parks it). The outbox starts with the
log's first entry: opened beside an existing log, it reads the log's history too (and tells of
its changes once).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from lineage_kg.graph.mutations import Mutation, MutationBatch
from lineage_kg.graph.sides.outbox import Change, Outbox
from lineage_kg.graph.store import GraphStore
from lineage_kg.ingest.eventlog import EventLog, LogEntry
from lineage_kg.ingest.notifications.changes import detect, relevant, state_keys

log = logging.getLogger(__name__)

# the outbox, in the settings' data dir: the one place its file name is written
OUTBOX_FILE = "outbox.sqlite3"

Mapper = Callable[[LogEntry], MutationBatch]


class ChangeProjection:
    def __init__(
        self,
        outbox: Outbox,
        mappers: dict[str, Mapper],
        *,
        read_batch: int = 500,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.outbox, self.mappers, self.read_batch = outbox, mappers, read_batch
        self.on_change = on_change  # e.g. wake the delivery
        self.changes_added = 0
        # seq -> what the projector mapped (only what detection reads), handed over before the
        # batch lands so the log's entries are not mapped twice; an entry not handed (a side
        # behind the graph after a restart) is mapped here
        self._handed: dict[int, list[Mutation] | None] = {}
        self._position = outbox.checkpoint()  # as last read or written

    @classmethod
    def at(cls, data_dir: Path, mappers: dict[str, Mapper], **options: Any) -> ChangeProjection:
        return cls(Outbox(data_dir / OUTBOX_FILE), mappers, **options)

    def hand(self, mapped: Sequence[tuple[int, MutationBatch | None]]) -> None:
        """The projector's mapped entries (seq, batch or None when it parked the entry)."""
        for seq, batch in mapped:
            # not what it already holds: a replay of the log into the graph (the embedded
            # store's start) hands it every entry again
            if seq > self._position:
                self._handed[seq] = None if batch is None else relevant(batch.mutations)

    def catch_up(self, log_: EventLog, store: GraphStore, upto: int) -> None:
        position = self._position = self.outbox.checkpoint()
        while position < upto:
            mapped = self._next(log_, position, upto)
            last = mapped[-1][0] if mapped else upto
            added = self._project(mapped, last)
            position = self._position = last
            if added:
                self.changes_added += added
                if self.on_change is not None:
                    self.on_change()
        self._forget(position)

    def _next(
        self, log_: EventLog, position: int, upto: int
    ) -> list[tuple[int, list[Mutation] | None]]:
        """The next entries' seqs and mutations. Where the projector handed over every one, the
        log's bodies are not read again (parsing them was ~3 % of a projection); an entry not
        handed (after a restart) has the log's entries read and mapped here."""
        heads = log_.heads(position, self.read_batch, upto=upto)
        handed, mappers = self._handed, self.mappers
        if all(source not in mappers or seq in handed for seq, source in heads):
            return [(seq, handed[seq] if source in mappers else None) for seq, source in heads]
        entries = log_.read(position, self.read_batch, upto=upto)
        return [(entry.seq, self._mutations(entry)) for entry in entries]

    def _project(self, mapped: list[tuple[int, list[Mutation] | None]], last: int) -> int:
        self._forget(last)
        keys = sorted({k for _, m in mapped if m for k in state_keys(m)})
        with self.outbox.transaction() as db:
            state = self.outbox.state(db, keys)
            before = dict(state)
            added = 0
            for seq, mutations in mapped:
                if mutations:
                    added += self.outbox.add(db, seq, detect(mutations, state))
            self.outbox.set_state(db, {k: v for k, v in state.items() if before.get(k) != v})
            self.outbox.set_checkpoint(db, last)
        return added

    def _forget(self, upto: int) -> None:
        for seq in [s for s in self._handed if s <= upto]:
            del self._handed[seq]

    def _mutations(self, entry: LogEntry) -> list[Mutation] | None:
        if entry.source not in self.mappers:
            return None
        if entry.seq in self._handed:
            return self._handed[entry.seq]
        try:
            return relevant(self.mappers[entry.source](entry).mutations)
        except Exception:  # the projector parks it and says why
            return None

    def close(self) -> None:
        self.outbox.close()


def detect_all(batches: Iterable[MutationBatch], state: dict[str, Any]) -> list[Change]:
    """The changes a sequence of batches brings from `state` (tests, tools)."""
    return [c for b in batches for c in detect(b.mutations, state)]


def projection_of(side: Iterable[object]) -> ChangeProjection | None:
    """The change projection among a service's side projections, if it keeps one."""
    return next((s for s in side if isinstance(s, ChangeProjection)), None)
