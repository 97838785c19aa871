"""The merge's passes over a batch read node and edge ids from the keys' slots (`_id`, what the
properties `.id` return) since session 33: `_merge_upserts` (the ends unrolled too),
`_Touched.of` and `merge.datasets_named`, held to their code at 415f788 kept here verbatim as
the oracle, over generated batches of node and edge upserts (props, several provenances and
times, ends seen again), retirements and dataset links: the same records in the same order, the
same ids, specs, retirements and names."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.graph import merge as merge_module
from lineage_kg.graph import store as store_module
from lineage_kg.graph.merge import Mutation, _keys
from lineage_kg.graph.model import EDGE_SPECS, KEY_FIELDS, EdgeKind, NodeKey
from lineage_kg.graph.model import NodeKind as K
from lineage_kg.graph.mutations import (
    DatasetLink,
    Direction,
    EdgeKey,
    EdgeRetire,
    EdgeUpsert,
    NodeUpsert,
    Provenance,
)
from lineage_kg.graph.records import EdgeId, Record, merge_edge, merge_node, retire_edge
from lineage_kg.graph.records import covers as covers_assertion
from lineage_kg.graph.store import IncidentSpec


# ---- the oracle: graph/store.py and graph/merge.py at 415f788, verbatim --------------------------
def _merge_upserts(
    mutations: Iterable[Mutation], nodes: dict[str, Record], edges: dict[EdgeId, Record]
) -> None:
    """Merge the batch's node and edge upserts into `nodes` and `edges`, in the batch's order."""
    for m in mutations:
        if isinstance(m, EdgeUpsert):  # most of a batch
            key, prov = m.key, m.prov
            # an edge's ends exist from the moment something says they are connected; an end
            # that already covers the assertion is left as it is (what merge_node would return),
            # without the call: ~445k of a large batch's 512k ends
            for end in (key.src, key.dst):
                held = nodes.get(end_id := end.id)
                if held is None or not covers_assertion(held, prov):
                    nodes[end_id] = merge_node(held, end, {}, prov)
            eid = key.id
            edges[eid] = merge_edge(edges.get(eid), key, m.props, prov)
        elif isinstance(m, NodeUpsert):
            nodes[m.key.id] = merge_node(nodes.get(m.key.id), m.key, m.props, m.prov)


def touched_of(
    mutations: Iterable[Mutation],
) -> tuple[set[str], set[EdgeId], set[IncidentSpec], list[EdgeRetire]]:
    ids: set[str] = set()
    edge_ids: set[EdgeId] = set()
    incident: set[IncidentSpec] = set()
    retires: list[EdgeRetire] = []
    add_id, add_edge = ids.add, edge_ids.add
    for m in mutations:
        if isinstance(m, EdgeUpsert):  # most of a batch
            key = m.key
            add_id(key.src.id)
            add_id(key.dst.id)
            add_edge(key.id)
        elif isinstance(m, NodeUpsert):
            add_id(m.key.id)
        elif isinstance(m, EdgeRetire):
            add_id(m.anchor.id)
            incident.add((m.anchor.id, m.kind, m.direction))
            retires.append(m)
    return ids, edge_ids, incident, retires


def datasets_named(mutations: Iterable[Mutation]) -> set[str]:
    named: set[str] = set()
    seen: set[str] = set()  # the columns and versions already looked at
    dataset, column, version = K.DATASET, K.COLUMN, K.DATASET_VERSION
    for m in mutations:
        # `_keys`, inlined: an edge's two ends are most of the keys
        keys = (m.key.src, m.key.dst) if type(m) is EdgeUpsert else _keys(m)
        for key in keys:
            kind = key.kind
            if kind is dataset:
                named.add(key.id)
            elif (kind is column or kind is version) and (kid := key.id) not in seen:
                seen.add(kid)
                named.add(NodeKey(dataset, key.parts[:2]).id)
    return named


def retire_old(retires: list[EdgeRetire], edges: dict[EdgeId, Record]) -> None:
    # GraphStore._retire at 47fe6eb (as at 415f788), verbatim
    # only the anchors retired at are indexed, by the kind's string: an edge id's kind is
    # its value, equal to the EdgeKind and hashed alike (no enum built per edge: ~180k a
    # large batch), the edges in the order `edges` holds them as before
    asked = {(r.anchor.id, r.kind, r.direction) for r in retires}
    at_anchor: dict[tuple[str, str, Direction], list[EdgeId]] = {}
    out, into = Direction.OUT, Direction.IN
    for eid in edges:
        if (at := (eid[0], eid[1], out)) in asked:
            at_anchor.setdefault(at, []).append(eid)
        if (at := (eid[2], eid[1], into)) in asked:
            at_anchor.setdefault(at, []).append(eid)
    for retire in retires:
        keep = {k.id for k in retire.keep}
        only = None if retire.only is None else {k.id for k in retire.only}
        for eid in at_anchor.get((retire.anchor.id, retire.kind, retire.direction), ()):
            far = eid[2] if retire.direction is Direction.OUT else eid[0]
            if far not in keep and retire.disc in (None, eid[3]) and (only is None or far in only):
                edges[eid] = retire_edge(edges[eid], retire)


# ---- generated batches -------------------------------------------------------------------------
def _pool() -> list[NodeKey]:
    keys = [NodeKey(kind, tuple(f"{f}{i}" for f in fields))
            for kind, fields in KEY_FIELDS.items() for i in range(2)]  # fmt: skip
    for ds in (("ns", "a"), ("ns", "b")):
        keys.append(NodeKey(K.DATASET, ds))
        keys.extend(NodeKey(K.COLUMN, (*ds, f)) for f in ("id", "x", "y"))
        keys.append(NodeKey(K.DATASET_VERSION, (*ds, "v1")))
    return keys


POOL = _pool()
EDGES = [(kind, s, d) for kind, spec in EDGE_SPECS.items() for s in POOL if s.kind in spec.sources
         for d in POOL if d.kind in spec.targets]  # fmt: skip
PROVS = [
    Provenance(source, f"ev-{i}", f"2026-03-01T00:00:0{i % 3}Z")
    for i, source in enumerate(["openlineage", "mlflow", "openlineage", "dbt"])
]
props = st.dictionaries(
    st.sampled_from(["description", "type", "ordinal", "state"]),
    st.sampled_from(["a", "b", 1, 2, "COMPLETE", "START"]),
    max_size=3,
)
node_upsert = st.builds(NodeUpsert, st.sampled_from(POOL), st.sampled_from(PROVS), props)
edge_upsert = st.builds(
    lambda edge, disc, prov, p: EdgeUpsert(EdgeKey(edge[1], edge[0], edge[2], disc), prov, p),
    st.sampled_from(EDGES),
    st.sampled_from(["", "steward"]),
    st.sampled_from(PROVS),
    props | st.just({}),
)
LATER = [Provenance("openlineage", f"late-{i}", f"2026-03-02T00:00:0{i}Z") for i in range(2)]
retire = st.builds(
    EdgeRetire,
    st.sampled_from(POOL),
    st.sampled_from(list(EdgeKind)),
    st.sampled_from(list(Direction)),
    st.frozensets(st.sampled_from(POOL), max_size=3),
    st.sampled_from(PROVS + LATER),
    st.sampled_from([None, "", "steward"]),
    st.none() | st.frozensets(st.sampled_from(POOL), max_size=3),
)
datasets = [k for k in POOL if k.kind is K.DATASET]
link = st.builds(DatasetLink, st.just(datasets[0]), st.just(datasets[1]), st.sampled_from(PROVS))
batches = st.lists(edge_upsert | edge_upsert | node_upsert | retire | link, max_size=60)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches, batches)
def test_merge_upserts_equals_415f788s(held_batch: list[Mutation], batch: list[Mutation]) -> None:
    """Into records already holding an earlier batch's (so ends are seen again and covered)."""
    nodes: dict[str, Record] = {}
    edges: dict[EdgeId, Record] = {}
    _merge_upserts(held_batch, nodes, edges)
    old_nodes, old_edges = copy.deepcopy(nodes), copy.deepcopy(edges)
    _merge_upserts(batch, old_nodes, old_edges)
    store_module._merge_upserts(batch, nodes, edges)
    assert list(nodes.items()) == list(old_nodes.items())
    assert list(edges.items()) == list(old_edges.items())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches)
def test_touched_and_names_equal_415f788s(batch: list[Mutation]) -> None:
    touched = store_module._Touched.of(batch)
    ids, edge_ids, incident, retires = touched_of(batch)
    assert touched.node_ids == ids and touched.edge_ids == edge_ids
    assert touched.incident == incident and touched.retires == retires
    assert merge_module.datasets_named(batch) == datasets_named(batch)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches, st.lists(retire, max_size=30), st.randoms(use_true_random=False))
def test_retire_equals_the_old_one(
    batch: list[Mutation], retires: list[EdgeRetire], rnd: Any
) -> None:
    """Retirements (later than the edges, or not; by disc, only, keep) at generated edges'
    ends and elsewhere: the same records closed, in the same order."""
    nodes: dict[str, Record] = {}
    edges: dict[EdgeId, Record] = {}
    store_module._merge_upserts(batch, nodes, edges)
    # retirements anchored at the edges' own ends, so that many apply
    for src, kind, dst, _ in list(edges)[:20]:
        far = rnd.choice([k for k in POOL if k.id in (src, dst)])
        retires.append(
            EdgeRetire(far, EdgeKind(kind), rnd.choice(list(Direction)),
                       frozenset(rnd.sample(POOL, rnd.randint(0, 2))), rnd.choice(LATER),
                       rnd.choice([None, "", "steward"]),
                       rnd.choice([None, frozenset(rnd.sample(POOL, 2)),
                                   frozenset(k for k in POOL if k.id in (src, dst))]))
        )  # fmt: skip
    old = dict(edges)
    retire_old(retires, old)
    store_module.GraphStore._retire(retires, edges)
    assert list(edges.items()) == list(old.items())
