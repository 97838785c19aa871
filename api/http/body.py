"""The one body reader of every HTTP endpoint (in the spirit of Starlette's `Request.body()`):
the size limit (before and after inflating), Content-Encoding, the media types an endpoint
takes, and the status code of each refusal — and the JSON error answer every endpoint gives.

The intake routes read with `read_body`; `/graphql` (whose router reads the request itself) has
its body read by the same `read_stream` in front of it (api/graphql/router.py `BodyLimit`).
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import AsyncIterable, Callable, Collection, Mapping
from typing import Any, TypeVar

import anyio
from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from lineage_kg.api.echo import clip
from lineage_kg.ingest import intake, strict_json

T = TypeVar("T")


class BadBody(ValueError):
    """The request body is not readable as what it claims to be (4xx)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def decode_body(
    raw: bytes, content_encoding: str | None, max_bytes: int, setting: str = "LKG_MAX_BODY_BYTES"
) -> bytes:
    """Undo gzip/deflate if sent; refuse bodies over `max_bytes` before or after inflating (413
    naming `setting`, the limit's setting).

    Every member of a gzip body is inflated (`cat a.gz b.gz` is one legal gzip body); a stream
    cut short, or bytes after it that are not another member, refuse the body (400): never
    store part of what was sent and answer as if it were all.
    """
    if len(raw) > max_bytes:
        raise BadBody(f"body of {len(raw)} bytes is over the limit of {max_bytes} ({setting})", 413)
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("identity", ""):
        return raw
    if encoding not in ("gzip", "deflate", "x-gzip"):
        raise BadBody(f"Content-Encoding {clip(content_encoding)} is not supported", 415)
    gzip = encoding != "deflate"
    wbits = 16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS
    body = bytearray()
    rest, member = raw, 1
    while True:
        inflater = zlib.decompressobj(wbits)
        try:
            # bounded inflate: a small gzip bomb must not take the memory of the service
            body += inflater.decompress(rest, max_bytes + 1 - len(body))
        except zlib.error as exc:
            raise BadBody(f"body is not valid {encoding} (member {member}): {exc}") from exc
        if len(body) > max_bytes or inflater.unconsumed_tail:
            raise BadBody(f"inflated body is over the limit of {max_bytes} bytes ({setting})", 413)
        if not inflater.eof:
            raise BadBody(f"body is a truncated {encoding} stream (member {member} ends early)")
        rest = inflater.unused_data
        if not rest:
            return bytes(body)
        if not gzip or not rest.startswith(GZIP_MAGIC):
            raise BadBody(f"body has {len(rest)} bytes after the end of its {encoding} stream")
        member += 1


def parse_json(body: bytes) -> Any:
    """One JSON document; values no event may hold are marked (ingest/strict_json.py)."""
    return _parsed(strict_json.loads, body)


def parse_event(body: bytes) -> tuple[Any, str | None]:
    """One event's JSON document, as `parse_json` reads it, with the canonical text the log will
    store where the intake's reader made it (ingest/intake.py `read_event`; None: worked out
    when the event is validated)."""
    return _parsed(intake.read_event, body)


def _parsed(read: Callable[[bytes], T], body: bytes) -> T:
    try:
        return read(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadBody(f"body is not valid JSON: {exc}") from exc
    except RecursionError:
        raise BadBody("body is JSON nested too deeply") from None


GZIP_MAGIC = b"\x1f\x8b"


async def read_body(request: Request, media_types: Collection[str] | None = None) -> bytes:
    """The request's body, inflated, within the settings' `max_body_bytes` (413 past it) and
    `body_read_seconds` (408 past it); 415 for a Content-Type outside `media_types` (when given)
    or an unknown Content-Encoding."""
    settings = request.app.state.settings
    return await read_stream(
        request.stream(),
        request.headers,
        settings.max_body_bytes,
        media_types=media_types,
        seconds=settings.body_read_seconds,
    )


async def read_stream(
    chunks: AsyncIterable[bytes],
    headers: Mapping[str, str],
    limit: int,
    *,
    media_types: Collection[str] | None = None,
    setting: str = "LKG_MAX_BODY_BYTES",
    seconds: float | None = None,
) -> bytes:
    """A body arriving in `chunks`, inflated, within `limit` bytes (413 naming `setting` past it,
    before reading when Content-Length says so, else as soon as it is over) and, if given,
    `seconds` (408 past them): the reader under `read_body`, for a caller that holds the raw
    stream (an ASGI middleware)."""
    media = (headers.get("content-type") or "").split(";")[0].strip().lower()
    if media_types is not None and media and media not in media_types:
        raise BadBody(f"Content-Type {clip(media)} is not JSON or NDJSON", 415)
    length = headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise BadBody(f"body of {length} bytes is over the limit of {limit} ({setting})", 413)
    raw = bytearray()
    with anyio.move_on_after(seconds if seconds is not None else math.inf) as waited:
        async for chunk in chunks:
            raw.extend(chunk)
            if len(raw) > limit:
                raise BadBody(f"body is over the limit of {limit} bytes ({setting})", 413)
    if waited.cancelled_caught:  # a client that stopped sending: its connection is closed
        raise BadBody(
            f"the body did not arrive whole within {seconds:g} s ({len(raw)} bytes came; "
            f"{READ_SETTING})",
            408,
        )
    encoding = headers.get("content-encoding")
    if (encoding or "").strip().lower() not in ("", "identity"):
        # inflating up to `limit` bytes takes tens of ms: off the event loop
        return await run_in_threadpool(decode_body, bytes(raw), encoding, limit, setting)
    return decode_body(bytes(raw), encoding, limit, setting)


READ_SETTING = "LKG_BODY_READ_SECONDS"


def problem(status: int, message: str, **extra: Any) -> JSONResponse:
    """An error answer: `{"error": message, …}`; a 503 says when to retry; a 408 closes the
    connection (the rest of its body is never read)."""
    headers = {"Retry-After": "5"} if status == 503 else None
    if status == 408:
        headers = {"Connection": "close"}
    return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)
