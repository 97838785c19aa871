"""While a runtime is open, the collector's youngest generation waits for `gc_young_threshold`
new containers instead of Python's 700: a request that allocates thousands of them no longer
sets off a collection every few hundred. Set back at close."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from lineage_kg.runtime import Runtime
from lineage_kg.settings import Settings


def _young_collections_while_allocating(containers: int) -> int:
    before = gc.get_stats()[0]["collections"]
    kept = [{} for _ in range(containers)]  # live containers: each counts toward the threshold
    after = gc.get_stats()[0]["collections"]
    del kept
    return after - before


def test_the_threshold_holds_while_open_and_is_set_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LKG_GC_YOUNG_THRESHOLD", "20000")
    outside = gc.get_threshold()
    python_default = (700, *outside[1:])
    gc.set_threshold(*python_default)  # whatever an earlier test in this process left
    try:
        assert gc.isenabled()
        default_collections = _young_collections_while_allocating(100_000)
        with Runtime.open(Settings(data_dir=tmp_path, snapshot=False)):
            assert gc.get_threshold() == (20_000, *outside[1:])
            runtime_collections = _young_collections_while_allocating(100_000)
        assert gc.get_threshold() == python_default
    finally:
        gc.set_threshold(*outside)
    # 100k containers: ~140 young collections at Python's 700, ~5 at 20,000
    assert default_collections >= 100
    assert runtime_collections <= 10
