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


# Derivation is hot (every edge of every event, ~2 s CPU per 500 large events), so nodes are
# named by their id strings here, never hashed as `NodeKey`s (the dataclass hash builds a tuple in
# Python on every call), and an edge kind's value is looked up, not read through the enum.
_DISPLAYS: dict[str, str] = {}  # node id -> `key.display`: the same datasets, event after event
_HELD = 1 << 16  # emptied when it reaches this many
_KIND_VALUES = {kind: kind.value for kind in EdgeKind}
_RUN, _COLUMN = NodeKind.RUN, NodeKind.COLUMN
_OWNERS_OF_PARTS = frozenset({NodeKind.DATASET, NodeKind.MODEL})


def _display(key: NodeKey) -> str:
    """`key.display`, kept: display builds the key's fields each time (a fifth of the
    derivation)."""
    shown = _DISPLAYS.get(key.id)
    if shown is None:
        if len(_DISPLAYS) >= _HELD:
            _DISPLAYS.clear()
        shown = _DISPLAYS[key.id] = key.display
    return shown


def _label(far: NodeKey, near: NodeKey) -> str:
    """How `near`'s entry names `far`: briefly where `near` is its dataset or model."""
    if far.kind is _RUN:
        return f"run {far.parts[0]}"
    if near.kind in _OWNERS_OF_PARTS and far.parts[:-1] == near.parts:
        # a column by its field, a version by its version
        return far.parts[-1] if far.kind is _COLUMN else f"version {far.parts[-1]}"
    return _display(far)


def _parent(version: NodeKey) -> NodeKey | None:
    """The Dataset of a DatasetVersion, the Model of a ModelVersion."""
    parent = {NodeKind.DATASET_VERSION: NodeKind.DATASET, NodeKind.MODEL_VERSION: NodeKind.MODEL}
    kind = parent.get(version.kind)
    return NodeKey(kind, version.parts[:-1]) if kind else None


def _items(items: list[str]) -> str:
    shown = ", ".join(items[:MAX_ITEMS])
    return shown + (f", … (+{len(items) - MAX_ITEMS} more)" if len(items) > MAX_ITEMS else "")


class _Entry:
    """One (node, entry type) of the event being described: phrases, in first-seen order.

    Slots, and the containers most entries never use made on first use: a projection builds
    ~14 of these per event."""

    __slots__ = ("complete", "far", "groups", "kinds", "notes", "others", "prov")

    def __init__(self, prov: Provenance) -> None:
        self.prov = prov
        self.groups: dict[str, list[str]] = {}  # phrase -> items
        self.far: dict[str, set[str]] | None = None  # phrase -> the ids of the nodes it names
        self.complete: set[str] | None = None  # phrases naming all there are
        self.notes: list[str] | None = None
        self.others: set[str] = set()  # node ids
        self.kinds: set[EdgeKind] = set()  # their values given by `kind_value`

    def add(self, phrase: str, item: str, other: NodeKey | None, kind: EdgeKind | None) -> None:
        items = self.groups.get(phrase)
        if items is None:
            self.groups[phrase] = [item]
        elif item not in items:
            items.append(item)
        if other is not None:
            other_id = other.id
            if self.far is None:
                self.far = {phrase: {other_id}}
            elif (far := self.far.get(phrase)) is None:
                self.far[phrase] = {other_id}
            else:
                far.add(other_id)
            self.others.add(other_id)
        if kind is not None:
            self.kinds.add(kind)

    def note(self, text: str, other: NodeKey | None = None, kind: EdgeKind | None = None) -> None:
        if self.notes is None:
            self.notes = [text]
        elif text not in self.notes:
            self.notes.append(text)
        if other is not None:
            self.others.add(other.id)
        if kind is not None:
            self.kinds.add(kind)

    def far_of(self, phrase: str) -> set[str]:
        """The ids of the nodes `phrase` names."""
        return self.far.get(phrase, set()) if self.far is not None else set()

    def kind_value(self) -> str | None:
        """The one edge kind involved (its value), if exactly one."""
        return _KIND_VALUES[next(iter(self.kinds))] if len(self.kinds) == 1 else None

    def mark_complete(self, phrase: str) -> None:
        if self.complete is None:
            self.complete = set()
        self.complete.add(phrase)

    def summary(self) -> str:
        complete = self.complete or ()
        parts = [
            phrase + _items(items) + (" (no others)" if phrase in complete else "")
            for phrase, items in self.groups.items()
        ]
        if self.notes:
            parts += self.notes
        text = "; ".join(parts)
        return text if len(text) <= MAX_SUMMARY else text[: MAX_SUMMARY - 1] + "…"


class _Describer:
    def __init__(self) -> None:
        self.entries: dict[tuple[str, EntryType], _Entry] = {}  # by (node id, entry type)

    def at(self, node: NodeKey, entry_type: EntryType, prov: Provenance) -> _Entry:
        # get first: setdefault(key, _Entry(prov)) built an entry on every call (11.6 % of a
        # projection), to throw it away when the node already had one
        key = (node.id, entry_type)
        entry = self.entries.get(key)
        if entry is None:
            entry = self.entries[key] = _Entry(prov)
        return entry

    # ---- node props ---------------------------------------------------------------------
    def props(
        self, key: NodeKey, props: dict[str, Any], prov: Provenance, jobs: list[NodeKey]
    ) -> None:
        rest = set(props)
        if key.kind is NodeKind.RUN and "state" in props:
            rest -= RUN_PROPS
            text = f"run {key.parts[0]} {props['state']}"
            if message := props.get("error_message"):
                text += f": {str(message)[:80]}"
            run_entry = self.at(key, EntryType.RUN_STATE, prov)
            run_entry.note(text)
            for job in jobs:  # the run's RUN_OF edges in this batch: its job's history too
                run_entry.note(text, job, EdgeKind.RUN_OF)
                self.at(job, EntryType.RUN_STATE, prov).note(text, key, EdgeKind.RUN_OF)
        if quality := {p for p in rest if p.startswith("quality_")}:
            rest -= quality
            self.at(key, EntryType.QUALITY, prov).note(_quality(props))
            if (parent := _parent(key)) is not None:  # a version's results are its dataset's
                text = f"{_quality(props)} ({_label(key, parent)})"
                self.at(parent, EntryType.QUALITY, prov).note(text, key)
        if "lifecycle_state" in props:
            rest -= LIFECYCLE_PROPS
            self.at(key, EntryType.LIFECYCLE, prov).note(f"lifecycle {props['lifecycle_state']}")
        for name in sorted(rest):
            self.at(key, EntryType.ASSERTED, prov).add("set ", name, None, None)

    # ---- edges --------------------------------------------------------------------------
    def edge(self, m: EdgeUpsert) -> None:
        src, kind, dst, disc = m.key.src, m.key.kind, m.key.dst, m.key.disc
        entry_type, out_phrase, in_phrase = EDGE_PHRASES[kind]
        if kind is EdgeKind.RUN_OF:
            return  # only with the run's state (see props), not on its own
        if kind is EdgeKind.ALIAS:
            self.at(src, entry_type, m.prov).add(
                out_phrase, f"{disc} → {_label(dst, src)}", dst, kind
            )
            self.at(dst, entry_type, m.prov).add(in_phrase, disc or "(unnamed)", src, kind)
            return
        src_item, dst_item = _label(dst, src), _label(src, dst)
        if kind is EdgeKind.OWNS and disc:
            dst_item += f" ({disc})"
        if kind is EdgeKind.HAS_COLUMN and (column_type := m.props.get("type")):
            dst_item += f" (type {column_type})"
        self.at(src, entry_type, m.prov).add(out_phrase, src_item, dst, kind)
        self.at(dst, entry_type, m.prov).add(in_phrase, dst_item, src, kind)
        # a dataset's (model's) history shows the runs reading and writing its versions
        if kind in (EdgeKind.WROTE, EdgeKind.TRAINED, EdgeKind.READ_BY):
            run, version = (src, dst) if kind is not EdgeKind.READ_BY else (dst, src)
            if (parent := _parent(version)) is not None:
                phrase = in_phrase if kind is not EdgeKind.READ_BY else out_phrase
                item = _label(run, parent)
                if version.parts[-1] != f"run:{run.parts[0]}":  # not just "the run's output"
                    item += f" ({_label(version, parent)})"
                self.at(parent, entry_type, m.prov).add(phrase, item, run, kind)

    def retire(self, m: EdgeRetire) -> None:
        entry_type = EDGE_PHRASES[m.kind][0]
        noun = RETIRED_NOUNS.get((m.kind, m.direction), f"{m.kind.value} edges ({m.direction})")
        entry = self.at(m.anchor, entry_type, m.prov)
        phrase = EDGE_PHRASES[m.kind][1 if m.direction is Direction.OUT else 2]
        if m.only is not None:  # particular edges ended: "deployed to loan-approval ended"
            for far in sorted(m.only):
                entry.note(f"{phrase}{_label(far, m.anchor)} ended", far, m.kind)
            return
        # the store never retires what the same event asserts: "columns: a, b (no others)"
        if m.keep and {k.id for k in m.keep} <= entry.far_of(phrase):
            entry.mark_complete(phrase)
            entry.kinds.add(m.kind)
        elif m.keep:
            kept = sorted(_label(k, m.anchor) for k in m.keep)
            entry.note(f"{noun} no longer listed except {_items(kept)}", None, m.kind)
        else:
            entry.note(f"no {noun} any more", None, m.kind)


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


def history_entries(seq: int, batch: MutationBatch) -> list[HistoryEntry]:
    """Per node the event touched, what it did to it (one entry per node and entry type)."""
    # by node id: (its key, its first provenance, its props merged)
    upserted: dict[str, tuple[NodeKey, Provenance, dict[str, Any]]] = {}
    jobs: dict[str, dict[str, NodeKey]] = {}  # run id -> its jobs, by id, in first-seen order
    edges: list[EdgeUpsert] = []
    retires: list[EdgeRetire] = []
    for m in batch.mutations:
        if isinstance(m, EdgeUpsert):
            edges.append(m)
            if m.key.kind is EdgeKind.RUN_OF:
                jobs.setdefault(m.key.src.id, {}).setdefault(m.key.dst.id, m.key.dst)
        elif isinstance(m, NodeUpsert):
            if (node := upserted.get(m.key.id)) is None:
                upserted[m.key.id] = (m.key, m.prov, dict(m.props))
            else:
                node[2].update(m.props)
        elif isinstance(m, EdgeRetire):
            retires.append(m)

    d = _Describer()
    for node_id, (key, prov, node_props) in upserted.items():
        d.props(key, node_props, prov, list(jobs.get(node_id, {}).values()))
    for m in edges:
        d.edge(m)
    for m in retires:
        d.retire(m)
    # a node upserted with nothing else to say about it: the event still mentioned it
    described = {node_id for node_id, _ in d.entries}
    for node_id, (key, prov, _) in upserted.items():
        if node_id not in described:
            d.at(key, EntryType.ASSERTED, prov).note("asserted")

    return [
        HistoryEntry(
            node_id=node_id,
            seq=seq,
            event_id=entry.prov.event_id,
            source=entry.prov.source,
            event_time=entry.prov.event_time,
            entry_type=entry_type,
            summary=entry.summary(),
            other_node_id=next(iter(entry.others)) if len(entry.others) == 1 else None,
            edge_kind=entry.kind_value(),
        )
        for (node_id, entry_type), entry in d.entries.items()
    ]
