"""A local webhook receiver for the notification tests: an http.server on 127.0.0.1, port 0.

It records every POST (path, headers, body), answers with the status the test sets (200 by
default; 503 while "unavailable"), can be stopped (connections refused) and started again on
the same port, and dedups by `Idempotency-Key` per path as a well-behaved receiver does (the
raw record keeps the duplicates, so a test sees whether any were sent)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    port: int = 0
    status: int = 200
    by_path: dict[str, int] = field(default_factory=dict)  # a path's own status, if set
    received: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._lock:
                    status = receiver.by_path.get(self.path, receiver.status)
                    receiver.received.append(Received(self.path, headers, body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Down: the port refuses connections until `start` again."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def ok(self, path: str) -> list[Received]:
        """What `path` received while answering 2xx."""
        with self._lock:
            return [r for r in self.received if r.path == path and 200 <= r.status < 300]

    def keys(self, path: str) -> list[str]:
        return [r.headers["idempotency-key"] for r in self.ok(path)]


def verify(secret: bytes, received: Received) -> bool:
    """The receiver's check of `X-Lkg-Signature` (as docs/operations.md shows it)."""
    sent = received.headers.get("x-lkg-signature", "")
    expected = "sha256=" + hmac.new(secret, received.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(sent, expected)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(0.05)
