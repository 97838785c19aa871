"""The Run node of a RunEvent: its state over time, its job, its parent, its facets.

Every event of a run sets `state` with the event's own time as stamp, so the store's per-property
last-writer-wins keeps the latest state even when START arrives after COMPLETE.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.naming import job_key
from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.ingest.facets import facet, facets_of, text
from lineage_kg.ingest.openlineage.builder import EventGraph, log, tag_strings

ENDED = frozenset({"COMPLETE", "FAIL", "ABORT"})
# OTHER is not a state change (it carries extra facets mid-run), so it leaves `state` alone
STATES = frozenset({"START", "RUNNING", *ENDED})

Handler = Callable[[EventGraph, NodeKey, NodeKey, dict[str, Any]], None]


def run_key(run_id: object) -> NodeKey:
    if not isinstance(run_id, str) or not run_id:
        raise ValueError(f"a run needs a runId, got {run_id!r}")
    return NodeKey.of(NodeKind.RUN, run_id=run_id)


def _time(value: Any) -> str | None:
    """A timestamp in the graph's one form; None (logged) if it is not a timestamp."""
    if not isinstance(value, str):
        return None
    try:
        return canonical_time(value)
    except ValueError:
        log.warning("not a timestamp, left out: %r", value)
        return None


def _parent(g: EventGraph, run: NodeKey, job: NodeKey, f: dict[str, Any]) -> None:
    parent_job = job_key(f["job"]) if f.get("job") is not None else None
    parent_run_id = text((f.get("run") or {}).get("runId"))
    # a parent equal to the child (matchers with placeholder ids) would be a self-loop
    if parent_job is not None and parent_job != job:
        g.edge(parent_job, EdgeKind.PARENT_OF, job)
    if parent_run_id and parent_run_id != run.parts[0]:
        parent_run = g.node(run_key(parent_run_id), job=parent_job.display if parent_job else None)
        g.edge(parent_run, EdgeKind.PARENT_OF, run)
        if parent_job is not None:
            g.edge(parent_run, EdgeKind.RUN_OF, parent_job)
    # `root` is the top of the hierarchy, not a direct parent: kept as props, not edges
    root = f.get("root")
    if isinstance(root, dict):
        root_job = job_key(root["job"]).display if root.get("job") is not None else None
        g.node(run, root_run_id=text((root.get("run") or {}).get("runId")), root_job=root_job)


def _error_message(g: EventGraph, run: NodeKey, _: NodeKey, f: dict[str, Any]) -> None:
    g.node(
        run,
        error_message=text(f.get("message")),
        error_language=text(f.get("programmingLanguage")),
        error_stack=text(f.get("stackTrace")),
    )


def _nominal_time(g: EventGraph, run: NodeKey, _: NodeKey, f: dict[str, Any]) -> None:
    g.node(
        run,
        nominal_start=_time(f.get("nominalStartTime")),
        nominal_end=_time(f.get("nominalEndTime")),
    )


def _tags(g: EventGraph, run: NodeKey, _: NodeKey, f: dict[str, Any]) -> None:
    g.node(run, tags=tag_strings(f.get("tags") or []))


RUN_FACETS: dict[str, Handler] = {
    "parent": _parent,
    "errorMessage": _error_message,
    "nominalTime": _nominal_time,
    "tags": _tags,
}


def map_run(g: EventGraph, run: Any, job: NodeKey, event_type: str | None) -> NodeKey:
    """The Run node, RUN_OF its job; ValueError if the run has no runId."""
    key = run_key(run.get("runId") if isinstance(run, dict) else None)
    at = g.prov.event_time
    g.node(
        key,
        job=job.display,
        state=event_type if event_type in STATES else None,
        started_at=at if event_type == "START" else None,
        ended_at=at if event_type in ENDED else None,
    )
    g.edge(key, EdgeKind.RUN_OF, job)
    facets = facets_of(run)
    g.note_facets(key, facets)
    for name, handler in RUN_FACETS.items():
        if (found := facet(facets, name)) is not None:
            with g.isolated(f"run facet {name} of {key.display}"):
                handler(g, key, job, found)
    return key
