"""How assertions merge into the stored state of a node or edge — one implementation, both stores.

A record is the flat dict a store persists (Neo4j node/relationship properties, the embedded
store's packed records). Merging is order-independent and idempotent, so events may arrive
late, twice, or be replayed from the log, and every store ends in the same state:

- each property is last-writer-wins by its own stamp (event time, then event id), kept in
  `_stamps`; an older event fills in what newer ones never said but overwrites nothing; at one
  event time, a run's state moves forward (`_LIFECYCLE`) before the event id decides;
- `first_*` is the minimum stamp seen, `last_*` the maximum, `sources` a sorted set;
- an edge is current until retired (`valid_to`); a later assertion re-opens it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lineage_kg.graph.model import KEY_FIELDS, RESERVED_PROPS, EdgeKind, NodeKey
from lineage_kg.graph.mutations import EdgeKey, EdgeRetire, Provenance

Record = dict[str, Any]
EdgeId = tuple[str, str, str, str]  # (src id, kind, dst id, disc)
# an edge's evidence as a store may read it alone: first and last events, the retiring one or None
EdgeEvents = tuple[str, str, str | None]


def _new(prov: Provenance) -> Record:
    t, e = prov.stamp
    return {
        "sources": [],
        "first_seen": t,
        "first_event": e,
        "last_seen": t,
        "last_event": e,
        "_stamps": "{}",
    }


def _rank(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


# Values that follow one another in time: at one instant, a later one wins whichever event id is
# larger. A run's state goes START, RUNNING, then its end: dbt-ol stamps a model that failed
# without timing START and FAIL with one now(), and by event id (a content hash) half such runs
# read START. Only where both values have a place (and the places differ) does this decide.
_LIFECYCLE: dict[str, dict[Any, int]] = {
    "state": {"START": 0, "RUNNING": 1, "COMPLETE": 2, "FAIL": 2, "ABORT": 2},
}


def _takes(name: str, value: Any, stamp: tuple[str, str], held: Any, seen: Sequence[str]) -> bool:
    """Whether `value` asserted at `stamp` replaces `held`, asserted at `seen`: the later time,
    then at one time the later place in `_LIFECYCLE`, then the larger event id, then (one event
    saying two things) the larger value — a total order, so the arrival order does not matter."""
    if stamp[0] != seen[0]:
        return stamp[0] > seen[0]
    if (places := _LIFECYCLE.get(name)) is not None:
        mine, theirs = places.get(value), places.get(held)
        if mine is not None and theirs is not None and mine != theirs:
            return mine > theirs
    if stamp[1] != seen[1]:
        return stamp[1] > seen[1]
    return _rank(value) > _rank(held)


# `_stamps` texts as parsed, and the texts of fresh stamps (every prop of one assertion): the
# merge of a large batch reads and writes ~70k of them, most of them again and again (a column's
# type, description and ordinal, stamped by one event). Neither dict is ever changed in place;
# each is emptied when full (4,096 entries, a few MiB).
_PARSED: dict[str, dict[str, list[str]]] = {}
_FRESH: dict[tuple[tuple[str, ...], str, str], str] = {}
_HELD = 4096


def _stamps_text(stamps: dict[str, list[str]]) -> str:
    return json.dumps(stamps, sort_keys=True, separators=(",", ":"))


def _parsed(text: str) -> dict[str, list[str]]:
    """`json.loads(text)`, shared: read only."""
    stamps = _PARSED.get(text)
    if stamps is None:
        if len(_PARSED) >= _HELD:
            _PARSED.clear()
        stamps = _PARSED[text] = json.loads(text)
    return stamps


def _fresh_text(names: tuple[str, ...], stamp: tuple[str, str]) -> str:
    """The `_stamps` text of a record nothing stamped yet after `names` were asserted at
    `stamp`."""
    text = _FRESH.get((names, *stamp))
    if text is None:
        if len(_FRESH) >= _HELD:
            _FRESH.clear()
        text = _FRESH[(names, *stamp)] = _stamps_text({name: list(stamp) for name in names})
    return text


def _merge(record: Record, props: dict[str, Any], prov: Provenance) -> Record:
    stamp = prov.stamp
    if props:  # the stamps' JSON is read and written only when a prop may change (hot path)
        text = record["_stamps"]
        if text == "{}":  # nothing stamped yet: every prop is taken, all with this stamp
            record.update(props)
            record["_stamps"] = _fresh_text(tuple(props), stamp)
        else:
            stamps = _parsed(text)
            changed: dict[str, list[str]] | None = None  # a copy, made at the first change
            for name, value in props.items():
                seen = stamps.get(name)
                # `_takes` decides ties of time; a later time (most merges) is taken at once
                if (
                    seen is None
                    or stamp[0] > seen[0]
                    or (stamp[0] == seen[0] and _takes(name, value, stamp, record[name], seen))
                ):
                    record[name] = value
                    if changed is None:
                        changed = dict(stamps)
                    changed[name] = list(stamp)
            if changed is not None:
                record["_stamps"] = text = _stamps_text(changed)
                if len(_PARSED) >= _HELD:
                    _PARSED.clear()
                _PARSED[text] = changed  # the next merge of this record reads it back
    if prov.source not in record["sources"]:
        record["sources"] = sorted([*record["sources"], prov.source])
    # the min and max of the stamps, compared field by field (no tuples built: ~320k merges a
    # large batch, most of them an edge's ends)
    t, e = stamp
    first = record["first_seen"]
    if t < first or (t == first and e < record["first_event"]):
        record["first_seen"], record["first_event"] = t, e
    last = record["last_seen"]
    if t > last or (t == last and e > record["last_event"]):
        record["last_seen"], record["last_event"] = t, e
    return record


def covers(record: Record, prov: Provenance) -> bool:
    """The record already knows this source and a stamp range around this assertion's (the
    stamps compared field by field: every edge's two ends ask, ~180k times a large batch)."""
    if prov.source not in record["sources"]:
        return False
    t, e = prov.event_time, prov.event_id
    first = record["first_seen"]
    if t < first or (t == first and e < record["first_event"]):
        return False
    last = record["last_seen"]
    return t < last or (t == last and e <= record["last_event"])


def merge_node(
    existing: Record | None, key: NodeKey, props: dict[str, Any], prov: Provenance
) -> Record:
    """The node's record after one more assertion (a new dict; `existing` is not touched).

    An assertion that says nothing new (an edge's end, seen again within the record's first and
    last stamps) returns `existing` itself: a column touched by fifty edges of one event is
    copied once, not fifty times."""
    if existing is None:
        # a node first seen: `_merge` of the fresh record spelled out (its keys in the same
        # order), without the steps that change nothing on it (34k a 500-entry batch)
        t, e = prov.event_time, prov.event_id
        record = {"key": key._id, "kind": key.kind._value_, "display": key.display}
        record.update(zip(KEY_FIELDS[key.kind], key.parts, strict=True))  # `key.fields`
        record["sources"] = [prov.source]
        record["first_seen"], record["first_event"] = t, e
        record["last_seen"], record["last_event"] = t, e
        record["_stamps"] = _fresh_text(tuple(props), (t, e)) if props else "{}"
        if props:  # after the bookkeeping, as `_merge` adds them; `_stamps` keeps its place
            record.update(props)
        return record
    if not props and covers(existing, prov):
        return existing
    return _merge(dict(existing), props, prov)


def merge_edge(
    existing: Record | None, key: EdgeKey, props: dict[str, Any], prov: Provenance
) -> Record:
    """The edge's record after one more assertion (`existing` is not touched). As `merge_node`,
    an assertion that says nothing new of a current edge returns `existing` itself: most of a
    large batch's edges are asserted again and again by their own event (at 100k's first 500
    entries, up to 107k of 256k upserts assert an edge again with no props)."""
    if existing is None:
        # an edge first seen: `_merge` of the fresh record spelled out (its keys in the same
        # order), without the steps that change nothing on it (91k a 500-entry batch of the
        # 100k estate: ~4.1 -> ~2.0 us with props, ~2.0 -> ~0.4 without); a prop never
        # names a reserved key (EdgeUpsert checks), so `valid_to` is not among them
        t, e = prov.event_time, prov.event_id
        record = {
            "disc": key.disc,
            "sources": [prov.source],
            "first_seen": t,
            "first_event": e,
            "last_seen": t,
            "last_event": e,
            "_stamps": _fresh_text(tuple(props), (t, e)) if props else "{}",
        }
        if props:
            record.update(props)
        return record
    if not props and "valid_to" not in existing and covers(existing, prov):
        return existing
    record = _merge(dict(existing), props, prov)
    valid_to = record.get("valid_to")
    if valid_to is not None and prov.event_time >= valid_to:
        # asserted again after it was retired: current again (the gap stays in the audit trail)
        del record["valid_to"]
        record.pop("retired_by", None)
    return record


def retire_edge(existing: Record, retire: EdgeRetire) -> Record:
    """Close an edge as of the retirement, unless something asserted it at or after that time."""
    at = retire.prov.event_time
    if existing["last_seen"] >= at:
        return existing
    valid_to = existing.get("valid_to")
    # the earliest retirement wins, ties by event id: the same end whatever the arrival order
    if valid_to is not None and (valid_to, existing.get("retired_by") or "") <= retire.prov.stamp:
        return existing
    return {**existing, "valid_to": at, "retired_by": retire.prov.event_id}


def combine(base: Record, other: Record) -> Record:
    """`base` with every assertion behind `other` merged in, as if they had all been made on
    `base` (a node or edge re-homed onto another name: graph/merge.py). `base`'s identity is kept;
    per-property stamps decide, as in `_merge`, so the result does not depend on which record is
    which. Validity and remembered retirements are the caller's (graph/validity.py)."""
    record = dict(base)
    stamps: dict[str, list[str]] = json.loads(base["_stamps"])
    for name, seen in json.loads(other["_stamps"]).items():
        mine, value = stamps.get(name), other[name]
        if mine is None or _takes(name, value, (seen[0], seen[1]), record[name], mine):
            record[name] = value
            stamps[name] = seen
    record["_stamps"] = json.dumps(stamps, sort_keys=True, separators=(",", ":"))
    record["sources"] = sorted({*record["sources"], *other["sources"]})
    record["first_seen"], record["first_event"] = min(
        (record["first_seen"], record["first_event"]), (other["first_seen"], other["first_event"])
    )
    record["last_seen"], record["last_event"] = max(
        (record["last_seen"], record["last_event"]), (other["last_seen"], other["last_event"])
    )
    return record


@dataclass(frozen=True, slots=True)
class StoredNode:
    key: NodeKey
    props: dict[str, Any]
    sources: tuple[str, ...]
    first_seen: str
    first_event: str
    last_seen: str
    last_event: str

    @classmethod
    def from_record(cls, record: Record) -> StoredNode:
        # hundreds a read (a trace's ~500 feature nodes): the props by a difference of names
        # (sorted: a dict's order is the props'), the rest positionally (~2x faster than a
        # sorted filter of the items and keywords)
        key = NodeKey.from_id(record["key"])
        return cls(
            key,
            {k: record[k] for k in sorted(record.keys() - _NOT_NODE_PROPS[key.kind])},
            tuple(record["sources"]),
            record["first_seen"],
            record["first_event"],
            record["last_seen"],
            record["last_event"],
        )

    @property
    def id(self) -> str:
        return self.key.id


@dataclass(frozen=True, slots=True)
class StoredEdge:
    key: EdgeKey
    props: dict[str, Any]
    sources: tuple[str, ...]
    first_seen: str
    first_event: str
    last_seen: str
    last_event: str
    valid_to: str | None
    retired_by: str | None

    @classmethod
    def from_record(cls, eid: EdgeId, record: Record) -> StoredEdge:
        src, kind, dst, disc = eid
        key = EdgeKey(NodeKey.from_id(src), EdgeKind(kind), NodeKey.from_id(dst), disc)
        return cls(key, *edge_fields(record))

    @property
    def current(self) -> bool:
        return self.valid_to is None

    def valid_at(self, when: str) -> bool:
        """Known by `when` and not yet retired then."""
        return self.first_seen <= when and (self.valid_to is None or when < self.valid_to)


# what a node's props leave out, by kind: the reserved names and its key's fields
_NOT_NODE_PROPS = {kind: RESERVED_PROPS | frozenset(names) for kind, names in KEY_FIELDS.items()}


def edge_fields(record: Record) -> tuple[Any, ...]:
    """A `StoredEdge`'s fields but its key, in their order, from its record (a walk's path edges
    are filled in place from these: graph/neo4j_path_edges.py)."""
    return (
        {k: record[k] for k in sorted(record.keys() - RESERVED_PROPS)},
        tuple(record["sources"]),
        record["first_seen"],
        record["first_event"],
        record["last_seen"],
        record["last_event"],
        record.get("valid_to"),
        record.get("retired_by"),
    )
