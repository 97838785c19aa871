"""Marquez's read API over HTTP (`GET /api/v1/namespaces…`, `/jobs/runs/{id}`, `/lineage`,
`/column-lineage`, `/search`): what Marquez's clients, web UI and scripts read, answered by
queries/marquez.py. Thin: parse the parameters, ask the query off the event loop, answer its
JSON; refusals in Marquez's error shape, `{"code": 404, "message": "…"}`. Reads need the `read`
scope, as GraphQL does (api/auth.py).

Names hold `/` (`postgres://db:5432`, `/tmp/x.csv`): Marquez's clients send them encoded
(`%2F`), which the router would see decoded, so the path under `/namespaces/` is split from the
request's raw path, segment by segment, and each segment decoded on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from lineage_kg.api.auth import Scope, require
from lineage_kg.api.echo import clip
from lineage_kg.graph.errors import InvalidArgument, NotFound
from lineage_kg.graph.store import GraphStore, StoreUnavailable
from lineage_kg.queries import marquez
from lineage_kg.queries.marquez import Graph, Page

router = APIRouter(prefix="/api/v1", tags=["marquez"], dependencies=[Depends(require(Scope.READ))])
PREFIX = "/api/v1/namespaces/"
# set when a listing or a walk stopped at its bound (docs/marquez.md)
TRUNCATED = "X-Lineage-KG-Truncated"


def error(status: int, message: str) -> JSONResponse:
    """Marquez's error body (Dropwizard's ErrorMessage)."""
    return JSONResponse({"code": status, "message": message}, status_code=status)


async def _answer(
    request: Request, ask: Callable[[GraphStore], Any], listed: str | None = None
) -> JSONResponse:
    """Every route's one shape: `ask` reads its parameters and the store off the event loop; a
    parameter refused (InvalidArgument), a name ingest would refuse (ValueError), an unknown
    node and an unavailable store each answer Marquez's error body. A `Page` is a listing under
    the key `listed`."""
    store: GraphStore = request.app.state.store
    try:
        found = await run_in_threadpool(ask, store)
    except NotFound as exc:
        return error(404, str(exc))
    except (InvalidArgument, ValueError) as exc:
        return error(400, str(exc))
    except StoreUnavailable as exc:
        return error(503, f"the store does not answer now, retry: {exc}")
    if isinstance(found, Page):
        headers = {TRUNCATED: "true"} if found.truncated else None
        body = {listed or "items": found.items, "totalCount": found.total}
        return JSONResponse(body, headers=headers)
    if isinstance(found, Graph):
        headers = {TRUNCATED: "true"} if found.truncated else None
        return JSONResponse(found.json(), headers=headers)
    return JSONResponse(found)


def _int(request: Request, name: str, default: int) -> int:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise InvalidArgument(f"{name} must be an integer, got {clip(value)}") from None


def _bool(request: Request, name: str) -> bool:
    value = (request.query_params.get(name) or "false").lower()
    if value not in ("true", "false"):
        raise InvalidArgument(f"{name} must be true or false, got {clip(value)}")
    return value == "true"


def _paging(request: Request) -> tuple[int, int]:
    return _int(request, "limit", marquez.DEFAULT_LIMIT), _int(request, "offset", 0)


@router.get("/namespaces")
async def list_namespaces(request: Request) -> JSONResponse:
    """Marquez `getNamespaces`: every namespace a dataset or a job is in."""
    return await _answer(request, lambda s: marquez.namespaces(s, *_paging(request)), "namespaces")


def _segments(request: Request) -> list[str]:
    """The path after `/api/v1/namespaces/`, split on `/` before decoding (see the docstring)."""
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) else request.url.path
    path = path.split("?", 1)[0]
    rest = path[len(PREFIX) :] if path.startswith(PREFIX) else ""
    return [unquote(part) for part in rest.split("/")]


@router.get("/namespaces/{path:path}")
async def under_namespace(request: Request, path: str) -> JSONResponse:
    """Marquez `getNamespace`, `getDatasets`, `getDataset`, `getDatasetVersions`,
    `getDatasetVersion`, `getJobs`, `getJob`, `getRuns`: `{ns}`,
    `{ns}/datasets[/{name}[/versions[/{version}]]]`, `{ns}/jobs[/{name}[/runs]]`."""
    parts = _segments(request)

    def paging() -> tuple[int, int]:  # read inside `ask`, where a refusal answers 400
        return _paging(request)

    match parts:
        case [ns]:
            return await _answer(request, lambda s: marquez.namespace(s, ns))
        case [ns, "datasets"]:
            return await _answer(request, lambda s: marquez.datasets(s, ns, *paging()), "datasets")
        case [ns, "datasets", name]:
            return await _answer(request, lambda s: marquez.dataset(s, ns, name))
        case [ns, "datasets", name, "versions"]:
            return await _answer(
                request, lambda s: marquez.dataset_versions(s, ns, name, *paging()), "versions"
            )
        case [ns, "datasets", name, "versions", version]:
            return await _answer(request, lambda s: marquez.dataset_version(s, ns, name, version))
        case [ns, "jobs"]:
            return await _answer(request, lambda s: marquez.jobs(s, ns, *paging()), "jobs")
        case [ns, "jobs", name]:
            return await _answer(request, lambda s: marquez.job(s, ns, name))
        case [ns, "jobs", name, "runs"]:
            return await _answer(request, lambda s: marquez.runs(s, ns, name, *paging()), "runs")
    return error(404, f"not part of the Marquez API served here: {request.url.path}")


@router.get("/jobs")
async def list_all_jobs(request: Request) -> JSONResponse:
    """Marquez `GET /jobs`: the jobs of every namespace (its `lastRunStates` filter is not
    applied: docs/marquez.md)."""
    return await _answer(request, lambda s: marquez.all_jobs(s, *_paging(request)), "jobs")


@router.get("/tags")
async def list_tags(request: Request) -> JSONResponse:
    """Marquez `getTags`: the tags on datasets and jobs."""
    return await _answer(request, lambda s: marquez.tags(s, *_paging(request)))


@router.get("/jobs/runs/{run_id}")
async def get_run(request: Request, run_id: str) -> JSONResponse:
    """Marquez `getRun`."""
    return await _answer(request, lambda s: marquez.run(s, run_id))


def _node_args(request: Request) -> tuple[str, int]:
    node_id = request.query_params.get("nodeId")
    if not node_id:
        raise InvalidArgument("nodeId is required")
    return node_id, _int(request, "depth", marquez.DEFAULT_DEPTH)


def _max_nodes(request: Request) -> int:
    return int(request.app.state.settings.max_traversal_nodes)


@router.get("/lineage")
async def get_lineage(request: Request) -> JSONResponse:
    """Marquez `getLineage`: `?nodeId=dataset:NS:NAME|job:NS:NAME&depth=N` (default 20)."""
    most = _max_nodes(request)
    return await _answer(request, lambda s: marquez.lineage(s, *_node_args(request), most))


@router.get("/column-lineage")
async def get_column_lineage(request: Request) -> JSONResponse:
    """Marquez `getColumnLineage`: `?nodeId=datasetField:NS:NAME:FIELD|dataset:…|job:…`,
    `depth` (default 20), `withDownstream` (default false)."""
    most = _max_nodes(request)

    def ask(s: GraphStore) -> Graph:
        node_id, depth = _node_args(request)
        downstream = _bool(request, "withDownstream")
        return marquez.column_lineage(s, node_id, depth, downstream, most)

    return await _answer(request, ask)


@router.get("/search")
async def search(request: Request) -> JSONResponse:
    """Marquez `search`: `?q=` (`%`, `_` wildcards), `filter` DATASET|JOB, `sort`
    NAME|UPDATE_AT, `limit` (default 10), `namespace`, `before`/`after` YYYY-MM-DD."""
    q = request.query_params
    return await _answer(
        request,
        lambda s: marquez.search(
            s,
            q.get("q") or "",
            filter=q.get("filter") or None,
            sort=q.get("sort") or "NAME",
            limit=_int(request, "limit", marquez.SEARCH_DEFAULT_LIMIT),
            namespace=q.get("namespace") or None,
            before=q.get("before") or None,
            after=q.get("after") or None,
        ),
    )
