"""The audit trail's stage derives its entries with the cyclic collector paused (session 30: every
entry lives on until the batch is written, so each collection went over them again) and sets it
back before the log's write and after, as it was; the entries are the derivation's own."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest

from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import MutationBatch, Provenance
from lineage_kg.graph.sides import history as history_module
from lineage_kg.ingest import history_stage
from lineage_kg.ingest.eventlog import EventLog
from lineage_kg.ingest.history_stage import HistoryStage


def _batch(n: int) -> MutationBatch:
    prov = Provenance("openlineage", f"e{n}", f"2026-01-01T00:00:0{n}Z")
    batch = MutationBatch()
    ds = batch.node(NodeKey(NodeKind.DATASET, ("ns", f"t{n}")), prov, description="d")
    batch.edge(ds, EdgeKind.HAS_COLUMN, NodeKey(NodeKind.COLUMN, ("ns", f"t{n}", "c")), prov)
    return batch


@pytest.mark.parametrize("enabled", [True, False])
def test_derived_with_the_collector_paused_and_set_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, enabled: bool
) -> None:
    seen: list[bool] = []
    derive = history_module.history_entries

    def watched(seq: int, batch: MutationBatch) -> Any:
        seen.append(gc.isenabled())
        return derive(seq, batch)

    log = EventLog(tmp_path / "events.sqlite3")
    writes: list[bool] = []
    record = log.record_history

    def recording(*args: Any, **kwargs: Any) -> None:
        writes.append(gc.isenabled())
        record(*args, **kwargs)

    monkeypatch.setattr(history_stage, "history_entries", watched)
    monkeypatch.setattr(log, "record_history", recording)
    stage = HistoryStage(log, {})
    (gc.enable if enabled else gc.disable)()
    try:
        stage._write([(1, _batch(1)), (2, None), (3, _batch(3))], 3)
        assert gc.isenabled() is enabled  # as it was
    finally:
        gc.enable()
    assert seen == [False, False]
    assert writes == [enabled]  # the write is not paused
    assert stage.position == 3
    log.close()
