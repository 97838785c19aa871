"""A run belongs to the job that first reported it, on both stores (graph/run_owner.py).

An event of another job naming the run (a forged FAIL with an error) changes nothing of it —
not its state, its error, its job, its RUN_OF edges, nor the edges the event would hang on it —
whether it comes in the same batch or a later one, and the rest of that event is applied.
"""

from __future__ import annotations

from typing import Any

import pytest

from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction, MutationBatch
from lineage_kg.graph.store import GraphStore
from lineage_kg.ingest.openlineage.mapping import map_event

RUN = "5e5e5e5e-0000-4000-8000-000000000001"


def _event(job: str, event_type: str, at: str, output: str, **run: Any) -> dict[str, Any]:
    return {
        "eventType": event_type,
        "eventTime": at,
        "run": {"runId": RUN, **run},
        "job": {"namespace": job.split("/", maxsplit=1)[0], "name": job.split("/")[1]},
        "outputs": [{"namespace": job.split("/", maxsplit=1)[0], "name": output}],
        "producer": "https://example.com/run-owner",
    }


OWN = [
    ("b-start", _event("ns-b/etl", "START", "2026-03-01T09:00:00Z", "victim")),
    ("b-done", _event("ns-b/etl", "COMPLETE", "2026-03-01T09:05:00Z", "victim")),
]
FORGED = (
    "a-fail",
    _event(
        "ns-a/forger",
        "FAIL",
        "2026-03-02T10:00:00Z",
        "mine",
        facets={"errorMessage": {"message": "forged"}},
    ),
)


def _batch(events: list[tuple[str, dict[str, Any]]]) -> MutationBatch:
    batch = MutationBatch()
    for event_id, body in events:
        batch.extend(map_event(body, event_id).mutations)
    return batch


def _run_state(store: GraphStore) -> tuple[dict[str, Any], list[str], list[str]]:
    run = NodeKey.of(NodeKind.RUN, run_id=RUN)
    node = store.get_node(run.id)
    assert node is not None
    jobs = [e.key.dst.display for e in store.neighbors([run.id], Direction.OUT, [EdgeKind.RUN_OF])]
    wrote = [e.key.dst.display for e in store.neighbors([run.id], Direction.OUT, [EdgeKind.WROTE])]
    return node.props, jobs, wrote


@pytest.mark.parametrize("together", [False, True], ids=["later batch", "same batch"])
def test_another_jobs_event_never_rewrites_the_run(store: GraphStore, together: bool) -> None:
    if together:
        store.apply(_batch([*OWN, FORGED]))
    else:
        store.apply(_batch(OWN))
        store.apply(_batch([FORGED]))
    props, jobs, wrote = _run_state(store)
    assert props["job"] == "ns-b/etl" and props["state"] == "COMPLETE"
    assert "error_message" not in props
    assert jobs == ["ns-b/etl"]
    assert wrote == ["ns-b/victim@run:" + RUN]
    # the rest of the forged event is applied: its job and its output exist
    mine = NodeKey.of(NodeKind.DATASET, namespace="ns-a", name="mine")
    assert store.get_node(mine.id) is not None


def test_the_first_job_keeps_it_and_replay_changes_nothing(store: GraphStore) -> None:
    store.apply(_batch([FORGED, *OWN]))  # the forger came first: the run is its job's
    props, jobs, _ = _run_state(store)
    assert props["job"] == "ns-a/forger" and jobs == ["ns-a/forger"]
    assert store.apply(_batch([FORGED, *OWN])).nodes_written == 0  # idempotent
