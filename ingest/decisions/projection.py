"""Keeps the decisions side table following the event log (an `ingest.sources.SideProjection`).

`catch_up` reads the "decisions" batches after its own checkpoint, up to the position the graph
has reached (so the references it checks are in the store), and writes each batch's rows and the
checkpoint in one transaction: a crash in between replays the batch, and nothing is stored twice.

Per decision:
- an id already stored (or parked) with the same content: a duplicate, nothing happens;
- with different content: the first one in log order is kept, the later copy counted as a
  conflict (`decision_conflicts`, with its event id) and dropped;
- a decision point, model or model version the graph does not know from some other source
  (the DECIDED edges the decisions themselves add do not count): parked with the reason naming
  the field, retried on later catch-ups (at most `retry_limit` per call, oldest try first, when
  the graph has moved on or `retry_seconds` have passed), never holding up the others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import MutationBatch, Provenance
from lineage_kg.graph.sides.decisions import DecisionTable, digest_of
from lineage_kg.graph.store import GraphStore
from lineage_kg.graph.timefmt import now
from lineage_kg.ingest.decisions.records import SOURCE
from lineage_kg.ingest.eventlog import EventLog, LogEntry

log = logging.getLogger(__name__)

# the decisions table, in the settings' data dir: the one place its file name is written
DECISIONS_FILE = "decisions.sqlite3"


@dataclass(slots=True)
class ProjectionCounts:
    stored: int = 0
    duplicates: int = 0
    conflicts: int = 0
    parked: int = 0
    unparked: int = 0


Refs = tuple[str, str, str | None, str]  # registry, model, version (or None), decision point


def _refs_of(item: dict[str, Any]) -> Refs:
    return (item["registry"], item["model"], item.get("version"), item["decision_point"])


def _nodes(refs: Refs) -> list[tuple[str, NodeKey]]:
    """(field, node) a decision with these references needs to exist."""
    registry, model, version, point = refs
    nodes = [("decision_point", NodeKey.of(NodeKind.DECISION_POINT, name=point))]
    if version is not None:
        key = NodeKey.of(NodeKind.MODEL_VERSION, registry=registry, name=model, version=version)
        nodes.append(("version", key))
    else:
        nodes.append(("model", NodeKey.of(NodeKind.MODEL, registry=registry, name=model)))
    return nodes


class _Known:
    """Which referenced nodes the graph knows from a source other than the decisions; positive
    answers are cached for one catch-up (nodes are never deleted)."""

    def __init__(self, store: GraphStore) -> None:
        self.store, self.known = store, set[str]()

    def missing(self, items: Iterable[dict[str, Any]]) -> dict[str, str]:
        """decision id → why it cannot be stored yet (naming the field), for those that can't.
        Keys are built once per distinct (model, version, decision point), not per decision."""
        by_refs: dict[Refs, list[str]] = {}
        for item in items:
            by_refs.setdefault(_refs_of(item), []).append(item["decision_id"])
        nodes = {refs: [(f, k, k.id) for f, k in _nodes(refs)] for refs in by_refs}
        wanted = sorted({i for ns in nodes.values() for _, _, i in ns} - self.known)
        for node in self.store.get_nodes(wanted):
            if any(source != SOURCE for source in node.sources):
                self.known.add(node.id)
        why: dict[str, str] = {}
        for refs, ns in nodes.items():
            unknown = [
                f"{name}: unknown {key.kind.value} {key.display}"
                for name, key, node_id in ns
                if node_id not in self.known
            ]
            if unknown:
                why.update(dict.fromkeys(by_refs[refs], "; ".join(unknown)))
        return why


class DecisionProjection:
    def __init__(
        self,
        table: DecisionTable,
        *,
        read_batch: int = 20,
        retry_limit: int = 1000,
        retry_seconds: float = 5.0,
    ) -> None:
        self.table = table
        self.read_batch, self.retry_limit, self.retry_seconds = (
            read_batch,
            retry_limit,
            retry_seconds,
        )
        self.counts = ProjectionCounts()
        self._retried_upto = -1
        self._retried_at = 0.0
        self._restored = False

    @classmethod
    def at(cls, data_dir: Path, **options: Any) -> DecisionProjection:
        return cls(DecisionTable(data_dir / DECISIONS_FILE), **options)

    def catch_up(self, log_: EventLog, store: GraphStore, upto: int) -> None:
        if not self._restored:
            # once per process: the graph may have been rebuilt from the log (the embedded store
            # always is) while this table kept its rows; re-asserting is a no-op otherwise
            store.apply(_decided_edges(self.table.decided()))
            self._restored = True
        known, began = _Known(store), now()
        position = self.table.checkpoint()
        while position < upto:
            entries = log_.read(position, self.read_batch, source=SOURCE, upto=upto)
            if not entries:  # no more decisions up to `upto`: remember we looked that far
                with self.table.transaction() as db:
                    self.table.set_checkpoint(db, upto)
                break
            for entry in entries:
                stored = self._project(entry, known)
                store.apply(_decided_edges(_versions_named(stored, entry.event_id)))
            position = entries[-1].seq
        self._retry(known, upto, began)

    def reassert(self) -> None:
        """Write every DECIDED edge again at the next catch-up (this process has just become
        the graph's writer: the one before may have died between its table and its edges)."""
        self._restored = False

    def _project(self, entry: LogEntry, known: _Known) -> list[dict[str, Any]]:
        """Store (or park) the entry's decisions; the ones stored."""
        try:
            items: list[dict[str, Any]] = list(entry.body["decisions"])
            why = known.missing(items)
        except (KeyError, TypeError, ValueError):
            # intake validated it; a hand-edited log is the only way here: skip, said loudly
            log.exception("decision batch seq=%d is malformed, skipped", entry.seq)
            with self.table.transaction() as db:
                self.table.set_checkpoint(db, entry.seq)
            return []
        digests = [digest_of(item) for item in items]
        with self.table.transaction() as db:
            seen = self.table.known_digests(db, [i["decision_id"] for i in items])
            new, parked, conflicts = [], [], []
            for item, digest in zip(items, digests, strict=True):
                decision_id = item["decision_id"]
                if decision_id in seen:
                    if seen[decision_id] == digest:
                        self.counts.duplicates += 1
                    else:
                        conflicts.append((decision_id, entry.event_id, entry.seq, digest))
                    continue
                seen[decision_id] = digest
                if decision_id in why:
                    parked.append((item, digest, entry.seq, entry.event_id, why[decision_id]))
                else:
                    new.append((item, digest, entry.seq, entry.event_id))
            self.table.insert(db, new)
            self.table.park(db, parked)
            self.table.conflict(db, conflicts)
            self.table.set_checkpoint(db, entry.seq)
        self.counts.stored += len(new)
        self.counts.parked += len(parked)
        self.counts.conflicts += len(conflicts)
        if conflicts:
            log.warning(
                "%d decision id(s) in seq=%d were already stored with other content; kept the "
                "first (e.g. %s)",
                len(conflicts),
                entry.seq,
                conflicts[0][0],
            )
        return [item for item, *_ in new]

    def _retry(self, known: _Known, upto: int, began: str) -> None:
        """Parked decisions (not those parked by this very call) whose references may exist now."""
        due = upto > self._retried_upto or time.monotonic() - self._retried_at >= self.retry_seconds
        if not due:
            return
        self._retried_upto, self._retried_at = upto, time.monotonic()
        parked = self.table.parked_to_retry(self.retry_limit, began)
        if not parked:
            return
        why = known.missing(p.body for p in parked)
        ready = [p for p in parked if p.decision_id not in why]
        with self.table.transaction() as db:
            self.table.insert(db, [(p.body, p.digest, p.seq, p.event_id) for p in ready])
            self.table.unpark(db, [p.decision_id for p in ready])
            self.table.still_parked(db, [(i, r) for i, r in why.items()])
        self.counts.unparked += len(ready)
        self.counts.stored += len(ready)
        decided = [row for p in ready for row in _versions_named([p.body], p.event_id)]
        known.store.apply(_decided_edges(decided))

    def close(self) -> None:
        self.table.close()


Decided = tuple[str, str, str, str, str, str]  # registry, model, version, point, time, event


def _versions_named(items: Iterable[dict[str, Any]], event_id: str) -> list[Decided]:
    earliest: dict[tuple[str, str, str, str], str] = {}
    for item in items:
        if "version" in item:
            key = (item["registry"], item["model"], item["version"], item["decision_point"])
            earliest[key] = min(item["timestamp"], earliest.get(key, item["timestamp"]))
    return [(*key, at, event_id) for key, at in sorted(earliest.items())]


def _decided_edges(rows: Iterable[Decided]) -> MutationBatch:
    """`ModelVersion -DECIDED-> DecisionPoint`, one per version and decision point: "this
    version made decisions here", dated by the earliest; counts stay in the table."""
    batch = MutationBatch()
    for registry, model, version, point, at, event_id in rows:
        batch.edge(
            NodeKey.of(NodeKind.MODEL_VERSION, registry=registry, name=model, version=version),
            EdgeKind.DECIDED,
            NodeKey.of(NodeKind.DECISION_POINT, name=point),
            Provenance(SOURCE, event_id, at),
        )
    return batch


def table_of(side: Iterable[object]) -> DecisionTable | None:
    """The decisions table among a service's side projections, if it keeps one."""
    return next((s.table for s in side if isinstance(s, DecisionProjection)), None)
