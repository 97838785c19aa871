"""graph/validity.py: an anchor's retirements remembered at once make the text one by one does."""

from __future__ import annotations

import random

import pytest

from lineage_kg.graph import validity
from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction, EdgeRetire, Provenance
from lineage_kg.graph.records import Record, merge_node


def col(name: str, table: str = "t") -> NodeKey:
    return NodeKey(NodeKind.COLUMN, ("pg", table, name))


def retirements(rng: random.Random, anchors: list[NodeKey], n: int) -> list[EdgeRetire]:
    out = []
    for i in range(n):
        keep = frozenset(col(f"k{j}", "u") for j in rng.sample(range(8), rng.randint(0, 3)))
        only = rng.choice([None, frozenset({col("k1", "u")})])
        out.append(
            EdgeRetire(
                rng.choice(anchors),
                rng.choice([EdgeKind.FEEDS, EdgeKind.HAS_COLUMN]),
                rng.choice([Direction.IN, Direction.OUT]),
                keep,
                Provenance(
                    "openlineage", f"e-{rng.randint(0, 9)}", f"2026-03-0{1 + i % 5}T10:00:00Z"
                ),
                rng.choice([None, "x"]),
                only,
            )
        )
    return out


def one_by_one(retires: list[EdgeRetire], nodes: dict[str, Record]) -> None:
    # the definition: each retirement merged into its anchor and remembered in turn
    for retire in retires:
        anchor = merge_node(nodes.get(retire.anchor.id), retire.anchor, {}, retire.prov)
        nodes[retire.anchor.id] = validity.remember(anchor, retire)


def test_remember_all_makes_the_records_one_by_one_does_in_any_order() -> None:
    rng = random.Random(7)
    anchors = [col(f"c{i}") for i in range(4)]
    for _ in range(30):
        retires = retirements(rng, anchors, rng.randint(1, 12))
        retires += rng.sample(retires, len(retires) // 3)  # some twice
        before = {
            anchors[0].id: validity.remember(
                merge_node(None, anchors[0], {}, retires[0].prov), retires[0]
            )
        }
        expected = dict(before)
        one_by_one(retires, expected)
        shuffled = rng.sample(retires, len(retires))
        got = dict(before)
        validity.remember_all(shuffled, got)
        assert got == expected


def test_remembering_nothing_new_returns_the_record_itself() -> None:
    rng = random.Random(3)
    retires = retirements(rng, [col("a")], 5)
    nodes: dict[str, Record] = {}
    validity.remember_all(retires, nodes)
    record = nodes[col("a").id]
    assert validity.remember_each(record, reversed(retires)) is record


def test_a_text_remember_wrote_reads_back_as_parsed_afresh() -> None:
    rng = random.Random(5)
    nodes: dict[str, Record] = {}
    validity.remember_all(retirements(rng, [col("a"), col("b")], 9), nodes)
    for record in nodes.values():
        text = record[validity.RETIRED]
        assert validity._parse(text) == validity._read(text)


def test_the_parse_cache_empties_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validity, "_PARSED_MAX", 3)
    monkeypatch.setattr(validity, "_parsed", {})
    rng = random.Random(9)
    nodes: dict[str, Record] = {}
    validity.remember_all(retirements(rng, [col(f"c{i}") for i in range(6)], 20), nodes)
    assert len(validity._parsed) <= 3
    one = next(iter(nodes.values()))
    assert validity._parse(one[validity.RETIRED]) == validity._read(one[validity.RETIRED])
