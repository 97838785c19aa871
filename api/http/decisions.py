"""Decision-log intake over HTTP: `POST /api/v1/decisions`, and reads of the side table.

A request carries up to `MAX_BATCH` decisions: a JSON array, `{"decisions": [...]}`, one JSON
object, or NDJSON. Each item is validated on its own; the valid ones go into the durable log as
ONE event before the answer (201 all stored, 207 some rejected, 422 none valid; 200 when the
very same batch was already logged). Whether a decision's decision point and model are known is
checked later, by the projection (GET /api/v1/decisions/{id} says "parked" and why).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from lineage_kg.api.auth import Scope, require
from lineage_kg.api.echo import clip
from lineage_kg.api.http.body import BadBody, read_body
from lineage_kg.api.http.body import problem as _problem
from lineage_kg.api.observability import count_accepted, count_rejected
from lineage_kg.graph.sides.decisions import DecisionRow, DecisionTable
from lineage_kg.ingest import strict_json
from lineage_kg.ingest.decisions.records import (
    MAX_BATCH,
    ItemError,
    Validated,
    decision_event,
    validate_items,
)
from lineage_kg.ingest.eventlog import Appended, EventLog, LogUnavailable
from lineage_kg.ingest.sources import DECISIONS

router = APIRouter(tags=["decisions"])

JSON_TYPES = frozenset(
    {
        "application/json",
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
        "application/x-jsonlines",
        "text/plain",
    }
)


def request_items(body: bytes) -> list[tuple[int, str, Any]]:
    """(index, "[index]", item) for each decision in the body; a bad NDJSON line is an error
    item. BadBody when the body holds no decisions or more than MAX_BATCH."""
    text = body.strip()
    if not text:
        raise BadBody("the body holds no decisions")
    try:
        whole = strict_json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        whole = None
        if text.startswith(b"["):
            raise BadBody("body is not a valid JSON array") from None
    if isinstance(whole, dict) and "decisions" in whole:
        whole = whole["decisions"]
        if not isinstance(whole, list):
            raise BadBody("decisions: must be an array")
    items: list[Any]
    if isinstance(whole, list):
        items = whole
    elif isinstance(whole, dict):
        items = [whole]
    else:
        items = []
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                items.append(strict_json.loads(line))
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
                index = len(items)
                items.append(ItemError(index, f"[{index}]", [("$", f"not valid JSON: {exc}")]))
    if not items:
        raise BadBody("the body holds no decisions")
    if len(items) > MAX_BATCH:
        raise BadBody(
            f"{len(items)} decisions in one request; at most {MAX_BATCH}: split the batch", 413
        )
    return [(i, f"[{i}]", item) for i, item in enumerate(items)]


def accept(log: EventLog, items: list[tuple[int, str, Any]]) -> tuple[Validated, Appended | None]:
    """Validate; append the valid decisions to the log as one event (durable on return)."""
    checked = validate_items(items)
    if not checked.decisions:
        return checked, None
    (appended,) = log.append([decision_event(checked.decisions)])
    return checked, appended


def _report(checked: Validated, appended: Appended | None) -> dict[str, Any]:
    return {
        "accepted": len(checked.decisions),
        "rejected": [
            {
                "index": r.index,
                "errors": [{"path": f"{r.where}.{p}", "message": m} for p, m in r.errors],
            }
            for r in checked.rejected
        ],
        "eventId": appended.event_id if appended else None,
        "duplicate": appended.duplicate if appended else False,
    }


def _accept_body(log: EventLog, body: bytes) -> tuple[Validated, Appended | None]:
    return accept(log, request_items(body))


# decisions are not namespaced: any ingest key may write them (docs/security.md)
@router.post("/api/v1/decisions", dependencies=[Depends(require(Scope.INGEST))])
async def post_decisions(request: Request) -> JSONResponse:
    """Up to 10,000 decisions; the valid ones are durable (one log event) before the answer."""
    try:
        body = await read_body(request, JSON_TYPES)
        log: EventLog = request.app.state.event_log
        # parsed on the worker with the rest: up to 10,000 decisions would hold the event loop
        checked, appended = await run_in_threadpool(_accept_body, log, body)
    except BadBody as exc:  # the whole body is refused: counted once
        count_rejected(request, DECISIONS, exc.status)
        return _problem(exc.status, str(exc))
    except LogUnavailable as exc:
        count_rejected(request, DECISIONS, 503)
        return _problem(503, f"cannot store the decisions now, retry: {exc}")
    # counted in decisions (one log event carries the whole batch)
    count_rejected(request, DECISIONS, 422, len(checked.rejected))
    if appended is not None:
        stored = len(checked.decisions)
        count_accepted(request, DECISIONS, *((0, stored) if appended.duplicate else (stored, 0)))
    report = _report(checked, appended)
    if appended is None:
        return JSONResponse({"error": "no valid decision", **report}, status_code=422)
    request.app.state.projector.wake()
    if checked.rejected:
        return JSONResponse(report, status_code=207)
    return JSONResponse(report, status_code=200 if appended.duplicate else 201)


def row_json(row: DecisionRow) -> dict[str, Any]:
    return {
        "decisionId": row.decision_id,
        "timestamp": row.timestamp,
        "decisionPoint": row.decision_point,
        "registry": row.registry,
        "model": row.model,
        "version": row.version,
        "alias": row.alias,
        "features": row.features,
        "outcome": row.outcome,
        "requestId": row.request_id,
        "seq": row.seq,
        "eventId": row.event_id,
    }


def _table(request: Request) -> DecisionTable:
    table: DecisionTable | None = request.app.state.decisions
    if table is None:
        raise BadBody("this service keeps no decisions table", 404)
    return table


@router.get("/api/v1/decisions/parked", dependencies=[Depends(require(Scope.READ))])
async def get_parked(request: Request, limit: int = 100) -> JSONResponse:
    """Decisions set aside until their decision point or model is known, and why."""
    try:
        table = _table(request)
    except BadBody as exc:
        return _problem(exc.status, str(exc))
    parked = await run_in_threadpool(table.parked, max(1, min(limit, 1000)))
    stats = await run_in_threadpool(table.stats)
    return JSONResponse(
        {
            "stored": stats.stored,
            "parked": stats.parked,
            "conflicts": stats.conflicts,
            "items": [
                {"decisionId": p.decision_id, "reason": p.reason, "eventId": p.event_id}
                for p in parked
            ],
        }
    )


@router.get("/api/v1/decisions/{decision_id}", dependencies=[Depends(require(Scope.READ))])
async def get_decision(decision_id: str, request: Request) -> JSONResponse:
    """One decision: stored (with its evidence), parked (with the reason), or 404."""
    try:
        table = _table(request)
    except BadBody as exc:
        return _problem(exc.status, str(exc))
    row = await run_in_threadpool(table.get, decision_id)
    if row is not None:
        return JSONResponse({"status": "stored", **row_json(row)})
    parked = await run_in_threadpool(table.get_parked, decision_id)
    if parked is not None:
        return JSONResponse(
            {
                "status": "parked",
                "decisionId": decision_id,
                "reason": parked.reason,
                "eventId": parked.event_id,
            }
        )
    return _problem(404, f"no decision with id {clip(decision_id)} (yet: the table may be behind)")
