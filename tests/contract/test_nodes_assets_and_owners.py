"""`GraphStore.nodes_assets_and_owners` (the decision trace's last read, issue 19 target 1): on both
stores, now and at an earlier time, it answers what an independent reading of the whole graph
(`iter_edges`) says: each part's asset is the far end of its first edge of the part kinds by edge
id (a column of two datasets gets the first; a part with none gets none; a run's job out, a
column's and a feature's asset in); the OWNS edges into the ids asked and those assets, and no
others (not the second dataset's owner); the ALIAS_OF edges of those owners by edge id. And it
is the reads it stands for (`GraphStore`'s: `neighbor_ends`, then `nodes_and_owners`)."""

from __future__ import annotations

from typing import Any

import pytest

from lineage_kg.api.graphql.traversal_budget import RequestBudgetSpent, TraversalBudget, budgeted
from lineage_kg.graph.model import EdgeKind as E
from lineage_kg.graph.model import NodeKey
from lineage_kg.graph.model import NodeKind as K
from lineage_kg.graph.mutations import Direction, EdgeRetire, MutationBatch, Provenance
from lineage_kg.graph.records import StoredEdge
from lineage_kg.graph.store import GraphStore
from tests.contract.test_closeness_property import POOL, named

P = Provenance("test", "e1", "2026-01-01T00:00:00Z")
LATER = Provenance("test", "e2", "2026-02-01T00:00:00Z")
IN, OUT = Direction.IN, Direction.OUT
PART_KINDS = {IN: [E.HAS_COLUMN, E.HAS_FEATURE, E.HAS_VERSION], OUT: [E.RUN_OF]}


def _owner(name: str) -> NodeKey:
    return NodeKey.of(K.OWNER, owner_id=name)


def _estate(store: GraphStore) -> dict[str, NodeKey]:
    d0, d1, d2 = POOL[K.DATASET]
    da, db = named(K.DATASET, 5), named(K.DATASET, 6)
    c0, c1, c2, c3 = POOL[K.COLUMN]
    r0, r1, _ = POOL[K.RUN]
    j0, j1 = POOL[K.JOB]
    f0, _ = POOL[K.FEATURE]
    (view,) = POOL[K.FEATURE_VIEW]
    batch = MutationBatch()
    for src, kind, dst in (
        (db, E.HAS_COLUMN, c0),
        (da, E.HAS_COLUMN, c0),  # c0 has two datasets: the first by edge id is its asset
        (d0, E.HAS_COLUMN, c3),  # c3 is not asked as a part
        (_owner("of-a"), E.OWNS, da),
        (_owner("of-b"), E.OWNS, db),
        (d1, E.HAS_COLUMN, c1),
        (d2, E.HAS_COLUMN, c2),  # retired later: c2 has an asset only at the earlier time
        (view, E.HAS_FEATURE, f0),
        (r0, E.RUN_OF, j0),
        (r1, E.RUN_OF, j1),
        (_owner("zero"), E.OWNS, d0),
        (_owner("one"), E.OWNS, d1),
        (_owner("two"), E.OWNS, d2),
        (_owner("cols"), E.OWNS, c1),  # a part owned itself
        (_owner("views"), E.OWNS, view),
        (_owner("jobs"), E.OWNS, j0),
        (_owner("alias"), E.OWNS, j1),
        (_owner("alias"), E.ALIAS_OF, _owner("jobs")),
        (_owner("one"), E.ALIAS_OF, _owner("zero")),
        (_owner("stranger"), E.OWNS, POOL[K.DATASET_VERSION][0]),  # not asked: not answered
    ):
        batch.edge(src, kind, dst, P)
    store.clear()
    store.apply(batch)
    store.apply([EdgeRetire(d2, E.HAS_COLUMN, OUT, frozenset(), LATER)])
    return {
        "c0": c0, "c1": c1, "c2": c2, "c3": c3, "f0": f0, "r0": r0, "r1": r1, "d1": d1,
        "da": da, "db": db,
    }  # fmt: skip


def _valid(e: StoredEdge, when: str | None) -> bool:
    return e.current if when is None else e.valid_at(when)


def _oracle(
    edges: list[StoredEdge], ids: list[str], parts: dict[Direction, list[str]], when: str | None
) -> tuple[dict[str, str], list[tuple[str, str]], list[tuple[str, str]]]:
    live = sorted((e for e in edges if _valid(e, when)), key=lambda e: e.key.id)
    asset_of: dict[str, str] = {}
    for e in live:
        src, dst = e.key.src.id, e.key.dst.id
        if e.key.kind in PART_KINDS[IN] and dst in parts.get(IN, []):
            asset_of.setdefault(dst, src)
        if e.key.kind in PART_KINDS[OUT] and src in parts.get(OUT, []):
            asset_of.setdefault(src, dst)
    into = {*ids, *asset_of.values()}
    owns = [
        (e.key.src.id, e.key.dst.id) for e in live if e.key.kind is E.OWNS and e.key.dst.id in into
    ]
    owners = {o for o, _ in owns}
    aliases = [
        (e.key.src.id, e.key.dst.id)
        for e in live
        if e.key.kind is E.ALIAS_OF and e.key.src.id in owners
    ]
    return asset_of, sorted(owns), aliases


@pytest.mark.parametrize("when", [None, "2026-01-15T00:00:00Z"])
def test_the_parts_assets_and_owners_are_the_graphs(store: GraphStore, when: Any) -> None:
    named = _estate(store)
    edges = list(store.iter_edges())
    ids = [named["c1"].id, named["r1"].id]  # asked for their owners, and as parts
    parts = {
        IN: [named[n].id for n in ("c0", "c1", "c2", "f0")],
        OUT: [named["r0"].id, named["r1"].id],
    }
    node_ids = [named["f0"].id, named["c3"].id, named["d1"].id]
    nodes, asset_of, owns, aliases = store.nodes_assets_and_owners(
        node_ids, ids, parts, PART_KINDS, when
    )
    want_assets, want_owns, want_aliases = _oracle(edges, ids, parts, when)
    assert asset_of == want_assets
    assert sorted(owns) == want_owns and aliases == want_aliases
    assert [n.id for n in nodes] == [n.id for n in store.get_nodes(node_ids)]
    assert nodes == store.get_nodes(node_ids)
    # what the estate is there to show: the first of a column's two datasets, and its owner
    # alone; a column's dataset retired since; a column not asked as a part; an alias
    first, second = sorted([named["da"], named["db"]], key=lambda d: d.id)
    assert asset_of[named["c0"].id] == first.id
    assert (_owner("of-a" if first == named["da"] else "of-b").id, first.id) in owns
    assert all(a != second.id for _, a in owns)
    assert (named["c2"].id in asset_of) is (when is not None)
    assert named["c3"].id not in asset_of
    assert asset_of[named["r1"].id] == POOL[K.JOB][1].id and aliases
    # the reads it stands for
    base = GraphStore.nodes_assets_and_owners(store, node_ids, ids, parts, PART_KINDS, when)
    assert (nodes, asset_of, sorted(owns), aliases) == (base[0], base[1], sorted(base[2]), base[3])


def test_no_parts_is_nodes_and_owners(store: GraphStore) -> None:
    named = _estate(store)
    ids, node_ids = [named["c1"].id, named["d1"].id], [named["f0"].id]
    nodes, asset_of, owns, aliases = store.nodes_assets_and_owners(node_ids, ids, {}, PART_KINDS)
    assert asset_of == {}
    found = store.nodes_and_owners(node_ids, ids)
    assert (nodes, sorted(owns), aliases) == (found[0], sorted(found[1]), found[2])
    assert owns


@pytest.mark.parametrize("read", ["nodes_assets_and_owners", "nodes_assets_owners_and_evidence"])
def test_a_requests_budget_charges_the_reads_it_stands_for(store: GraphStore, read: str) -> None:
    """Through a request's budget (the API's view) the read answers as the store does and is
    charged what `GraphStore`'s reads through that view are charged (`neighbor_ends`, then
    `nodes_and_owners`): no cheaper for being one round trip; refused when that is over. The
    decision trace's form with its path edges' events is charged the same."""
    named = _estate(store)
    ids = [named["c1"].id, named["r1"].id]
    parts = {IN: [named[n].id for n in ("c0", "c1", "f0")], OUT: [named["r0"].id]}
    args = ([named["f0"].id], ids, parts, PART_KINDS)
    spent = {}
    for how in ("view", "reads"):
        budget = TraversalBudget(1_000)
        view = budgeted(store, budget)
        if how == "view":
            got = getattr(view, read)(*args)
        else:
            got = GraphStore.nodes_assets_and_owners(view, *args)
        assert _sorted(got[:4]) == _sorted(store.nodes_assets_and_owners(*args))
        assert got[4:] in ((), ({},))  # no path edges asked: no events
        spent[how] = budget.spent
    # the ids, the assets found that are not among them (c0's, f0's view, r0's job), the owners
    assert spent["view"] == spent["reads"] > len(ids) + 3
    with pytest.raises(RequestBudgetSpent):
        getattr(budgeted(store, TraversalBudget(spent["view"] - 1)), read)(*args)


def _sorted(found: Any) -> tuple[Any, ...]:
    return found[0], found[1], sorted(found[2]), found[3]
