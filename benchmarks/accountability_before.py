"""The accountability map as it was computed before issue 19's rework, callable as the naive
baseline of `benchmarks.accountability_walk` and as the contract tests' reference
(tests/contract/test_accountability_property.py): the same answer, reached the old way — the
impact walk and the upstream walk with every path kept (`traverse`), then every node either walk
reached read (`reached_assets`, once per walk).

The code is queries/accountability.py as it was at BEFORE_REWORK, read from git
(`benchmarks.harness.module_at`) rather than kept here as a copy, and run on today's modules.
Only the way it walks and reads is that commit's: the answer's types, the owner links and the
gaps, which the rework did not touch, are today's module's own (put in place of the old ones), so
a later change to those is not taken for a difference from "before"."""

from __future__ import annotations

from datetime import datetime

from benchmarks.harness import module_at
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries import accountability as today
from lineage_kg.queries.accountability import AccountabilityMap

# The parent of f9c27ee ("Accountability (issue 19): the two walks keep only distance and
# certainty …"), the last commit with the walks that keep every path.
BEFORE_REWORK = "d78cf52059db3cb72312cc48a8a44bc6b06a6e2b"
PATH = "queries/accountability.py"
TODAYS = ("AccountabilityMap", "OwnedAsset", "RelatedAsset", "_owner_links", "_gaps")


def accountability_before(
    store: GraphStore,
    owner_id: str,
    *,
    depth: int = 10,
    as_of: str | datetime | None = None,
    max_nodes: int = 100_000,
) -> AccountabilityMap:
    before = module_at(BEFORE_REWORK, PATH)
    for name in TODAYS:  # its function reads them as globals, when called
        setattr(before, name, getattr(today, name))
    answer: AccountabilityMap = before.accountability(
        store, owner_id, depth=depth, as_of=as_of, max_nodes=max_nodes
    )
    return answer
