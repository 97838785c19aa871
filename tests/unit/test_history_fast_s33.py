"""graph/sides/history.py's derivation since session 33 (entry types and edge kinds by their values,
what names a node worked out once per id, items in a dict, "exactly one other / kind" without
sets, far ends kept only where a retirement asks, entries made through their slots' setters)
held to the derivation at 415f788, kept here verbatim as the oracle: generated events of many
columns (repeated, typed, past MAX_ITEMS and MAX_SUMMARY), column lineage, runs reading and
writing versions, aliases, owners, retirements keeping all, some or none of what the event
asserted, or ending particular edges, give equal entries, in the same order, of the same types."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
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
    MAX_ITEMS,
    MAX_SUMMARY,
    RETIRED_NOUNS,
    RUN_PROPS,
    EntryType,
    HistoryEntry,
)

# ---- the oracle: graph/sides/history.py at 415f788, from its "Derivation is hot" to its end ----
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


old_history_entries = history_entries
del history_entries  # the code under test is `history.history_entries`


# ---- generated events ------------------------------------------------------------------------
NAMESPACES = ["pg://db", "s3://bucket"]
TABLES = ["orders", "customers", "x" * 60]  # a long name: summaries past MAX_SUMMARY
FIELDS = [f"c{i}" for i in range(14)]  # past MAX_ITEMS


def _pool() -> list[NodeKey]:
    keys: list[NodeKey] = []
    for kind, fields in KEY_FIELDS.items():  # two of every kind
        for i in range(2):
            keys.append(NodeKey(kind, tuple(f"{f}{i}" for f in fields)))
    for ns in NAMESPACES:
        for table in TABLES:
            keys.append(NodeKey(NodeKind.DATASET, (ns, table)))
            keys.extend(NodeKey(NodeKind.COLUMN, (ns, table, f)) for f in FIELDS)
            keys.append(NodeKey(NodeKind.DATASET_VERSION, (ns, table, "run:r0")))
            keys.append(NodeKey(NodeKind.DATASET_VERSION, (ns, table, "v7")))
    for model in (("registry0", "name0"), ("registry1", "name1")):
        keys.append(NodeKey(NodeKind.MODEL_VERSION, (*model, "3")))
    keys.append(NodeKey(NodeKind.RUN, ("r0",)))
    return keys


POOL = _pool()
DATASETS = [k for k in POOL if k.kind is NodeKind.DATASET]
COLUMNS = [k for k in POOL if k.kind is NodeKind.COLUMN]
PROVS = [
    Provenance("openlineage", "ev-1", "2026-03-01T00:00:00Z"),
    Provenance("mlflow", "ev-2", "2026-03-01T01:00:01+01:00"),
]
PROPS = ["state", "error_message", "ended_at", "quality_passed", "quality_failed",
         "quality_row_count", "quality_bytes", "quality_file_count", "lifecycle_state",
         "lifecycle_changed_at", "description", "owner_note", "type"]  # fmt: skip
EDGES = [
    (kind, src, dst)
    for kind, spec in EDGE_SPECS.items()
    for src in POOL
    if src.kind in spec.sources
    for dst in POOL
    if dst.kind in spec.targets
]

node_upsert = st.builds(
    NodeUpsert,
    st.sampled_from(POOL),
    st.sampled_from(PROVS),
    st.dictionaries(
        st.sampled_from(PROPS), st.sampled_from(["FAILED", "COMPLETE", "x" * 90, 3, True]),
        max_size=4,
    ),
)  # fmt: skip
edge_upsert = st.builds(
    lambda edge, disc, prov, typed: EdgeUpsert(
        EdgeKey(edge[1], edge[0], edge[2], disc), prov, {"type": typed} if typed else {}
    ),
    st.sampled_from(EDGES),
    st.sampled_from(["", "champion", "steward"]),
    st.sampled_from(PROVS),
    st.sampled_from(["", "int", "string"]),
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
def schemas(draw: st.DrawFn) -> list[Any]:
    """A dataset's columns (some repeated, typed or not), the column lineage between them, and a
    retirement of its columns keeping all of them, some, more, or none."""
    dataset = draw(st.sampled_from(DATASETS))
    own = [c for c in COLUMNS if c.parts[:2] == dataset.parts]
    fields = draw(st.lists(st.sampled_from(own), max_size=len(own) + 4))
    prov = draw(st.sampled_from(PROVS))
    out: list[Any] = [
        EdgeUpsert(
            EdgeKey(dataset, EdgeKind.HAS_COLUMN, c),
            prov,
            {"type": draw(st.sampled_from(["int", "", "text"]))},
        )
        for c in fields
    ]
    for src, dst in draw(st.lists(st.tuples(st.sampled_from(COLUMNS), st.sampled_from(own)),
                                  max_size=12)):  # fmt: skip
        out.append(EdgeUpsert(EdgeKey(src, EdgeKind.FEEDS, dst), prov))
    if out and draw(st.booleans()):
        out.append(EdgeRetire(draw(st.sampled_from(own)), EdgeKind.FEEDS, Direction.IN,
                              frozenset(draw(st.lists(st.sampled_from(COLUMNS), max_size=4))),
                              prov))  # fmt: skip
    keep = set(fields)
    how = draw(st.sampled_from(["all", "some", "more", "none"]))
    if how == "some" and keep:
        keep = set(draw(st.lists(st.sampled_from(sorted(keep)), min_size=1)))
    elif how == "more":
        keep |= set(draw(st.lists(st.sampled_from(own), min_size=1, max_size=3)))
    elif how == "none":
        keep = set()
    out.append(EdgeRetire(dataset, EdgeKind.HAS_COLUMN, Direction.OUT, frozenset(keep), prov))
    return draw(st.permutations(out)) if draw(st.booleans()) else out


@st.composite
def batches(draw: st.DrawFn) -> MutationBatch:
    batch = MutationBatch()
    for part in draw(st.lists(st.lists(node_upsert | edge_upsert | edge_upsert | retire,
                                       max_size=20) | schemas(), max_size=5)):  # fmt: skip
        batch.extend(part)
    # a retirement keeping exactly what the event asserted at its anchor: "(no others)"
    for m in list(batch.mutations):
        if isinstance(m, EdgeUpsert) and draw(st.booleans()):
            batch.add(EdgeRetire(m.key.src, m.key.kind, Direction.OUT, frozenset({m.key.dst}),
                                 m.prov))  # fmt: skip
    return batch


def _same(got: list[HistoryEntry], expected: list[HistoryEntry]) -> None:
    assert got == expected
    assert [repr(e) for e in got] == [repr(e) for e in expected]
    assert [hash(e) for e in got] == [hash(e) for e in expected]
    for e in got:  # the entry_type an EntryType, every field set, as HistoryEntry(...) makes
        assert type(e) is HistoryEntry and type(e.entry_type) is EntryType
        assert e == HistoryEntry(**{f: getattr(e, f) for f in HistoryEntry.__dataclass_fields__})
        assert pickle.loads(pickle.dumps(e)) == e


# 300, not 600: 12.3 s of CI in ci81 (session 34: CI at its limit)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches(), st.integers(min_value=0, max_value=10**6))
def test_derivation_equals_415f788s(batch: MutationBatch, seq: int) -> None:
    props_before = [dict(m.props) for m in batch.mutations if not isinstance(m, EdgeRetire)]
    derived = history.history_entries(seq, batch)
    assert [m.props for m in batch.mutations if not isinstance(m, EdgeRetire)] == props_before
    _same(derived, old_history_entries(seq, batch))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(batches(), min_size=2, max_size=4))
def test_labels_kept_across_events_and_emptied_when_full(
    events: list[MutationBatch],
) -> None:
    """The labels kept by node id, event after event, and the keeping emptied when full (a
    small `_HELD`), change nothing."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(history, "_HELD", 5)
        history._DISPLAYS.clear()
        for seq, batch in enumerate(events):
            _same(history.history_entries(seq, batch), old_history_entries(seq, batch))
            assert len(history._DISPLAYS) <= 5


def test_the_generators_reach_the_branches() -> None:
    """Not vacuous: every edge kind has ends in the pool, a dataset's columns pass MAX_ITEMS, and
    a summary passes MAX_SUMMARY."""
    assert {kind for kind, _, _ in EDGES} == set(EdgeKind)
    assert len(FIELDS) > MAX_ITEMS
    batch = MutationBatch()
    prov = PROVS[0]
    dataset = DATASETS[-1]
    for c in (c for c in COLUMNS if c.parts[:2] == dataset.parts):
        batch.edge(dataset, EdgeKind.HAS_COLUMN, c, prov, type="int")
        batch.edge(c, EdgeKind.FEEDS, COLUMNS[0], prov)
    batch.add(EdgeRetire(COLUMNS[0], EdgeKind.FEEDS, Direction.IN, frozenset(COLUMNS[:3]), prov))
    derived = history.history_entries(1, batch)
    assert any(len(e.summary) == MAX_SUMMARY for e in derived)
    assert any("more)" in e.summary for e in derived)
    _same(derived, old_history_entries(1, batch))
