"""A GraphQL request's store (api/graphql/traversal_budget.py) lets the embedded store walk by
itself and charges the walk to the request's budget: on generated graphs, under any step policy,
the answer is the level loop's; the charge is exactly what the level loop is charged when the walk
was not stopped at its node bound, and never less when it was; a budget of exactly the level
loop's charge answers, and one below it refuses, as the level loop does."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.api.graphql.traversal_budget import RequestBudgetSpent, TraversalBudget, budgeted
from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import NodeKey
from lineage_kg.queries.traversal import traverse
from tests.contract.test_closeness_property import NODES, POLICIES, Edge, graphs, load, policies
from tests.contract.test_store_walk_property import LevelByLevel, everything


class Walks(EmbeddedStore):
    """The embedded store, counting the walks it runs itself."""

    walks = 0

    def walk(self, *args: Any, **kwargs: Any) -> Any:
        self.walks += 1
        return super().walk(*args, **kwargs)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    graphs(),
    st.lists(st.sampled_from(NODES), min_size=1, max_size=6),
    st.one_of(st.sampled_from(sorted(POLICIES)), policies()),
    st.tuples(st.integers(1, 6), st.sampled_from([1, 2, 5, 10_000])),  # depth, max_nodes
)
def test_a_store_walk_is_charged_as_the_level_loop(
    edges: list[Edge], starts: list[NodeKey], policy: Any, bounds: tuple[int, int]
) -> None:
    store = Walks()
    load(store, edges)
    steps, state, covers = POLICIES[policy] if isinstance(policy, str) else policy
    depth, cap = bounds
    args: dict[str, Any] = {
        "max_depth": depth, "max_nodes": cap, "start_state": state, "covers": covers,
    }  # fmt: skip
    ids = [s.id for s in starts]

    loop_budget, walk_budget = TraversalBudget(2**62), TraversalBudget(2**62)
    by_loop = traverse(budgeted(LevelByLevel(store), loop_budget), ids, steps, **args)  # type: ignore[arg-type]
    assert store.walks == 0
    by_walk = traverse(budgeted(store, walk_budget), ids, steps, **args)
    assert store.walks == 1  # the request's view let the store walk
    assert everything(by_walk) == everything(by_loop)
    if by_loop.truncated:
        assert walk_budget.spent >= loop_budget.spent
    else:
        assert walk_budget.spent == loop_budget.spent

    # exactly the level loop's charge: answered (a store walk that would cost more walks level
    # by level instead); one node short: refused
    enough = traverse(budgeted(store, TraversalBudget(loop_budget.spent)), ids, steps, **args)
    assert everything(enough) == everything(by_loop)
    if loop_budget.spent > 0:
        with pytest.raises(RequestBudgetSpent):
            traverse(budgeted(store, TraversalBudget(loop_budget.spent - 1)), ids, steps, **args)
