"""graph/merge.py: which node a set of linked names goes to, and how a batch is rewritten."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

from lineage_kg.graph.merge import _keys, dataset_id, datasets_named, plan, rekey, rewrite
from lineage_kg.graph.model import KEY_FIELDS, EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import (
    DatasetLink,
    Direction,
    EdgeKey,
    EdgeRetire,
    EdgeUpsert,
    NodeUpsert,
    Provenance,
)

PROV = Provenance("openlineage", "e-1", "2026-03-01T10:00:00Z")


def ds(ns: str, name: str) -> NodeKey:
    return NodeKey(NodeKind.DATASET, (ns, name))


PATH, PATH2 = ds("file", "/warehouse/t"), ds("file", "/other/t")
TABLE, TABLE2 = ds("hive://m:9083", "default.t"), ds("hive://m:9083", "default.u")


def link(alias: NodeKey, canonical: NodeKey) -> DatasetLink:
    return DatasetLink(alias, canonical, PROV)


def nothing_held(_: Sequence[str]) -> Mapping[str, str]:
    return {}


def test_a_new_link_moves_the_alias_and_writes_its_row() -> None:
    result = plan({}, [link(PATH, TABLE)], nothing_held)
    assert result.canon == {PATH.id: TABLE}
    assert result.entries == {PATH.id: TABLE.id}
    assert result.moved == {PATH.id: TABLE}


def test_a_link_already_held_writes_and_moves_nothing() -> None:
    asked: list[Sequence[str]] = []

    def held_to(ids: Sequence[str]) -> Mapping[str, str]:
        asked.append(ids)
        return {}

    result = plan({PATH.id: TABLE.id}, [link(PATH, TABLE)], held_to)
    assert (result.entries, result.moved, asked) == ({}, {}, [])
    assert result.canon == {PATH.id: TABLE}


def test_a_name_linked_to_two_tables_joins_them_onto_the_smaller_in_any_order() -> None:
    links = [link(PATH, TABLE), link(PATH, TABLE2)]
    for order in itertools.permutations(links):
        result = plan({}, list(order), nothing_held)
        assert result.canon == {PATH.id: TABLE, TABLE2.id: TABLE}
    # the second link arriving later: the row held for the first stays, the other table moves
    later = plan({PATH.id: TABLE2.id}, [link(PATH, TABLE)], lambda ids: {PATH2.id: TABLE2.id})
    assert later.moved == {TABLE2.id: TABLE}
    assert later.entries == {PATH.id: TABLE.id, TABLE2.id: TABLE.id, PATH2.id: TABLE.id}


def test_rewrite_puts_columns_versions_and_keep_sets_on_the_canonical_name() -> None:
    column = NodeKey(NodeKind.COLUMN, (*PATH.parts, "id"))
    job = NodeKey(NodeKind.JOB, ("spark", "load"))
    retire = EdgeRetire(job, EdgeKind.INPUT_TO, Direction.IN, frozenset({PATH}), PROV)
    other = NodeKey(NodeKind.COLUMN, (*TABLE2.parts, "id"))
    feeds = EdgeUpsert(EdgeKey(column, EdgeKind.FEEDS, other), PROV)
    out = rewrite([link(PATH, TABLE), retire, feeds], {PATH.id: TABLE})
    assert len(out) == 2  # the link itself is the store's, not a write
    assert isinstance(out[0], EdgeRetire) and out[0].keep == frozenset({TABLE})
    assert isinstance(out[1], EdgeUpsert) and out[1].key.src == rekey(column, {PATH.id: TABLE})
    assert out[1].key.src.parts == (*TABLE.parts, "id")
    assert out[1].key.dst.parts == (*TABLE2.parts, "id")  # not an alias: as it was


def test_datasets_named_is_every_dataset_id_its_keys_name() -> None:
    # datasets_named spells dataset_id out for speed: both must agree on every kind of key, in
    # every kind of mutation (edge ends, retirement anchors, keep and only sets, links)
    keys = [
        NodeKey(kind, tuple(f"{kind.value}-{i}-{f}" for f in KEY_FIELDS[kind]))
        for kind in NodeKind
        for i in range(2)
    ]
    column = NodeKey(NodeKind.COLUMN, ("file", "/warehouse/t", "id"))
    other = NodeKey(NodeKind.COLUMN, ("file", "/elsewhere/u", "id"))
    version = NodeKey(NodeKind.DATASET_VERSION, ("file", "/other/t", "v1"))
    mutations = [
        *(NodeUpsert(k, PROV, {}) for k in keys[::3]),
        EdgeUpsert(EdgeKey(other, EdgeKind.FEEDS, column), PROV, {}),
        EdgeUpsert(EdgeKey(ds("s3", "/v"), EdgeKind.HAS_VERSION, version), PROV, {}),
        EdgeRetire(
            column,
            EdgeKind.FEEDS,
            Direction.IN,
            frozenset(keys[1::3]),
            PROV,
            None,
            frozenset(keys[2::3]),
        ),
        link(PATH, TABLE2),
    ]
    expected = {d for m in mutations for k in _keys(m) if (d := dataset_id(k)) is not None}
    assert datasets_named(mutations) == expected
    assert {PATH.id, TABLE2.id, ds("file", "/other/t").id, ds("file", "/elsewhere/u").id} <= (
        expected
    )
