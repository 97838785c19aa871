"""Read your writes, across replicas: a position in the log, handed out by intake and waited for
by reads.

Intake answers carry `LKG-Seq`: the log position of the events just stored. A read that sends it
back as `LKG-Min-Seq` — to this replica or any other on the same log (positions are the same on
every copy of a Kafka log) — is answered only once the graph and this replica's side tables hold
the log up to there. The wait comes after the caller is known (`api/auth.py` `require` calls it
for reads), is bounded (`LKG_READ_WAIT_SECONDS`), and holds no thread: the status is asked on the
thread pool, the pauses are the event loop's. Past the bound the answer is 503, naming where this
replica stands, with Retry-After.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from lineage_kg.graph.store import StoreUnavailable

SEQ_HEADER = "LKG-Seq"  # on intake's answers
MIN_SEQ_HEADER = "LKG-Min-Seq"  # on a read: answer from a graph holding at least this position
POLL_SECONDS = 0.02


class NotYet(Exception):
    """A read that cannot be answered as asked (`LKG-Min-Seq`): its status and message."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


async def not_yet_response(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, NotYet)
    headers = {"Retry-After": "1"} if exc.status == 503 else None
    return JSONResponse({"error": exc.message, **exc.extra}, exc.status, headers=headers)


async def read_after(request: Request) -> None:
    """Return once this replica holds the position the request names (if it names one); else
    raise NotYet: 400 for a header that is not a position, 503 past the wait."""
    text = request.headers.get(MIN_SEQ_HEADER)
    if text is None:
        return
    text = text.strip()
    if not text.isdigit() or len(text) > 18:
        raise NotYet(400, f"{MIN_SEQ_HEADER}: not a log position (a whole number, 0 or more)")
    seq = int(text)
    projector = request.app.state.projector
    deadline = time.monotonic() + request.app.state.settings.read_wait_seconds
    while True:
        try:
            held, status = await run_in_threadpool(projector.holds, seq)
        except StoreUnavailable as exc:
            raise NotYet(503, f"the store cannot say how far the graph is: {exc}") from None
        if held:
            return
        if time.monotonic() >= deadline:
            raise NotYet(
                503,
                f"this replica's graph holds the log up to seq {status.projected_seq}, not yet "
                f"{seq} ({MIN_SEQ_HEADER}); retry, here or on another replica",
                projected_seq=status.projected_seq,
                wanted_seq=seq,
            )
        await asyncio.sleep(POLL_SECONDS)
