"""/graphql over HTTP, bounded: what a body may be, where a request runs and for how long.

- The body is read whole by the one body reader of every endpoint (api/http/body.py), up to
  LKG_GRAPHQL_MAX_BODY_BYTES, before anything parses it: 413 past it (before and after
  inflating a gzip/deflate body), 415 for another Content-Encoding, 400 for a broken stream,
  each a GraphQL error naming the problem. It must be a UTF-8 JSON object (or a GET's query
  string) whose variables nest at most MAX_VARIABLE_DEPTH levels (400 naming the problem, never
  a 500).
- Parsing, validation and every resolver run in a worker thread, on the event loop that thread
  keeps for the requests it runs, one at a time (anyio's pool bounds the threads, so the loops):
  the service's loop only hands the request over and waits, so /healthz and other requests are
  answered while a heavy query runs. The store calls of one request run one at a time.
- A request past LKG_GRAPHQL_DEADLINE_SECONDS answers a DEADLINE_EXCEEDED error at once; its
  walks stop at their next step (api/graphql/traversal_budget.py).
- A browser's GET gets GraphiQL from the package (api/web.py `graphiql_page`), not strawberry's
  page, which loads React and GraphiQL from a public CDN and shows "Loading…" forever offline.
  (With auth on, api/web.py `GraphiQLPage` answers it ahead of the key check.)
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import anyio
import orjson
from cross_web import HTTPException
from graphql import ExecutionResult, GraphQLError
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lineage_kg.api.graphql.traversal_budget import TraversalBudget
from lineage_kg.api.http.body import BadBody, read_stream
from lineage_kg.api.observability import MeasuredGraphQLRouter
from lineage_kg.api.web import graphiql_page

MAX_VARIABLE_DEPTH = 32  # JSON nesting of a request (variables included); inputs nest ~4


def _depth_over(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


def decode_request_json(data: str | bytes) -> dict[str, Any] | list[Any]:
    """A GraphQL request body (or its `variables`): a JSON object, nested within bounds."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        value = json.loads(text)
    except UnicodeDecodeError as exc:
        raise HTTPException(400, f"the body is not UTF-8 text: {exc}") from None
    except json.JSONDecodeError as exc:
        raise HTTPException(400, f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        raise HTTPException(
            400, f"the JSON nests deeper than {MAX_VARIABLE_DEPTH} levels (the limit)"
        ) from None
    if not isinstance(value, (dict, list)):
        raise HTTPException(
            400,
            f'expected a JSON object such as {{"query": "...", "variables": {{}}}}, '
            f"got a JSON {type(value).__name__}",
        )
    if _depth_over(value, MAX_VARIABLE_DEPTH):
        raise HTTPException(
            400, f"the JSON nests deeper than {MAX_VARIABLE_DEPTH} levels (the limit)"
        )
    return value


class BoundedGraphQLRouter(MeasuredGraphQLRouter):
    """The measured router, with strict bodies, work off the event loop and a deadline."""

    def __init__(self, *args: Any, deadline_seconds: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadline_seconds = deadline_seconds

    def parse_json(self, data: str | bytes) -> Any:
        return decode_request_json(data)

    def encode_json(self, data: object) -> bytes:
        # orjson: a full impact page is ~6,600 values, json.dumps was 14 % of its request
        try:
            return orjson.dumps(data)
        except TypeError:  # what orjson does not write (an int past 64 bits): as before
            return json.dumps(data, separators=(",", ":")).encode()

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        # its assets' names carry their content hash: only this page is revalidated
        return HTMLResponse(graphiql_page(), headers={"cache-control": "no-cache"})

    async def execute_single(  # noqa: PLR0917 (the signature of the method it extends)
        self,
        request: Any,
        request_adapter: Any,
        sub_response: Any,
        context: Any,
        root_value: Any,
        request_data: Any,
    ) -> ExecutionResult:
        run = super().execute_single(
            request=request,
            request_adapter=request_adapter,
            sub_response=sub_response,
            context=context,
            root_value=root_value,
            request_data=request_data,
        )
        with anyio.move_on_after(self.deadline_seconds) as scope:
            return await anyio.to_thread.run_sync(run_apart, run, abandon_on_cancel=True)
        message = (
            f"the request ran past its deadline of {self.deadline_seconds:g} s "
            "(LKG_GRAPHQL_DEADLINE_SECONDS): ask less at once (depth, first, fewer questions)"
        )
        budget: TraversalBudget | None = getattr(context, "budget", None)
        if budget is not None:
            budget.stop(message)  # its walks end at their next step
        assert scope.cancelled_caught
        return ExecutionResult(
            data=None, errors=[GraphQLError(message, extensions={"code": "DEADLINE_EXCEEDED"})]
        )


def run_apart(run: Awaitable[ExecutionResult]) -> ExecutionResult:
    """Run one request's execution to its end on this worker thread's own event loop."""
    worker = getattr(_worker, "loop", None)
    if worker is None:
        worker = _worker.loop = _WorkerLoop()
    return worker.run(run)


_worker = threading.local()  # each worker thread's loop, closed when the thread ends


class _WorkerLoop:
    """An event loop a worker thread keeps for every request it runs, one request at a time.

    `asyncio.run` per request built and tore down a loop each time (its selector, its wake-up
    socket pair, the executor's shutdown): ~0.4 ms of a request's fixed cost on a quiet machine,
    more when a process gets a fraction of a core (issue 19). What `asyncio.run` guaranteed is
    kept: a request's leftover tasks are cancelled before the next request starts on the loop.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def run(self, run: Awaitable[ExecutionResult]) -> ExecutionResult:
        try:
            return self.loop.run_until_complete(_as_request(run))
        finally:
            if leftovers := asyncio.all_tasks(self.loop):
                for task in leftovers:
                    task.cancel()
                self.loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))

    def __del__(self) -> None:  # the thread ended (anyio retires idle workers): free the loop
        if not self.loop.is_closed():
            self.loop.close()


async def _as_request(run: Awaitable[ExecutionResult]) -> ExecutionResult:
    # one thread for the request's blocking calls: its walks run one after another, so its
    # traversal budget is spent on whole answers, and one request holds one thread (the
    # limiter is the loop's own: set on every request, it costs an attribute write)
    anyio.to_thread.current_default_thread_limiter().total_tokens = 1
    return await run


class BodyLimit:
    """ASGI middleware: the body of a request to `path` read by the one body reader
    (api/http/body.py `read_stream`: the size limit, before and after inflating a gzip/deflate
    body, and the status of each refusal), then handed on whole and inflated. A refusal is
    answered here, GraphQL-shaped and naming LKG_GRAPHQL_MAX_BODY_BYTES when it is the size."""

    def __init__(
        self, app: ASGIApp, *, path: str, limit: int, seconds: float | None = None
    ) -> None:
        self.app = app
        self.path = path
        self.limit = limit
        self.seconds = seconds  # the body's whole arrival (LKG_BODY_READ_SECONDS): 408 past it

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/") != self.path:
            await self.app(scope, receive, send)
            return
        try:
            body = await read_stream(
                _chunks(receive),
                Headers(scope=scope),
                self.limit,
                setting=LIMIT_SETTING,
                seconds=self.seconds,
            )
        except BadBody as exc:
            await _refuse(send, exc)
            return
        except ClientDisconnect:
            return  # nobody is left to answer
        # what the router reads: the body as inflated, its length, no encoding left to undo (the
        # scope itself changed, not a copy: the middlewares outside read what routing adds to it)
        headers = [
            (k, v) for k, v in scope["headers"] if k not in (b"content-length", b"content-encoding")
        ]
        headers.append((b"content-length", str(len(body)).encode()))
        scope["headers"] = headers
        await self.app(scope, _replay(body, receive), send)


LIMIT_SETTING = "LKG_GRAPHQL_MAX_BODY_BYTES"
# a refusal's status -> the GraphQL error code the answer carries
_CODES = {408: "BODY_TIMEOUT", 413: "BODY_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE"}


async def _chunks(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise ClientDisconnect
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


async def _refuse(send: Send, refused: BadBody) -> None:
    error = {
        "message": str(refused),
        "extensions": {"code": _CODES.get(refused.status, "BAD_REQUEST")},
    }
    payload = json.dumps({"errors": [error]}).encode()
    headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
    headers.append((b"content-length", str(len(payload)).encode()))
    await send({"type": "http.response.start", "status": refused.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def _replay(body: bytes, receive: Receive) -> Receive:
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay
