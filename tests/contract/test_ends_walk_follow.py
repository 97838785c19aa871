"""graph/ends_walk.py `_follow` keeps the states blocked at each node as a few shared sets, made
once per (states blocked before, state reached) (`_Pass.joins`). Against the rule kept verbatim
from before (a new `blocked.union((then,), covers[then])` per visit): over generated covers and
sequences of steps followed into a few nodes, in several states each, the same states blocked,
levels, frontier and visits. (The walk-level test, test_ends_walk_read_ahead.py, needs ~1,500
examples to see a set made without its covers; this one sees it at once.)"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lineage_kg.graph.ends_walk import _follow, _Pass
from lineage_kg.graph.mutations import Direction

STATES = ("A", "B", "C")
NODES = ("n1", "n2", "n3")
START = "s0"

_states = st.frozensets(st.sampled_from(STATES))
_step = st.tuples(st.none() | _states, st.none() | st.sampled_from(STATES), st.none())
_follows = st.lists(
    st.tuples(
        st.sampled_from(NODES),
        st.lists(st.sampled_from(STATES), min_size=1, max_size=3, unique=True),
        st.lists(_step, min_size=1, max_size=3),
    ),
    max_size=12,
)


def _before(
    blocked_at: dict[str, frozenset[str]],
    level: dict[str, int],
    found: list[tuple[str, str, int]],
    covers: Mapping[str, frozenset[str]],
    *,
    to: str,
    states: Sequence[str],
    steps: Sequence[tuple[Any, Any, Any]],
    depth: int,
) -> None:
    """`_follow` as it was (no paths), its blocked sets made per visit."""
    blocked = blocked_at.get(to)
    for state in states:
        for only_from, step_then, _ in steps:
            if only_from is not None and state not in only_from:
                continue
            then = state if step_then is None else step_then
            if blocked is not None and then in blocked:
                continue
            if blocked is None:
                blocked = frozenset()
                level[to] = depth
            blocked = blocked_at[to] = blocked.union((then,), covers.get(then, ()))
            found.append((to, then, depth))


@settings(max_examples=400, deadline=None)
@given(
    st.dictionaries(st.sampled_from(STATES), _states, max_size=3),
    st.sampled_from(STATES),
    _follows,
)
def test_follow_blocks_as_the_rule_before(
    covers: dict[str, frozenset[str]], start_state: str, follows: list[Any]
) -> None:
    walk = _Pass([START], start_state, covers)
    blocked_at = {START: frozenset({start_state, *covers.get(start_state, ())})}
    level = {START: 0}
    found: list[tuple[str, str, int]] = []
    for depth, (to, states, steps) in enumerate(follows, 1):
        eid = (START, "DERIVES_FROM", to, "")
        _follow(walk, to, (eid, []), states, steps, depth=depth, origin=START, way=Direction.OUT)
        _before(blocked_at, level, found, covers, to=to, states=states, steps=steps, depth=depth)
    assert walk.blocked == blocked_at
    assert walk.level == level
    assert walk.frontier == [(to, then) for to, then, _ in found]
    visits = walk.visits
    assert list(zip(visits.node, visits.state, visits.level, strict=True)) == [
        (START, start_state, 0),
        *found,
    ]
