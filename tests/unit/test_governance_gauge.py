"""The governance gauge's refresh rule (api/observability.py GovernanceCollector): evaluated at the
first scrape, then again only when the graph moved (the projector's position) and the minimum
interval passed, or when the counts are ten intervals old; the counts are the violations'."""

from __future__ import annotations

from dataclasses import dataclass

from lineage_kg.api.observability import GovernanceCollector, GovernanceInputs
from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.queries.governance import DEFAULT_POLICY
from tests.contract.governance_world import build


@dataclass
class Status:
    projected_seq: int


class FakeProjector:
    def __init__(self) -> None:
        self.seq = 1

    def status(self) -> Status:
        return Status(self.seq)


def counts(collector: GovernanceCollector) -> dict[tuple[str, str], float]:
    (family,) = list(collector.collect())
    return {(s.labels["rule"], s.labels["severity"]): s.value for s in family.samples}


def test_refreshed_when_the_graph_moved_and_the_interval_passed() -> None:
    store = EmbeddedStore()
    world = build(store)
    projector, now = FakeProjector(), [0.0]
    inputs = GovernanceInputs(store, projector, DEFAULT_POLICY)  # type: ignore[arg-type]
    collector = GovernanceCollector(lambda: inputs, 60.0, clock=lambda: now[0])
    first = counts(collector)
    assert set(first) == {(r.rule, r.severity.value) for r in DEFAULT_POLICY.enabled}
    assert not any(first.values()) and collector.evaluations == 1  # the clean estate

    # a canary over its limit: the graph moved, but within the interval the counts stand
    world.deploy("2", "2026-03-03T00:00:00Z", mode="canary", traffic=0.5)
    projector.seq, now[0] = 2, 30.0
    assert counts(collector) == first and collector.evaluations == 1
    now[0] = 61.0  # moved and the interval passed: evaluated again
    assert counts(collector)[("canary_over_traffic_limit", "error")] == 1
    assert collector.evaluations == 2
    now[0] = 200.0  # not moved since: kept
    counts(collector)
    assert collector.evaluations == 2
    now[0] = 61.0 + 600.0  # ten intervals old: evaluated again though nothing moved
    counts(collector)
    assert collector.evaluations == 3


def test_nothing_before_the_app_started() -> None:
    collector = GovernanceCollector(lambda: None, 60.0)
    assert list(collector.collect()) == [] and collector.evaluations == 0
