"""The Job node and its facets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lineage_kg.graph.model import NodeKey
from lineage_kg.graph.naming import job_key
from lineage_kg.ingest.facets import facet, facets_of, text
from lineage_kg.ingest.openlineage.builder import EventGraph, tag_strings
from lineage_kg.ingest.openlineage.owners import map_ownership

Handler = Callable[[EventGraph, NodeKey, dict[str, Any]], None]


def _job_type(g: EventGraph, job: NodeKey, f: dict[str, Any]) -> None:
    g.node(
        job,
        processing_type=text(f.get("processingType")),
        integration=text(f.get("integration")),
        job_type=text(f.get("jobType")),
    )


def _documentation(g: EventGraph, job: NodeKey, f: dict[str, Any]) -> None:
    g.node(job, description=text(f.get("description")))


def _sql(g: EventGraph, job: NodeKey, f: dict[str, Any]) -> None:
    g.node(job, sql=text(f.get("query")), sql_dialect=text(f.get("dialect")))


def _source_code_location(g: EventGraph, job: NodeKey, f: dict[str, Any]) -> None:
    g.node(job, source_code_url=text(f.get("url")))


def _tags(g: EventGraph, job: NodeKey, f: dict[str, Any]) -> None:
    g.node(job, tags=tag_strings(f.get("tags") or []))


def _ownership(g: EventGraph, job: NodeKey, f: dict[str, Any]) -> None:
    map_ownership(g, job, f)


JOB_FACETS: dict[str, Handler] = {
    "jobType": _job_type,
    "documentation": _documentation,
    "sql": _sql,
    "sourceCodeLocation": _source_code_location,
    "tags": _tags,
    "ownership": _ownership,
}


def map_job(g: EventGraph, job: Any) -> NodeKey:
    """The Job node with its facets; ValueError if the job has no namespace/name."""
    key = g.node(job_key(job))
    facets = facets_of(job)
    g.note_facets(key, facets)
    for name, handler in JOB_FACETS.items():
        if (found := facet(facets, name)) is not None:
            with g.isolated(f"job facet {name} of {key.display}"):
                handler(g, key, found)
    return key


def sql_query(job: Any) -> tuple[str, str | None] | None:
    """The job's SQL and its dialect (if the sql facet names one)."""
    found = facet(facets_of(job), "sql")
    query = text(found.get("query")) if found else None
    return (query, text(found.get("dialect"))) if found and query else None


def integration(job: Any) -> str | None:
    found = facet(facets_of(job), "jobType")
    return text(found.get("integration")) if found else None
