"""Two projectors, one graph: the lease decides who writes, the checkpoint fence decides what lands.

Each projector reads its own copy of the same log (as replicas on the Kafka log do) and writes
one shared store. The oracle: the batches the store accepted must tile the log exactly — each
continues from the checkpoint the one before left, from 0 to the log's end, so no event is
applied twice or skipped — and the graph must equal one projector's over the same log.
"""

from __future__ import annotations

import random
import threading
from pathlib import Path
from typing import Any

import pytest

from benchmarks.synthetic import write
from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.store import Prepared
from lineage_kg.ingest.eventlog import EventLog
from lineage_kg.ingest.projector import Projector
from lineage_kg.ingest.sources import default_mappers
from tests.integration.test_projector_pipeline import build_log, snapshot

NODES = 300


class RecordingStore(EmbeddedStore):
    """Notes every fenced write the store accepted, in the order it accepted them."""

    def __init__(self) -> None:
        super().__init__()
        self.accepted: list[tuple[int, int]] = []  # (after, checkpoint)
        self._noting = threading.Lock()

    def commit(
        self, prepared: Prepared, checkpoint: int | None = None, *, after: int | None = None
    ) -> Any:
        with self._lock:  # the store's own lock: accepted order is commit order
            result = super().commit(prepared, checkpoint, after=after)
            self._note(after, checkpoint)
        return result

    def apply(self, batch: Any, checkpoint: int | None = None, *, after: int | None = None) -> Any:
        with self._lock:
            result = super().apply(batch, checkpoint, after=after)
            self._note(after, checkpoint)
        return result

    def _note(self, after: int | None, checkpoint: int | None) -> None:
        if checkpoint is not None:
            assert after is not None, "a projector's write must be fenced"
            self.accepted.append((after, checkpoint))


class Lease:
    def __init__(self, held: bool) -> None:
        self.is_held = held

    def held(self) -> bool:
        return self.is_held


def assert_tiles(accepted: list[tuple[int, int]], last: int) -> None:
    at = 0
    for after, checkpoint in accepted:
        assert after == at, f"a batch after {after} landed on checkpoint {at}: {accepted}"
        assert checkpoint >= after
        at = checkpoint
    assert at == last


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("roles") / "out"
    write.generate(out, NODES, 5)
    return out


@pytest.fixture(scope="module")
def oracle(files: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    log = build_log(files, tmp_path_factory.mktemp("oracle") / "events.sqlite3")
    store = EmbeddedStore()
    Projector(log, store, default_mappers(), pipeline=False).catch_up(timeout=300)
    log.close()
    return snapshot(store)


def copies(files: Path, tmp_path: Path, n: int) -> list[EventLog]:
    logs = [build_log(files, tmp_path / f"copy{i}.sqlite3") for i in range(n)]
    ids = [[(e.seq, e.event_id) for e in log.read(0, 1_000_000)] for log in logs]
    assert all(i == ids[0] for i in ids)  # the same log, entry for entry
    return logs


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_lease_moving_at_random_points_applies_every_event_once(
    files: Path, oracle: Any, tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    logs = copies(files, tmp_path, 2)
    store = RecordingStore()
    leases = [Lease(True), Lease(False)]
    projectors = [
        Projector(log, store, default_mappers(), batch_size=rng.choice([3, 7, 20]), lease=lease)
        for log, lease in zip(logs, leases, strict=True)
    ]
    last = logs[0].last_seq()
    steps = 0
    while store.checkpoint() < last:
        steps += 1
        assert steps < 10_000
        if rng.random() < 0.15:  # the lease moves, with a batch perhaps still in flight
            holder = 0 if leases[0].is_held else 1
            leases[holder].is_held, leases[1 - holder].is_held = False, True
        for projector in projectors:
            projector.step()
    for projector in projectors:  # the writer lands what is in flight; the other follows
        projector.catch_up(timeout=60)
    assert_tiles(store.accepted, last)
    assert snapshot(store) == oracle
    writer = next(p for p, lease in zip(projectors, leases, strict=True) if lease.is_held)
    follower = next(p for p in projectors if p is not writer)
    assert writer.writing and not follower.writing
    # the follower's own audit trail and side tables reach where the graph is
    assert follower.status().lag == 0
    for log in logs:
        log.close()


def test_two_projectors_that_both_think_they_hold_the_lease_still_apply_each_event_once(
    files: Path, oracle: Any, tmp_path: Path
) -> None:
    """A split brain: a deposed writer not yet told. Both run their pipelined loop at once;
    the fence lets one batch in per checkpoint, the other stands down and re-reads."""
    logs = copies(files, tmp_path, 2)
    store = RecordingStore()
    projectors = [
        Projector(log, store, default_mappers(), batch_size=size, lease=Lease(True))
        for log, size in zip(logs, (5, 8), strict=True)
    ]
    last = logs[0].last_seq()

    def run(projector: Projector) -> None:
        for _ in range(20_000):
            if store.checkpoint() >= last:
                break
            projector.step()

    threads = [threading.Thread(target=run, args=(p,)) for p in projectors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    for projector in projectors:
        projector.catch_up(timeout=60)
    assert_tiles(store.accepted, last)
    assert snapshot(store) == oracle
    for log in logs:
        log.close()


def test_a_projector_set_off_never_writes_and_follows(files: Path, tmp_path: Path) -> None:
    (log,) = copies(files, tmp_path, 1)
    store = RecordingStore()
    follower = Projector(log, store, default_mappers(), writes=False)
    follower.catch_up(timeout=60)
    assert store.accepted == [] and store.checkpoint() == 0 and not follower.writing
    assert follower.status().projected_seq == 0  # nothing projected: it waits for a writer
    log.close()
