"""The decision trace's data chain read ahead (queries/trace_ahead.py, issue 19 target 1), on both
stores: the trace through `ReadAhead` is the level loop's trace whatever the read-ahead covers
(everything, the starts alone, every other node), now and at an earlier time; a read-ahead holding
everything answers the whole trace's chain and part reads without the store; and what `ReadAhead`
answers from memory is what the store answers, for every node the read-ahead covers and every
edge kind it claims to hold — on Neo4j from the store's own `reach`, the one the trace uses."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.store import GraphStore, Neighborhood
from lineage_kg.queries import decision_trace
from lineage_kg.queries.decision_trace import decision_lineage
from lineage_kg.queries.trace_ahead import _HELD, ReadAhead, chain_hops, read_ahead
from tests.contract.test_trace_reads import Reads, trained_on_a_digest_and_a_whole_read

E = EdgeKind
EARLIER = "2026-03-01T06:45:00Z"  # train-1 had trained credit-risk@4; no decision made yet


def _held_edges(store: GraphStore, ids: list[str], as_of: str | None) -> Neighborhood:
    """What a read-ahead covering `ids` holds: every edge of the held kinds at each, each way,
    where the node's kind is one the kind is held at (as the store's `reach` reads them)."""
    found = []
    for (way, kind), near in _HELD.items():
        at = [i for i in ids if near is None or NodeKey.from_id(i).kind in near]
        found += [(e, way) for e in store.neighbors(at, way, [kind], as_of)]
    return Neighborhood.of(ids, found)


def _made(store: GraphStore, cover: Callable[[list[str]], list[str]]) -> Callable[..., Any]:
    """`read_ahead` replaced by one covering `cover(every node id)` plus the trace's starts."""

    def ahead(
        inner: GraphStore,
        start: list[str],
        depth: int,
        as_of: str | None,
        decided: Sequence[str] = (),
    ) -> ReadAhead:
        every = sorted(n.id for n in store.iter_nodes())
        ids = sorted({*cover(every), *start})
        nodes = {n.id: n for n in store.get_nodes(ids)}
        # a named version's DECIDED edges valid now, by edge id, as `read_ahead` reads them
        edges = store.neighbors(list(decided), Direction.OUT, [E.DECIDED]) if decided else None
        return ReadAhead(
            inner,
            _held_edges(store, ids, as_of),
            nodes,
            as_of,
            decided=None if edges is None else sorted(edges, key=lambda e: e.key.id),
        )

    return ahead


COVERS: dict[str, Callable[[list[str]], list[str]]] = {
    "everything": lambda ids: ids,
    "the starts alone": lambda ids: [],
    "every other node": lambda ids: ids[::2],
    "the others": lambda ids: ids[1::2],
}


def _resolving(store: GraphStore, v: Any) -> str:
    """credit-risk@7's id, both resolutions in one level (test_trace_reads's chain)."""
    return trained_on_a_digest_and_a_whole_read(store, v)[2].id


def _asked(store: GraphStore, v: Any) -> list[tuple[str, str | None, int]]:
    """(start, as_of, depth): a decision node, a model version, one needing resolutions, at a
    time before some edges, and a depth that cuts the chain."""
    mv7 = _resolving(store, v)
    return [
        ("d-1001", None, 10),
        (v.mv4.id, None, 10),
        (v.mv4.id, EARLIER, 10),
        (mv7, None, 10),
        (mv7, None, 2),
        (v.decision.id, None, 1),
    ]


@pytest.mark.parametrize("cover", sorted(COVERS))
def test_the_trace_through_a_read_ahead_is_the_level_loops(
    store: GraphStore, value_chain: Any, cover: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = _asked(store, value_chain)
    monkeypatch.setattr(decision_trace, "read_ahead", lambda *a: None)
    loop = {q: decision_lineage(store, q[0], as_of=q[1], depth=q[2]) for q in asked}
    assert any(t.data for t in loop.values()) and any(t.truncated for t in loop.values())
    assert any(s.resolution.value == "resolved" for t in loop.values() for s in t.data)
    monkeypatch.setattr(decision_trace, "read_ahead", _made(store, COVERS[cover]))
    for q in asked:
        assert decision_lineage(store, q[0], as_of=q[1], depth=q[2]) == loop[q], q


def test_a_read_ahead_holding_everything_answers_the_chain_and_the_parts(
    store: GraphStore, value_chain: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The data chain, the resolutions' writes and the asset edges of every part of the trace,
    features' included, come from memory: the store behind the view is never asked."""
    asked = _asked(store, value_chain)
    monkeypatch.setattr(decision_trace, "read_ahead", lambda *a: None)
    loop = {q: decision_lineage(store, q[0], as_of=q[1], depth=q[2]) for q in asked}
    made = _made(store, COVERS["everything"])
    behind: list[Reads] = []

    def ahead(
        inner: GraphStore,
        start: list[str],
        depth: int,
        as_of: str | None,
        decided: Sequence[str] = (),
    ) -> ReadAhead:
        behind.append(Reads(inner))
        return made(behind[-1], start, depth, as_of, decided)  # type: ignore[no-any-return]

    monkeypatch.setattr(decision_trace, "read_ahead", ahead)
    for q in asked:
        trace = decision_lineage(store, q[0], as_of=q[1], depth=q[2])
        assert trace == loop[q]
        if trace.model_versions:
            assert behind[-1].log == [], (q, behind[-1].log)


def _compare_held(store: GraphStore, view: ReadAhead, covered: list[str], as_of: Any) -> int:
    """Every read `ReadAhead` answers from memory, asked of the store too: the same answer."""
    compared = 0
    assert view.get_nodes(covered) == store.get_nodes(covered)
    for node in covered:
        kind = NodeKey.from_id(node).kind
        for (way, edge_kind), near in _HELD.items():
            if near is not None and kind not in near:
                continue
            assert view._holds([node], {way: [edge_kind]}, as_of)
            mine = view.neighbors([node], way, [edge_kind], as_of)
            assert mine == store.neighbors([node], way, [edge_kind], as_of), (node, way, edge_kind)
            compared += len(mine)
    for (way, edge_kind), near in _HELD.items():  # many nodes at once, asked in any order
        at = [i for i in covered[::-1] if near is None or NodeKey.from_id(i).kind in near]
        assert view.neighbors(at, way, [edge_kind], as_of) == store.neighbors(
            at, way, [edge_kind], as_of
        )
    both = {Direction.IN: [E.READ_BY, E.WROTE], Direction.OUT: [E.RUN_OF]}
    mine = view.nodes_and_neighbors(covered[::-1], covered[::-1], both, as_of)
    theirs = store.nodes_and_neighbors(covered[::-1], covered[::-1], both, as_of)
    assert mine[0] == theirs[0]
    assert sorted(mine[1], key=_by_id) == sorted(theirs[1], key=_by_id)
    return compared


def _by_id(found: tuple[Any, Direction]) -> Any:
    return (found[0].key.id, found[1].value)


@pytest.mark.parametrize("as_of", [None, EARLIER])
def test_what_the_read_ahead_holds_is_what_the_store_answers(
    store: GraphStore, value_chain: Any, as_of: str | None
) -> None:
    mv7 = _resolving(store, value_chain)
    starts = [value_chain.mv4.id, mv7]
    view = read_ahead(store, starts, 10, as_of)
    if store.name == "neo4j":  # the store's own read-ahead (`reach`), as the trace uses it
        assert view is not None
    else:  # no faster way than its reads: the level loop; the hand-made read-ahead is checked
        assert view is None
        view = _made(store, COVERS["everything"])(store, starts, 10, as_of)
    covered = sorted(view._covered)
    assert set(starts) <= set(covered)
    if as_of is None:  # the chain up to the sources, the versions of the datasets read whole
        for key in (value_chain.etl_1, value_chain.raw_v8, value_chain.ingest_0a):
            assert key.id in covered
    assert _compare_held(store, view, covered, as_of) > 0
    # a read it does not hold whole goes to the store: another time, a node not covered
    assert not view._holds(starts, {Direction.IN: [E.TRAINED]}, "2020-01-01T00:00:00Z")
    nowhere = NodeKey.of(NodeKind.RUN, run_id="nowhere").id
    assert not view._holds([*starts, nowhere], {Direction.IN: [E.TRAINED]}, as_of)
    assert not view._holds(starts, {Direction.OUT: [E.HAS_VERSION]}, as_of)  # not a dataset's
    assert not view._holds(starts, {Direction.IN: [E.OWNS]}, as_of)  # a kind it does not read
    assert chain_hops(10) > 10
