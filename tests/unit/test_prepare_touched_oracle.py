"""graph/store.py's merge loop: what a batch touches read in one pass (`_Touched`), and `_retire`
indexing only the anchors retired at by the kind's string, held to the code as it stood before
(kept here verbatim as the oracle) over generated batches and edge records: the same node ids,
edge ids, incident specs and retirements in order; the same records after retiring, in the same
order, the records given never changed."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.graph import records
from lineage_kg.graph.model import EDGE_SPECS, KEY_FIELDS, EdgeKind, NodeKey
from lineage_kg.graph.mutations import (
    Direction,
    EdgeKey,
    EdgeRetire,
    EdgeUpsert,
    NodeUpsert,
    Provenance,
)
from lineage_kg.graph.records import EdgeId, Record, merge_edge, merge_node, retire_edge
from lineage_kg.graph.store import GraphStore, IncidentSpec, _merge_upserts, _Touched

Mutation = NodeUpsert | EdgeUpsert | EdgeRetire


# ---- the oracle: graph/store.py before this change (verbatim) --------------------------------
def old_node_ids(mutations: list[Mutation]) -> set[str]:
    ids: set[str] = set()
    for m in mutations:
        if isinstance(m, NodeUpsert):
            ids.add(m.key.id)
        elif isinstance(m, EdgeUpsert):
            ids.update((m.key.src.id, m.key.dst.id))
        elif isinstance(m, EdgeRetire):
            ids.add(m.anchor.id)
    return ids


def old_touched(mutations: list[Mutation]) -> tuple[Any, ...]:
    edge_ids = {m.key.id for m in mutations if isinstance(m, EdgeUpsert)}
    incident = {(m.anchor.id, m.kind, m.direction) for m in mutations if isinstance(m, EdgeRetire)}
    retires = [m for m in mutations if isinstance(m, EdgeRetire)]
    return old_node_ids(mutations), edge_ids, incident, retires


def old_merge_edge(
    existing: Record | None, key: EdgeKey, props: dict[str, Any], prov: Provenance
) -> Record:  # graph/records.py's merge_edge before session 28 (always a copy)
    record = dict(existing) if existing is not None else {"disc": key.disc, **records._new(prov)}
    record = records._merge(record, props, prov)
    valid_to = record.get("valid_to")
    if valid_to is not None and prov.event_time >= valid_to:
        del record["valid_to"]
        record.pop("retired_by", None)
    return record


def old_merge_loop(
    mutations: list[Mutation], nodes: dict[str, Record], edges: dict[EdgeId, Record]
) -> None:  # graph/store.py's merge loop before session 28
    for m in mutations:
        if isinstance(m, EdgeUpsert):  # most of a batch
            key, prov = m.key, m.prov
            # an edge's ends exist from the moment something says they are connected
            for end in (key.src, key.dst):
                nodes[end.id] = merge_node(nodes.get(end.id), end, {}, prov)
            eid = key.id
            edges[eid] = old_merge_edge(edges.get(eid), key, m.props, prov)
        elif isinstance(m, NodeUpsert):
            nodes[m.key.id] = merge_node(nodes.get(m.key.id), m.key, m.props, m.prov)


def old_retire(retires: list[EdgeRetire], edges: dict[EdgeId, Record]) -> None:
    at_anchor: dict[IncidentSpec, list[EdgeId]] = {}
    for eid in edges:
        src, kind, dst, _ = eid
        at_anchor.setdefault((src, EdgeKind(kind), Direction.OUT), []).append(eid)
        at_anchor.setdefault((dst, EdgeKind(kind), Direction.IN), []).append(eid)
    for retire in retires:
        keep = {k.id for k in retire.keep}
        only = None if retire.only is None else {k.id for k in retire.only}
        for eid in at_anchor.get((retire.anchor.id, retire.kind, retire.direction), ()):
            far = eid[2] if retire.direction is Direction.OUT else eid[0]
            if far not in keep and retire.disc in (None, eid[3]) and (only is None or far in only):
                edges[eid] = retire_edge(edges[eid], retire)


# ---- generated batches: a few keys of every kind, edges of every kind between them ------------
POOL = [NodeKey(kind, tuple(f"{f}{i}" for f in fields)) for kind, fields in KEY_FIELDS.items()
        for i in range(2)]  # fmt: skip
EDGES = [(kind, src, dst) for kind, spec in EDGE_SPECS.items()
         for src in POOL if src.kind in spec.sources
         for dst in POOL if dst.kind in spec.targets]  # fmt: skip
PROVS = [Provenance("openlineage", f"ev-{i}", f"2026-03-01T00:00:0{i % 3}Z") for i in range(4)]

edge_upsert = st.builds(
    lambda edge, disc, prov: EdgeUpsert(EdgeKey(edge[1], edge[0], edge[2], disc), prov),
    st.sampled_from(EDGES),
    st.sampled_from(["", "champion"]),
    st.sampled_from(PROVS),
)
node_upsert = st.builds(NodeUpsert, st.sampled_from(POOL), st.sampled_from(PROVS))
some_keys = st.frozensets(st.sampled_from(POOL), max_size=3)
# anchors drawn from the edges' own ends, so that retirements meet edges
retire = st.builds(
    lambda edge, way, keep, prov, disc, only: EdgeRetire(
        edge[1] if way is Direction.OUT else edge[2], edge[0], way, keep, prov, disc, only
    ),
    st.sampled_from(EDGES),
    st.sampled_from(list(Direction)),
    some_keys,
    st.sampled_from(PROVS),
    st.sampled_from([None, "", "champion"]),
    st.none() | some_keys,
)
mutations = st.lists(edge_upsert | node_upsert | retire, max_size=40)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations)
def test_touched_equals_the_old_passes(batch: list[Mutation]) -> None:
    t = _Touched.of(batch)
    assert (t.node_ids, t.edge_ids, t.incident, t.retires) == old_touched(batch)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(edge_upsert, max_size=30), st.lists(retire, max_size=8))
def test_retire_equals_the_old_retire(asserted: list[EdgeUpsert], retires: list[Any]) -> None:
    edges: dict[EdgeId, Record] = {}
    for m in asserted:
        edges[m.key.id] = merge_edge(edges.get(m.key.id), m.key, m.props, m.prov)
    given_edges = copy.deepcopy(edges)
    new, old = dict(edges), dict(edges)
    GraphStore._retire(retires, new)
    old_retire(retires, old)
    assert list(new.items()) == list(old.items())
    assert edges == given_edges  # records are replaced, never changed in place


def test_generated_retirements_close_edges() -> None:
    """Not vacuous: a retirement keeping nothing closes an older edge at its anchor."""
    up = EdgeUpsert(EdgeKey(*[EDGES[0][i] for i in (1, 0, 2)]), PROVS[0])
    edges = {up.key.id: merge_edge(None, up.key, {}, up.prov)}
    gone = EdgeRetire(up.key.src, up.key.kind, Direction.OUT, frozenset(), PROVS[1])
    GraphStore._retire([gone], edges)
    assert edges[up.key.id]["valid_to"] == PROVS[1].event_time


edge_upsert_props = st.builds(
    lambda edge, disc, prov, props: EdgeUpsert(
        EdgeKey(edge[1], edge[0], edge[2], disc), prov, props
    ),
    st.sampled_from(EDGES),
    st.sampled_from(["", "champion"]),
    st.sampled_from(PROVS),
    st.sampled_from([{}, {}, {"note": "a"}, {"note": "b"}]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(edge_upsert_props | node_upsert, max_size=20),
    st.lists(retire, max_size=4),
    st.lists(edge_upsert_props | node_upsert, min_size=1, max_size=40),
    st.data(),
)
def test_merge_loop_equals_the_old_loop(
    earlier: list[Mutation], retires: list[Any], batch: list[Mutation], data: st.DataObject
) -> None:
    """The batch's upserts merged into records an earlier batch left (some retired, some with a
    `valid_to` no later than their `last_seen`, as a store written by older code may hold): the
    same records as the loop and merge_edge before (ends covered skipped, edges said again with
    nothing new returned as they are), the records given never changed."""
    nodes: dict[str, Record] = {}
    edges: dict[EdgeId, Record] = {}
    old_merge_loop(earlier, nodes, edges)
    GraphStore._retire(retires, edges)
    for eid in data.draw(st.lists(st.sampled_from(sorted(edges)), max_size=2)) if edges else ():
        edges[eid] = {**edges[eid], "valid_to": edges[eid]["last_seen"]}  # foreign: stale end
    given_nodes, given_edges = copy.deepcopy(nodes), copy.deepcopy(edges)
    new_nodes, new_edges = dict(nodes), dict(edges)
    old_nodes, old_edges = dict(nodes), dict(edges)
    _merge_upserts(batch, new_nodes, new_edges)
    old_merge_loop(batch, old_nodes, old_edges)
    assert list(new_nodes.items()) == list(old_nodes.items())
    assert list(new_edges.items()) == list(old_edges.items())
    assert (nodes, edges) == (given_nodes, given_edges)
