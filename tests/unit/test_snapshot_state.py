"""The embedded store's state as a snapshot holds it (format 2): the adjacency taken over as
written rather than rebuilt, records packed compactly (equal stamps and records held once, long
retirement logs deflated) — and every read answering as before."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from lineage_kg.graph import snapshot
from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.packed import Shapes
from lineage_kg.graph.records import Record
from lineage_kg.graph.snapshot import SnapshotHeader, SnapshotInvalid, read_snapshot
from lineage_kg.ingest.demo import demo_batch

EVENT = "e" * 64
TIME = "2026-01-01T00:00:00.000000Z"


def _stamps(*props: str, event: str = EVENT) -> str:
    # built afresh each call: equal texts, distinct objects (as the merge makes them)
    return json.dumps({p: [TIME, event] for p in props}, sort_keys=True, separators=(",", ":"))


def _retired(far: list[str]) -> str:
    log = {"FEEDS|in": [[TIME, EVENT, None, 1, None]]}
    return json.dumps({"log": log, "sets": [sorted(far)]}, sort_keys=True, separators=(",", ":"))


def _node(key: NodeKey, **more: object) -> Record:
    return {
        "key": key.id,
        "kind": key.kind.value,
        "display": key.display,
        **key.fields,
        "sources": ["openlineage"],
        "first_seen": TIME,
        "first_event": EVENT,
        "last_seen": TIME,
        "last_event": EVENT,
        "_stamps": "{}",
        **more,
    }


def _edge(**more: object) -> Record:
    return {
        "disc": "",
        "sources": ["openlineage"],
        "first_seen": TIME,
        "first_event": EVENT,
        "last_seen": TIME,
        "last_event": EVENT,
        "_stamps": _stamps("transformation_types"),
        "transformation_types": ["DIRECT"],
        **more,
    }


def _columns(n: int) -> list[NodeKey]:
    return [
        NodeKey.of(NodeKind.COLUMN, namespace="ns", name=f"d{i % 7}", field=f"c{i}")
        for i in range(n)
    ]


def _random_store(seed: int) -> EmbeddedStore:
    """Columns fed by columns at random (parallel edges, loops, long lists), some retired, some
    written twice, then a few columns deleted (their edges go: empty slots and shortened lists)."""
    rng = random.Random(seed)
    cols = _columns(40)
    store = EmbeddedStore()
    with store._unit_of_work() as uow:
        nodes = {
            c.id: _node(c, _retired=_retired([x.id for x in rng.sample(cols, 6)])) for c in cols
        }
        edges = {}
        for _ in range(300):
            a, b = rng.choice(cols), rng.choice(cols)
            disc = rng.choice(["", "", "sql"])
            more = {"valid_to": TIME, "retired_by": EVENT} if rng.random() < 0.2 else {}
            edges[(a.id, EdgeKind.FEEDS.value, b.id, disc)] = _edge(disc=disc, **more)
        uow.write(nodes, edges)
        uow.set_checkpoint(3)
    with store._unit_of_work() as uow:
        uow.delete_nodes([c.id for c in rng.sample(cols, 5)])
        again = {e: _edge(ordinal=1) for e in rng.sample(sorted(edges), 40)}
        uow.write({}, {k: v for k, v in again.items() if k[0] in nodes}, frozenset(), frozenset())
    return store


def _through_file(store: EmbeddedStore, tmp_path: Path) -> EmbeddedStore:
    path = tmp_path / "snapshot"
    header = SnapshotHeader(snapshot.FORMAT, store.checkpoint(), "h", "test", TIME)
    snapshot.write_snapshot(path, store.export_state(), header)
    return EmbeddedStore.from_state(read_snapshot(path)[1])


@pytest.mark.parametrize("seed", range(6))
def test_the_adjacency_and_columns_come_back_as_they_were(seed: int, tmp_path: Path) -> None:
    store = _random_store(seed)
    back = _through_file(store, tmp_path)
    g, h = store._g, back._g
    assert [{n: list(e) for n, e in t.items()} for t in h.adj] == [
        {n: list(e) for n, e in t.items()} for t in g.adj
    ]
    assert any(len(e) > 1 for t in g.adj for e in t.values())  # lists, not only single edges
    assert (h.esrc, h.edst, h.ekind, h.edisc) == (g.esrc, g.edst, g.ekind, g.edisc)
    assert -1 in g.ekind  # deleted edges' slots kept empty, ends and all
    assert (h.efirst, h.eto, h.ids, h.names) == (g.efirst, g.eto, g.ids, g.names)
    assert h.kmask == g.kmask
    assert list(back.iter_edges()) == list(store.iter_edges())
    assert list(back.iter_nodes()) == list(store.iter_nodes())
    # and it goes on like the original: the same writes, the same answers
    cols = [c.id for c in _columns(40) if c.id in g.ids]
    for s in (store, back):
        with s._unit_of_work() as uow:
            uow.write({}, {(cols[0], EdgeKind.FEEDS.value, cols[1], "new"): _edge(disc="new")})
        with s._unit_of_work() as uow:
            uow.delete_nodes([cols[2]])
    assert list(back.iter_edges()) == list(store.iter_edges())
    assert [{n: list(e) for n, e in t.items()} for t in back._g.adj] == [
        {n: list(e) for n, e in t.items()} for t in store._g.adj
    ]


def test_equal_stamps_and_records_are_held_once() -> None:
    shapes = Shapes()
    a, b = shapes.pack(_edge()), shapes.pack(_edge())
    assert a is b  # one event's fifty equal edges: one tuple
    other = shapes.pack(_edge(ordinal=3, _stamps=_stamps("ordinal", "transformation_types")))
    same_stamps = shapes.pack(_edge(ordinal=4, _stamps=_stamps("ordinal", "transformation_types")))
    assert other is not same_stamps
    at = shapes.all[other[0]].at["_stamps"]
    assert other[at] is same_stamps[at]
    assert shapes.unpack(other) == _edge(
        ordinal=3, _stamps=_stamps("ordinal", "transformation_types")
    )
    assert shapes.pack(_edge(ordinal=3, _stamps=_stamps("x", event="f" * 64))) is not other


def test_long_retirement_logs_are_kept_deflated_and_read_as_written(tmp_path: Path) -> None:
    cols = _columns(30)
    text = _retired([c.id for c in cols])
    shapes = Shapes()
    packed = shapes.pack(_node(cols[0], _retired=text))
    held = packed[shapes.all[packed[0]].at["_retired"]]
    assert type(held) is bytes and len(held) < len(text) / 2
    assert shapes.unpack(packed)["_retired"] == text
    assert shapes.get(packed, "_retired") == text
    short = shapes.pack(_node(cols[1], _retired='{"log":{},"sets":[]}'))
    assert shapes.get(short, "_retired") == '{"log":{},"sets":[]}'
    # through the store and its snapshot: what the merge reads is what it wrote
    store = EmbeddedStore()
    with store._unit_of_work() as uow:
        uow.write({cols[0].id: _node(cols[0], _retired=text)}, {})
        uow.set_checkpoint(1)
    back = _through_file(store, tmp_path)
    with back._unit_of_work() as uow:
        assert uow.load_nodes([cols[0].id]) == {cols[0].id: _node(cols[0], _retired=text)}
    assert back.get_nodes([cols[0].id]) == store.get_nodes([cols[0].id])


def test_the_demo_graph_reads_the_same_from_its_snapshot(tmp_path: Path) -> None:
    store = EmbeddedStore()
    store.apply(demo_batch(), checkpoint=7)
    back = _through_file(store, tmp_path)
    assert list(back.iter_nodes()) == list(store.iter_nodes())
    assert list(back.iter_edges()) == list(store.iter_edges())
    assert back.stats() == store.stats()


def test_a_format_1_snapshot_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "snapshot"
    header = SnapshotHeader(1, 7, "h", "test", TIME)  # the layout before the adjacency was kept
    snapshot.write_snapshot(path, EmbeddedStore().export_state(), header)
    with pytest.raises(SnapshotInvalid, match="format 1, this build reads format 2"):
        read_snapshot(path)


def test_the_adjacency_read_after_the_lock_is_the_one_copied_under_it() -> None:
    """`export_state` copies the tables under the lock and reads their lists after it; writes
    in between (an edge appended to a copied list, a node deleted: edges leave lists) must not
    show in what it exports."""
    from lineage_kg.graph.embedded import KIND_NO, _export_adjacency

    store = _random_store(1)
    g = store._g
    before = _export_adjacency(g.adj, len(g.esrc))
    tables, edges = [t.copy() for t in g.adj], len(g.esrc)
    cols = [c.id for c in _columns(40) if c.id in g.ids]
    feeds_in = g.adj[KIND_NO[EdgeKind.FEEDS.value] * 2 + 1]
    busy = max(cols, key=lambda c: len(feeds_in.get(g.ids[c], ())))  # its edges leave lists
    with store._unit_of_work() as uow:  # new edges from and to nodes that already have some
        late = {(c, EdgeKind.FEEDS.value, cols[0], "late"): _edge(disc="late") for c in cols}
        uow.write({}, late)
    with store._unit_of_work() as uow:
        uow.delete_nodes([busy, cols[3]])
    assert len(g.esrc) > edges
    assert _export_adjacency(tables, edges) == before
    assert _export_adjacency(g.adj, len(g.esrc)) != before
