"""OpenLineage intake over HTTP, Marquez-compatible: `POST /api/v1/lineage` answers 201.

Thin: read the body (api/http/body.py), hand it to `ingest.intake`, map its errors to status
codes here, once.
The 2xx goes out only after the event is in the durable log.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from lineage_kg.api.auth import AuthProblem, IngestCaller, Principal, Scope, require
from lineage_kg.api.consistency import SEQ_HEADER
from lineage_kg.api.echo import clip
from lineage_kg.api.http.body import BadBody, parse_event, parse_json, read_body
from lineage_kg.api.http.body import problem as _problem
from lineage_kg.api.observability import count_accepted, count_rejected
from lineage_kg.graph.store import GraphStore
from lineage_kg.ingest.eventlog import EventLog, LogUnavailable
from lineage_kg.ingest.intake import (
    OPENLINEAGE,
    IntakeSummary,
    Line,
    accept_lines,
    ndjson_lines,
)
from lineage_kg.ingest.openlineage.reach import first_foreign, store_linked, store_run_jobs
from lineage_kg.ingest.openlineage.validate import FieldError

router = APIRouter(tags=["openlineage"])


def _errors(errors: list[FieldError]) -> list[dict[str, str]]:
    return [{"path": e.path, "message": e.message} for e in errors]


@router.post("/api/v1/lineage", status_code=201, response_class=Response)
async def post_lineage(request: Request, principal: IngestCaller) -> Response:
    """One OpenLineage event (RunEvent, DatasetEvent or JobEvent). 201 once it is durable."""
    try:
        body = await read_body(request)
        summary = await run_in_threadpool(_accept_one, request, principal, body)
    except BadBody as exc:
        count_rejected(request, OPENLINEAGE, exc.status)
        return _problem(exc.status, str(exc))
    except LogUnavailable as exc:
        count_rejected(request, OPENLINEAGE, 503)
        return _problem(503, f"cannot store the event now, retry: {exc}")
    if summary.rejected:
        count_rejected(request, OPENLINEAGE, 422)
        return _problem(
            422, "invalid OpenLineage event", errors=_errors(summary.rejected[0].errors)
        )
    count_accepted(request, OPENLINEAGE, summary.accepted, summary.duplicates)
    request.app.state.projector.wake()
    # where it is in the log: a read sending it back as LKG-Min-Seq sees it (api/consistency.py)
    return Response(status_code=201, headers={SEQ_HEADER: str(summary.seq)})


# The body is parsed on the worker too: the strict parse takes ~45 us an event, so a bulk body
# parsed on the event loop held every other request for tens of ms.
def _accept_one(request: Request, principal: Principal, body: bytes) -> IntakeSummary:
    event, text = parse_event(body)
    return _checked_accept(request, principal, [(0, event, text)])


def _accept_bulk(request: Request, principal: Principal, body: bytes) -> IntakeSummary:
    lines: list[Line]
    if body.lstrip().startswith(b"["):
        lines = [(index, event, None) for index, event in enumerate(parse_json(body))]
    else:
        lines = list(ndjson_lines(body))  # each event with its stored text, where it has one
    _check_count(lines, request.app.state.settings.max_bulk_events)
    return _checked_accept(request, principal, lines)


def _checked_accept(request: Request, principal: Principal, lines: list[Line]) -> IntakeSummary:
    """The events validated, the key's reach checked, then the valid ones appended: one trip to
    the thread pool, not two (a hop costs as much as validating a small event). One event
    outside the key's namespaces refuses the whole request: nothing half-done."""
    store: GraphStore = request.app.state.store
    log: EventLog = request.app.state.event_log
    return accept_lines(
        log, lines, _confined(principal), lambda items: check_writes(principal, items, store)
    )


def check_writes(
    principal: Principal, items: Iterable[tuple[int | None, Any]], store: GraphStore
) -> None:
    """403 unless every (index, event) writes only inside the key's namespaces, judged on what
    the mapping makes of each (ingest/openlineage/reach.py). Blocking (maps, reads the store):
    call it off the event loop. Keys without namespaces pay nothing."""
    if principal.key is None or not principal.key.namespaces:
        return
    refused = first_foreign(
        items, principal.key.namespaces, store_run_jobs(store), store_linked(store)
    )
    if refused is not None:
        foreign, allowed = refused
        raise AuthProblem(403, foreign.message(allowed), {})


def _confined(principal: Principal) -> tuple[str, ...]:
    """The namespaces the caller's key is confined to (none: anywhere), logged with its events:
    the projection holds them to these too, whatever names the store joins meanwhile."""
    return tuple(principal.key.namespaces) if principal.key is not None else ()


def _check_count(items: list[Any], limit: int) -> None:
    if len(items) > limit:
        raise BadBody(
            f"{len(items)} events in one request; at most {limit} (LKG_MAX_BULK_EVENTS): "
            "split the batch",
            413,
        )


@router.post("/api/v1/lineage/bulk")
async def post_lineage_bulk(request: Request, principal: IngestCaller) -> JSONResponse:
    """Many events: NDJSON (one per line) or a JSON array. Valid ones are stored, bad ones
    reported by position with their field errors; the answer is a summary."""
    try:
        body = await read_body(request)
        summary = await run_in_threadpool(_accept_bulk, request, principal, body)
    except BadBody as exc:  # the whole body is refused: counted once
        count_rejected(request, OPENLINEAGE, exc.status)
        return _problem(exc.status, str(exc))
    except LogUnavailable as exc:
        count_rejected(request, OPENLINEAGE, 503)
        return _problem(503, f"cannot store the events now, retry: {exc}")
    count_accepted(request, OPENLINEAGE, summary.accepted, summary.duplicates)
    count_rejected(request, OPENLINEAGE, 422, len(summary.rejected))
    if summary.accepted:
        request.app.state.projector.wake()
    # rejected[].index: 0-based, the array index or the NDJSON line index (line index + 1)
    answer: dict[str, Any] = {
        "accepted": summary.accepted,
        "duplicates": summary.duplicates,
        "rejected": [{"index": r.index, "errors": _errors(r.errors)} for r in summary.rejected],
    }
    if summary.rejected and not summary.accepted + summary.duplicates:
        return JSONResponse({"error": "no event stored: every one was rejected", **answer}, 422)
    return JSONResponse({**answer, "seq": summary.seq}, headers={SEQ_HEADER: str(summary.seq)})


@router.get("/api/v1/events/{event_id}", dependencies=[Depends(require(Scope.READ))])
async def get_event(event_id: str, request: Request) -> JSONResponse:
    """The raw event as received: the evidence behind every node and edge it asserted."""
    log: EventLog = request.app.state.event_log
    try:
        entry = await run_in_threadpool(log.get, event_id)
    except LogUnavailable as exc:
        return _problem(503, f"cannot read the event now: {exc}")
    if entry is None:
        return _problem(404, f"no event with id {clip(event_id)}")
    return JSONResponse(
        {
            "eventId": entry.event_id,
            "seq": entry.seq,
            "source": entry.source,
            "kind": entry.kind,
            "eventTime": entry.event_time,
            "receivedAt": entry.received_at,
            "event": entry.body,
        }
    )
