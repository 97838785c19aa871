"""Writes a web page on another site makes a visitor's browser send are refused (403).

A browser sends a "simple" cross-site POST (Content-Type text/plain, no custom header) without
asking first, and the intake reads any Content-Type as JSON. With auth off — `lkg serve` on a
loopback host without keys, the local default — any page the user visited could so write events
and decisions into their service (it cannot read the answer; the write is done). With auth on
such a request carries no key and is refused anyway; this guard changes nothing for it.

A browser says where a request comes from: `Sec-Fetch-Site` (every current browser), else
`Origin`. A write is refused when it says another site (or another origin of the same site, such
as another port of localhost), or `Origin: null` (a sandboxed frame, a file). Clients that are
not browsers (OpenLineage's, curl, the CLI) send neither header and are not concerned; the web
page and GraphiQL are the service's own origin.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from lineage_kg.api.echo import clip

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_OWN = frozenset({"same-origin", "none"})  # `none`: the user's own act (typed, bookmarked)


def foreign_origin(method: str, headers: Headers) -> str | None:
    """Why this request is a write from another site's page, or None if it is not one."""
    if method.upper() in SAFE_METHODS:
        return None
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None:
        site = fetch_site.strip().lower()
        return None if site in _OWN else f"Sec-Fetch-Site: {site}"
    origin = headers.get("origin")
    if origin is None:
        return None
    if origin.strip().lower() == "null":
        return "Origin: null"
    host = headers.get("host", "")
    try:
        origin_host = urlsplit(origin.strip()).netloc
    except ValueError:
        return f"Origin: {clip(origin)}"
    return None if origin_host.lower() == host.strip().lower() else f"Origin: {clip(origin)}"


class CrossSiteWrites:
    """ASGI middleware: 403 for a write a browser sends from another site's page."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            why = foreign_origin(scope["method"], Headers(scope=scope))
            if why is not None:
                await _refuse(send, why)
                return
        await self.app(scope, receive, send)


async def _refuse(send: Send, why: str) -> None:
    message = (
        f"a write from another site's page is refused ({why}): send it from this service's own "
        "page, or from a client that is not a browser"
    )
    payload = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
    headers.append((b"content-length", str(len(payload)).encode()))
    await send({"type": "http.response.start", "status": 403, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
