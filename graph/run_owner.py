"""A run belongs to the job that first reported it: another job's event never rewrites it.

OpenLineage run ids are the producer's; nothing stops an event of job A from naming a run of job
B (by mistake, or to forge B's run FAILED). The `job` a Run node holds is the first claim (by
log order, which replays repeat); an event claiming the run for another job is kept away from
it: none of that event's mutations touching the run (its props, its RUN_OF, READ_BY, WROTE,
PARENT_OF edges, retirements at it) is applied. The rest of the event is.

A claim is a NodeUpsert of a Run with a `job` prop (what OpenLineage mappings give a run, and a
parent run whose job is named); a run known without one (a parent named without its job, an
MLflow run) is claimed by the first event that names its job. Both stores merge through
`GraphStore._prepare`, which calls this, so they agree.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from lineage_kg.graph.model import NodeKind
from lineage_kg.graph.mutations import DatasetLink, EdgeRetire, EdgeUpsert, NodeUpsert
from lineage_kg.graph.records import Record

log = logging.getLogger(__name__)

Mutation = NodeUpsert | EdgeUpsert | EdgeRetire | DatasetLink
JOB = "job"  # the Run prop naming its job (display name)


def _claim(m: Mutation) -> tuple[str, str] | None:
    """(run id, job) if this mutation says which job a run belongs to."""
    if isinstance(m, NodeUpsert) and m.key.kind is NodeKind.RUN:
        job = m.props.get(JOB)
        if isinstance(job, str):
            return m.key.id, job
    return None


def _touches(m: Mutation) -> tuple[str, ...]:
    if isinstance(m, NodeUpsert):
        return (m.key.id,)
    if isinstance(m, EdgeUpsert):
        return (m.key.src.id, m.key.dst.id)
    if isinstance(m, DatasetLink):
        return (m.alias.id, m.canonical.id)
    return (m.anchor.id,)


def keep_runs_to_their_jobs(
    mutations: Sequence[Mutation], nodes: Mapping[str, Record]
) -> Sequence[Mutation]:
    """`mutations` without those of an event claiming a run another job holds (by `nodes`, the
    loaded records, then by earlier claims in the batch). The same object when nothing is kept
    away, which is every batch of well-behaved producers."""
    owner: dict[str, str] = {}
    refused: set[tuple[str, str]] = set()  # (run id, event id)
    for m in mutations:
        if (claim := _claim(m)) is None:
            continue
        run, job = claim
        if run not in owner:
            record = nodes.get(run)
            held = record.get(JOB) if record is not None else None
            owner[run] = held if isinstance(held, str) else job
        if owner[run] != job:
            refused.add((run, m.prov.event_id))
    if not refused:
        return mutations
    for run, event_id in sorted(refused):
        log.warning(
            "event %s names run %s of job %s for another job: not applied to that run",
            event_id,
            run,
            owner[run],
        )
    return [
        m for m in mutations if not any((node, m.prov.event_id) in refused for node in _touches(m))
    ]
