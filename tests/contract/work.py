"""How much a question read from its store, counted, so tests can bound work instead of time.

A traversal that visits each node once reads each node's neighbours a bounded number of times
(once per question it asks of a node: flow, owners, versions); one that enumerates paths reads a
lattice's nodes once per path. Counting the ids read tells the two apart on any machine, however
loaded, where a wall-clock limit cannot. The count is the one the service keeps per GraphQL
request (its traversal budget), so the tests bound the work the service would charge.
"""

from __future__ import annotations

from dataclasses import dataclass

from lineage_kg.api.graphql.traversal_budget import TraversalBudget, budgeted
from lineage_kg.graph.store import GraphStore

UNBOUNDED = 2**62  # a budget no walk reaches: counted, never refused


@dataclass(frozen=True)
class Counted:
    """A store seen as one GraphQL request sees it (api/graphql/traversal_budget.py): each
    frontier step charged to a budget, here one too large to refuse anything."""

    store: GraphStore
    budget: TraversalBudget

    @property
    def ids_read(self) -> int:
        """The node ids the walks expanded: every frontier step the budget was charged for."""
        return self.budget.spent


def counted(store: GraphStore) -> Counted:
    budget = TraversalBudget(UNBOUNDED)
    return Counted(budgeted(store, budget), budget)


def nodes_in(store: GraphStore) -> int:
    return sum(store.stats().nodes.values())


# Ids expanded per node in the graph, at most. Measured on the lattices of the contract tests
# (embedded store): impact 1.2, accountability 2.4, suspects 3.3 (printed by those tests); a path
# walk expands millions.
WORK_PER_NODE = 10
