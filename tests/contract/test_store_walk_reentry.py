"""The embedded store's walk keeps its blocked states in lists of the graph's (`walk_blocks`),
zeroed by the walk that set them: a walk that fails half-way (a step's test raising) leaves none
behind, so the next walk on the store is still the level loop's, on generated graphs."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import NodeKey
from lineage_kg.graph.records import StoredEdge
from lineage_kg.queries.impact import IMPACT_STEPS
from lineage_kg.queries.impact_steps import COVERS, WHOLE
from lineage_kg.queries.traversal import Step, traverse
from tests.contract.test_closeness_property import NODES, Edge, graphs, load
from tests.contract.test_store_walk_property import LevelByLevel, everything


class Broken(Exception):
    pass


def failing_after(calls: int) -> Any:
    seen = [0]

    def accepts(edge: StoredEdge) -> bool:
        seen[0] += 1
        if seen[0] > calls:
            raise Broken
        return True

    return accepts


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    graphs(),
    st.lists(st.sampled_from(NODES), min_size=1, max_size=5),
    st.integers(0, 6),
)
def test_a_failed_walk_leaves_nothing_behind(
    edges: list[Edge], starts: list[NodeKey], calls: int
) -> None:
    store = EmbeddedStore()
    load(store, edges)
    ids = [s.id for s in starts]
    args: dict[str, Any] = {"max_depth": 6, "start_state": WHOLE, "covers": COVERS}
    # every step of the impact policy, each also tested by code that fails after a few calls
    breaking = [
        Step(s.kind, s.direction, s.certainty, s.then, s.only_from, failing_after(calls))
        for s in IMPACT_STEPS
    ]
    with contextlib.suppress(Broken):
        traverse(store, ids, breaking, **args)
    want = everything(traverse(LevelByLevel(store), ids, IMPACT_STEPS, **args))
    assert everything(traverse(store, ids, IMPACT_STEPS, **args)) == want
