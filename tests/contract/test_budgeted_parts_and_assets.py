"""`parts_and_assets` through a request's budget view (api/graphql/traversal_budget.py): charged
as the two `neighbors` reads it stands for (the ids out, then the parts found, in), so the API's
accountability map takes the one read too, at the same charges.

On both stores, on generated estates: at every budget from 0 to the two reads' charge, and
plenty, the view's `parts_and_assets` answers or refuses as those two reads through the view do,
having spent the same (a view forwarding it uncharged fails at once). And the map through the
view: the same answer and the same spent as through a view that does not answer it (the parts
read through `neighbors`, their assets by `_assets_of`, as before); refused at the same budgets.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from lineage_kg.api.graphql.traversal_budget import (
    RequestBudgetSpent,
    TraversalBudget,
    _BudgetedStore,
    budgeted,
)
from lineage_kg.graph.model import NodeKey
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.accountability import accountability
from tests.contract.test_accountability_property import estates
from tests.contract.test_accountability_property import load as load_estate
from tests.contract.test_closeness_property import NODES, Edge, graphs, load
from tests.contract.test_parts_and_assets import KIND_SETS
from tests.examples import store_examples


def _outcome(run: Any, budget: TraversalBudget) -> tuple[Any, int]:
    try:
        answer: Any = run()
    except RequestBudgetSpent:
        answer = "refused"
    return answer, budget.spent


def test_charged_as_the_two_reads_it_stands_for(store: GraphStore) -> None:
    @store_examples(store, 25)
    @given(
        graphs(),
        st.lists(st.sampled_from(NODES), max_size=8),  # repeats too
        st.sampled_from(range(len(KIND_SETS))),
    )
    def check(edges: list[Edge], starts: list[NodeKey], which: int) -> None:
        load(store, edges)
        ids, kinds = [s.id for s in starts], KIND_SETS[which]

        def one_read(budget: TraversalBudget) -> Any:
            return budgeted(store, budget).parts_and_assets(ids, kinds, None)

        def two_reads(budget: TraversalBudget) -> Any:
            view = budgeted(store, budget)
            out = view.neighbors(ids, Direction.OUT, kinds)
            parts = list(dict.fromkeys(e.key.dst.id for e in out))
            into = view.neighbors(parts, Direction.IN, kinds)
            return [[(e.key.src.id, e.key.dst.id) for e in found] for found in (out, into)]

        plenty = TraversalBudget(2**62)
        _outcome(lambda: two_reads(plenty), plenty)
        for limit in [*range(plenty.spent + 1), 2**62]:
            mine, theirs = TraversalBudget(limit), TraversalBudget(limit)
            got = _outcome(lambda: one_read(mine), mine)  # noqa: B023
            answer, spent = got
            if answer != "refused":
                got = ([list(ends) for ends in answer], spent)
            assert got == _outcome(lambda: two_reads(theirs), theirs), limit  # noqa: B023

    check()


class _Counted(_BudgetedStore):
    """The view, counting its `parts_and_assets` calls."""

    calls = 0

    def parts_and_assets(self, *args: Any, **kwargs: Any) -> Any:
        _Counted.calls += 1
        return super().parts_and_assets(*args, **kwargs)


class _PartsAlone(_BudgetedStore):
    """The view as it was: no `parts_and_assets` (the map reads the parts through `neighbors`)."""

    parts_and_assets = None  # type: ignore[assignment]


def test_the_map_through_the_view_spends_as_before(store: GraphStore) -> None:
    @store_examples(store, 15)
    @given(estates(), st.sampled_from(["team:t0", "p0", "alias0"]), st.integers(1, 4))
    def check(estate: Any, owner: str, depth: int) -> None:
        load_estate(store, estate)

        def now(budget: TraversalBudget) -> Any:
            view: Any = _Counted(store, budget)
            return dataclasses.astuple(accountability(view, owner, depth=depth))

        def before(budget: TraversalBudget) -> Any:
            view: Any = _PartsAlone(store, budget)
            return dataclasses.astuple(accountability(view, owner, depth=depth))

        plenty, plenty_before = TraversalBudget(2**62), TraversalBudget(2**62)
        _Counted.calls = 0
        got = _outcome(lambda: now(plenty), plenty)
        assert _Counted.calls == 1  # the one read, through the view
        assert got == _outcome(lambda: before(plenty_before), plenty_before)
        assert got[0] == dataclasses.astuple(accountability(store, owner, depth=depth))
        # refused below the whole charge, as before (where: the parts' assets are charged before
        # the walks now, after them before, so `spent` at the refusal may differ)
        total = plenty.spent
        for limit in sorted({*range(min(total, 12) + 1), max(total - 1, 0), total}):
            mine, theirs = TraversalBudget(limit), TraversalBudget(limit)
            answer = _outcome(lambda: now(mine), mine)[0]  # noqa: B023
            assert answer == _outcome(lambda: before(theirs), theirs)[0], limit  # noqa: B023
            assert (answer == "refused") == (limit < total), limit

    check()
