"""graph/sides/history.py's derivation (nodes named by their ids, edge kinds by a lookup, one pass
sorting the batch's mutations) held to the derivation as it stood before (kept here verbatim as
the oracle): generated batches over every node kind and edge kind, with runs' states, quality
and lifecycle props, discriminators, columns' types and retirements keeping or ending some edges,
give the same entries in the same order."""

from __future__ import annotations

import functools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.graph.model import EDGE_SPECS, KEY_FIELDS, EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import (
    Direction,
    EdgeKey,
    EdgeRetire,
    EdgeUpsert,
    MutationBatch,
    NodeUpsert,
    Provenance,
)
from lineage_kg.graph.sides import history
from lineage_kg.graph.sides.history import (
    EDGE_PHRASES,
    LIFECYCLE_PROPS,
    MAX_SUMMARY,
    RETIRED_NOUNS,
    RUN_PROPS,
    EntryType,
    HistoryEntry,
    _items,
    _parent,
    _quality,
)


# ---- the oracle: the derivation before this change (verbatim) ---------------------------------
@functools.lru_cache(maxsize=1 << 16)
def _display(key: NodeKey) -> str:
    return key.display


def _label(far: NodeKey, near: NodeKey) -> str:
    if far.kind is NodeKind.RUN:
        return f"run {far.parts[0]}"
    if near.kind in (NodeKind.DATASET, NodeKind.MODEL) and far.parts[:-1] == near.parts:
        return far.parts[-1] if far.kind is NodeKind.COLUMN else f"version {far.parts[-1]}"
    return _display(far)


class _Entry:
    __slots__ = ("complete", "far", "groups", "kinds", "notes", "others", "prov")

    def __init__(self, prov: Provenance) -> None:
        self.prov = prov
        self.groups: dict[str, list[str]] = {}
        self.far: dict[str, set[NodeKey]] | None = None
        self.complete: set[str] | None = None
        self.notes: list[str] | None = None
        self.others: set[str] = set()
        self.kinds: set[str] = set()

    def add(self, phrase: str, item: str, other: NodeKey | None, kind: EdgeKind | None) -> None:
        items = self.groups.get(phrase)
        if items is None:
            self.groups[phrase] = [item]
        elif item not in items:
            items.append(item)
        if other is not None:
            if self.far is None:
                self.far = {}
            far = self.far.get(phrase)
            if far is None:
                self.far[phrase] = {other}
            else:
                far.add(other)
            self.others.add(other.id)
        if kind is not None:
            self.kinds.add(kind.value)

    def note(self, text: str, other: NodeKey | None = None, kind: EdgeKind | None = None) -> None:
        if self.notes is None:
            self.notes = [text]
        elif text not in self.notes:
            self.notes.append(text)
        if other is not None:
            self.others.add(other.id)
        if kind is not None:
            self.kinds.add(kind.value)

    def far_of(self, phrase: str) -> set[NodeKey]:
        return self.far.get(phrase, set()) if self.far is not None else set()

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
        self.entries: dict[tuple[NodeKey, EntryType], _Entry] = {}

    def at(self, node: NodeKey, entry_type: EntryType, prov: Provenance) -> _Entry:
        key = (node, entry_type)
        entry = self.entries.get(key)
        if entry is None:
            entry = self.entries[key] = _Entry(prov)
        return entry

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
            for job in jobs:
                run_entry.note(text, job, EdgeKind.RUN_OF)
                self.at(job, EntryType.RUN_STATE, prov).note(text, key, EdgeKind.RUN_OF)
        if quality := {p for p in rest if p.startswith("quality_")}:
            rest -= quality
            self.at(key, EntryType.QUALITY, prov).note(_quality(props))
            if (parent := _parent(key)) is not None:
                text = f"{_quality(props)} ({_label(key, parent)})"
                self.at(parent, EntryType.QUALITY, prov).note(text, key)
        if "lifecycle_state" in props:
            rest -= LIFECYCLE_PROPS
            self.at(key, EntryType.LIFECYCLE, prov).note(f"lifecycle {props['lifecycle_state']}")
        for name in sorted(rest):
            self.at(key, EntryType.ASSERTED, prov).add("set ", name, None, None)

    def edge(self, m: EdgeUpsert) -> None:
        src, kind, dst, disc = m.key.src, m.key.kind, m.key.dst, m.key.disc
        entry_type, out_phrase, in_phrase = EDGE_PHRASES[kind]
        if kind is EdgeKind.RUN_OF:
            return
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
        if kind in (EdgeKind.WROTE, EdgeKind.TRAINED, EdgeKind.READ_BY):
            run, version = (src, dst) if kind is not EdgeKind.READ_BY else (dst, src)
            if (parent := _parent(version)) is not None:
                phrase = in_phrase if kind is not EdgeKind.READ_BY else out_phrase
                item = _label(run, parent)
                if version.parts[-1] != f"run:{run.parts[0]}":
                    item += f" ({_label(version, parent)})"
                self.at(parent, entry_type, m.prov).add(phrase, item, run, kind)

    def retire(self, m: EdgeRetire) -> None:
        entry_type = EDGE_PHRASES[m.kind][0]
        noun = RETIRED_NOUNS.get((m.kind, m.direction), f"{m.kind.value} edges ({m.direction})")
        entry = self.at(m.anchor, entry_type, m.prov)
        phrase = EDGE_PHRASES[m.kind][1 if m.direction is Direction.OUT else 2]
        if m.only is not None:
            for far in sorted(m.only):
                entry.note(f"{phrase}{_label(far, m.anchor)} ended", far, m.kind)
            return
        if m.keep and m.keep <= entry.far_of(phrase):
            entry.mark_complete(phrase)
            entry.kinds.add(m.kind.value)
        elif m.keep:
            kept = sorted(_label(k, m.anchor) for k in m.keep)
            entry.note(f"{noun} no longer listed except {_items(kept)}", None, m.kind)
        else:
            entry.note(f"no {noun} any more", None, m.kind)


def old_history_entries(seq: int, batch: MutationBatch) -> list[HistoryEntry]:
    props: dict[NodeKey, dict[str, Any]] = {}
    provs: dict[NodeKey, Provenance] = {}
    jobs: dict[NodeKey, dict[NodeKey, None]] = {}
    for m in batch.mutations:
        if isinstance(m, NodeUpsert):
            props.setdefault(m.key, {}).update(m.props)
            provs.setdefault(m.key, m.prov)
        elif isinstance(m, EdgeUpsert) and m.key.kind is EdgeKind.RUN_OF:
            jobs.setdefault(m.key.src, {})[m.key.dst] = None

    d = _Describer()
    for key, node_props in props.items():
        d.props(key, node_props, provs[key], list(jobs.get(key, {})))
    for m in batch.mutations:
        if isinstance(m, EdgeUpsert):
            d.edge(m)
    for m in batch.mutations:
        if isinstance(m, EdgeRetire):
            d.retire(m)
    described = {node for node, _ in d.entries}
    for key, prov in provs.items():
        if key not in described:
            d.at(key, EntryType.ASSERTED, prov).note("asserted")

    return [
        HistoryEntry(
            node_id=node.id,
            seq=seq,
            event_id=entry.prov.event_id,
            source=entry.prov.source,
            event_time=entry.prov.event_time,
            entry_type=entry_type,
            summary=entry.summary(),
            other_node_id=next(iter(entry.others)) if len(entry.others) == 1 else None,
            edge_kind=next(iter(entry.kinds)) if len(entry.kinds) == 1 else None,
        )
        for (node, entry_type), entry in d.entries.items()
    ]


# ---- generated batches -----------------------------------------------------------------------
def _pool() -> list[NodeKey]:
    """Two keys of every kind; columns and versions under the pool's datasets and models, and a
    version named after a run (`run:r0`), so that the short labels and "the run's output" show."""
    keys: list[NodeKey] = []
    for kind, fields in KEY_FIELDS.items():
        for i in range(2):
            keys.append(NodeKey(kind, tuple(f"{f}{i}" for f in fields)))
    for owner in (("namespace0", "name0"), ("namespace1", "name1")):
        keys.append(NodeKey(NodeKind.COLUMN, (*owner, "id")))
        keys.append(NodeKey(NodeKind.DATASET_VERSION, (*owner, "run:r0")))
        keys.append(NodeKey(NodeKind.DATASET_VERSION, (*owner, "v7")))
    for model in (("registry0", "name0"), ("registry1", "name1")):
        keys.append(NodeKey(NodeKind.MODEL_VERSION, (*model, "3")))
    keys.append(NodeKey(NodeKind.RUN, ("r0",)))
    return keys


POOL = _pool()
PROVS = [
    Provenance("openlineage", "ev-1", "2026-03-01T00:00:00Z"),
    Provenance("mlflow", "ev-2", "2026-03-01T00:00:01Z"),
]
PROPS = ["state", "error_message", "ended_at", "quality_passed", "quality_row_count",
         "quality_bytes", "lifecycle_state", "description", "owner_note", "type"]  # fmt: skip
EDGES = [
    (kind, src, dst)
    for kind, spec in EDGE_SPECS.items()
    for src in POOL
    if src.kind in spec.sources
    for dst in POOL
    if dst.kind in spec.targets
]

node_props = st.dictionaries(
    st.sampled_from(PROPS), st.sampled_from(["FAILED", "COMPLETE", "x" * 90, 3, True]), max_size=4
)
node_upsert = st.builds(
    NodeUpsert,
    st.sampled_from(POOL),
    st.sampled_from(PROVS),
    node_props,
)
edge_upsert = st.builds(
    lambda edge, disc, prov, typed: EdgeUpsert(
        EdgeKey(edge[1], edge[0], edge[2], disc), prov, {"type": "int"} if typed else {}
    ),
    st.sampled_from(EDGES),
    st.sampled_from(["", "champion", "steward"]),
    st.sampled_from(PROVS),
    st.booleans(),
)
some_keys = st.frozensets(st.sampled_from(POOL), max_size=3)
retire = st.builds(
    EdgeRetire,
    st.sampled_from(POOL),
    st.sampled_from(list(EdgeKind)),
    st.sampled_from(list(Direction)),
    some_keys,
    st.sampled_from(PROVS),
    st.sampled_from([None, "", "champion"]),
    st.none() | some_keys,
)


@st.composite
def batches(draw: st.DrawFn) -> MutationBatch:
    batch = MutationBatch()
    batch.extend(draw(st.lists(node_upsert | edge_upsert | edge_upsert | retire, max_size=40)))
    # a retirement keeping exactly what the event asserted at its anchor: "(no others)"
    for m in list(batch.mutations):
        if isinstance(m, EdgeUpsert) and draw(st.booleans()):
            batch.add(EdgeRetire(m.key.src, m.key.kind, Direction.OUT, frozenset({m.key.dst}),
                                 m.prov))  # fmt: skip
    return batch


@settings(max_examples=700, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches(), st.integers(min_value=0, max_value=10**6))
def test_derivation_equals_the_old_one(batch: MutationBatch, seq: int) -> None:
    props_before = [dict(m.props) for m in batch.mutations if not isinstance(m, EdgeRetire)]
    derived = history.history_entries(seq, batch)
    # the batch is left as it was (a node's props merged into a copy, never into a mutation's)
    assert [m.props for m in batch.mutations if not isinstance(m, EdgeRetire)] == props_before
    assert derived == old_history_entries(seq, batch)


def test_generated_batches_reach_every_branch() -> None:
    """The generator is not vacuous: every edge kind has some pair of ends in the pool."""
    assert {kind for kind, _, _ in EDGES} == set(EdgeKind)
