"""The projector's two-stage pipeline (batch k+1 merged while batch k commits) must leave exactly
the graph that applying the batches one after another leaves: on both stores, with small batches
so that consecutive batches keep touching the same nodes and edges, with a side table writing
between batches, and with a batch the store refuses half-way through the log."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.synthetic import write
from benchmarks.synthetic.load import load_sources
from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import NodeKind
from lineage_kg.graph.mutations import NodeUpsert, Provenance
from lineage_kg.graph.store import GraphStore, Prepared, UnitOfWork
from lineage_kg.ingest.eventlog import EventLog
from lineage_kg.ingest.files import read_events
from lineage_kg.ingest.intake import accept_many
from lineage_kg.ingest.projector import Projector
from lineage_kg.ingest.sources import default_mappers
from tests.contract.test_symlinks_across_events import events

NODES = 2_000


def build_log(files: Path, path: Path) -> EventLog:
    log = EventLog(path)
    events = [(i, e) for i, (_, e) in enumerate(read_events(files / write.EVENTS))]
    assert accept_many(log, events).rejected == []
    load_sources(files, log)
    return log


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pipeline") / "out"
    write.generate(out, NODES, 11)
    return out


@pytest.fixture(scope="module")
def estate(files: Path) -> Iterator[EventLog]:
    log = build_log(files, files.parent / "events.sqlite3")
    yield log
    log.close()


def snapshot(store: GraphStore) -> tuple[list[Any], list[Any]]:
    return (
        [(n.id, n.props, n.sources, n.first_event, n.last_event) for n in store.iter_nodes()],
        [
            (e.key.id, e.props, e.sources, e.last_event, e.valid_to, e.retired_by)
            for e in store.iter_edges()
        ],
    )


def sequential(log: EventLog, **kwargs: Any) -> EmbeddedStore:
    store = EmbeddedStore()
    Projector(log, store, default_mappers(), pipeline=False, **kwargs).catch_up(timeout=300)
    return store


def test_pipelined_batches_leave_the_graph_sequential_batches_leave(
    estate: EventLog, store: GraphStore, caplog: pytest.LogCaptureFixture
) -> None:
    projector = Projector(estate, store, default_mappers(), batch_size=7)
    with caplog.at_level(logging.ERROR, logger="lineage_kg.ingest.projector"):
        status = projector.catch_up(timeout=300)
    assert status.lag == 0 and status.parked == 0
    assert "one by one" not in caplog.text
    # every batch went to the writer: nothing fell back to one-by-one (a wrong overlay would
    # CREATE a node the batch in flight had just created, which Neo4j's constraint refuses)
    assert projector.batches_applied == -(-estate.last_seq() // 7)
    assert store.checkpoint() == estate.last_seq()
    expected = sequential(estate, batch_size=500)
    nodes, edges = snapshot(store)
    assert len(nodes) > NODES // 2
    assert (nodes, edges) == snapshot(expected)


class _Stamper:
    """A side table that writes into the graph once, half-way through the log: a prop on every
    dataset there is by then. A batch merged before that write and committed after it writes
    the datasets it touches back without the prop."""

    def __init__(self, at: int) -> None:
        self.at, self.calls, self.wrote = at, 0, 0
        self.stamped: list[str] = []

    def catch_up(self, log: EventLog, store: GraphStore, upto: int) -> None:
        self.calls += 1
        if upto < self.at or self.wrote:
            return
        self.wrote = upto
        prov = Provenance(source="test", event_id="side", event_time="2030-01-01T00:00:00Z")
        datasets = [n.key for n in store.iter_nodes() if n.key.kind is NodeKind.DATASET]
        store.apply([NodeUpsert(key, prov, {"side_upto": upto}) for key in datasets])
        self.stamped = [key.id for key in datasets]


def test_a_side_table_write_between_batches_is_not_lost(estate: EventLog) -> None:
    half = estate.last_seq() // 2
    side = _Stamper(half)
    store = EmbeddedStore()
    Projector(estate, store, default_mappers(), batch_size=5, side=[side]).catch_up(timeout=300)
    assert side.calls >= estate.last_seq() // 5
    assert half <= side.wrote < estate.last_seq() - 10  # many batches came after it
    assert len(side.stamped) > 20
    unstamped = [n.id for n in store.get_nodes(side.stamped) if "side_upto" not in n.props]
    assert unstamped == []

    again = EmbeddedStore()
    Projector(
        estate, again, default_mappers(), batch_size=5, side=[_Stamper(half)], pipeline=False
    ).catch_up(timeout=300)
    assert snapshot(store) == snapshot(again)


class _Refusing(EmbeddedStore):
    """The embedded store refusing any write that creates or changes one node, as a store
    refuses a record it cannot hold: the projector must park exactly that node's events."""

    def __init__(self, poison: str) -> None:
        super().__init__()
        self.poison = poison

    def _write(self, uow: UnitOfWork, prepared: Prepared, checkpoint: int | None) -> None:
        if self.poison in prepared.nodes:
            raise ValueError(f"refused: {self.poison}")
        super()._write(uow, prepared, checkpoint)


def _parked(log: EventLog) -> list[int]:
    return sorted(seq for seq, _ in log.parked())


def test_a_refused_batch_is_applied_event_by_event_in_the_pipeline_too(
    estate: EventLog, files: Path, tmp_path: Path
) -> None:
    # a run node touched by one event in the middle of the log
    runs = [n.id for n in sequential(estate).iter_nodes() if n.key.kind is NodeKind.RUN]
    poison = runs[len(runs) // 2]
    copies = {}
    for name, pipeline in (("pipelined", True), ("sequential", False)):
        log = build_log(files, tmp_path / f"{name}.sqlite3")
        store = _Refusing(poison)
        status = Projector(log, store, default_mappers(), batch_size=6, pipeline=pipeline).catch_up(
            timeout=300
        )
        assert status.lag == 0
        copies[name] = (_parked(log), snapshot(store))
        log.close()
    parked, graph = copies["pipelined"]
    assert len(parked) >= 1
    assert poison not in {n[0] for n in graph[0]}
    assert copies["pipelined"] == copies["sequential"]


def test_a_late_link_waits_for_the_batch_in_flight(tmp_path: Path, store: GraphStore) -> None:
    """Batch k records edges under a storage path; batch k+1 brings its TABLE symlink while k is
    still being written: k+1 cannot re-home what k has not landed yet (graph/merge.py), so it is
    prepared again once k has landed. The graph is the one applying the events one by one makes."""
    load, report, audit = events("third")
    estate = [report, load, audit]  # the link comes while the path's first event is written
    log = EventLog(tmp_path / "events.sqlite3")
    assert accept_many(log, list(enumerate(estate))).rejected == []
    reference = EmbeddedStore()
    Projector(log, reference, default_mappers(), batch_size=1, pipeline=False).catch_up()
    store.clear()
    Projector(log, store, default_mappers(), batch_size=1).catch_up()
    assert snapshot(store) == snapshot(reference)
    assert not any("/warehouse/orders" in n.id for n in store.iter_nodes())
    log.close()


class _Held:
    """A side table whose catch-up waits until released, recording what the projector's status
    said while it waited."""

    def __init__(self, projector_of: Any) -> None:
        self.projector_of = projector_of
        self.entered = threading.Event()
        self.release = threading.Event()
        self.seen: list[tuple[int, int]] = []  # (upto, status.projected_seq) while held

    def catch_up(self, log: EventLog, store: GraphStore, upto: int) -> None:
        if self.release.is_set():
            return
        self.seen.append((upto, self.projector_of().status().projected_seq))
        self.entered.set()
        assert self.release.wait(60), "never released"


def test_status_counts_a_batch_projected_only_once_the_side_tables_hold_it(
    estate: EventLog,
) -> None:
    projector: Projector | None = None
    side = _Held(lambda: projector)
    projector = Projector(estate, EmbeddedStore(), default_mappers(), batch_size=5, side=[side])
    worker = threading.Thread(target=projector.catch_up, kwargs={"timeout": 300})
    worker.start()
    try:
        assert side.entered.wait(60), "the side table was never asked"
        # the graph holds the first batch, the side table not yet: not projected, lag remains
        (upto, reported), *_ = side.seen
        assert upto >= 1 and reported < upto
        status = projector.status()
        assert status.projected_seq < upto and status.lag > 0
    finally:
        side.release.set()
        worker.join(300)
    assert not worker.is_alive()
    assert projector.status().projected_seq == estate.last_seq()
