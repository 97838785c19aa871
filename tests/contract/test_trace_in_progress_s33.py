"""The decision trace's "read without a version" resolution takes the version written last by a
run that had finished writing when the reader started (session 33 red team).

A training run reads a table without naming a version (MLflow, or an OpenLineage input without a
version facet); the trace resolves it to a version by time (queries/decision_trace.py
`_resolve_reads`). Wrong answer found and fixed: a writer run still under way (its START seen, no
end yet) counted as having written at its start, so a model trained at 02:30 on `mart` was traced
to the version of an ETL run that started at 02:00 and had not finished (nor might ever): an
auditor was told the model learned from data that was not there yet.

Generated Airflow-shaped ETL histories (each run COMPLETE, FAIL, or still under way, at random
times) and a training read at a random time; the oracle: the newest run that COMPLETEd at or before
the read, by event time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import MutationBatch, Provenance
from lineage_kg.graph.naming import dataset_key
from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.ingest.eventlog import event_id_of
from lineage_kg.ingest.openlineage.mapping import map_event
from lineage_kg.queries.decision_trace import StepKind, decision_lineage

PG = "postgres://warehouse:5432"
T0 = datetime(2026, 3, 1, tzinfo=UTC)
MART = dataset_key(PG, "shop.marts.mart")
MODEL_VERSION = NodeKey.of(NodeKind.MODEL_VERSION, registry="mlflow", name="risk", version="1")
TRAIN = NodeKey.of(NodeKind.RUN, run_id="train-1")


def _at(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _event(kind: str, minutes: int, run: str) -> dict[str, Any]:
    return {
        "eventType": kind,
        "eventTime": _at(minutes),
        "run": {"runId": run},
        "job": {"namespace": "airflow", "name": "etl.mart"},
        "inputs": [{"namespace": PG, "name": "shop.raw.orders"}],
        "outputs": [{"namespace": PG, "name": "shop.marts.mart"}],
        "producer": "https://github.com/apache/airflow/tree/providers-openlineage/1.14.0",
    }


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[tuple[str, int, str]], int]:
    """ETL runs (run id, start, how it ended: COMPLETE/FAIL at a minute, or None) and a read."""
    events, runs = [], []
    start = 0
    for i in range(draw(st.integers(1, 4))):
        start += draw(st.integers(10, 120))
        run = f"etl-{i}"
        events.append(_event("START", start, run))
        end = draw(st.sampled_from(["COMPLETE", "COMPLETE", "FAIL", "under way"]))
        length = draw(st.integers(5, 90))
        if end != "under way":
            events.append(_event(end, start + length, run))
        runs.append((run, start, end if end == "under way" else f"{end}@{start + length}"))
    read = draw(st.integers(0, start + 120))
    return events, runs, read


def trace_version(events: list[dict[str, Any]], read: int) -> str | None:
    store = EmbeddedStore()
    for event in events:
        batch = MutationBatch()
        batch.extend(map_event(event, event_id_of("openlineage", event)).mutations)
        store.apply(batch)
    # the training run (MLflow's shape): read the mart without a version, trained the model
    batch = MutationBatch()
    prov = Provenance("mlflow", "ev-train-1", _at(read + 10))
    began, ended = canonical_time(_at(read)), canonical_time(_at(read + 10))
    batch.node(TRAIN, prov, state="COMPLETE", started_at=began, ended_at=ended)
    batch.edge(MART, EdgeKind.READ_BY, TRAIN, prov)
    batch.edge(TRAIN, EdgeKind.TRAINED, MODEL_VERSION, prov)
    store.apply(batch)
    trace = decision_lineage(store, MODEL_VERSION.id, features=False)
    found = [s.node.key for s in trace.data if s.kind is StepKind.DATASET_VERSION]
    return found[0].parts[2] if found else None


def oracle(runs: list[tuple[str, int, str]], read: int) -> str | None:
    done = [
        (int(end.split("@")[1]), run)
        for run, _, end in runs
        if end.startswith("COMPLETE") and int(end.split("@")[1]) <= read
    ]
    return f"run:{max(done)[1]}" if done else None


@settings(max_examples=150)
@given(histories())
def test_a_read_without_a_version_is_the_last_finished_write(case: Any) -> None:
    events, runs, read = case
    assert trace_version(events, read) == oracle(runs, read), (runs, read)


def test_a_run_still_writing_is_not_what_was_read() -> None:
    """By hand: etl-1 wrote 02:00-03:00 on the 1st; etl-2 started 02:00 on the 2nd and has not
    finished; the model trained at 02:30 on the 2nd read etl-1's version."""
    day = 24 * 60
    events = [
        _event("START", 120, "etl-1"),
        _event("COMPLETE", 180, "etl-1"),
        _event("START", day + 120, "etl-2"),
    ]
    assert trace_version(events, day + 150) == "run:etl-1"
