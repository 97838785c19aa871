"""graph/records.py's merge (the `_stamps` texts kept parsed, fresh stamps' texts kept, the stamp
ranges compared field by field) held to the merge as it stood before (kept here as the oracle):
generated assertions on a few nodes and edges, in any order, with ties of stamps and values,
give the same records step by step, and never change the record they start from."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.graph import records
from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import EdgeKey, Provenance

Record = dict[str, Any]


# ---- the oracle: graph/records.py's merge before the kept texts (verbatim) -------------------
def _rank(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _new(prov: Provenance) -> Record:
    t, e = prov.stamp
    return {
        "sources": [],
        "first_seen": t,
        "first_event": e,
        "last_seen": t,
        "last_event": e,
        "_stamps": "{}",
    }


def old_merge(record: Record, props: dict[str, Any], prov: Provenance) -> Record:
    stamp = prov.stamp
    if props:
        stamps: dict[str, list[str]] = json.loads(record["_stamps"])
        changed = False
        for name, value in props.items():
            seen = stamps.get(name)
            if (
                seen is None
                or stamp > tuple(seen)
                or (stamp == tuple(seen) and _rank(value) > _rank(record[name]))
            ):
                record[name] = value
                stamps[name] = list(stamp)
                changed = True
        if changed:
            record["_stamps"] = json.dumps(stamps, sort_keys=True, separators=(",", ":"))
    if prov.source not in record["sources"]:
        record["sources"] = sorted([*record["sources"], prov.source])
    record["first_seen"], record["first_event"] = min(
        (record["first_seen"], record["first_event"]), stamp
    )
    record["last_seen"], record["last_event"] = max(
        (record["last_seen"], record["last_event"]), stamp
    )
    return record


def old_covers(record: Record, prov: Provenance) -> bool:
    return prov.source in record["sources"] and (
        record["first_seen"],
        record["first_event"],
    ) <= prov.stamp <= (record["last_seen"], record["last_event"])


def old_merge_node(
    existing: Record | None, key: NodeKey, props: dict[str, Any], prov: Provenance
) -> Record:
    if existing is not None and not props and old_covers(existing, prov):
        return existing
    if existing is None:
        record = {"key": key.id, "kind": key.kind.value, "display": key.display, **key.fields}
        record.update(_new(prov))
    else:
        record = dict(existing)
    return old_merge(record, props, prov)


def old_merge_edge(
    existing: Record | None, key: EdgeKey, props: dict[str, Any], prov: Provenance
) -> Record:
    record = dict(existing) if existing is not None else {"disc": key.disc, **_new(prov)}
    record = old_merge(record, props, prov)
    valid_to = record.get("valid_to")
    if valid_to is not None and prov.event_time >= valid_to:
        del record["valid_to"]
        record.pop("retired_by", None)
    return record


# ---- generated assertions -------------------------------------------------------------------
NODES = [
    NodeKey(NodeKind.DATASET, ("pg", "t")),
    NodeKey(NodeKind.COLUMN, ("pg", "t", "a")),
    NodeKey(NodeKind.COLUMN, ("pg", "t", "b")),
]
EDGES = [EdgeKey(NODES[0], EdgeKind.HAS_COLUMN, NODES[i]) for i in (1, 2)]
TIMES = ["2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z", "2026-01-02T00:00:00Z"]
values = st.one_of(
    st.sampled_from([1, 2, "a", "b", True]),
    st.lists(st.sampled_from(["x", "y"]), max_size=2),
    st.dictionaries(st.sampled_from(["k", "j"]), st.integers(0, 2), max_size=2),
)
assertion = st.tuples(
    st.integers(0, len(NODES) + len(EDGES) - 1),  # which record
    st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), values, max_size=3),
    st.sampled_from(["src1", "src2"]),
    st.sampled_from(TIMES),
    st.sampled_from(["e1", "e2", "e3"]),
    st.sampled_from([None, *TIMES]),  # a retirement on an edge before this assertion
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(assertion, max_size=25))
def test_merge_equals_the_old_merge(steps: list[tuple[Any, ...]]) -> None:
    new: dict[int, Record | None] = {}
    old: dict[int, Record | None] = {}
    for which, props, source, time, event, retired_at in steps:
        prov = Provenance(source, event, time)
        mine, theirs = new.get(which), old.get(which)
        if which >= len(NODES) and retired_at is not None and mine is not None:
            assert theirs is not None
            mine = {**mine, "valid_to": retired_at, "retired_by": "r"}
            theirs = {**theirs, "valid_to": retired_at, "retired_by": "r"}
        before = copy.deepcopy(mine)
        if which < len(NODES):
            key = NODES[which]
            new[which] = records.merge_node(mine, key, dict(props), prov)
            old[which] = old_merge_node(theirs, key, dict(props), prov)
        else:
            edge = EDGES[which - len(NODES)]
            new[which] = records.merge_edge(mine, edge, dict(props), prov)
            old[which] = old_merge_edge(theirs, edge, dict(props), prov)
        assert new[which] == old[which]
        assert mine == before  # the record merged into is never changed
        # the cover test, over every record and this assertion
        for record in new.values():
            if record is not None:
                assert records.covers(record, prov) == old_covers(record, prov)
