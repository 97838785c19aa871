"""Session 34, item 4: a streaming job (Flink: jobType `processingType: STREAMING`) never sends
COMPLETE while it runs, so before this session the sources and sinks of a run it was redeployed
from stayed current for ever. The START of each of its runs now states the job's lineage as of
its time, as a COMPLETE does for a batch job (RUNNING checkpoint events repeat the run's lists
and retire nothing; a batch job's START retires nothing, as before).

The oracle (`current_by_rule`) says it from the events alone: an input (output) is current
unless a lineage-stating event (COMPLETE, or START of a streaming job) that lists at least one
input (output) and not it is newer than its newest listing. Streams are generated (hypothesis)
in Flink's event shape (the corpus' expected_kafka.json START) and applied in shuffled arrival
order; a redeployment by hand on both stores.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction, MutationBatch
from lineage_kg.graph.store import GraphStore
from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.ingest.openlineage import mapping
from lineage_kg.ingest.openlineage.mapping import map_event

_DEFAULT = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "openlineage"
CORPUS = Path(os.environ.get("LKG_OPENLINEAGE_CORPUS", _DEFAULT))
FLINK = "OpenLineage/integration__flink__flink1__src__test__resources__events__expected_kafka.json"
KAFKA = "kafka://kafka-cluster-prod:9092"
TOPICS = [f"io.openlineage.flink.kafka.{t}" for t in ("input1", "input2", "input3")]
SINKS = [f"io.openlineage.flink.kafka.{t}" for t in ("output", "output2")]
JOB = NodeKey.of(NodeKind.JOB, namespace="flink_job_namespace", name="flink_examples_stateful")

pytestmark = pytest.mark.skipif(not (CORPUS / FLINK).exists(), reason="shared corpus absent")


@functools.cache
def flink_start() -> dict[str, Any]:
    events = json.loads((CORPUS / FLINK).read_text())
    return next(e for e in (events if isinstance(events, list) else [events]))


def event(
    kind: str,
    run: int,
    minute: int,
    inputs: list[str],
    outputs: list[str],
    *,
    processing: str | None,
) -> dict[str, Any]:
    """Flink's START (the corpus' matcher) as run `run` sends it at `minute`, reading `inputs`
    and writing `outputs`, its jobType's processingType `processing` (None: no jobType)."""
    e = copy.deepcopy(flink_start())
    e.update(
        eventType=kind,
        eventTime=f"2026-03-01T10:{minute:02d}:00Z",
        producer="https://github.com/OpenLineage/OpenLineage/tree/1.20.0/integration/flink",
    )
    e["run"] = {"runId": f"0190a1b2-0000-7000-8000-{run:012d}", "facets": e["run"].get("facets")}
    template_in, template_out = e["inputs"][0], e["outputs"][0]
    e["inputs"] = [{**copy.deepcopy(template_in), "name": name} for name in inputs]
    e["outputs"] = [{**copy.deepcopy(template_out), "name": name} for name in outputs]
    facets = e["job"].setdefault("facets", {})
    if processing is None:
        facets.pop("jobType", None)
    else:
        facets["jobType"] = {**facets.get("jobType", {}), "processingType": processing}
    return e


def current(store: GraphStore) -> tuple[set[str], set[str]]:
    ins = store.neighbors([JOB.id], Direction.IN, [EdgeKind.INPUT_TO])
    outs = store.neighbors([JOB.id], Direction.OUT, [EdgeKind.PRODUCES])
    return {e.key.src.parts[1] for e in ins}, {e.key.dst.parts[1] for e in outs}


def current_by_rule(events: list[dict[str, Any]]) -> tuple[set[str], set[str]]:
    def states(e: dict[str, Any]) -> bool:
        if e["eventType"] == "COMPLETE":
            return True
        kind = (e["job"].get("facets") or {}).get("jobType") or {}
        return e["eventType"] == "START" and kind.get("processingType") == "STREAMING"

    answer = []
    for side in ("inputs", "outputs"):
        newest: dict[str, str] = {}
        for e in events:
            for ds in e[side]:
                t = canonical_time(e["eventTime"])
                newest[ds["name"]] = max(newest.get(ds["name"], ""), t)
        answer.append(
            {
                name
                for name, t in newest.items()
                if not any(
                    states(e)
                    and e[side]
                    and canonical_time(e["eventTime"]) > t
                    and name not in {ds["name"] for ds in e[side]}
                    for e in events
                )
            }
        )
    return answer[0], answer[1]


def load(store: GraphStore, events: list[dict[str, Any]]) -> None:
    store.clear()
    for i, e in enumerate(events):
        store.apply(MutationBatch(map_event(e, f"ev-{e['eventTime']}-{i}").mutations))


@st.composite
def streams(draw: st.DrawFn) -> list[dict[str, Any]]:
    n = draw(st.integers(2, 6))
    minutes = draw(st.permutations(range(n)))
    processing = draw(st.sampled_from(["STREAMING", "STREAMING", "BATCH", None]))
    out = []
    for i in range(n):
        kind = draw(st.sampled_from(["START", "RUNNING", "RUNNING", "COMPLETE", "FAIL"]))
        inputs = draw(st.lists(st.sampled_from(TOPICS), unique=True, max_size=3))
        outputs = draw(st.lists(st.sampled_from(SINKS), unique=True, max_size=2))
        out.append(event(kind, i // 2, minutes[i] * 5, inputs, outputs, processing=processing))
    return out


@settings(max_examples=30, deadline=None)
@given(streams(), st.randoms(use_true_random=False))
def test_streaming_lineage_follows_the_newest_start(
    events: list[dict[str, Any]], rnd: random.Random
) -> None:
    """Embedded: the oracle's inputs and outputs, whatever the arrival order."""
    store = EmbeddedStore()
    shuffled = list(events)
    rnd.shuffle(shuffled)
    load(store, shuffled)
    assert current(store) == current_by_rule(events)


REDEPLOYED = [
    # run 1 reads input1 and input2, checkpoints; run 2 (a new job graph) reads input1, input3
    # and writes output2; run 1's last checkpoint arrives after run 2's START
    event("START", 1, 0, TOPICS[:2], SINKS[:1], processing="STREAMING"),
    event("RUNNING", 1, 5, TOPICS[:2], SINKS[:1], processing=None),
    event("START", 2, 20, [TOPICS[0], TOPICS[2]], SINKS[1:], processing="STREAMING"),
    event("RUNNING", 2, 25, [TOPICS[0], TOPICS[2]], SINKS[1:], processing=None),
    event("RUNNING", 1, 10, TOPICS[:2], SINKS[:1], processing=None),  # late
]


@pytest.mark.parametrize("order", ["arrival", "reversed"])
def test_a_redeployed_flink_job(store: GraphStore, order: str) -> None:
    """Run 1's checkpoint last (as listed), or every event late (reversed): on both stores."""
    events = REDEPLOYED if order == "arrival" else REDEPLOYED[::-1]
    load(store, events)
    want = ({TOPICS[0], TOPICS[2]}, {SINKS[1]})
    assert current(store) == want == current_by_rule(REDEPLOYED)
    # as of minute 15, run 1's graph was the job's lineage
    then = canonical_time("2026-03-01T10:15:00Z")
    ins = store.neighbors([JOB.id], Direction.IN, [EdgeKind.INPUT_TO], then)
    assert {e.key.src.parts[1] for e in ins} == set(TOPICS[:2])


def test_breakage_start_not_stating_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """In this process: the old rule (only COMPLETE and JobEvents state lineage)."""

    def old(event: dict[str, Any], kind: mapping.EventKind, event_type: str | None) -> bool:
        return kind is mapping.EventKind.JOB or event_type == "COMPLETE"

    monkeypatch.setattr(mapping, "_states_lineage", old)
    store = EmbeddedStore()
    load(store, REDEPLOYED)
    assert current(store) != current_by_rule(REDEPLOYED)
