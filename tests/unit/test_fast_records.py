"""The answer records built through their slots' setters (queries/traversal.py `make_hop`,
`make_reached`; queries/impact.py `_item`: an answer builds hundreds) are the objects their
dataclass constructors make: equal, equally hashed and printed, every field where it belongs,
and still frozen."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lineage_kg.graph.model import Certainty, EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction, EdgeKey
from lineage_kg.graph.records import StoredEdge, StoredNode
from lineage_kg.queries.impact import ImpactItem, _item
from lineage_kg.queries.traversal import Hop, Reached, make_hop, make_reached

names = st.text("abcxyz", min_size=1, max_size=4)
WHEN = ("2026-01-01T00:00:00Z", "e1", "2026-01-02T00:00:00Z", "e2")


@st.composite
def edges(draw: st.DrawFn) -> StoredEdge:
    src = NodeKey(NodeKind.COLUMN, (draw(names), draw(names), draw(names)))
    dst = NodeKey(NodeKind.COLUMN, (draw(names), draw(names), draw(names)))
    return StoredEdge(EdgeKey(src, EdgeKind.FEEDS, dst, draw(names)), {}, ("t",), *WHEN, None, None)


def frozen(obj: object) -> bool:
    try:
        setattr(obj, dataclasses.fields(obj)[0].name, None)  # type: ignore[arg-type]
    except dataclasses.FrozenInstanceError:
        return True
    return False


def same(made: object, built: object) -> None:
    assert made == built
    assert type(made) is type(built)
    assert repr(made) == repr(built)
    for f in dataclasses.fields(built):  # type: ignore[arg-type]
        assert getattr(made, f.name) is getattr(built, f.name), f.name
    assert frozen(made)


@given(edges(), st.sampled_from(list(Direction)))
def test_make_hop_is_the_constructor(edge: StoredEdge, way: Direction) -> None:
    same(make_hop(edge, way), Hop(edge, way))


@given(names, st.integers(0, 12), st.sampled_from(list(Certainty)), st.lists(edges(), max_size=3))
def test_make_reached_is_the_constructor(
    node: str, distance: int, certainty: Certainty, path_edges: list[StoredEdge]
) -> None:
    path = tuple(Hop(e, Direction.OUT) for e in path_edges)
    same(make_reached(node, distance, certainty, path), Reached(node, distance, certainty, path))


@given(names, st.integers(0, 12), st.sampled_from(list(Certainty)), st.lists(names, max_size=3))
def test_the_impact_item_is_the_constructor(
    name: str, distance: int, certainty: Certainty, owners: list[str]
) -> None:
    node = StoredNode(NodeKey(NodeKind.KPI, (name,)), {}, ("t",), *WHEN)
    path: tuple[Hop, ...] = ()
    held = tuple(owners)
    built = ImpactItem(node, distance, certainty, path, held)
    same(_item(node, distance, certainty, path, held), built)


def test_a_field_out_of_place_is_seen() -> None:
    """The check itself can fail: two fields swapped are not the constructor's object."""
    node = StoredNode(NodeKey(NodeKind.KPI, ("k",)), {}, ("t",), *WHEN)
    with pytest.raises(AssertionError):
        same(_item(node, 2, Certainty.EXACT, (), ()), ImpactItem(node, 3, Certainty.EXACT, (), ()))
