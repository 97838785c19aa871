"""graph/records.py's `merge_node` and `merge_edge` build the record of a node or edge first seen
directly since session 33 (its keys in the order the general merge left them), held to both at
415f788, kept here verbatim as the oracle: generated keys of every kind, props or none, several
provenances, first seen or merged again (and again after a retirement): equal records, keys in
the same order, and `existing` itself returned exactly when the old merge returned it."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.graph import records
from lineage_kg.graph.model import EDGE_SPECS, KEY_FIELDS, NodeKey
from lineage_kg.graph.mutations import EdgeKey, EdgeUpsert, NodeUpsert, Provenance
from lineage_kg.graph.records import Record, _merge, _new, covers


# ---- the oracle: graph/records.py at 415f788, verbatim -------------------------------------------
def merge_node(
    existing: Record | None, key: NodeKey, props: dict[str, Any], prov: Provenance
) -> Record:
    if existing is not None and not props and covers(existing, prov):
        return existing
    if existing is None:
        record = {"key": key.id, "kind": key.kind.value, "display": key.display, **key.fields}
        record.update(_new(prov))
    else:
        record = dict(existing)
    return _merge(record, props, prov)


def merge_edge(
    existing: Record | None, key: EdgeKey, props: dict[str, Any], prov: Provenance
) -> Record:
    if existing is not None and not props and "valid_to" not in existing and covers(existing, prov):
        return existing
    record = dict(existing) if existing is not None else {"disc": key.disc, **_new(prov)}
    record = _merge(record, props, prov)
    valid_to = record.get("valid_to")
    if valid_to is not None and prov.event_time >= valid_to:
        # asserted again after it was retired: current again (the gap stays in the audit trail)
        del record["valid_to"]
        record.pop("retired_by", None)
    return record


# ---- generated assertions ------------------------------------------------------------------------
KEYS = [NodeKey(kind, tuple(f"{f}{i}" for f in fields))
        for kind, fields in KEY_FIELDS.items() for i in range(2)]  # fmt: skip
EDGES = [EdgeKey(s, kind, d, disc) for kind, spec in EDGE_SPECS.items() for s in KEYS
         if s.kind in spec.sources for d in KEYS if d.kind in spec.targets
         for disc in ("", "steward")]  # fmt: skip
PROVS = [
    Provenance(source, f"ev-{i}", f"2026-03-01T00:00:0{i % 3}Z")
    for i, source in enumerate(["openlineage", "mlflow", "openlineage", "dbt", "mlflow"])
]
props = st.dictionaries(
    st.sampled_from(["description", "type", "ordinal", "state", "tags"]),
    st.sampled_from(["a", "b", 1, 2.5, True, "COMPLETE", "START", "RUNNING"]),
    max_size=3,
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(KEYS), props, st.sampled_from(PROVS)), max_size=6))
def test_merge_node_equals_415f788s(
    steps: list[tuple[NodeKey, dict[str, Any], Provenance]],
) -> None:
    new: dict[str, Record] = {}
    old: dict[str, Record] = {}
    for key, p, prov in steps:
        NodeUpsert(key, prov, p)  # a prop the store could be given (no reserved name)
        held_new, held_old = new.get(key.id), old.get(key.id)
        got = records.merge_node(held_new, key, p, prov)
        expected = merge_node(held_old, key, p, prov)
        assert list(got.items()) == list(expected.items())
        assert (got is held_new) == (expected is held_old)
        new[key.id], old[key.id] = got, expected


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.sampled_from(EDGES), props, st.sampled_from(PROVS), st.booleans()),
        max_size=6,
    )
)
def test_merge_edge_equals_415f788s(
    steps: list[tuple[EdgeKey, dict[str, Any], Provenance, bool]],
) -> None:
    new: dict[Any, Record] = {}
    old: dict[Any, Record] = {}
    for key, p, prov, retired in steps:
        EdgeUpsert(key, prov, p)
        held_new, held_old = new.get(key.id), old.get(key.id)
        if retired and held_new is not None:  # closed at a time some assertions are after
            closed = {"valid_to": "2026-03-01T00:00:01.000000Z", "retired_by": "r"}
            held_new, held_old = {**held_new, **closed}, {**held_old, **closed}
        got = records.merge_edge(held_new, key, p, prov)
        expected = merge_edge(held_old, key, p, prov)
        assert list(got.items()) == list(expected.items())
        assert (got is held_new) == (expected is held_old)
        assert got is not held_old and (held_new is None or got["sources"] is not None)
        new[key.id], old[key.id] = got, expected


def test_a_fresh_record_is_its_own() -> None:
    """Two first-seen records share no list (a later merge of one must not touch the other)."""
    key, prov = EDGES[0], PROVS[0]
    a, b = records.merge_edge(None, key, {}, prov), records.merge_edge(None, key, {}, prov)
    assert a == b and a is not b and a["sources"] is not b["sources"]
    n, m = records.merge_node(None, KEYS[0], {}, prov), records.merge_node(None, KEYS[0], {}, prov)
    assert n == m and n is not m and n["sources"] is not m["sources"]
