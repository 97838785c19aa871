"""/graphql over HTTP, bounded: what a body may be, where a request runs and for how long.

- The body is read whole, up to LKG_GRAPHQL_MAX_BODY_BYTES, before anything parses it (413 past
  it, as the intake does); it must be a UTF-8 JSON object (or a GET's query string) whose
  variables nest at most MAX_VARIABLE_DEPTH levels (400 naming the problem, never a 500).
- Parsing, validation and every resolver run in a worker thread, on an event loop of their own:
  the service's loop only hands the request over and waits, so /healthz and other requests are
  answered while a heavy query runs. The store calls of one request run one at a time.
- A request past LKG_GRAPHQL_DEADLINE_SECONDS answers a DEADLINE_EXCEEDED error at once; its
  walks stop at their next step (api/graphql/traversal_budget.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from typing import Any

import anyio
from cross_web import HTTPException
from graphql import ExecutionResult, GraphQLError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lineage_kg.api.graphql.traversal_budget import TraversalBudget
from lineage_kg.api.observability import MeasuredGraphQLRouter

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
            return await anyio.to_thread.run_sync(_run_apart, run, abandon_on_cancel=True)
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


def _run_apart(run: Awaitable[ExecutionResult]) -> ExecutionResult:
    """Run one request's execution to its end on an event loop of this worker thread."""

    async def main() -> ExecutionResult:
        # one thread for the request's blocking calls: its walks run one after another, so
        # its traversal budget is spent on whole answers, and one request holds one thread
        anyio.to_thread.current_default_thread_limiter().total_tokens = 1
        return await run

    return asyncio.run(main())


class BodyLimit:
    """ASGI middleware: a body on `path` over `limit` bytes is refused (413) before it is read
    further; a body within it is buffered and handed on whole."""

    def __init__(self, app: ASGIApp, *, path: str, limit: int) -> None:
        self.app = app
        self.path = path
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/") != self.path:
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.limit:
            await self._refuse(send, f"body of {int(length):,} bytes")
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay(b"", receive, message), send)
                return
            body.extend(message.get("body", b""))
            if len(body) > self.limit:
                await self._refuse(send, "body")
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(bytes(body), receive), send)

    async def _refuse(self, send: Send, what: str) -> None:
        payload = json.dumps(
            {
                "errors": [
                    {
                        "message": f"{what} is over the /graphql limit of {self.limit:,} bytes "
                        "(LKG_GRAPHQL_MAX_BODY_BYTES)",
                        "extensions": {"code": "BODY_TOO_LARGE"},
                    }
                ]
            }
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
        headers.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


def _replay(body: bytes, receive: Receive, first: Message | None = None) -> Receive:
    pending: list[Message] = [first or {"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay
