"""graph/validity.py's remembering and settling (session 28: the canonical text written piece by
piece, entries as named tuples, `settle_all` inline with each end's log looked up once per node,
an anchor's repeated provenance merged once) held to the code as it stood
(tests/unit/validity_s27_oracle.py, verbatim) over generated inputs:

- `remember_all` on anchors that remember nothing yet or already remember retirements (texts the
  old code wrote, parsed afresh or cached), with duplicates and retirements of one event: the
  same records, byte for byte, and the same records left untouched (identity);
- `settle_all` on edges whose ends remember retirements, or not, or are absent, with stale
  `valid_to`/`retired_by` of every shape: the same records, the same left untouched;
- `_dump` on logs of arbitrary strings (quotes, backslashes, control and non-ASCII characters):
  the same text, which reads back as the log;
- event streams through the embedded store in any arrival order, cut into batches anywhere: the
  same stored records after every batch as the old functions give, and the same final graph as
  the time-ordered stream (a late event gives what an early one does)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.graph import store as store_module
from lineage_kg.graph import validity
from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import (
    Direction,
    EdgeKey,
    EdgeRetire,
    EdgeUpsert,
    MutationBatch,
    Provenance,
)
from lineage_kg.graph.records import EdgeId, Record, merge_node
from tests.unit import validity_s27_oracle as old

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TIMES = ["2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z", "2026-03-01T12:00:00Z"]
EVENTS = ["e1", "e2", 'e"3', "é4"]
NAMES = ["a", "b", 'q"uote', "back\\slash", "é", "line\u2028sep", "pipe|x", "\U0001f600"]
COLUMNS = [NodeKey(NodeKind.COLUMN, ("pg", "t", n)) for n in NAMES] + [
    NodeKey(NodeKind.COLUMN, ("pg", "u", "a"))
]
DATASETS = [NodeKey(NodeKind.DATASET, ("pg", "t")), NodeKey(NodeKind.DATASET, ("pg", "u"))]
NODES = COLUMNS + DATASETS
KINDS = [EdgeKind.FEEDS, EdgeKind.HAS_COLUMN, EdgeKind.OWNS]
DISCS = ["", "sql", 'd"q']

provs = st.builds(
    Provenance,
    st.sampled_from(["openlineage", "dbt"]),
    st.sampled_from(EVENTS),
    st.sampled_from(TIMES),
)
node_sets = st.frozensets(st.sampled_from(NODES), max_size=3)
retires = st.builds(
    EdgeRetire,
    st.sampled_from(NODES),
    st.sampled_from(KINDS),
    st.sampled_from(list(Direction)),
    node_sets,
    provs,
    st.sampled_from([None, *DISCS]),
    st.none() | node_sets,
)


# crowded: few anchors, one kind, late times, so that several apply to one edge and tie
crowded = st.builds(
    EdgeRetire,
    st.sampled_from(NODES[:2]),
    st.just(EdgeKind.FEEDS),
    st.sampled_from(list(Direction)),
    st.frozensets(st.sampled_from(NODES[:3]), max_size=1),
    st.builds(
        Provenance, st.just("openlineage"), st.sampled_from(EVENTS), st.sampled_from(TIMES[1:])
    ),
    st.sampled_from([None, ""]),
)


@st.composite
def batches(draw: st.DrawFn) -> list[EdgeRetire]:
    """Retirements as a batch has them: some twice, some of one event at one anchor in a row."""
    batch = draw(st.lists(retires, min_size=1, max_size=10))
    again = draw(st.lists(st.sampled_from(batch), max_size=3))
    one = batch[0]
    same = [  # the same provenance object at the same anchor, other kinds or sets
        EdgeRetire(one.anchor, kind, way, keep, one.prov, disc)
        for kind, way, keep, disc in draw(
            st.lists(
                st.tuples(
                    st.sampled_from(KINDS),
                    st.sampled_from(list(Direction)),
                    node_sets,
                    st.sampled_from([None, *DISCS]),
                ),
                max_size=3,
            )
        )
    ]
    mixed = [*batch, *again]
    at = draw(st.integers(0, len(mixed)))
    return [*mixed[:at], *same, *mixed[at:]]


def start_nodes(before: list[EdgeRetire], plain: list[NodeKey], prov: Provenance) -> dict:
    """Anchors remembering what the old code wrote, and nodes remembering nothing."""
    nodes: dict[str, Record] = {}
    for key in plain:
        nodes[key.id] = merge_node(None, key, {}, prov)
    old.remember_all(before, nodes)
    return nodes


def untouched(after: dict[Any, Record], start: dict[Any, Record]) -> set[Any]:
    return {k for k, r in after.items() if r is start.get(k)}


@SETTINGS
@given(
    st.lists(retires, max_size=8),
    batches(),
    st.lists(st.sampled_from(NODES), max_size=4),
    provs,
    st.booleans(),
)
def test_remember_all_as_before(
    before: list[EdgeRetire],
    batch: list[EdgeRetire],
    plain: list[NodeKey],
    prov: Provenance,
    parsed_afresh: bool,
) -> None:
    start = start_nodes(before, plain, prov)
    if parsed_afresh:
        validity._parsed.clear()
    mine, theirs = dict(start), dict(start)
    validity.remember_all(batch, mine)
    old.remember_all(batch, theirs)
    assert mine == theirs
    assert untouched(mine, start) == untouched(theirs, start)
    for record in mine.values():  # a text this wrote reads back as the log it wrote it from
        if text := record.get(validity.RETIRED):
            assert validity._parse(text) == validity._read(text)


@st.composite
def edge_records(draw: st.DrawFn, at: list[EdgeRetire]) -> tuple[EdgeId, Record]:
    """An edge record; most at one of `at`'s anchors, of its kind and way (so that retirements
    apply to it, or just miss: far end kept, another disc), the rest anywhere."""
    kind, disc = draw(st.sampled_from(KINDS)), draw(st.sampled_from(DISCS))
    src, dst = draw(st.sampled_from(NODES)), draw(st.sampled_from(NODES))
    times, events = TIMES, EVENTS  # a stale end's
    if at and draw(st.integers(0, 3)):
        retire = draw(st.sampled_from(at))
        kind, disc = retire.kind, draw(st.sampled_from([retire.disc or "", *DISCS]))
        times, events = [retire.prov.event_time, *TIMES], [retire.prov.event_id, *EVENTS]
        if retire.direction is Direction.OUT:
            src = retire.anchor
        else:
            dst = retire.anchor
    eid = (src.id, kind.value, dst.id, disc)
    last = draw(st.sampled_from([*TIMES[:2], *TIMES]))  # before some retirement, mostly
    first = draw(st.sampled_from([t for t in TIMES if t <= last]))
    record: Record = {
        "disc": disc,
        "sources": ["openlineage"],
        "first_seen": first,
        "first_event": draw(st.sampled_from(EVENTS)),
        "last_seen": last,
        "last_event": draw(st.sampled_from(EVENTS)),
        "_stamps": "{}",
    }
    # a store written before retirements were remembered, or settled before: every shape
    shape = draw(st.sampled_from(["none", "both", "to only", "by only", "by None"]))
    if shape in ("both", "to only", "by None"):
        record["valid_to"] = draw(st.sampled_from(times))
    if shape in ("both", "by only"):
        record["retired_by"] = draw(st.sampled_from(events))
    if shape == "by None":
        record["retired_by"] = None
    return eid, record


@SETTINGS
@given(
    st.lists(retires, max_size=6),
    st.lists(crowded, min_size=2, max_size=8),
    batches(),
    st.lists(st.sampled_from(NODES), max_size=3),
    st.data(),
)
def test_settle_all_as_before(
    before: list[EdgeRetire],
    near: list[EdgeRetire],
    batch: list[EdgeRetire],
    absent: list[NodeKey],
    data: st.DataObject,
) -> None:
    before = [*before, *near]
    records = data.draw(st.lists(edge_records([*before, *batch]), min_size=4, max_size=16))
    nodes = start_nodes(before, [], batch[0].prov)
    old.remember_all(batch, nodes)
    for key in absent:  # an end the batch does not hold
        nodes.pop(key.id, None)
    if data.draw(st.booleans()):
        validity._parsed.clear()
    edges = dict(records)
    ids = data.draw(st.lists(st.sampled_from(sorted(edges)), unique=True, min_size=1))
    mine, theirs = dict(edges), dict(edges)
    validity.settle_all(ids, mine, nodes)
    old.settle_all(ids, theirs, nodes)
    assert mine == theirs
    assert untouched(mine, edges) == untouched(theirs, edges)


texts = st.text(max_size=6)
text_sets = st.frozensets(texts, max_size=3)


@SETTINGS
@given(
    st.dictionaries(
        texts,
        st.lists(
            st.tuples(texts, texts, st.none() | texts, text_sets, st.none() | text_sets),
            max_size=4,
        ),
        max_size=3,
    )
)
def test_dump_writes_the_text_json_dumps_wrote(
    spec: dict[str, list[tuple[Any, ...]]],
) -> None:
    mine = {s: tuple(validity.Remembered(*e) for e in es) for s, es in spec.items()}
    theirs = {s: tuple(old.Remembered(*e) for e in es) for s, es in spec.items()}
    text = validity._dump(mine)
    assert text == old._dump(theirs)
    assert validity._read(text) == mine


# ---- event streams through the store: old and new functions, any arrival order ----------------
Event = list[Any]


@st.composite
def column_events(draw: st.DrawFn, index: int) -> Event:
    """One run's column lineage: a column fed by some others, and its dataset's columns."""
    prov = Provenance(
        "openlineage", f"e{index}-{draw(st.sampled_from(EVENTS))}", draw(st.sampled_from(TIMES))
    )
    target = draw(st.sampled_from(COLUMNS))
    inputs = draw(st.lists(st.sampled_from([c for c in COLUMNS if c != target]), max_size=3))
    disc = draw(st.sampled_from(["", "sql"]))
    dataset = draw(st.sampled_from(DATASETS))
    columns = draw(st.lists(st.sampled_from(COLUMNS), max_size=3, unique=True))
    mutations: Event = [EdgeUpsert(EdgeKey(c, EdgeKind.FEEDS, target, disc), prov) for c in inputs]
    mutations += [EdgeUpsert(EdgeKey(dataset, EdgeKind.HAS_COLUMN, c), prov) for c in columns]
    if draw(st.booleans()):  # a COMPLETE: what it did not say stops being current
        mutations.append(EdgeRetire(target, EdgeKind.FEEDS, Direction.IN, frozenset(inputs), prov))
        mutations.append(
            EdgeRetire(target, EdgeKind.FEEDS, Direction.IN, frozenset(), prov, disc="sql")
        )
        keep = frozenset(columns)
        mutations.append(EdgeRetire(dataset, EdgeKind.HAS_COLUMN, Direction.OUT, keep, prov))
    return mutations


@st.composite
def streams(draw: st.DrawFn) -> list[Event]:
    return [draw(column_events(i)) for i in range(draw(st.integers(1, 7)))]


@contextmanager
def old_validity() -> Iterator[None]:
    saved = store_module.remember_all, store_module.settle_all
    store_module.remember_all, store_module.settle_all = old.remember_all, old.settle_all
    try:
        yield
    finally:
        store_module.remember_all, store_module.settle_all = saved


def stored(store: EmbeddedStore) -> tuple[dict[str, Record], dict[EdgeId, Record]]:
    ids = [n.id for n in store.iter_nodes()]
    eids = [e.key.id for e in store.iter_edges()]
    with store._unit_of_work() as uow:
        return uow.load_nodes(ids), uow.load_edges(eids)


def batches_of(events: list[Event], cuts: list[int]) -> list[MutationBatch]:
    bounds = sorted({0, len(events), *(c % (len(events) + 1) for c in cuts)})
    return [
        MutationBatch([m for event in events[lo:hi] for m in event])
        for lo, hi in itertools.pairwise(bounds)
    ]


def time_of(event: Event) -> tuple[str, str]:
    return event[0].prov.stamp if event else ("", "")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams(), st.randoms(use_true_random=False), st.lists(st.integers(0, 10), max_size=3))
def test_streams_in_any_arrival_order_as_before(events: list[Event], rnd: Any, cuts: list[int]):
    arrived = list(events)
    rnd.shuffle(arrived)
    mine, theirs = EmbeddedStore(), EmbeddedStore()
    for batch in batches_of(arrived, cuts):
        mine.apply(batch)
        with old_validity():
            theirs.apply(batch)
        assert stored(mine) == stored(theirs)
    in_time = EmbeddedStore()
    in_time.apply(MutationBatch([m for e in sorted(events, key=time_of) for m in e]))
    assert list(mine.iter_edges()) == list(in_time.iter_edges())
    assert stored(mine)[0] == stored(in_time)[0]  # the nodes, and what they remember
