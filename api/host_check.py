"""DNS rebinding with auth off: only Host values that name this service are answered.

With no keys (the local default) anyone who reaches the port may read and write. A web page on
a name its owner re-points at 127.0.0.1 (DNS rebinding) is same-origin to the service from the
browser's view, so the cross-site write check (api/cross_site.py) lets it through and it may
read the answers too. Its requests carry that name in `Host`: with auth off, a request whose
Host is not a loopback name or address, the bind host (LKG_HOST) or one of LKG_ALLOWED_HOSTS is
refused with 421 before anything else runs. With auth required, the key is the guard.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from lineage_kg.api.auth import AuthMode, is_loopback
from lineage_kg.api.echo import clip


def host_name(header: str) -> str:
    """The host of a Host header: its port and an IPv6 address's brackets removed, lower case."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    name, _, port = value.rpartition(":")
    return name if name and port.isdigit() and ":" not in name else value


class HostCheck:
    """ASGI middleware: with auth off, 421 for a Host that does not name this service."""

    def __init__(self, app: ASGIApp, *, bind_host: str, allowed: Iterable[str]) -> None:
        self.app = app
        self.allowed = {host_name(h) for h in (bind_host, *allowed) if h}

    def allows(self, header: str | None) -> bool:
        if header is None:
            return True  # HTTP/1.0 without Host: no browser sends that
        name = host_name(header)
        return name in self.allowed or is_loopback(name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        guard = getattr(getattr(scope.get("app"), "state", None), "guard", None)
        host = Headers(scope=scope).get("host")
        if (guard is not None and guard.mode is not AuthMode.OFF) or self.allows(host):
            await self.app(scope, receive, send)
            return
        message = (
            f"Host {clip(host or '')} is not this service's name: with auth off only loopback "
            "names and addresses, LKG_HOST and LKG_ALLOWED_HOSTS are answered (a guard "
            "against DNS rebinding); add the name to LKG_ALLOWED_HOSTS, or turn auth on"
        )
        payload = json.dumps({"detail": message, "code": "HOST_NOT_ALLOWED"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 421,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
