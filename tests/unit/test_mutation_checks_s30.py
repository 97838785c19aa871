"""Session 30's cheaper construction of mutations, held to the code before it (kept verbatim here
as the oracle):

- `NodeUpsert`/`EdgeUpsert` check their props through `plainly_storable` first and fall back to
  `check_props` only when it says no: over generated props (every scalar type, str and int
  subclasses, enums, None, nested and mixed lists, reserved names) they raise exactly when, and
  what, the old checks raised; and `plainly_storable` never passes props `check_props` refuses;
- `EdgeKey` checks its ends against the flattened spec and builds its id from `_value_`: for every
  (edge kind, source kind, target kind) it is refused exactly when the old spec check refused it,
  and its id is the old id;
- `EventGraph.edge` builds the upsert itself: the same mutation as `MutationBatch.edge` of the
  cleaned props (the old path), and the same key returned;
- `Projector._map_all` maps with the cyclic collector paused and sets it back as it was.
"""

from __future__ import annotations

import enum
import gc
import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import (
    KEY_FIELDS,
    RESERVED_PROPS,
    EdgeKind,
    NodeKey,
    NodeKind,
    check_props,
)
from lineage_kg.graph.mutations import (
    EdgeKey,
    EdgeUpsert,
    MutationBatch,
    NodeUpsert,
    Provenance,
    plainly_storable,
)
from lineage_kg.ingest.eventlog import EventLog, LogEntry, NewEvent
from lineage_kg.ingest.openlineage.builder import EventGraph, _clean
from lineage_kg.ingest.projector import Projector

PROV = Provenance("openlineage", "e1", "2026-01-01T00:00:00Z")


class Str(str):
    pass


class Int(int):
    pass


class Colour(enum.StrEnum):
    RED = "red"


# ---- the code before (session 29), verbatim ---------------------------------------------------
def old_node_check(key: NodeKey, props: dict[str, Any]) -> None:
    reserved = RESERVED_PROPS | set(KEY_FIELDS[key.kind])
    check_props(props, reserved, f"{key.kind} {key.display}")


def old_edge_check(key: EdgeKey, props: dict[str, Any]) -> None:
    check_props(props, RESERVED_PROPS, f"{key.kind} edge")


def old_edge_key_check(src: NodeKey, kind: EdgeKind, dst: NodeKey) -> None:
    spec = kind.spec
    if src.kind not in spec.sources or dst.kind not in spec.targets:
        raise ValueError(f"{kind} cannot connect {src.kind} to {dst.kind}")


def old_edge_id(src: NodeKey, kind: EdgeKind, dst: NodeKey, disc: str) -> tuple[str, ...]:
    return (src.id, kind.value, dst.id, disc)


# ---- generated props ---------------------------------------------------------------------------
scalars = st.one_of(
    st.text(max_size=3),
    st.integers(-3, 3),
    st.floats(allow_nan=False, width=16),
    st.booleans(),
    st.none(),
    st.builds(Str, st.text(max_size=2)),
    st.builds(Int, st.integers(0, 2)),
    st.just(Colour.RED),
    st.just(b"x"),
    st.just({"a": 1}),
)
plain = st.one_of(st.text(max_size=2), st.integers(-2, 2), st.booleans(), st.floats(0, 1, width=16))
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=4),
    st.lists(plain, min_size=2, max_size=3),  # of one type or mixed (bool and int, say)
    st.lists(st.lists(scalars), max_size=2),
)
names = st.one_of(
    st.sampled_from(sorted(RESERVED_PROPS)),
    st.sampled_from(["namespace", "name", "field", "run_id"]),  # key fields of some kinds
    st.text(min_size=1, max_size=4),
)
props_st = st.dictionaries(names, values, max_size=4)
NODE_KEYS = [
    NodeKey(NodeKind.DATASET, ("ns", "t")),
    NodeKey(NodeKind.COLUMN, ("ns", "t", "c")),
    NodeKey(NodeKind.JOB, ("ns", "j")),
]


def outcome(check: Any, *args: Any) -> tuple[str, str] | None:
    try:
        check(*args)
    except Exception as exc:
        return type(exc).__name__, str(exc)
    return None


@settings(max_examples=600, deadline=None)
@given(props=props_st)
def test_plainly_storable_never_passes_what_check_props_refuses(props: dict[str, Any]) -> None:
    for reserved in [RESERVED_PROPS, RESERVED_PROPS | frozenset(KEY_FIELDS[NodeKind.COLUMN])]:
        if plainly_storable(props, reserved):
            assert outcome(check_props, props, reserved, "x") is None


@settings(max_examples=600, deadline=None)
@given(props=props_st, at=st.sampled_from(NODE_KEYS))
def test_upserts_raise_as_the_old_checks_did(props: dict[str, Any], at: NodeKey) -> None:
    assert outcome(NodeUpsert, at, PROV, props) == outcome(old_node_check, at, props)
    edge = EdgeKey(NODE_KEYS[0], EdgeKind.HAS_COLUMN, NODE_KEYS[1])
    assert outcome(EdgeUpsert, edge, PROV, props) == outcome(old_edge_check, edge, props)


def test_edge_keys_are_refused_and_named_as_before() -> None:
    ends = {kind: NodeKey(kind, tuple("x" for _ in KEY_FIELDS[kind])) for kind in NodeKind}
    for kind, src, dst in itertools.product(EdgeKind, NodeKind, NodeKind):
        new = outcome(EdgeKey, ends[src], kind, ends[dst], "d")
        assert new == outcome(old_edge_key_check, ends[src], kind, ends[dst])
        if new is None:
            key = EdgeKey(ends[src], kind, ends[dst], "d")
            assert key.id == old_edge_id(ends[src], kind, ends[dst], "d")


@settings(max_examples=300, deadline=None)
@given(props=st.dictionaries(st.sampled_from(["a", "b", "type", "ordinal"]), values, max_size=4))
def test_event_graph_edge_is_the_old_path(props: dict[str, Any]) -> None:
    src, dst = NODE_KEYS[0], NODE_KEYS[1]
    old = MutationBatch()
    try:
        old_key = old.edge(src, EdgeKind.HAS_COLUMN, dst, PROV, "", **_clean(props))
    except Exception as exc:
        with pytest.raises(type(exc), match=None):
            EventGraph(PROV).edge(src, EdgeKind.HAS_COLUMN, dst, **props)
        return
    g = EventGraph(PROV)
    key = g.edge(src, EdgeKind.HAS_COLUMN, dst, **props)
    assert key == old_key
    assert key.id == old_key.id
    [new] = g.finish().mutations
    [was] = old.mutations
    assert new == was
    assert list(new.props.items()) == list(was.props.items())  # the same order too


def test_map_all_pauses_the_collector_and_sets_it_back(tmp_path: Path) -> None:
    seen: list[bool] = []

    def mapper(entry: LogEntry) -> MutationBatch:
        seen.append(gc.isenabled())
        if entry.seq == 2:
            raise ValueError("unmappable")  # parked: the block still ends
        return MutationBatch()

    log = EventLog(tmp_path / "events.sqlite3")
    log.append(
        [NewEvent("test", "Event", f"2026-01-01T00:00:0{n}.000000Z", {"n": n}) for n in range(3)]
    )
    projector = Projector(log, EmbeddedStore(), {"test": mapper})
    entries = log.read(0, 10)
    assert gc.isenabled()
    projector._map_all(entries)
    assert seen == [False, False, False]
    assert gc.isenabled()
    gc.disable()
    try:
        projector._map_all(entries)
        assert not gc.isenabled()  # as it was
    finally:
        gc.enable()
    log.close()
