"""The accountability map pauses the cyclic collector while its two walks are read
(queries/accountability.py `PAUSE_GC`, graph/gc_pause.py) and always turns it back on: after the
map, and when a walk raises. With the switch off the walks run with the collector on (so the
spy below can tell). Both stores; the answer is the same either way."""

from __future__ import annotations

import dataclasses
import gc
from typing import Any

import pytest

from lineage_kg.graph.store import GraphStore
from lineage_kg.queries import accountability as acc

OWNERS = ("alice@example.com", "team:data-platform", "team:ml-risk")


class _Spied:
    """The store's pair walks (`walk_pair`, and Neo4j's `walk_pair_then`), recording whether the
    collector was on when one was asked, and raising instead of walking when told to."""

    def __init__(self, store: GraphStore, monkeypatch: pytest.MonkeyPatch) -> None:
        self.enabled: list[bool] = []
        self.fail = False
        for name in ("walk_pair", "walk_pair_then"):
            if (real := getattr(store, name, None)) is not None:
                monkeypatch.setattr(store, name, self._spy(real))

    def _spy(self, real: Any) -> Any:
        def walk_pair(*args: Any, **kwargs: Any) -> Any:
            self.enabled.append(gc.isenabled())
            if self.fail:
                raise RuntimeError("the walk failed")
            return real(*args, **kwargs)

        return walk_pair


@pytest.fixture
def collector_on() -> Any:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_the_walks_run_with_the_collector_paused_and_it_comes_back(
    store: GraphStore, value_chain: Any, monkeypatch: pytest.MonkeyPatch, collector_on: Any
) -> None:
    answers: dict[str | None, Any] = {}
    spy = _Spied(store, monkeypatch)
    for scope in ("walks", "map", None):  # paused around the walks, the whole map, not
        monkeypatch.setattr(acc, "PAUSE_GC", scope)
        spy.enabled.clear()
        answers[scope] = [dataclasses.asdict(acc.accountability(store, o)) for o in OWNERS]
        assert spy.enabled == [scope is None] * len(OWNERS)
        assert gc.isenabled()
    assert answers["walks"] == answers["map"] == answers[None]


def test_the_collector_comes_back_when_a_walk_raises(
    store: GraphStore, value_chain: Any, monkeypatch: pytest.MonkeyPatch, collector_on: Any
) -> None:
    spy = _Spied(store, monkeypatch)
    spy.fail = True
    for scope in ("walks", "map"):
        monkeypatch.setattr(acc, "PAUSE_GC", scope)
        for owner in OWNERS:
            with pytest.raises(RuntimeError, match="the walk failed"):
                acc.accountability(store, owner)
            assert gc.isenabled()
    assert spy.enabled == [False] * 2 * len(OWNERS)
