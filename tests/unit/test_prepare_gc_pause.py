"""`GraphStore.prepare` pauses the cyclic collector for the merge (it makes hundreds of thousands
of dicts and no cyclic garbage) and sets it back as it was, a failing merge too; `apply` (the
side tables' and the one-by-one fallback's path) leaves it running."""

from __future__ import annotations

import gc
from typing import Any

import pytest

from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.mutations import MutationBatch


def _watching(store: EmbeddedStore, seen: list[bool], fail: bool = False) -> None:
    original = store._prepare

    def prepare(*args: Any) -> Any:
        seen.append(gc.isenabled())
        if fail:
            raise RuntimeError("refused")
        return original(*args)

    store._prepare = prepare  # type: ignore[method-assign]


def test_prepare_pauses_the_collector_and_sets_it_back() -> None:
    assert gc.isenabled()
    store, seen = EmbeddedStore(), []
    _watching(store, seen)
    store.prepare(MutationBatch())
    store.apply(MutationBatch())
    assert seen == [False, True]
    assert gc.isenabled()


def test_a_failing_merge_sets_it_back_too() -> None:
    store, seen = EmbeddedStore(), []
    _watching(store, seen, fail=True)
    with pytest.raises(RuntimeError):
        store.prepare(MutationBatch())
    assert seen == [False]
    assert gc.isenabled()
