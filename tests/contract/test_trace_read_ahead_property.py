"""The decision trace through its data chain's read-ahead (queries/trace_ahead.py) is the level
loop's trace, on generated data chains: runs reading versions and whole datasets, writing
versions, failing or not, at times that make the resolutions pick different versions and
writers, edges asserted at different times asked now and earlier, depths that cut the chain. On
Neo4j through the store's own read-ahead (`reach`); on both stores through hand-made ones that
cover everything, every other node or the others."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from lineage_kg.graph.model import EdgeKind, NodeKey
from lineage_kg.graph.model import NodeKind as K
from lineage_kg.graph.mutations import MutationBatch, Provenance
from lineage_kg.graph.store import GraphStore
from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.queries import decision_trace
from lineage_kg.queries.decision_trace import decision_lineage
from lineage_kg.queries.trace_ahead import read_ahead
from tests.contract.test_trace_read_ahead import COVERS, _made

E = EdgeKind
TIMES = [canonical_time(f"2026-03-0{d}T0{h}:00:00Z") for d in (1, 2, 3) for h in (1, 5)]
DATASETS = [NodeKey.of(K.DATASET, namespace="db", name=f"t{i}") for i in range(3)]
VERSIONS = [
    NodeKey.of(K.DATASET_VERSION, namespace="db", name=f"t{i}", version=f"v{j}")
    for i in range(3)
    for j in range(3)
]
RUNS = [NodeKey.of(K.RUN, run_id=f"r{i}") for i in range(5)]
JOBS = [NodeKey.of(K.JOB, namespace="etl", name=f"j{i}") for i in range(2)]
OWNERS = [NodeKey.of(K.OWNER, owner_id=f"team:{i}") for i in range(2)]
MODEL = NodeKey.of(K.MODEL, registry="mlflow", name="m")
MV = NodeKey.of(K.MODEL_VERSION, registry="mlflow", name="m", version="1")


def _dataset_of(version: NodeKey) -> NodeKey:
    return NodeKey.of(K.DATASET, namespace=version.parts[0], name=version.parts[1])


@st.composite
def chains(draw: st.DrawFn) -> list[MutationBatch]:
    """A batch per event time: runs (state, start, end), the versions' datasets, and random
    WROTE, READ_BY (of versions and of whole datasets), TRAINED, RUN_OF and OWNS edges."""
    batches: dict[str, MutationBatch] = {}

    def at(time: str) -> tuple[MutationBatch, Provenance]:
        return batches.setdefault(time, MutationBatch()), Provenance("test", f"e-{time}", time)

    for run in RUNS:
        start = draw(st.sampled_from(TIMES))
        b, p = at(start)
        state = draw(st.sampled_from(["COMPLETE", "FAIL", "START"]))
        props: dict[str, Any] = {"state": state, "started_at": start}
        if state != "START" and draw(st.booleans()):
            props["ended_at"] = draw(st.sampled_from([t for t in TIMES if t >= start]))
        b.node(run, p, **props)
        b.edge(run, E.RUN_OF, draw(st.sampled_from(JOBS)), p)
    for version in VERSIONS:
        if draw(st.integers(0, 3)):  # most versions' datasets known
            b, p = at(draw(st.sampled_from(TIMES)))
            b.edge(_dataset_of(version), E.HAS_VERSION, version, p)
    # weighted towards what resolves: versions written, datasets read whole
    kinds = [
        *[(E.WROTE, RUNS, VERSIONS)] * 3,
        *[(E.READ_BY, VERSIONS, RUNS)] * 2,
        *[(E.READ_BY, DATASETS, RUNS)] * 3,
        (E.TRAINED, RUNS, [MV]),
        (E.OWNS, OWNERS, [*DATASETS, *JOBS, MODEL]),
    ]
    for _ in range(draw(st.integers(4, 30))):
        kind, srcs, dsts = draw(st.sampled_from(kinds))
        b, p = at(draw(st.sampled_from(TIMES)))
        b.edge(draw(st.sampled_from(srcs)), kind, draw(st.sampled_from(dsts)), p)
    b, p = at(TIMES[0])
    trainer = draw(st.sampled_from(RUNS))
    b.edge(trainer, E.TRAINED, MV, p)
    b.edge(draw(st.sampled_from([*VERSIONS, *DATASETS])), E.READ_BY, trainer, p)
    b.edge(MODEL, E.HAS_VERSION, MV, p)
    return [batches[t] for t in sorted(batches)]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    chains(),
    st.integers(1, 6),
    st.sampled_from([None, TIMES[2], TIMES[4]]),
    st.sampled_from(["the store's", "everything", "every other node", "the others"]),
)
def test_the_trace_through_a_read_ahead_is_the_level_loops(
    store: GraphStore, batches: list[MutationBatch], depth: int, as_of: Any, cover: str
) -> None:
    store.clear()
    for batch in batches:
        store.apply(batch)
    real = decision_trace.read_ahead
    try:
        decision_trace.read_ahead = lambda *a: None  # type: ignore[assignment]
        loop = decision_lineage(store, MV.id, depth=depth, as_of=as_of)
        event(f"data steps: {min(len(loop.data), 5)}+, truncated: {loop.truncated}")
        resolved = {s.kind.value for s in loop.data if s.resolution.value == "resolved"}
        event(f"resolved: {sorted(resolved)}")
        if cover == "the store's":
            decision_trace.read_ahead = real
            view = read_ahead(store, [MV.id], depth, as_of)
            assert (view is not None) is (store.name == "neo4j")  # no `reach`: the loop
        else:
            decision_trace.read_ahead = _made(store, COVERS[cover])  # type: ignore[assignment]
        assert decision_lineage(store, MV.id, depth=depth, as_of=as_of) == loop
    finally:
        decision_trace.read_ahead = real
