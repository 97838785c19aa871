"""The embedded store's storage layer against a tiny dict model (property test).

Random batches of writes — node and edge records (some retired: `valid_to`), node deletions
(every edge at them goes too), alias table rows, a node's `aliases` prop — go into the store
through its unit of work and into `Model` below: plain dicts, answers by scanning. After every
batch the two must agree on every read (neighbors each way, by kinds, now and `as_of`; get_nodes,
stats, iter_*, the alias lookups, the unit of work's loads), and so must a store rebuilt from
its `export_state` written to a snapshot file and read back. A batch that fails before its
commit changes nothing.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.records import EdgeId, Record, StoredEdge, StoredNode
from lineage_kg.graph.snapshot import FORMAT, SnapshotHeader, read_snapshot, write_snapshot

E = EdgeKind
DATASETS = [NodeKey.of(NodeKind.DATASET, namespace="ns", name=f"d{i}") for i in range(4)]
COLUMNS = [NodeKey.of(NodeKind.COLUMN, namespace="ns", name="d0", field=f"c{i}") for i in range(3)]
JOBS = [NodeKey.of(NodeKind.JOB, namespace="ns", name=f"j{i}") for i in range(2)]
OWNERS = [NodeKey.of(NodeKind.OWNER, owner_id=f"o{i}") for i in range(2)]
NODES = DATASETS + COLUMNS + JOBS + OWNERS
# (source kinds, edge kind, target kinds) the vocabulary allows
SHAPES = [
    (DATASETS, E.HAS_COLUMN, COLUMNS),
    (DATASETS, E.INPUT_TO, JOBS),
    (JOBS, E.PRODUCES, DATASETS),
    (COLUMNS, E.FEEDS, COLUMNS),
    (OWNERS, E.OWNS, DATASETS + JOBS),
    (OWNERS, E.MEMBER_OF, OWNERS),
]
KINDS_USED = sorted({kind for _, kind, _ in SHAPES})
TIMES = [f"2024-01-0{d}T00:00:00Z" for d in range(1, 8)]
NAMES = ["ns/alias-a", "ns/alias-b", "other/x"]


def valid(record: Record, as_of: str | None) -> bool:
    """The store contract's validity, written again: current, or known by and open at `as_of`."""
    to = record.get("valid_to")
    if as_of is None:
        return to is None
    return record["first_seen"] <= as_of and (to is None or as_of < to)


@dataclass
class Model:
    nodes: dict[str, Record] = field(default_factory=dict)
    edges: dict[EdgeId, Record] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)

    def commit(self, batch: Batch) -> None:
        for node_id in batch.deleted:
            self.nodes.pop(node_id, None)
            self.edges = {e: r for e, r in self.edges.items() if node_id not in (e[0], e[2])}
        self.links.update(batch.links)
        self.nodes.update(batch.nodes)
        self.edges.update(batch.edges)

    def neighbors(
        self, ids: list[str], direction: Direction, kinds: list[EdgeKind] | None, as_of: str | None
    ) -> list[StoredEdge]:
        end = 0 if direction is Direction.OUT else 2
        found = [
            StoredEdge.from_record(eid, rec)
            for eid, rec in self.edges.items()
            if eid[end] in ids
            and (kinds is None or eid[1] in {k.value for k in kinds})
            and valid(rec, as_of)
        ]
        return sorted(found, key=lambda e: e.key.id)

    def incident(self, anchor: str, kind: EdgeKind, direction: Direction) -> dict[EdgeId, Record]:
        end = 0 if direction is Direction.OUT else 2
        return {e: r for e, r in self.edges.items() if e[end] == anchor and e[1] == kind.value}


@dataclass
class Batch:
    nodes: dict[str, Record] = field(default_factory=dict)
    edges: dict[EdgeId, Record] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)


def _provenance(rng: random.Random) -> dict[str, Any]:
    first, last = sorted(rng.choices(TIMES, k=2))
    return {
        "sources": sorted(rng.sample(["openlineage", "dbt"], rng.randint(1, 2))),
        "first_seen": first,
        "first_event": rng.choice(["e1", "e2"]),
        "last_seen": last,
        "last_event": rng.choice(["e3", "e4"]),
        "_stamps": "{}",
    }


def node_record(rng: random.Random, key: NodeKey) -> Record:
    record: Record = {"key": key.id, "kind": key.kind.value, "display": key.display, **key.fields}
    record.update(_provenance(rng))
    extras: list[tuple[str, Any]] = [("owner", rng.choice(["ann", "bob"]))]
    if key.kind is NodeKind.DATASET:
        extras.append(("aliases", sorted(rng.sample(NAMES, rng.randint(0, 2)))))
    extras.append(("rows", rng.randint(0, 3)))
    # props present or not, in either order: records of several shapes (graph/packed.py)
    for name, value in rng.sample(extras, len(extras)):
        if rng.random() < 0.5:
            record[name] = value
    return record


def edge_record(rng: random.Random, disc: str) -> Record:
    record: Record = {"disc": disc, **_provenance(rng)}
    if rng.random() < 0.5:
        record["weight"] = rng.randint(0, 3)
    if rng.randint(0, 2) == 0:  # retired at some time after it was first seen
        later = [t for t in TIMES if t > record["first_seen"]] or ["2024-01-09T00:00:00Z"]
        record["valid_to"] = rng.choice(later)
        record["retired_by"] = "r1"
    return record


def random_batch(rng: random.Random, model: Model) -> Batch:
    batch = Batch()
    for _ in range(rng.randint(0, 3)):
        if rng.randint(0, 3) == 0 and model.nodes:
            batch.deleted.append(rng.choice(sorted(model.nodes)))
    for _ in range(rng.randint(0, 4)):
        key = rng.choice(NODES)
        batch.nodes[key.id] = node_record(rng, key)
    for _ in range(rng.randint(0, 8)):
        sources, kind, targets = rng.choice(SHAPES)
        src, dst = rng.choice(sources), rng.choice(targets)
        disc = rng.choice(["", "", "x"])
        batch.edges[(src.id, kind.value, dst.id, disc)] = edge_record(rng, disc)
        for end in (src, dst):  # an edge's ends exist (the merge always writes them)
            gone = end.id in batch.deleted or end.id not in model.nodes
            if gone and end.id not in batch.nodes:
                batch.nodes[end.id] = node_record(rng, end)
    for _ in range(rng.randint(0, 2)):
        batch.links[rng.choice(DATASETS).id] = rng.choice(DATASETS).id
    return batch


def write(store: EmbeddedStore, batch: Batch, fail: bool = False) -> None:
    with store._unit_of_work() as uow:
        uow.delete_nodes(batch.deleted)
        uow.write_aliases(batch.links)
        # the store keeps what it is given: hand it copies, as GraphStore.apply does (new dicts)
        uow.write(
            {k: dict(v) for k, v in batch.nodes.items()},
            {k: dict(v) for k, v in batch.edges.items()},
        )
        if fail:
            raise RuntimeError("the batch fails before its commit")


def check(store: EmbeddedStore, model: Model, rng: random.Random) -> None:
    ids = rng.choices([n.id for n in NODES], k=rng.randint(0, 6))
    for direction in Direction:
        kinds = None if rng.random() < 0.3 else rng.sample(KINDS_USED, rng.randint(1, 3))
        for as_of in (None, rng.choice(TIMES)):
            got = store.neighbors(ids, direction, kinds, as_of)
            assert got == model.neighbors(ids, direction, kinds, as_of)
    everything = [n.id for n in NODES]
    for direction in Direction:  # every edge, each way, at every time
        for as_of in (None, *TIMES):
            assert store.neighbors(everything, direction, None, as_of) == model.neighbors(
                everything, direction, None, as_of
            )
    want = [StoredNode.from_record(model.nodes[i]) for i in ids if i in model.nodes]
    assert store.get_nodes(ids) == want
    stats = store.stats()
    assert stats.nodes == dict(sorted(Counter(r["kind"] for r in model.nodes.values()).items()))
    assert stats.edges == dict(sorted(Counter(e[1] for e in model.edges).items()))
    assert list(store.iter_nodes()) == [
        StoredNode.from_record(model.nodes[i]) for i in sorted(model.nodes)
    ]
    assert list(store.iter_edges()) == [
        StoredEdge.from_record(e, model.edges[e]) for e in sorted(model.edges)
    ]
    names = rng.sample(NAMES, rng.randint(0, 2))
    aliased = sorted(i for i, r in model.nodes.items() if set(r.get("aliases") or ()) & set(names))
    assert [n.id for n in store.find_aliased(names)] == aliased[:10]
    datasets = [d.id for d in DATASETS]
    assert store.linked_names(datasets) == model.links
    assert store.names_linked_to(datasets[:2]) == {
        a: c for a, c in model.links.items() if c in datasets[:2]
    }
    with store._unit_of_work() as uow:  # the loads the merge reads through
        assert uow.load_nodes(ids) == {i: model.nodes[i] for i in ids if i in model.nodes}
        eids = [*list(model.edges)[:5], (ids[0] if ids else "x", "FEEDS", "y", "")]
        assert uow.load_edges(eids) == {e: model.edges[e] for e in eids if e in model.edges}
        specs = [(i, k, d) for i in ids[:2] for k in KINDS_USED for d in Direction]
        want_incident: dict[EdgeId, Record] = {}
        for spec in specs:
            want_incident.update(model.incident(*spec))
        assert uow.load_incident(specs) == want_incident
        around = {e: r for e, r in model.edges.items() if e[0] in ids or e[2] in ids}
        assert uow.load_around(ids) == around


@pytest.mark.parametrize("seed", range(40))
def test_embedded_store_answers_as_the_dict_model(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    store, model = EmbeddedStore(), Model()
    for _ in range(rng.randint(1, 8)):
        batch = random_batch(rng, model)
        if rng.randint(0, 5) == 0:
            with pytest.raises(RuntimeError):
                write(store, batch, fail=True)
        else:
            write(store, batch)
            model.commit(batch)
        check(store, model, rng)
    # through the snapshot file, whose unpickler admits only what a store's state is made of
    state = store.export_state()
    header = SnapshotHeader(FORMAT, state.checkpoint, "h", "test", "2024-01-01T00:00:00Z")
    write_snapshot(tmp_path / "snapshot", state, header)
    again = EmbeddedStore.from_state(read_snapshot(tmp_path / "snapshot")[1])
    check(again, model, rng)
    # the copy goes its own way: a batch into one store leaves the other as it was
    batch = random_batch(rng, model)
    write(again, batch)
    check(store, model, rng)
    model.commit(batch)
    check(again, model, rng)
