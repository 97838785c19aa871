"""The audit trail, derived at projection time: what one event did to each node it touched.

`history_entries` reads an event's mutations (the graph's vocabulary, never the raw event), so
every source gets an audit trail for free and `queries/` never parses events. It is pure: the
same batch always gives the same entries, so recording them again on a replay changes nothing.

One entry per (node, event, entry type): an event asserting twenty columns gives one SCHEMA
entry on the dataset listing them (truncated) and one on each column. What the mutations cannot
say is left unsaid: a retirement names the edges it keeps, not the ones it closes (that depends
on the graph's state), so a dropped column shows as "columns no longer listed except …" on the
dataset, and nothing on the dropped column itself.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from enum import StrEnum
from itertools import islice
from typing import Any

from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import (
    Direction,
    EdgeRetire,
    EdgeUpsert,
    MutationBatch,
    NodeUpsert,
    Provenance,
)


class EntryType(StrEnum):
    ASSERTED = "ASSERTED"  # props set, structural relations (parent run, team membership, …)
    RUN_STATE = "RUN_STATE"  # a run's state (on the run and on its job)
    READ = "READ"  # READ_BY: on the dataset (and version) read and on the run
    WROTE = "WROTE"  # WROTE / TRAINED: on the version (and its dataset/model) and on the run
    VERSION = "VERSION"  # HAS_VERSION
    SCHEMA = "SCHEMA"  # HAS_COLUMN asserted or retired
    LINEAGE = "LINEAGE"  # flow edges: INPUT_TO, PRODUCES, FEEDS, SOURCES, CONSUMED_BY, …
    QUALITY = "QUALITY"  # quality_* props (data quality assertions and metrics)
    OWNERSHIP = "OWNERSHIP"  # OWNS, on the owner and on the asset
    ALIAS = "ALIAS"  # ALIAS (model registry aliases, the alias name in the discriminator)
    DEPLOYMENT = "DEPLOYMENT"  # DEPLOYED_TO
    LIFECYCLE = "LIFECYCLE"  # lifecycle_state prop, RENAMED_TO
    MONITORING = "MONITORING"  # CHECKS, and a check's result props
    GOVERNANCE = "GOVERNANCE"  # a policy violation seen to start or end (sides/governance_log)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    node_id: str
    seq: int  # the event's position in the log
    event_id: str
    source: str
    event_time: str  # canonical (graph.timefmt)
    entry_type: EntryType
    summary: str
    other_node_id: str | None = None  # the one other node involved, if exactly one
    edge_kind: str | None = None  # the one edge kind involved, if exactly one
    evidence: tuple[str, ...] = ()  # GOVERNANCE: the violation's evidence events

    @property
    def cursor(self) -> str:
        """An opaque position after this entry, for keyset paging."""
        return encode_cursor(self.event_time, self.seq, self.entry_type)


def encode_cursor(event_time: str, seq: int, entry_type: str) -> str:
    raw = json.dumps([event_time, seq, str(entry_type)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, int, str]:
    """(event_time, seq, entry_type) of a cursor; ValueError if it is not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        event_time, seq, entry_type = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError(f"not a history cursor: {cursor!r}") from exc
    if (
        not isinstance(event_time, str)
        or not isinstance(seq, int)
        or entry_type not in set(EntryType)
    ):
        raise ValueError(f"not a history cursor: {cursor!r}")
    return event_time, seq, entry_type


# ---- what each edge kind means at each of its ends ----------------------------------------
# (entry type, phrase at the source end, phrase at the target end); the far ends' labels follow
EDGE_PHRASES: dict[EdgeKind, tuple[EntryType, str, str]] = {
    EdgeKind.HAS_COLUMN: (EntryType.SCHEMA, "columns: ", "column of "),
    EdgeKind.HAS_VERSION: (EntryType.VERSION, "", "version of "),  # "version 3"
    EdgeKind.READ_BY: (EntryType.READ, "read by ", "read "),
    EdgeKind.WROTE: (EntryType.WROTE, "wrote ", "written by "),
    EdgeKind.TRAINED: (EntryType.WROTE, "trained ", "trained by "),
    EdgeKind.OWNS: (EntryType.OWNERSHIP, "owns ", "owners: "),
    EdgeKind.ALIAS: (EntryType.ALIAS, "alias ", "alias "),
    EdgeKind.DEPLOYED_TO: (EntryType.DEPLOYMENT, "deployed to ", "deployed: "),
    EdgeKind.RENAMED_TO: (EntryType.LIFECYCLE, "renamed to ", "renamed from "),
    EdgeKind.INPUT_TO: (EntryType.LINEAGE, "input to ", "inputs: "),
    EdgeKind.PRODUCES: (EntryType.LINEAGE, "outputs: ", "produced by "),
    EdgeKind.FEEDS: (EntryType.LINEAGE, "feeds ", "fed by "),
    EdgeKind.SOURCES: (EntryType.LINEAGE, "sources ", "sourced from "),
    EdgeKind.CONSUMED_BY: (EntryType.LINEAGE, "consumed by ", "consumes "),
    EdgeKind.DRIVES: (EntryType.LINEAGE, "drives ", "driven by "),
    EdgeKind.HAS_FEATURE: (EntryType.LINEAGE, "features: ", "feature of "),
    EdgeKind.SERVES_FEATURES: (EntryType.LINEAGE, "served by ", "serves features of "),
    EdgeKind.PARENT_OF: (EntryType.ASSERTED, "parent of ", "child of "),
    EdgeKind.MEMBER_OF: (EntryType.ASSERTED, "member of ", "members: "),
    EdgeKind.ALIAS_OF: (EntryType.ASSERTED, "alias of ", "aliases: "),
    EdgeKind.CHECKS: (EntryType.MONITORING, "checks ", "checked by "),
    EdgeKind.DECIDED: (EntryType.ASSERTED, "decided ", "decided by "),
    EdgeKind.RUN_OF: (EntryType.RUN_STATE, "", ""),  # with the run's state: _Describer.props
}
assert set(EDGE_PHRASES) == set(EdgeKind), "every edge kind needs a phrase"

# what the anchor of a retirement no longer has, by (kind, direction)
RETIRED_NOUNS: dict[tuple[EdgeKind, Direction], str] = {
    (EdgeKind.HAS_COLUMN, Direction.OUT): "columns",
    (EdgeKind.INPUT_TO, Direction.IN): "inputs",
    (EdgeKind.PRODUCES, Direction.OUT): "outputs",
    (EdgeKind.OWNS, Direction.IN): "owners",
    (EdgeKind.ALIAS, Direction.OUT): "aliases",
    (EdgeKind.DEPLOYED_TO, Direction.OUT): "deployments",
    (EdgeKind.FEEDS, Direction.IN): "column lineage inputs",
}

RUN_PROPS = frozenset({"state", "started_at", "ended_at", "job", "error_message",
                       "error_language", "error_stack"})  # fmt: skip
LIFECYCLE_PROPS = frozenset({"lifecycle_state", "lifecycle_changed_at"})
MAX_ITEMS = 8
MAX_SUMMARY = 400


# Derivation is hot (every edge of every event: ~800k edges and ~500k entries for the 100k
# estate's 3,243 events, session 33), so:
# - nodes are named by their id strings, entry types and edge kinds by their values (plain
#   strings): a StrEnum member looked up in a dict is compared as a str subclass (no exact-str
#   fast path: ~0.17 against ~0.10 us a lookup), and `.value` is a Python property;
# - what names a node is worked out once per node id (`_DISPLAYS`), not per edge;
# - an entry's items are a dict (first-seen order, one lookup to skip a repeat: a list's `in`
#   was linear in a dataset's columns), and "exactly one other node / edge kind" is kept as the
#   one seen or False once a second shows, not as sets;
# - the ids an entry's phrases name (`far`) are kept only for the entries a retirement of the
#   batch will ask about (`asked`).
# `_DISPLAYS`: node id -> (its label anywhere, its parts but the last or None, its label under its
# dataset or model), the same nodes event after event; emptied when it reaches `_HELD`.
_DISPLAYS: dict[str, tuple[str, tuple[str, ...] | None, str | None]] = {}
_HELD = 1 << 16
_RUN, _COLUMN = NodeKind.RUN, NodeKind.COLUMN
_DATASET, _MODEL = NodeKind.DATASET, NodeKind.MODEL
_TYPES: dict[str, EntryType] = {t.value: t for t in EntryType}
# by the edge kind's value: (entry type's value, out phrase, in phrase, how the edge is described:
# 0 plainly, 1 RUN_OF (not on its own), 2 ALIAS, 3 OWNS, 4 HAS_COLUMN, 5 WROTE / TRAINED, 6 READ_BY)
_HOW = {EdgeKind.RUN_OF: 1, EdgeKind.ALIAS: 2, EdgeKind.OWNS: 3, EdgeKind.HAS_COLUMN: 4,
        EdgeKind.WROTE: 5, EdgeKind.TRAINED: 5, EdgeKind.READ_BY: 6}  # fmt: skip
_EDGES: dict[str, tuple[str, str, str, int]] = {
    kind.value: (entry_type.value, out_phrase, in_phrase, _HOW.get(kind, 0))
    for kind, (entry_type, out_phrase, in_phrase) in EDGE_PHRASES.items()
}
# a retirement by (its kind's value, its direction's value): (entry type's value, phrase, noun)
_RETIRES: dict[tuple[str, str], tuple[str, str, str]] = {
    (kind.value, direction.value): (
        EDGE_PHRASES[kind][0].value,
        EDGE_PHRASES[kind][1 if direction is Direction.OUT else 2],
        RETIRED_NOUNS.get((kind, direction), f"{kind.value} edges ({direction})"),
    )
    for kind in EdgeKind
    for direction in Direction
}
_PARENT_KINDS = {NodeKind.DATASET_VERSION: NodeKind.DATASET, NodeKind.MODEL_VERSION: NodeKind.MODEL}


def _named(key: NodeKey) -> tuple[str, tuple[str, ...] | None, str | None]:
    """`_DISPLAYS`' entry for `key` (made and kept when missing)."""
    named = _DISPLAYS.get(key._id)
    if named is None:
        if key.kind is _RUN:
            named = (f"run {key.parts[0]}", None, None)
        else:
            parts = key.parts
            brief = parts[-1] if key.kind is _COLUMN else f"version {parts[-1]}"
            named = (key.display, parts[:-1], brief)
        if len(_DISPLAYS) >= _HELD:
            _DISPLAYS.clear()
        _DISPLAYS[key._id] = named
    return named


def _label(far: NodeKey, near: NodeKey) -> str:
    """How `near`'s entry names `far`: briefly where `near` is its dataset or model."""
    named = _DISPLAYS.get(far._id) or _named(far)
    kind = near.kind
    if (kind is _DATASET or kind is _MODEL) and named[1] == near.parts:
        return named[2]  # type: ignore[return-value]  # a column by its field, a version by its version
    return named[0]


def _parent(version: NodeKey) -> NodeKey | None:
    """The Dataset of a DatasetVersion, the Model of a ModelVersion."""
    kind = _PARENT_KINDS.get(version.kind)
    return NodeKey(kind, version.parts[:-1]) if kind else None


def _items(items: list[str]) -> str:
    shown = ", ".join(items[:MAX_ITEMS])
    return shown + (f", … (+{len(items) - MAX_ITEMS} more)" if len(items) > MAX_ITEMS else "")


def _shown(items: dict[str, None]) -> str:
    """`_items` of a dict's keys."""
    if len(items) <= MAX_ITEMS:
        return ", ".join(items)
    return ", ".join(islice(items, MAX_ITEMS)) + f", … (+{len(items) - MAX_ITEMS} more)"


class _Entry:
    """One (node, entry type) of the event being described: phrases, in first-seen order.

    Slots, and the containers most entries never use made on first use: a projection builds
    ~150 of these per event of the 100k estate."""

    __slots__ = ("complete", "far", "groups", "kind", "notes", "other", "prov")

    def __init__(self, prov: Provenance, far: dict[str, set[str]] | None) -> None:
        self.prov = prov
        self.groups: dict[str, dict[str, None]] = {}  # phrase -> its items (the dict's keys)
        self.far = far  # phrase -> the ids of the nodes it names; None: no retirement asks
        self.complete: set[str] | None = None  # phrases naming all there are
        self.notes: list[str] | None = None
        self.other: str | bool | None = None  # the one other node's id; False: more than one
        self.kind: str | bool | None = None  # the one edge kind's value; False: more than one

    def add(self, phrase: str, item: str, other_id: str, kind: str) -> None:
        items = self.groups.get(phrase)
        if items is None:
            self.groups[phrase] = {item: None}
        else:
            items[item] = None  # a repeat keeps its first place
        if self.far is not None:
            if (far := self.far.get(phrase)) is None:
                self.far[phrase] = {other_id}
            else:
                far.add(other_id)
        if (one := self.other) is None:
            self.other = other_id
        elif one and one != other_id:
            self.other = False
        if (seen := self.kind) is None:
            self.kind = kind
        elif seen and seen != kind:
            self.kind = False

    def note(self, text: str, other_id: str | None = None, kind: str | None = None) -> None:
        if self.notes is None:
            self.notes = [text]
        elif text not in self.notes:
            self.notes.append(text)
        if other_id is not None:
            if (one := self.other) is None:
                self.other = other_id
            elif one and one != other_id:
                self.other = False
        if kind is not None:
            self.saw_kind(kind)

    def saw_kind(self, kind: str) -> None:
        if (seen := self.kind) is None:
            self.kind = kind
        elif seen and seen != kind:
            self.kind = False

    def far_of(self, phrase: str) -> set[str]:
        """The ids of the nodes `phrase` names (kept only where a retirement asks)."""
        return self.far.get(phrase, set()) if self.far is not None else set()

    def mark_complete(self, phrase: str) -> None:
        if self.complete is None:
            self.complete = set()
        self.complete.add(phrase)

    def summary(self) -> str:
        groups = self.groups
        if len(groups) == 1 and self.notes is None and self.complete is None:
            for phrase, items in groups.items():  # the most common: one phrase, nothing else
                text = phrase + _shown(items)
        else:
            complete = self.complete or ()
            parts = [
                phrase + _shown(items) + (" (no others)" if phrase in complete else "")
                for phrase, items in groups.items()
            ]
            if self.notes:
                parts += self.notes
            text = "; ".join(parts)
        return text if len(text) <= MAX_SUMMARY else text[: MAX_SUMMARY - 1] + "…"


class _Describer:
    def __init__(self, asked: set[tuple[str, str]]) -> None:
        self.entries: dict[tuple[str, str], _Entry] = {}  # by (node id, entry type's value)
        self.asked = asked  # the (node id, entry type's value) a retirement asks about

    def at(self, node_id: str, entry_type: str, prov: Provenance) -> _Entry:
        key = (node_id, entry_type)
        entry = self.entries.get(key)
        if entry is None:
            entry = self.entries[key] = _Entry(prov, {} if key in self.asked else None)
        return entry

    # ---- node props ---------------------------------------------------------------------
    def props(
        self, key: NodeKey, props: dict[str, Any], prov: Provenance, jobs: list[NodeKey]
    ) -> None:
        rest = set(props)
        node_id = key._id
        if key.kind is NodeKind.RUN and "state" in props:
            rest -= RUN_PROPS
            text = f"run {key.parts[0]} {props['state']}"
            if message := props.get("error_message"):
                text += f": {str(message)[:80]}"
            run_entry = self.at(node_id, "RUN_STATE", prov)
            run_entry.note(text)
            for job in jobs:  # the run's RUN_OF edges in this batch: its job's history too
                run_entry.note(text, job._id, "RUN_OF")
                self.at(job._id, "RUN_STATE", prov).note(text, node_id, "RUN_OF")
        if quality := {p for p in rest if p.startswith("quality_")}:
            rest -= quality
            self.at(node_id, "QUALITY", prov).note(_quality(props))
            if (parent := _parent(key)) is not None:  # a version's results are its dataset's
                text = f"{_quality(props)} ({_label(key, parent)})"
                self.at(parent._id, "QUALITY", prov).note(text, node_id)
        if "lifecycle_state" in props:
            rest -= LIFECYCLE_PROPS
            self.at(node_id, "LIFECYCLE", prov).note(f"lifecycle {props['lifecycle_state']}")
        if rest:
            entry = self.at(node_id, "ASSERTED", prov)
            groups = entry.groups
            for name in sorted(rest):
                if (items := groups.get("set ")) is None:
                    groups["set "] = {name: None}
                else:
                    items[name] = None

    # ---- edges --------------------------------------------------------------------------
    def edges(self, edges: list[EdgeUpsert]) -> None:
        entries, asked, table = self.entries, self.asked, _EDGES
        get, displays = entries.get, _DISPLAYS.get
        for m in edges:
            key = m.key
            kind = key.kind._value_
            entry_type, out_phrase, in_phrase, how = table[kind]
            src, dst = key.src, key.dst
            if how:
                if how == 1:
                    continue  # RUN_OF: only with the run's state (see props), not on its own
                if how == 2:
                    self._alias(m, entry_type, out_phrase, in_phrase)
                    continue
            src_id, dst_id = src._id, dst._id
            # _label(dst, src), _label(src, dst), inlined
            named = displays(dst_id) or _named(dst)
            near = src.kind
            if (near is _DATASET or near is _MODEL) and named[1] == src.parts:
                src_item = named[2]
            else:
                src_item = named[0]
            named = displays(src_id) or _named(src)
            near = dst.kind
            if (near is _DATASET or near is _MODEL) and named[1] == dst.parts:
                dst_item = named[2]
            else:
                dst_item = named[0]
            if how == 3 and key.disc:  # OWNS
                dst_item += f" ({key.disc})"
            elif how == 4 and (column_type := m.props.get("type")):  # HAS_COLUMN
                dst_item += f" (type {column_type})"
            # self.at(src_id, ...).add(out_phrase, src_item, dst_id, kind), then the same at
            # dst, inlined
            for node_id, phrase, item, other_id in (
                (src_id, out_phrase, src_item, dst_id),
                (dst_id, in_phrase, dst_item, src_id),
            ):
                at = (node_id, entry_type)
                entry = get(at)
                if entry is None:
                    entry = entries[at] = _Entry(m.prov, {} if at in asked else None)
                    entry.groups[phrase] = {item: None}
                    if entry.far is not None:
                        entry.far[phrase] = {other_id}
                    entry.other, entry.kind = other_id, kind
                else:
                    entry.add(phrase, item, other_id, kind)
            # a dataset's (model's) history shows the runs reading and writing its versions
            if how >= 5:
                run, version = (src, dst) if how == 5 else (dst, src)
                if (parent := _parent(version)) is not None:
                    phrase = in_phrase if how == 5 else out_phrase
                    item = _label(run, parent)
                    if version.parts[-1] != f"run:{run.parts[0]}":  # not just "the run's output"
                        item += f" ({_label(version, parent)})"
                    self.at(parent._id, entry_type, m.prov).add(phrase, item, run._id, kind)

    def _alias(self, m: EdgeUpsert, entry_type: str, out_phrase: str, in_phrase: str) -> None:
        src, dst, disc = m.key.src, m.key.dst, m.key.disc
        self.at(src._id, entry_type, m.prov).add(
            out_phrase, f"{disc} → {_label(dst, src)}", dst._id, "ALIAS"
        )
        self.at(dst._id, entry_type, m.prov).add(in_phrase, disc or "(unnamed)", src._id, "ALIAS")

    def retire(self, m: EdgeRetire) -> None:
        kind = m.kind._value_
        entry_type, phrase, noun = _RETIRES[kind, m.direction._value_]
        anchor = m.anchor
        entry = self.at(anchor._id, entry_type, m.prov)
        if m.only is not None:  # particular edges ended: "deployed to loan-approval ended"
            for far in sorted(m.only):
                entry.note(f"{phrase}{_label(far, anchor)} ended", far._id, kind)
            return
        # the store never retires what the same event asserts: "columns: a, b (no others)"
        if m.keep and {k._id for k in m.keep} <= entry.far_of(phrase):
            entry.mark_complete(phrase)
            entry.saw_kind(kind)
        elif m.keep:
            kept = sorted(_label(k, anchor) for k in m.keep)
            entry.note(f"{noun} no longer listed except {_items(kept)}", None, kind)
        else:
            entry.note(f"no {noun} any more", None, kind)


def _quality(props: dict[str, Any]) -> str:
    parts = []
    if "quality_passed" in props or "quality_failed" in props:
        parts.append(
            f"{props.get('quality_passed', 0)} passed, {props.get('quality_failed', 0)} failed"
        )
    for prop, unit in (("quality_row_count", "rows"), ("quality_bytes", "bytes"),
                       ("quality_file_count", "files")):  # fmt: skip
        if prop in props:
            parts.append(f"{props[prop]} {unit}")
    return "quality: " + (", ".join(parts) or "metrics recorded")


def _described(batch: MutationBatch) -> dict[tuple[str, str], _Entry]:
    """The batch's entries by (node id, entry type's value), in first-made order."""
    # by node id: (its key, its first provenance, its props merged)
    upserted: dict[str, tuple[NodeKey, Provenance, dict[str, Any]]] = {}
    jobs: dict[str, dict[str, NodeKey]] = {}  # run id -> its jobs, by id, in first-seen order
    edges: list[EdgeUpsert] = []
    retires: list[EdgeRetire] = []
    for m in batch.mutations:
        if isinstance(m, EdgeUpsert):
            edges.append(m)
            if m.key.kind is EdgeKind.RUN_OF:
                jobs.setdefault(m.key.src._id, {}).setdefault(m.key.dst._id, m.key.dst)
        elif isinstance(m, NodeUpsert):
            if (node := upserted.get(m.key._id)) is None:
                upserted[m.key._id] = (m.key, m.prov, dict(m.props))
            else:
                node[2].update(m.props)
        elif isinstance(m, EdgeRetire):
            retires.append(m)

    # the entries a retirement will compare its kept ends with: they keep their phrases' ids
    asked = {
        (m.anchor._id, _EDGES[m.kind._value_][0]) for m in retires if m.only is None and m.keep
    }
    d = _Describer(asked)
    for node_id, (key, prov, node_props) in upserted.items():
        d.props(key, node_props, prov, list(jobs.get(node_id, {}).values()))
    d.edges(edges)
    for m in retires:
        d.retire(m)
    # a node upserted with nothing else to say about it: the event still mentioned it
    described = {node_id for node_id, _ in d.entries}
    for node_id, (_key, prov, _) in upserted.items():
        if node_id not in described:
            d.at(node_id, "ASSERTED", prov).note("asserted")
    return d.entries


# A HistoryEntry made without its dataclass `__init__`: a frozen dataclass sets each field through
# `object.__setattr__` looked up and called per field (~1.7 us an entry, ~0.9 s of the 100k
# estate's 500k entries); the slots' own setters, bound once, take half that. Every field is set,
# so each entry is the one `HistoryEntry(...)` makes (tests/unit/test_history_fast_s33.py).
_FIELDS = ("node_id", "seq", "event_id", "source", "event_time", "entry_type", "summary",
           "other_node_id", "edge_kind", "evidence")  # fmt: skip
assert tuple(HistoryEntry.__dataclass_fields__) == _FIELDS, "history_entries sets each field"
(_set_node_id, _set_seq, _set_event_id, _set_source, _set_event_time, _set_entry_type,
 _set_summary, _set_other_node_id, _set_edge_kind, _set_evidence) = (
    HistoryEntry.__dict__[name].__set__ for name in _FIELDS
)  # fmt: skip
_new = object.__new__


def history_entries(seq: int, batch: MutationBatch) -> list[HistoryEntry]:
    """Per node the event touched, what it did to it (one entry per node and entry type)."""
    types, made = _TYPES, []
    for (node_id, entry_type), entry in _described(batch).items():
        prov, one = entry.prov, _new(HistoryEntry)  # HistoryEntry(...) without its __init__
        _set_node_id(one, node_id)
        _set_seq(one, seq)
        _set_event_id(one, prov.event_id)
        _set_source(one, prov.source)
        _set_event_time(one, prov.event_time)
        _set_entry_type(one, types[entry_type])
        _set_summary(one, entry.summary())
        _set_other_node_id(one, entry.other or None)
        _set_edge_kind(one, entry.kind or None)
        _set_evidence(one, ())
        made.append(one)
    return made
