"""A client that stops sending its body held its connection, and all it had sent, for ever
(session 34, helper 96's red team): on a real `lkg serve`, a POST whose Content-Length was never
filled, or a chunked body without its last chunk, was still unanswered after 20 s — and on
/graphql the body is read before the key is checked, so anyone could hold up to
LKG_GRAPHQL_MAX_BODY_BYTES of the service's memory per connection. Now the whole body must
arrive within LKG_BODY_READ_SECONDS: else 408 naming it, and the connection is closed.

The app is called as ASGI with a `receive` that hands over part of a body and then waits for
ever (a condition: it never finishes by itself); the deadline is set small, the hang bound big.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient

from tests.fuzz.conftest import app_client

HANG = 120  # seconds: a bound on a hang, not a speed requirement
ROUTES = ["/api/v1/lineage", "/api/v1/lineage/bulk", "/api/v1/decisions", "/graphql"]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with app_client(tmp_path_factory.mktemp("slow"), body_read_seconds=0.2) as client:
        yield client


def stalled(client: TestClient, path: str, headers: dict[str, str], part: bytes) -> dict[str, Any]:
    """POST `part` of a body to `path`, then send nothing more: what the app answers."""
    sent: list[dict[str, Any]] = []
    pending = [{"type": "http.request", "body": part, "more_body": True}]

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop()
        await anyio.sleep_forever()  # the client stopped sending, and never hangs up
        raise AssertionError  # pragma: no cover

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }

    async def call() -> None:
        with anyio.fail_after(HANG):
            await client.app(scope, receive, send)

    assert client.portal is not None
    client.portal.call(call)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return {"status": start["status"], "headers": dict(start["headers"]), "body": body}


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_body_that_stops_arriving_is_a_408_and_the_connection_closes(
    client: TestClient, path: str, framing: str
) -> None:
    headers = {"content-type": "application/json"}
    headers |= {"content-length": "100"} if framing == "content-length" else {}
    answer = stalled(client, path, headers, b'{"eventTyp')
    assert answer["status"] == 408, answer
    assert answer["headers"].get(b"connection") == b"close"
    assert b"LKG_BODY_READ_SECONDS" in answer["body"]
    assert b"10 bytes came" in answer["body"]


def test_a_whole_body_is_read_as_before(tmp_path: Path) -> None:
    with app_client(tmp_path, body_read_seconds=0.2) as client:
        response = client.post("/graphql", json={"query": "{ version }"})
        assert response.status_code == 200, response.text
        response = client.post("/api/v1/lineage", content=b"{}")
        assert response.status_code == 422, response.text
