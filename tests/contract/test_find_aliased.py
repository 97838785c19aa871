"""`GraphStore.find_aliased`, the store half of name resolution, alike on both stores: exact
matches on a Dataset's `aliases` prop (whatever characters a name holds), following the prop as
later events change it, bounded by `limit`."""

from __future__ import annotations

from lineage_kg.graph.model import NodeKey, NodeKind
from lineage_kg.graph.mutations import NodeUpsert, Provenance
from lineage_kg.graph.store import GraphStore

# Lucene's query syntax characters, quotes and a backslash: all just characters of a name
ODD = 'file//tmp/a b/"q" \\ x*?~:(y)^[z]{w}!&&||-+'


def _dataset(name: str) -> NodeKey:
    return NodeKey.of(NodeKind.DATASET, namespace="file:/w", name=name)


def _named(store: GraphStore, key: NodeKey, aliases: list[str], at: str) -> None:
    prov = Provenance("openlineage", f"ev-{key.parts[1]}-{at}", f"2026-03-01T10:00:{at}Z")
    store.apply([NodeUpsert(key, prov, {"aliases": aliases})])


def test_exact_names_only(store: GraphStore) -> None:
    t1, t2 = _dataset("default.t1"), _dataset("default.t2")
    _named(store, t1, ["file//w/t1", ODD], "01")
    _named(store, t2, ["file//w/t2"], "01")
    assert [n.id for n in store.find_aliased(["file//w/t1"])] == [t1.id]
    assert [n.id for n in store.find_aliased([ODD, "file//w/t2"])] == sorted([t1.id, t2.id])
    assert store.find_aliased(["file//w/t"]) == []  # a prefix is not a name
    assert store.find_aliased(["FILE//w/t1"]) == []  # names are case-sensitive
    assert store.find_aliased(["file//w/*"]) == []  # nor is a wildcard
    assert store.find_aliased([]) == []


def test_follows_the_prop_and_is_bounded(store: GraphStore) -> None:
    t1, t2 = _dataset("default.t1"), _dataset("default.t2")
    _named(store, t1, ["file//w/old", "file//w/shared"], "01")
    _named(store, t2, ["file//w/shared"], "01")
    _named(store, t1, ["file//w/new", "file//w/shared"], "02")  # a later event renames
    assert store.find_aliased(["file//w/old"]) == []
    assert [n.id for n in store.find_aliased(["file//w/new"])] == [t1.id]
    assert [n.id for n in store.find_aliased(["file//w/shared"], limit=1)] == [t1.id]
    assert len(store.find_aliased(["file//w/shared"], limit=2)) == 2
