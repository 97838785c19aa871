"""A flood of /metrics held every thread of the pool (session 34, helper 96's red team).

`/metrics` needs no key, and a scrape runs in the thread pool every request shares (intake
validates and appends there). While the governance gauge evaluated the policy (a walk of the
production chains), every other scrape waited for it on a lock, holding its thread: forty
scrapes at once stopped the intake for as long as an evaluation took. Now a scrape meanwhile
answers the last counts at once. Conditions: the evaluation is held at a gate the test opens.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import pytest

import lineage_kg.queries.governance
from lineage_kg.api.observability import GovernanceCollector, GovernanceInputs
from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.queries.governance import DEFAULT_POLICY
from tests.contract.governance_world import build

HANG = 30  # seconds: a bound on a hang, not a speed requirement


@dataclass
class Status:
    projected_seq: int


class Projector:
    seq = 1

    def status(self) -> Status:
        return Status(self.seq)


def families(collector: GovernanceCollector) -> list[dict[tuple[str, str], float]]:
    return [
        {(s.labels["rule"], s.labels["severity"]): s.value for s in family.samples}
        for family in collector.collect()
    ]


def in_thread(call: Any) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(call()), daemon=True)
    thread.start()
    return thread, out


@pytest.mark.parametrize("evaluated_before", [True, False])
def test_scrapes_during_an_evaluation_answer_at_once(
    monkeypatch: pytest.MonkeyPatch, evaluated_before: bool
) -> None:
    store, projector, now = EmbeddedStore(), Projector(), [0.0]
    build(store)
    inputs = GovernanceInputs(store, projector, DEFAULT_POLICY)  # type: ignore[arg-type]
    collector = GovernanceCollector(lambda: inputs, 60.0, clock=lambda: now[0])
    before = families(collector) if evaluated_before else []
    entered, gate = threading.Event(), threading.Event()
    evaluate = lineage_kg.queries.governance.evaluate_all

    def held(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        assert gate.wait(HANG), "the test never opened the gate"
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(lineage_kg.queries.governance, "evaluate_all", held)
    projector.seq, now[0] = 2, 61.0  # moved and the interval passed: the next scrape evaluates
    evaluating, evaluated = in_thread(lambda: families(collector))
    try:
        assert entered.wait(HANG), "the evaluation never started"
        scrapes = [in_thread(lambda: families(collector)) for _ in range(8)]
        bound = time.monotonic() + HANG
        for thread, _ in scrapes:
            thread.join(max(0.0, bound - time.monotonic()))
        # every scrape answered while the evaluation is still held at its gate
        assert not gate.is_set() and evaluating.is_alive()
        assert [out for _, out in scrapes] == [[before] if before else [[]]] * 8
    finally:
        gate.set()
    evaluating.join(HANG)
    (after,) = evaluated
    assert len(after) == 1 and collector.evaluations == 1 + evaluated_before
