"""graph/validity.py as it stood at 2a0c6eb (session 27), verbatim below this docstring: the oracle
tests/unit/test_validity_oracle.py holds the faster remembering and settling (session 28) to."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from lineage_kg.graph.mutations import Direction, EdgeRetire
from lineage_kg.graph.records import EdgeId, Record, merge_node

RETIRED = "_retired"  # on a node record: the retirements anchored there (canonical JSON)


@dataclass(frozen=True, slots=True)
class Remembered:
    """One retirement as its anchor keeps it."""

    time: str
    event_id: str
    disc: str | None
    keep: frozenset[str]
    only: frozenset[str] | None

    @property
    def order(self) -> tuple[Any, ...]:
        """A total order, so one log has one text (sets compare by inclusion, not in order)."""
        disc = (self.disc is not None, self.disc or "")
        only = (self.only is not None, sorted(self.only or ()))
        return (self.time, self.event_id, disc, sorted(self.keep), only)

    def applies(self, far: str, disc: str) -> bool:
        return (
            self.disc in (None, disc)
            and far not in self.keep
            and (self.only is None or far in self.only)
        )


Log = dict[str, tuple[Remembered, ...]]  # "KIND|direction" -> retirements, sorted


@lru_cache(maxsize=256)
def _scope(kind: str, direction: Direction) -> str:
    return f"{kind}|{direction.value}"


# Texts parsed, and texts `remember` wrote with the log it wrote them from: a batch remembers
# retirements on tens of thousands of anchors, then settles every edge at them; with a small
# LRU each settle parsed again the text just written (100k estate, first 500 events: 116k
# parses). Emptied whole when full: a miss only costs a parse. Shared by threads: a dict's get
# and set are atomic, and a value is only ever the parse of its key.
_PARSED_MAX = 1 << 15  # ~900 bytes each (100k estate): ~28 MiB at most
_parsed: dict[str, Log] = {}


def _parse(text: str) -> Log:
    log = _parsed.get(text)
    if log is None:
        log = _known(text, _read(text))
    return log


def _known(text: str, log: Log) -> Log:
    if len(_parsed) >= _PARSED_MAX:
        _parsed.clear()
    _parsed[text] = log
    return log


def _read(text: str) -> Log:
    data = json.loads(text)
    sets: list[frozenset[str]] = [frozenset(s) for s in data["sets"]]
    return {
        scope: tuple(
            Remembered(t, e, d, sets[k], None if o is None else sets[o])
            for t, e, d, k, o in entries
        )
        for scope, entries in data["log"].items()
    }


def _dump(log: Log) -> str:
    # keep/only sets stored once each, in sorted order: one canonical text for one log
    sets = sorted(
        {
            tuple(sorted(s))
            for rs in log.values()
            for r in rs
            for s in (r.keep, r.only)
            if s is not None
        }
    )
    index = {s: i for i, s in enumerate(sets)}

    def ref(s: frozenset[str] | None) -> int | None:
        return None if s is None else index[tuple(sorted(s))]

    body = {
        "sets": [list(s) for s in sets],
        "log": {
            scope: [[r.time, r.event_id, r.disc, ref(r.keep), ref(r.only)] for r in rs]
            for scope, rs in sorted(log.items())
        },
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def remembered(node: Record | None, kind: str, direction: Direction) -> tuple[Remembered, ...]:
    text = node.get(RETIRED) if node is not None else None
    return _parse(text).get(_scope(kind, direction), ()) if text else ()


def remember(node: Record, retire: EdgeRetire) -> Record:
    """The anchor's record with this retirement remembered (`node` itself if it already was)."""
    return remember_each(node, (retire,))


def remember_each(node: Record, retires: Iterable[EdgeRetire]) -> Record:
    """The anchor's record with these retirements remembered (`node` itself if all were): one
    parse and one text for all of them. The text is canonical (each scope's entries sorted by a
    total order, duplicates dropped), so it is the one remembering them one by one makes."""
    text = node.get(RETIRED)
    log = dict(_parse(text)) if text else {}
    added: dict[str, set[Remembered]] = {}
    for retire in retires:
        entry = Remembered(
            retire.prov.event_time,
            retire.prov.event_id,
            retire.disc,
            frozenset(k.id for k in retire.keep),
            None if retire.only is None else frozenset(k.id for k in retire.only),
        )
        scope = _scope(retire.kind.value, retire.direction)
        if entry not in log.get(scope, ()):
            added.setdefault(scope, set()).add(entry)
    if not added:
        return node
    for scope, entries in added.items():
        log[scope] = tuple(sorted((*log.get(scope, ()), *entries), key=lambda r: r.order))
    text = _dump(log)
    _known(text, log)  # the edges at this anchor are settled against it next
    return {**node, RETIRED: text}


def closing(
    eid: EdgeId, record: Record, src: Record | None, dst: Record | None
) -> tuple[str, str] | None:
    """(time, event id) of the earliest remembered retirement that closes this edge, if any."""
    src_id, kind, dst_id, disc = eid
    last = record["last_seen"]
    found = [
        (r.time, r.event_id)
        for node, direction, far in ((src, Direction.OUT, dst_id), (dst, Direction.IN, src_id))
        for r in remembered(node, kind, direction)
        if r.time > last and r.applies(far, disc)
    ]
    return min(found) if found else None


def settle(eid: EdgeId, record: Record, src: Record | None, dst: Record | None) -> Record:
    """The edge with `valid_to`/`retired_by` as the remembered retirements say.

    A `valid_to` already on the record still counts while it is later than `last_seen` (a store
    written before retirements were remembered)."""
    ends = [end for end in [closing(eid, record, src, dst)] if end is not None]
    valid_to = record.get("valid_to")
    if valid_to is not None and valid_to > record["last_seen"]:
        ends.append((valid_to, record.get("retired_by") or ""))
    if not ends:
        if "valid_to" not in record and "retired_by" not in record:
            return record
        return {k: v for k, v in record.items() if k not in ("valid_to", "retired_by")}
    at, by = min(ends)
    if record.get("valid_to") == at and record.get("retired_by") == by:
        return record
    return {**record, "valid_to": at, "retired_by": by}


def remember_all(retires: list[EdgeRetire], nodes: dict[str, Record]) -> None:
    """Remember each retirement on its anchor. The retirement speaks of its anchor, so the anchor
    exists from then on, as an edge's ends do: otherwise a retirement arriving before anything
    else named its anchor would be forgotten, and the arrival order would matter again."""
    at: dict[str, list[EdgeRetire]] = {}  # an anchor's retirements: remembered at once
    for retire in retires:
        anchor = retire.anchor.id
        nodes[anchor] = merge_node(nodes.get(anchor), retire.anchor, {}, retire.prov)
        at.setdefault(anchor, []).append(retire)
    for anchor, theirs in at.items():
        nodes[anchor] = remember_each(nodes[anchor], theirs)


def settle_all(
    ids: Iterable[EdgeId], edges: dict[EdgeId, Record], nodes: dict[str, Record]
) -> None:
    """Settle these edges (those a batch asserted) against the retirements their ends remember."""
    for eid in ids:
        edges[eid] = settle(eid, edges[eid], nodes.get(eid[0]), nodes.get(eid[2]))


def _renamed(log: Log, names: dict[str, str]) -> Log:
    def rename(ids: frozenset[str] | None) -> frozenset[str] | None:
        return None if ids is None else frozenset(names.get(i, i) for i in ids)

    return {
        scope: tuple(
            Remembered(r.time, r.event_id, r.disc, rename(r.keep) or frozenset(), rename(r.only))
            for r in entries
        )
        for scope, entries in log.items()
    }


def rehome_retired(node: Record, names: dict[str, str], other: Record | None = None) -> Record:
    """The node's remembered retirements with the node ids in their `keep`/`only` sets renamed
    (`names`: old id -> new id, a dataset's ids re-homed onto another name) and, with `other`,
    those `other` remembers too: as if every retirement had named the new ids from the start."""
    texts = [t for t in (node.get(RETIRED), other.get(RETIRED) if other else None) if t]
    if not texts:
        return node
    merged: dict[str, set[Remembered]] = {}
    for text in texts:
        for scope, entries in _renamed(_parse(text), names).items():
            merged.setdefault(scope, set()).update(entries)
    log = {s: tuple(sorted(rs, key=lambda r: r.order)) for s, rs in merged.items()}
    text = _dump(log)
    return node if node.get(RETIRED) == text else {**node, RETIRED: text}
