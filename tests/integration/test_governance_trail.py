"""Violations' starts and ends in the audit trail, through the service's own parts: catalog records
appended to the log, the projector and the governance watch running on their threads
(service/governance_watch.py), the node's audit trail (queries/audit.py) and GraphQL's
`auditTrail` read back. A decision point without an owner is a violation from its record on; an
owner record ends it; a restart evaluates again and doubles nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from lineage_kg.api.app import create_app
from lineage_kg.cli.app import app
from lineage_kg.graph.model import NodeKey, NodeKind
from lineage_kg.graph.sides.governance_log import Transition
from lineage_kg.graph.store import GraphStore
from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.ingest.eventlog import NewEvent
from lineage_kg.queries.audience import audience
from lineage_kg.queries.audit import EntryType, audit_trail
from lineage_kg.queries.governance import DEFAULT_POLICY
from lineage_kg.queries.governance.trail import observe
from lineage_kg.runtime import Runtime
from lineage_kg.settings import Settings

POINT = NodeKey.of(NodeKind.DECISION_POINT, name="loan-approval")
RULE = "decision_point_without_owner"
TIMEOUT = 120.0  # a bound on a hang: the projector and the watch run on Neo4j too, loaded


def wait_for(condition: Callable[[], Any], what: str) -> Any:
    """The condition's value once truthy; fails after TIMEOUT seconds."""
    deadline = time.monotonic() + TIMEOUT
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
    return value


def settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, snapshot=False, governance_metrics_seconds=0.1)


def started(runtime: Runtime) -> Runtime:
    runtime.start_background(
        audience, lambda store, decisions: observe(store, DEFAULT_POLICY, decisions=decisions)
    )
    return runtime


def point_record(at: str, **extra: str) -> NewEvent:
    return NewEvent("catalog", "decision_point", canonical_time(at),
                    {"name": "loan-approval", **extra})  # fmt: skip


def rows(runtime: Runtime) -> list[Transition]:
    return [t for t in runtime.governance.transitions([POINT.id]) if t.rule == RULE]


@pytest.fixture
def runtime(store: GraphStore, tmp_path: Path) -> Iterator[Runtime]:
    with Runtime.open(settings(tmp_path), store=store) as opened:
        yield started(opened)


def test_a_violation_starts_and_ends_in_the_audit_trail(
    runtime: Runtime, store: GraphStore, tmp_path: Path
) -> None:
    (added,) = runtime.log.append([point_record("2026-03-02T00:00:00Z")])
    (opened,) = wait_for(lambda: rows(runtime), "the violation's start")
    # the oracle: the record is the only evidence; the watch saw it at or after its position
    assert opened.evidence == (added.event_id,) and opened.start_seq >= added.seq
    assert opened.ended_at is None and opened.severity == "error"

    page = audit_trail(runtime.log, store, POINT.id, governance=runtime.governance)
    (start,) = [e for e in page.entries if e.entry_type is EntryType.GOVERNANCE]
    assert start.summary.startswith(f"violation started: {RULE} (error)")
    assert start.event_id == added.event_id and start.evidence == (added.event_id,)
    # dated by the graph (the decision point's first sighting), among the record's own entries
    assert start.event_time == canonical_time("2026-03-02T00:00:00Z")
    order = [(e.event_time, e.seq, e.entry_type.value) for e in page.entries]
    assert order == sorted(order) and len(page.entries) > 1

    # the owner arrives: the violation ends at or after the fix's position
    (fix,) = runtime.log.append([point_record("2026-03-03T00:00:00Z", owner="ann@x.com")])
    (closed,) = wait_for(lambda: [t for t in rows(runtime) if t.ended_at], "the violation's end")
    assert closed.end_seq is not None and closed.end_seq >= fix.seq
    page = audit_trail(runtime.log, store, POINT.id, governance=runtime.governance)
    governed = [e for e in page.entries if e.entry_type is EntryType.GOVERNANCE]
    assert [e.summary.split(":")[0] for e in governed] == ["violation started", "violation ended"]
    assert governed[1].summary == f"violation ended: {RULE} (error)"
    order = [(e.event_time, e.seq, e.entry_type.value) for e in page.entries]
    assert order == sorted(order)
    # only GOVERNANCE asked: the two; the log's types only: none of them
    only = audit_trail(runtime.log, store, POINT.id, types=["GOVERNANCE"],
                       governance=runtime.governance)  # fmt: skip
    assert only.entries == governed
    other = audit_trail(runtime.log, store, POINT.id, types=["OWNERSHIP"],
                        governance=runtime.governance)  # fmt: skip
    assert other.entries and all(e.entry_type is EntryType.OWNERSHIP for e in other.entries)


def test_a_restart_doubles_nothing(store: GraphStore, tmp_path: Path) -> None:
    with Runtime.open(settings(tmp_path), store=store) as first:
        first.log.append([point_record("2026-03-02T00:00:00Z")])
        started(first)
        before = wait_for(lambda: rows(first), "the violation's start")
    # a restart: the same graph evaluated again finds the same open row
    with Runtime.open(settings(tmp_path), store=store) as second:
        watch = started(second).governance_watch
        assert watch is not None
        wait_for(lambda: watch.evaluations >= 1, "an evaluation after the restart")
        assert rows(second) == before
        second.log.append([point_record("2026-03-03T00:00:00Z", owner="ann@x.com")])
        ended = wait_for(lambda: [t for t in rows(second) if t.ended_at], "the end")
    with Runtime.open(settings(tmp_path), store=store) as third:
        watch = started(third).governance_watch
        assert watch is not None
        wait_for(lambda: watch.evaluations >= 1, "an evaluation after the second restart")
        assert rows(third) == ended  # still one row, ended once
    # `lkg audit` beside the data dir reads what the service recorded
    env = {"LKG_DATA_DIR": str(tmp_path), "NEO4J_URI": ""}
    args = ["audit", "--kind", "DecisionPoint", "--name", "loan-approval", "--type", "GOVERNANCE"]
    result = CliRunner().invoke(app, [*args, "--json"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    entries = json.loads(result.stdout)["entries"]
    assert [e["summary"].split(":")[0] for e in entries] == ["violation started", "violation ended"]


AUDIT = """
query ($ref: NodeRef!) {
  auditTrail(ref: $ref, types: ["GOVERNANCE"]) { entries { time type summary eventId evidence } }
}
"""


def test_graphql_audit_trail_shows_the_start(store: GraphStore, tmp_path: Path) -> None:
    with TestClient(create_app(settings(tmp_path), store=store)) as client:
        runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
        (added,) = runtime.log.append([point_record("2026-03-02T00:00:00Z")])
        ref = {"kind": "DecisionPoint", "name": "loan-approval"}

        def entries() -> list[dict[str, Any]]:
            body = client.post("/graphql", json={"query": AUDIT, "variables": {"ref": ref}})
            data = body.json().get("data")
            return data["auditTrail"]["entries"] if data else []

        (entry,) = wait_for(entries, "the start over GraphQL")
        assert entry["type"] == "GOVERNANCE" and entry["evidence"] == [added.event_id]
        assert entry["summary"].startswith(f"violation started: {RULE} (error)")
        assert entry["eventId"] == added.event_id
        # the gauge counts the watch's evaluation instead of making its own
        gauge = client.app.state.governance_gauge  # type: ignore[attr-defined]
        metrics = client.get("/metrics").text
        assert f'lkg_governance_violations{{rule="{RULE}",severity="error"}} 1.0' in metrics
        assert gauge.evaluations == 0
