"""The embedded graph, once built, is out of the garbage collector's generations (gc.freeze), and
back in them when the runtime closes: a full collection does not walk a graph that only grows,
and a process that opens many runtimes (the tests) still collects what each left behind."""

from __future__ import annotations

import gc
from pathlib import Path

from lineage_kg.ingest.intake import accept_many
from lineage_kg.runtime import Runtime
from lineage_kg.settings import Settings
from tests.oracle.corpus import spark_events


def test_the_built_graph_is_frozen_until_close(tmp_path: Path) -> None:
    gc.unfreeze()  # whatever an earlier test left
    settings = Settings(data_dir=tmp_path, auth="off", snapshot=False)
    with Runtime.open(settings) as runtime:
        accept_many(runtime.log, enumerate(spark_events("file")))
        assert gc.get_freeze_count() == 0  # nothing frozen before the graph is built
        status = runtime.rebuild_embedded()
        assert status is not None and runtime.store.stats().node_count > 0
        frozen = gc.get_freeze_count()
        # the graph's own records are among the frozen objects
        assert frozen > runtime.store.stats().node_count
    assert gc.get_freeze_count() == 0
