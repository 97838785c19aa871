"""`ReadAhead.holding` (queries/trace_ahead.py), on both stores: the ids it names are exactly those
whose part edges `ReadAhead.neighbor_ends` answers from memory, asked one at a time — for
read-aheads covering every node, every other node, the others or none, each way, now and at
another time than the read-ahead's. (The decision trace reads those parts' assets from memory and
the rest with the owners: queries/decision_trace.py `_assets`.)"""

from __future__ import annotations

from typing import Any

import pytest

from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.assets import PART_KINDS
from lineage_kg.queries.trace_ahead import ReadAhead
from tests.contract.test_trace_read_ahead import COVERS, EARLIER, _held_edges


class _Asked:
    """The store, counting the `neighbor_ends` reads that reach it."""

    def __init__(self, store: GraphStore) -> None:
        self._store, self.asked = store, 0

    def neighbor_ends(self, *args: Any) -> list[tuple[str, str]]:
        self.asked += 1
        return self._store.neighbor_ends(*args)


@pytest.mark.parametrize("cover", sorted(COVERS))
@pytest.mark.parametrize("when", [None, EARLIER])
def test_holding_names_the_parts_memory_answers(
    store: GraphStore, value_chain: Any, cover: str, when: Any
) -> None:
    every = sorted(n.id for n in store.iter_nodes())
    covered = COVERS[cover](every)
    asked = _Asked(store)
    view = ReadAhead(asked, _held_edges(store, covered, None), {}, None)  # type: ignore[arg-type]
    named = 0
    for way in Direction:
        held = view.holding(every, way, PART_KINDS[way], when)
        from_memory = []
        for i in every:
            before = asked.asked
            view.neighbor_ends([i], way, PART_KINDS[way], when)
            if asked.asked == before:
                from_memory.append(i)
        assert sorted(held) == from_memory
        named += len(held)
    assert (named > 0) is (bool(covered) and when is None)
