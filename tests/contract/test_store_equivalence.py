"""Property tests: random mutation streams give identical graphs on both stores.

Upserts commute: any arrival order and any split into batches gives the same graph (that is what
lets late OpenLineage events and replays be safe). Retirements depend on what was asserted
before them, so with retirements the two stores get the same stream in the same batches.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import (
    Direction,
    EdgeRetire,
    EdgeUpsert,
    Mutation,
    MutationBatch,
    NodeUpsert,
    Provenance,
)
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.graph.store import GraphStore

DATASETS = [NodeKey.of(NodeKind.DATASET, namespace="ns", name=f"d{i}") for i in range(4)]
JOBS = [NodeKey.of(NodeKind.JOB, namespace="ns", name=f"j{i}") for i in range(2)]
COLUMNS = [NodeKey.of(NodeKind.COLUMN, namespace="ns", name="d0", field=f"c{i}") for i in range(3)]
pytestmark = pytest.mark.neo4j

TIMES = [f"2024-01-0{d}T00:00:00Z" for d in range(1, 6)]

provenances = st.builds(
    Provenance,
    source=st.sampled_from(["openlineage", "dbt", "mlflow"]),
    event_id=st.sampled_from(["e1", "e2", "e3", "e4"]),
    event_time=st.sampled_from(TIMES),
)
props = st.dictionaries(
    st.sampled_from(["description", "rows", "tags", "ok"]),
    st.one_of(
        st.text(max_size=5),
        st.integers(-5, 5),
        st.booleans(),
        st.lists(st.sampled_from(["a", "b"]), max_size=2),
    ),
    max_size=3,
)
node_upserts = st.builds(NodeUpsert, st.sampled_from(DATASETS + JOBS + COLUMNS), provenances, props)
edge_keys = st.one_of(
    st.tuples(st.sampled_from(DATASETS), st.just(EdgeKind.INPUT_TO), st.sampled_from(JOBS)),
    st.tuples(st.sampled_from(JOBS), st.just(EdgeKind.PRODUCES), st.sampled_from(DATASETS)),
    st.tuples(st.sampled_from(COLUMNS), st.just(EdgeKind.FEEDS), st.sampled_from(COLUMNS)),
)


@st.composite
def edge_upsert(draw: st.DrawFn) -> EdgeUpsert:
    src, kind, dst = draw(edge_keys)
    batch = MutationBatch()
    batch.edge(src, kind, dst, draw(provenances), draw(st.sampled_from(["", "x"])), **draw(props))
    (mutation,) = batch.mutations
    assert isinstance(mutation, EdgeUpsert)
    return mutation


retirements = st.builds(
    EdgeRetire,
    st.sampled_from(JOBS),
    st.just(EdgeKind.INPUT_TO),
    st.just(Direction.IN),
    st.frozensets(st.sampled_from(DATASETS), max_size=2),
    provenances,
)
upserts = st.lists(st.one_of(node_upserts, edge_upsert()), max_size=25)
streams = st.lists(st.one_of(node_upserts, edge_upsert(), retirements), max_size=25)


def apply_in_batches(store: GraphStore, mutations: list[Mutation], cuts: list[int]) -> None:
    bounds = sorted({0, len(mutations), *(c % (len(mutations) + 1) for c in cuts)})
    for lo, hi in itertools.pairwise(bounds):
        store.apply(MutationBatch(mutations[lo:hi]))


def graph_of(store: GraphStore) -> tuple[list, list]:
    return list(store.iter_nodes()), list(store.iter_edges())


SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@SETTINGS
@given(upserts, st.randoms(use_true_random=False), st.lists(st.integers(0, 30), max_size=4))
def test_upserts_commute_across_orders_batches_and_stores(
    neo4j_store_session: Neo4jStore, mutations: list[Mutation], rnd, cuts: list[int]
) -> None:
    embedded = EmbeddedStore()
    embedded.apply(MutationBatch(list(mutations)))
    shuffled = list(mutations)
    rnd.shuffle(shuffled)
    neo4j_store_session.clear()
    apply_in_batches(neo4j_store_session, shuffled, cuts)
    assert graph_of(neo4j_store_session) == graph_of(embedded)
    # and replaying everything once more changes nothing
    apply_in_batches(neo4j_store_session, mutations, cuts)
    assert graph_of(neo4j_store_session) == graph_of(embedded)


@SETTINGS
@given(streams, st.lists(st.integers(0, 30), max_size=4))
def test_streams_with_retirements_agree_across_stores(
    neo4j_store_session: Neo4jStore, mutations: list[Mutation], cuts: list[int]
) -> None:
    embedded = EmbeddedStore()
    apply_in_batches(embedded, mutations, cuts)
    neo4j_store_session.clear()
    apply_in_batches(neo4j_store_session, mutations, cuts)
    assert graph_of(neo4j_store_session) == graph_of(embedded)
    for when in [None, *TIMES]:
        as_of = None if when is None else Provenance("t", "t", when).event_time
        for job in JOBS:
            got = neo4j_store_session.neighbors([job.id], Direction.IN, as_of=as_of)
            want = embedded.neighbors([job.id], Direction.IN, as_of=as_of)
            assert got == want
