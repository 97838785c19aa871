"""One OpenLineage event -> one batch of graph mutations. Pure: no I/O, no store, no Cypher.

RunEvent (has `run`), DatasetEvent (has `dataset`) and JobEvent (`job`, no `run`) all map onto
the vocabulary of graph/model.py; docs/openlineage-facets.md has the facet-by-facet table.
Only what identifies the event (eventTime, job, runId, the dataset of a DatasetEvent) is required:
without it `UnmappableEvent` is raised. Everything else is optional, and a facet of unexpected
shape is skipped alone (see builder.EventGraph.isolated).

Retirement: a COMPLETE RunEvent, or any JobEvent (static lineage: the whole definition), that
lists at least one input says "these are the job's inputs": INPUT_TO edges from datasets it does
not list stop being current. Likewise outputs and PRODUCES. An event listing none retires
nothing, so inputs sent only on START survive an input-less COMPLETE; and if any listed dataset
cannot be identified the list is incomplete, so nothing is retired either. A streaming job
(jobType `processingType: STREAMING`: Flink) never completes: the START of each of its runs (a
deployment) states its whole lineage instead (`_states_lineage`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from lineage_kg.graph.model import EdgeKind, NodeKey
from lineage_kg.graph.mutations import Direction, MutationBatch, Provenance
from lineage_kg.graph.naming import version_key
from lineage_kg.ingest.eventlog import LogEntry
from lineage_kg.ingest.facets import facet, facets_of, schema_columns
from lineage_kg.ingest.openlineage.builder import EventGraph, log
from lineage_kg.ingest.openlineage.columns import (
    add_feed,
    column_flows,
    lineage_authority,
    lineage_inputs,
)
from lineage_kg.ingest.openlineage.datasets import (
    dataset_version,
    map_dataset_facets,
    map_quality,
    statistics,
)
from lineage_kg.ingest.openlineage.identity import AliasTable, canonical_dataset
from lineage_kg.ingest.openlineage.jobs import integration, map_job, sql_query
from lineage_kg.ingest.openlineage.retirement import retire_replaced_feeds
from lineage_kg.ingest.openlineage.runs import map_run
from lineage_kg.ingest.openlineage.validate import SOURCE
from lineage_kg.ingest.sql_lineage import (
    Candidate,
    pick_dialect,
    schema_fields,
    sql_column_flows,
    supersede,
)

Mapped = list[tuple[Any, NodeKey | None]]  # an event's datasets with the nodes they mapped to


class UnmappableEvent(ValueError):
    """The event lacks what identifies it: eventTime, job, runId, or its dataset's name."""


class EventKind(StrEnum):
    RUN = "RunEvent"
    DATASET = "DatasetEvent"
    JOB = "JobEvent"


def event_kind(event: dict[str, Any]) -> EventKind:
    if "run" in event:
        return EventKind.RUN
    if "dataset" in event:
        return EventKind.DATASET
    if "job" in event:
        return EventKind.JOB
    raise UnmappableEvent("not an OpenLineage event: no run, dataset or job")


def map_event(event: dict[str, Any], event_id: str) -> MutationBatch:
    """The graph mutations one OpenLineage event asserts, all with its provenance."""
    if not isinstance(event, dict):
        raise UnmappableEvent("an OpenLineage event is a JSON object")
    event_time = event.get("eventTime")
    if not isinstance(event_time, str):
        raise UnmappableEvent(f"eventTime missing or not a string: {event_time!r}")
    try:
        g = EventGraph(Provenance(SOURCE, event_id, event_time))
        kind = event_kind(event)
        if kind is EventKind.DATASET:
            _map_dataset_event(g, event["dataset"])
        else:
            _map_job_or_run_event(g, event, kind)
    except UnmappableEvent:
        raise
    except ValueError as exc:
        raise UnmappableEvent(str(exc)) from exc
    return g.finish()


def _event_type(event: dict[str, Any]) -> str | None:
    value = event.get("eventType")
    return value.upper() if isinstance(value, str) and value else None


def _listed(event: dict[str, Any], key: str) -> list[Any]:
    value = event.get(key)
    return value if isinstance(value, list) else []


def _identify(ds: Any) -> NodeKey | None:
    try:
        return canonical_dataset(ds if isinstance(ds, dict) else {})
    except ValueError as exc:
        log.warning("dataset skipped: %s", exc)
        return None


def _map_dataset_event(g: EventGraph, ds: Any) -> None:
    key = _identify(ds)
    if key is None:
        raise UnmappableEvent("DatasetEvent without a dataset namespace and name")
    map_dataset_facets(g, key, ds, AliasTable([ds]))
    target = key
    if (version := dataset_version(ds)) is not None:
        target = g.node(version_key(key, version))
        g.edge(key, EdgeKind.HAS_VERSION, target)
    map_quality(g, target, ds, None)


def _map_job_or_run_event(g: EventGraph, event: dict[str, Any], kind: EventKind) -> None:
    event_type = _event_type(event)
    job = map_job(g, event.get("job"))
    run = map_run(g, event.get("run"), job, event_type) if kind is EventKind.RUN else None
    inputs, outputs = _listed(event, "inputs"), _listed(event, "outputs")
    aliases = AliasTable(ds for ds in [*inputs, *outputs] if isinstance(ds, dict))
    read: Mapped = [(ds, _map_input(g, ds, aliases, job, run)) for ds in inputs]
    written: Mapped = [(ds, _map_output(g, ds, aliases, job, run)) for ds in outputs]
    unlisted = _inputs_named_by_lineage(g, job, aliases, read, written)
    final = _states_lineage(event, kind, event_type)
    with g.isolated(f"SQL lineage of {job.display}"):
        _derive_sql_lineage(g, event.get("job"), read, written, final=final)
    if final:
        listed = [key for _, key in read]
        _retire_unlisted(g, job, EdgeKind.INPUT_TO, Direction.IN, listed, also_keep=unlisted)
        if not listed and _lineage_whole(written, aliases):
            # no inputs listed (dbt-ol for a model built from seeds): the outputs' column
            # lineage names them all, so the inputs an older run's lineage named and this one's
            # does not stop being current (only those: edges marked as derived from it)
            g.retire(job, EdgeKind.INPUT_TO, Direction.IN, unlisted, disc="columnLineage")
        _retire_unlisted(g, job, EdgeKind.PRODUCES, Direction.OUT, [key for _, key in written])
        retire_replaced_feeds(g, written, aliases)


def _states_lineage(event: dict[str, Any], kind: EventKind, event_type: str | None) -> bool:
    """Whether the event states the job's whole lineage as of its time (what it does not list
    is retired): a JobEvent, a COMPLETE, or the START of a streaming job's run. A streaming job
    (Flink; jobType `processingType: STREAMING`) never sends COMPLETE while it runs, and a
    redeployed one starts a new run with its new job graph: the START of that run lists its
    sources and sinks, as every later event of the run does (checkpoint RUNNING events repeat
    them: the graph of a run does not change). RUNNING is not taken as stating them: it would
    remember two retirements on the job at every checkpoint (each minute, for as long as the
    job runs) and say nothing the run's START did not."""
    if kind is EventKind.JOB or event_type == "COMPLETE":
        return True
    if event_type != "START":
        return False
    found = facet(facets_of(event.get("job")), "jobType")
    processing = found.get("processingType") if found else None
    return isinstance(processing, str) and processing.strip().upper() == "STREAMING"


def _inputs_named_by_lineage(
    g: EventGraph, job: NodeKey, aliases: AliasTable, read: Mapped, written: Mapped
) -> set[NodeKey]:
    """Datasets the outputs' column lineage reads from but the event does not list as inputs
    (dbt-ol lists no inputs for a model built from seeds): INPUT_TO, marked as derived.
    The job's own outputs are left out, so a MERGE reading its target makes no dataset cycle."""
    known = {key for _, key in [*read, *written] if key is not None}
    found: set[NodeKey] = set()
    for ds, key in written:
        lineage = facet(facets_of(ds), "columnLineage") if key is not None else None
        if lineage is None or key is None:
            continue
        with g.isolated(f"inputs named by the column lineage of {key.display}"):
            found |= lineage_inputs(key, lineage, aliases) - known
    for dataset in sorted(found):
        # own discriminator, as for SQL: a later observed INPUT_TO stays a separate, unmarked edge
        g.edge(dataset, EdgeKind.INPUT_TO, job, disc="columnLineage", derived="columnLineage")
    return found


def _lineage_whole(written: Mapped, aliases: AliasTable) -> bool:
    """Every output is identified and brings a columnLineage facet that reads cleanly, every
    input field of it a column: together they name every dataset the job read."""
    if not written:
        return False
    for ds, key in written:
        lineage = facet(facets_of(ds), "columnLineage") if key is not None else None
        if lineage is None or key is None:
            return False
        skipped: list[Any] = []
        try:
            flows = column_flows(key, lineage, aliases, skipped)
        except (KeyError, TypeError, ValueError, AttributeError):
            return False
        if skipped or not flows:  # `{}` says no lineage is known, not that nothing is read
            return False
    return True


def _map_input(
    g: EventGraph, ds: Any, aliases: AliasTable, job: NodeKey, run: NodeKey | None
) -> NodeKey | None:
    if (key := _identify(ds)) is None:
        return None
    map_dataset_facets(g, key, ds, aliases, writer=False)
    g.edge(key, EdgeKind.INPUT_TO, job)
    # the version read; unknown without a version facet: then READ_BY leaves the Dataset itself
    target = key
    if (version := dataset_version(ds)) is not None:
        target = g.node(version_key(key, version))
        g.edge(key, EdgeKind.HAS_VERSION, target)
    if run is not None:
        io = facets_of(ds, "inputFacets")
        g.edge(target, EdgeKind.READ_BY, run, facets=sorted(io) or None)
        with g.isolated(f"inputStatistics of {key.display}"):
            if stats := statistics(facet(io, "inputStatistics")):
                g.edge(target, EdgeKind.READ_BY, run, **stats)
    map_quality(g, target, ds, "inputFacets")
    return key


def _map_output(
    g: EventGraph, ds: Any, aliases: AliasTable, job: NodeKey, run: NodeKey | None
) -> NodeKey | None:
    if (key := _identify(ds)) is None:
        return None
    map_dataset_facets(g, key, ds, aliases)
    # authoritative column lineage for this output, if the producer sent it (see columns.py)
    lineage = facet(facets_of(ds), "columnLineage")
    authority = (
        lineage_authority(key, lineage, aliases, g.prov.event_time) if lineage is not None else {}
    )
    g.edge(job, EdgeKind.PRODUCES, key, **authority)
    # a run writes a new version; without a version facet it is named after the run
    version = dataset_version(ds) or (f"run:{run.parts[0]}" if run is not None else None)
    target = key
    if version is not None:
        target = g.node(version_key(key, version))
        g.edge(key, EdgeKind.HAS_VERSION, target)
    if run is not None:
        io = facets_of(ds, "outputFacets")
        g.edge(run, EdgeKind.WROTE, target, facets=sorted(io) or None)
        with g.isolated(f"outputStatistics of {key.display}"):
            if stats := statistics(facet(io, "outputStatistics")):
                g.edge(run, EdgeKind.WROTE, target, **stats)
    map_quality(g, target, ds, "outputFacets")
    return key


def _retire_unlisted(
    g: EventGraph,
    job: NodeKey,
    kind: EdgeKind,
    direction: Direction,
    listed: list[NodeKey | None],
    *,
    also_keep: set[NodeKey] | None = None,
) -> None:
    if not listed:
        return
    if any(key is None for key in listed):
        log.info("%s of %s not retired: a listed dataset was not identified", kind, job.display)
        return
    keep = {key for key in listed if key is not None} | (also_keep or set())
    g.retire(job, kind, direction, keep)


def _known_columns(mapped: Mapped) -> dict[NodeKey, list[str]]:
    known: dict[NodeKey, list[str]] = {}
    for ds, key in mapped:
        schema = facet(facets_of(ds), "schema")
        if schema is None or key is None:
            continue
        try:
            known.setdefault(key, []).extend(
                path for path, _ in schema_columns(schema.get("fields"))
            )
        except TypeError:
            continue  # already reported when the schema facet was mapped
    return known


def _candidates(mapped: Mapped) -> list[Candidate]:
    return [(key, (str(ds.get("name")), key.parts[1])) for ds, key in mapped if key is not None]


def _derive_sql_lineage(
    g: EventGraph, job: Any, read: Mapped, written: Mapped, *, final: bool = False
) -> None:
    """Column lineage from the job's SQL, only when no output brought its own; an output that
    brings its own supersedes what SQL gave it before. `final` (a COMPLETE, a JobEvent): the SQL
    is the job's as of the event, so a column it feeds keeps only the SQL-derived inputs it
    derives now (a changed query: `SELECT x.a` became `SELECT x.b`)."""
    for ds, key in written:
        if key is not None and facet(facets_of(ds), "columnLineage") is not None:
            supersede(g, key, ds)
    sql = sql_query(job)
    # with an output unidentified, "the event's one output" and suffix matches are unreliable
    if sql is None or not written or any(key is None for _, key in written):
        return
    if any(facet(facets_of(ds), "columnLineage") is not None for ds, _ in written):
        return
    query, declared = sql
    namespaces = [key.parts[0] for _, key in [*read, *written] if key is not None]
    flows = sql_column_flows(
        query,
        pick_dialect(declared, integration(job), namespaces),
        _candidates(read),
        _candidates(written),
        _known_columns([*read, *written]),
        schemas=schema_fields(written),
    )
    fed: dict[NodeKey, set[NodeKey]] = {}
    for source, target in flows:
        # its own edge (disc "sql"), so an observed edge between the same columns stays unmarked
        add_feed(g, source, target, disc="sql", derived="sql")
        fed.setdefault(target, set()).add(source)
    if final:
        # only columns the SQL feeds now: one it no longer feeds, or SQL not understood, says
        # nothing a pure mapping could tell from a parse that found no flows
        for target, sources in sorted(fed.items()):
            g.retire(target, EdgeKind.FEEDS, Direction.IN, sources, disc="sql")


def map_entry(entry: LogEntry) -> MutationBatch:
    """The projector's entry point (ingest/sources.py): a logged OpenLineage event."""
    return map_event(entry.body, entry.event_id)
