"""The decision trace runs with the cyclic collector paused (session 31,
queries/decision_trace.py `PAUSE_GC`, graph/gc_pause.py), on both stores: off in every phase
of the trace (its reads, the walk, the steps), back as it was after, an error included; and
the trace is the one made with the collector on."""

from __future__ import annotations

import gc
from typing import Any

import pytest

from lineage_kg.graph.store import GraphStore
from lineage_kg.queries import decision_trace
from lineage_kg.queries.decision_trace import decision_lineage

_PHASES = ("read_ahead", "_data_chain", "_feature_walk", "_assets", "_nodes_and_owners")


def _watched(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """Each phase's name and whether the collector was on when it began."""
    seen: list[tuple[str, bool]] = []
    for name in _PHASES:
        inner = getattr(decision_trace, name)

        def phase(*args: Any, _name: str = name, _inner: Any = inner, **kwargs: Any) -> Any:
            seen.append((_name, gc.isenabled()))
            return _inner(*args, **kwargs)

        monkeypatch.setattr(decision_trace, name, phase)
    return seen


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_off_inside_a_trace_and_back_after(
    store: GraphStore, value_chain: Any, monkeypatch: pytest.MonkeyPatch, enabled: bool
) -> None:
    on = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        with monkeypatch.context() as m:
            m.setattr(decision_trace, "PAUSE_GC", False)
            collected = decision_lineage(store, value_chain.decision.id)
        seen = _watched(monkeypatch)
        trace = decision_lineage(store, value_chain.decision.id)
        assert gc.isenabled() is enabled
        assert trace == collected and trace.features
        assert {name for name, _ in seen} >= set(_PHASES) - {"read_ahead"}
        assert not any(on_then for _, on_then in seen)
    finally:
        (gc.enable if on else gc.disable)()


def test_the_collector_is_back_after_a_trace_that_fails(
    store: GraphStore, value_chain: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    on = gc.isenabled()
    try:
        gc.enable()

        def broken(*_args: Any, **_kwargs: Any) -> Any:
            assert not gc.isenabled()
            raise RuntimeError("the store went away")

        monkeypatch.setattr(decision_trace, "_feature_walk", broken)
        with pytest.raises(RuntimeError, match="went away"):
            decision_lineage(store, value_chain.decision.id)
        assert gc.isenabled()
    finally:
        (gc.enable if on else gc.disable)()
