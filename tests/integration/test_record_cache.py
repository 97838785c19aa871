"""The write-through cache of the records the projector wrote (graph/record_cache.py) must never
change the graph: a generated estate projected with it and without it gives the same nodes and
edges on both stores, and what it holds at the end is exactly what the store holds. Each way it
is invalidated is checked by a write it must not hide: another writer's change, then a failed
transaction, `clear`, or a fenced batch; a read racing a commit never puts an older record back."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import NodeKey, NodeKind
from lineage_kg.graph.mutations import NodeUpsert, Provenance
from lineage_kg.graph.record_cache import RecordCache, attach, through_cache
from lineage_kg.graph.store import GraphStore, UnitOfWork
from lineage_kg.ingest.eventlog import EventLog
from lineage_kg.ingest.projector import Projector
from lineage_kg.ingest.sources import default_mappers
from tests.integration.test_projector_pipeline import build_log, files, sequential, snapshot

__all__ = ["files"]  # the module fixture, shared


class CachedEmbedded(EmbeddedStore):
    """The embedded store reading through the cache as Neo4j does (the projector attaches it)."""

    record_cache: RecordCache | None = None

    def _unit_of_work(self) -> AbstractContextManager[UnitOfWork]:
        return through_cache(self.record_cache, super()._unit_of_work())

    def clear(self) -> None:  # as Neo4jStore.clear
        super().clear()
        if self.record_cache is not None:
            self.record_cache.clear()


@pytest.fixture(params=["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def cached_store(request: pytest.FixtureRequest) -> Iterator[GraphStore]:
    store = (
        CachedEmbedded() if request.param == "embedded" else request.getfixturevalue("neo4j_store")
    )
    yield store
    store.record_cache = None  # type: ignore[attr-defined]  # the session's store, for others


@pytest.fixture(scope="module")
def estate(files: Path) -> Iterator[EventLog]:
    log = build_log(files, files.parent / "cache-events.sqlite3")
    yield log
    log.close()


def _held(store: GraphStore, cache: RecordCache) -> dict[Any, Any]:
    """What the cache holds, each key as the store answers it (None: absent), read around it."""
    keys = list(cache._entries)  # the test looks inside
    nodes = [k for k in keys if isinstance(k, str)]
    edges = [k for k in keys if isinstance(k, tuple) and len(k) == 4]
    names = [k[1] for k in keys if isinstance(k, tuple) and len(k) == 2]
    saved, store.record_cache = cache, None  # type: ignore[attr-defined]
    try:
        with store._unit_of_work() as uow:
            found: dict[Any, Any] = dict(uow.load_nodes(nodes))
            found.update(uow.load_edges(edges))
            found.update({("alias", k): v for k, v in uow.load_aliases(names).items()})
    finally:
        store.record_cache = saved  # type: ignore[attr-defined]
    return {k: found.get(k) for k in keys}


def test_the_graph_is_the_same_with_and_without_the_cache(
    estate: EventLog, cached_store: GraphStore, caplog: pytest.LogCaptureFixture
) -> None:
    projector = Projector(estate, cached_store, default_mappers(), batch_size=7)
    cache = projector.records
    assert cache is not None and cached_store.record_cache is cache  # type: ignore[attr-defined]
    with caplog.at_level(logging.ERROR, logger="lineage_kg.ingest.projector"):
        status = projector.catch_up(timeout=300)
    assert status.lag == 0 and status.parked == 0
    assert "one by one" not in caplog.text
    assert cache.hits > 0 and cache.misses > 0
    # it began on an empty store: keys it never wrote were answered absent without a read, and
    # every key the store holds is one it saw written (no false "absent")
    assert cache.knows_every_key and cache.surely_absent > 1000
    keys = cache._keys
    assert keys is not None
    assert [n.id for n in cached_store.iter_nodes() if n.id not in keys] == []
    assert [e.key.id for e in cached_store.iter_edges() if e.key.id not in keys] == []
    assert snapshot(cached_store) == snapshot(sequential(estate, batch_size=500))
    # and every entry is what the store holds under that key
    held = {k: v for k, v in cache._entries.items()}
    assert len(held) > 1000
    assert _held(cached_store, cache) == held


def test_a_small_cache_stays_small_and_gives_the_same_graph(estate: EventLog) -> None:
    store = CachedEmbedded()
    projector = Projector(estate, store, default_mappers(), batch_size=5, cache_records=50)
    assert projector.records is not None
    projector.catch_up(timeout=300)
    assert len(projector.records) <= 50
    assert snapshot(store) == snapshot(sequential(estate, batch_size=500))


def test_no_cache_where_another_process_may_write(estate: EventLog) -> None:
    class Lease:
        def held(self) -> bool:
            return True

    store = CachedEmbedded()
    assert Projector(estate, store, default_mappers(), lease=Lease()).records is None
    assert Projector(estate, store, default_mappers(), writes=False).records is None
    assert store.record_cache is None
    assert attach(EmbeddedStore(), 10) is None  # a store without the hook


# ---- invalidation: each case hides another writer's change unless the cache forgets ----------
PROV = Provenance(source="test", event_id="e1", event_time="2026-01-01T00:00:00Z")
LATER = Provenance(source="test", event_id="e3", event_time="2026-01-03T00:00:00Z")
X = NodeKey(NodeKind.DATASET, ("ns", "x"))
Y = NodeKey(NodeKind.DATASET, ("ns", "y"))


def _behind_its_back(store: GraphStore, props: dict[str, Any], key: NodeKey = X) -> None:
    """Another writer's change to X, which this store's cache does not see."""
    saved, store.record_cache = store.record_cache, None  # type: ignore[attr-defined]
    try:
        other = Provenance(source="other", event_id="e2", event_time="2026-01-02T00:00:00Z")
        store.apply([NodeUpsert(key, other, props)])
    finally:
        store.record_cache = saved  # type: ignore[attr-defined]


def _cached(store: GraphStore) -> RecordCache:
    cache = RecordCache()
    store.record_cache = cache  # type: ignore[attr-defined]
    store.apply([NodeUpsert(X, PROV, {"a": 1})])
    with store._unit_of_work() as uow:  # X now read from the cache
        assert uow.load_nodes([X.id])[X.id]["a"] == 1
    assert cache.hits >= 1
    return cache


def _after(store: GraphStore) -> dict[str, Any]:
    """X once a later assertion is merged into it: the other writer's prop must be there."""
    store.apply([NodeUpsert(X, LATER, {"c": 3})])
    node = store.get_node(X.id)
    assert node is not None
    return {k: node.props.get(k) for k in ("a", "b", "c")} | {"sources": node.sources}


def test_the_control_a_change_behind_its_back_is_hidden(cached_store: GraphStore) -> None:
    """Not a property of the code: the reason each case below must clear (without a clear, the
    other writer's prop is lost by the next merge)."""
    _cached(cached_store)
    _behind_its_back(cached_store, {"b": 2})
    assert _after(cached_store)["b"] is None


def test_a_failed_transaction_clears_it(cached_store: GraphStore) -> None:
    cache = _cached(cached_store)
    _behind_its_back(cached_store, {"b": 2})
    with pytest.raises(RuntimeError, match="refused"), cached_store._unit_of_work() as uow:
        uow.load_nodes([X.id])
        raise RuntimeError("refused")
    assert len(cache) == 0 and not cache.knows_every_key
    assert _after(cached_store) == {"a": 1, "b": 2, "c": 3, "sources": ("other", "test")}


def test_a_failed_transaction_forgets_which_keys_exist(cached_store: GraphStore) -> None:
    """Started on an empty store, the cache answers "absent" for keys it never saw written; a
    failed unit of work (which may have committed: a lost reply) ends that."""
    cache = RecordCache()
    cached_store.record_cache = cache  # type: ignore[attr-defined]
    cache.start_from_empty()
    cached_store.apply([NodeUpsert(X, PROV, {"a": 1})])
    before = cache.surely_absent
    with cached_store._unit_of_work() as uow:
        assert uow.load_nodes([Y.id]) == {}
    assert cache.surely_absent == before + 1  # not read
    _behind_its_back(cached_store, {"b": 2}, Y)  # another writer creates Y
    with pytest.raises(RuntimeError, match="refused"), cached_store._unit_of_work():
        raise RuntimeError("refused")
    assert not cache.knows_every_key
    cached_store.apply([NodeUpsert(Y, LATER, {"c": 3})])
    node = cached_store.get_node(Y.id)
    assert node is not None and node.props.get("b") == 2 and node.sources == ("other", "test")


def test_clear_clears_it(cached_store: GraphStore) -> None:
    cache = _cached(cached_store)
    cached_store.clear()
    assert len(cache) == 0
    assert _after(cached_store) == {"a": None, "b": None, "c": 3, "sources": ("test",)}


def test_a_fenced_write_clears_it(cached_store: GraphStore) -> None:
    from lineage_kg.graph.store import CheckpointMoved

    cache = _cached(cached_store)
    cached_store.apply([], checkpoint=5)
    _behind_its_back(cached_store, {"b": 2})
    with pytest.raises(CheckpointMoved):
        cached_store.apply([NodeUpsert(X, LATER, {"c": 3})], checkpoint=9, after=4)
    assert len(cache) == 0
    assert _after(cached_store) == {"a": 1, "b": 2, "c": 3, "sources": ("other", "test")}


@pytest.mark.parametrize("how", ["stands_down", "takes_over"])
def test_the_projector_forgets_when_it_stops_or_starts_writing(
    estate: EventLog, cached_store: GraphStore, how: str
) -> None:
    projector = Projector(estate, cached_store, default_mappers(), batch_size=40, pipeline=False)
    projector.step()
    cache = projector.records
    assert cache is not None
    held = dict(cache._entries)  # the test looks inside
    jobs = [k for k, v in held.items() if isinstance(k, str) and v and v["kind"] == "Job"]
    assert len(jobs) > 3
    # another writer's prop on them, at a time before any event (their last event stays)
    saved, cached_store.record_cache = cache, None  # type: ignore[attr-defined]
    early = Provenance(source="other", event_id="e0", event_time="2000-01-01T00:00:00Z")
    cached_store.apply([NodeUpsert(NodeKey.from_id(j), early, {"b": 2}) for j in jobs])
    cached_store.record_cache = saved  # type: ignore[attr-defined]
    if how == "stands_down":  # as when another writer moved the checkpoint
        projector._stand_down()
        assert len(cache) == 0
    else:  # as when the lease came back: it takes over at its next step
        projector._writing = False
    assert projector.catch_up(timeout=300).lag == 0
    assert not cache.knows_every_key  # it took over a graph that was not empty
    nodes = cached_store.get_nodes(jobs)
    assert [n.id for n in nodes if n.props.get("b") != 2] == []
    # later events wrote some of them again: a stale record would have dropped the prop there
    assert any(n.last_event != held[n.id]["last_event"] for n in nodes)


# ---- the cache alone ---------------------------------------------------------------------------
def test_a_read_older_than_a_commit_never_replaces_it() -> None:
    cache = RecordCache()
    began = cache.generation  # a unit of work reads X (old) while another commits X (new)
    cache.install({"x": {"v": 2}})
    cache.offer({"x": {"v": 1}, "y": {"v": 1}}, ["x", "y", "z"], began)
    found, missing = cache.lookup(["x", "y", "z", "w"])
    assert found == {"x": {"v": 2}, "y": {"v": 1}, "z": None} and missing == ["w"]
    cache.clear()
    cache.offer({"x": {"v": 1}}, ["x"], began)  # begun before the clear: dropped
    assert len(cache) == 0


def test_a_read_older_than_the_commits_it_knows_is_dropped() -> None:
    cache = RecordCache()
    began = cache.generation
    for i in range(100):
        cache.install({f"k{i}": {"v": i}})
    cache.offer({"x": {"v": 1}}, ["x"], began)
    assert cache.lookup(["x"]) == ({}, ["x"])


def test_what_it_gives_out_cannot_change_what_it_holds() -> None:
    cache = RecordCache()
    written = {"sources": ["a"], "n": 1, "gone": None, "t": ("p", "q")}
    cache.install({"x": written})
    written["sources"].append("b")
    found, _ = cache.lookup(["x"])
    assert found["x"] == {"sources": ["a"], "n": 1, "t": ["p", "q"]}  # as Neo4j stores it
    found["x"]["sources"].append("c")
    found["x"]["n"] = 2
    assert cache.lookup(["x"])[0]["x"] == {"sources": ["a"], "n": 1, "t": ["p", "q"]}


def test_least_recently_used_first_out() -> None:
    cache = RecordCache(max_records=3)
    cache.install({"a": {}, "b": {}, "c": {}})
    cache.lookup(["a"])
    cache.install({"d": {}})
    assert len(cache) == 3
    assert cache.lookup(["a", "b", "c", "d"])[1] == ["b"]


@pytest.mark.parametrize(("setting", "kept"), [(None, 20_000), ("0", None), ("300", 300)])
def test_lkg_record_cache_sizes_the_service_projectors_cache_or_turns_it_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str | None, kept: int | None
) -> None:
    from lineage_kg.runtime import Runtime
    from lineage_kg.settings import Settings

    if setting is not None:
        monkeypatch.setenv("LKG_RECORD_CACHE", setting)
    store = CachedEmbedded()
    with Runtime.open(Settings(data_dir=tmp_path), store=store) as runtime:
        records = runtime.projector.records
        assert (records.max_records if records is not None else None) == kept
        assert store.record_cache is records
