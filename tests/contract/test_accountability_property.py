"""The accountability map on generated estates, on both stores, against the way it was computed
before issue 19's rework (benchmarks/accountability_before.py: the walks with every path kept,
then every node either walk reached read): the same answer — owned assets, KPIs, upstream and
downstream assets with distance, certainty and owners, owner links, gaps, truncation — for
people, teams and aliases, at any depth, now and as of a past time, in estates of every lineage
kind with owners who left, failing runs and failing quality checks."""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from benchmarks.accountability_before import accountability_before
from lineage_kg.graph.model import EdgeKind, NodeKey
from lineage_kg.graph.model import NodeKind as K
from lineage_kg.graph.mutations import MutationBatch, Provenance
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.accountability import accountability
from tests.contract.test_closeness_property import POOL, Edge, graphs
from tests.examples import store_examples

E = EdgeKind
EARLY = Provenance("test", "e-early", "2026-01-01T00:00:00Z")
LATE = Provenance("test", "e-late", "2026-03-01T00:00:00Z")
OWNERS = [NodeKey.of(K.OWNER, owner_id=o) for o in ("team:t0", "team:t1", "p0", "p1", "alias0")]
OWNABLE = [n for kind in E.OWNS.spec.targets for n in POOL.get(kind, [])]


@st.composite
def estates(draw: st.DrawFn) -> tuple[list[Edge], list[bool], dict[str, Any]]:
    """Lineage (tests/contract/test_closeness_property.py), each edge early or late; who owns
    what (an alias of p0 owns too; p0 and p1 in teams); who left; runs' states, versions'
    quality."""
    edges = draw(graphs())
    t0, t1, p0, p1, alias = OWNERS
    edges += [(alias, E.ALIAS_OF, p0, {}), (p0, E.MEMBER_OF, t0, {})]
    if draw(st.booleans()):
        edges.append((p1, E.MEMBER_OF, t1, {}))
    owns = draw(
        st.lists(
            st.tuples(
                st.sampled_from(OWNERS), st.sampled_from(OWNABLE), st.sampled_from(["a", "b"])
            ),
            max_size=10,
        )
    )
    edges += [(o, E.OWNS, n, {"disc": disc}) for o, n, disc in owns]
    late = [draw(st.booleans()) for _ in edges]
    props: dict[str, Any] = {}
    for owner in OWNERS:
        left = draw(st.sampled_from([{}, {"status": "left"}, {"left_at": "2026-02-01T00:00:00Z"}]))
        props[owner.id] = left
    for run in POOL[K.RUN]:
        props[run.id] = {
            "state": draw(st.sampled_from(["COMPLETE", "FAIL", "ABORT"])),
            "started_at": draw(st.sampled_from(["2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"])),
        }
    for node in [*POOL[K.DATASET], *POOL[K.DATASET_VERSION]]:
        props[node.id] = {"quality_failed": draw(st.integers(0, 2)), "quality_passed": 3}
    return edges, late, props


def load(store: GraphStore, estate: tuple[list[Edge], list[bool], dict[str, Any]]) -> None:
    edges, late, props = estate
    store.clear()
    batch = MutationBatch()
    for (src, kind, dst, given_props), is_late in zip(edges, late, strict=True):
        p = dict(given_props)
        batch.edge(src, kind, dst, LATE if is_late else EARLY, disc=p.pop("disc", ""), **p)
    nodes = {n.id: n for n in [*OWNERS, *POOL[K.RUN], *POOL[K.DATASET], *POOL[K.DATASET_VERSION]]}
    for node_id, node_props in props.items():
        batch.node(nodes[node_id], EARLY, **node_props)
    store.apply(batch)


def test_the_same_map_as_before(store: GraphStore) -> None:
    @store_examples(store, 100)
    @given(
        estates(),
        st.sampled_from(["team:t0", "team:t1", "p0", "p1", "alias0"]),
        st.integers(1, 6),
        st.sampled_from([None, "2026-02-15T00:00:00Z"]),
    )
    def check(estate: Any, owner: str, depth: int, as_of: str | None) -> None:
        load(store, estate)
        got = accountability(store, owner, depth=depth, as_of=as_of)
        expected = accountability_before(store, owner, depth=depth, as_of=as_of)
        assert dataclasses.astuple(got) == dataclasses.astuple(expected)

    check()


def test_the_estates_hold_what_the_map_is_about(store: GraphStore) -> None:
    """The generator is not idle: a fixed estate gives a map with every part filled in, so the
    comparison above compares something. And two rules worked out by hand: an asset is as sure
    as its surest reached part (`out` is reached possible through the job, exact through its
    column, which at depth 1 is all that makes it exact), and a part held by two datasets counts
    for the first by edge id (`out`, not X)."""
    t0, _, p0, p1, _ = OWNERS
    ds, out, x = POOL[K.DATASET]
    col, out_col = POOL[K.COLUMN][:2]
    job, run = POOL[K.JOB][0], POOL[K.RUN][0]
    edges: list[Edge] = [
        (ds, E.HAS_COLUMN, col, {}),
        (ds, E.INPUT_TO, job, {}),
        (job, E.PRODUCES, out, {}),
        (col, E.FEEDS, out_col, {}),
        (out, E.HAS_COLUMN, out_col, {}),
        (x, E.HAS_COLUMN, out_col, {}),
        (run, E.RUN_OF, job, {}),
        (t0, E.OWNS, ds, {"disc": "a"}),
        (t0, E.OWNS, job, {"disc": "a"}),
        (p1, E.OWNS, out, {"disc": "b"}),
        (p0, E.MEMBER_OF, t0, {}),
    ]
    props = {p1.id: {"status": "left"}, run.id: {"state": "FAIL"}}
    load(store, (edges, [False] * len(edges), props))
    got = accountability(store, "team:t0")
    assert dataclasses.astuple(got) == dataclasses.astuple(accountability_before(store, "team:t0"))
    assert got.owned and got.downstream and got.downstream_owners
    assert {g.kind.value for g in got.gaps} == {"failing_run", "owner_left", "unowned"}
    assert sorted((r.node.id, r.distance, r.certainty.value) for r in got.downstream) == sorted(
        [(out.id, 1, "exact"), (x.id, 2, "exact")]
    )
    # one step only: `out` itself is reached possible, its column exact
    near = accountability(store, "team:t0", depth=1)
    assert [(r.node.id, r.distance, r.certainty.value) for r in near.downstream] == [
        (out.id, 1, "exact")
    ]
