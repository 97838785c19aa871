"""/graphql reads its body with the one body reader of every endpoint (api/http/body.py): a
gzip or deflate body is inflated (the answer is the plain body's), the size limit holds before
and after inflating (413 naming LKG_GRAPHQL_MAX_BODY_BYTES), and what cannot be read is refused
with the status the intake gives, as a GraphQL error."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable, Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from lineage_kg.api.app import create_app
from lineage_kg.settings import Settings

LIMIT = 4096
QUERY = json.dumps({"query": "{ version stats { nodeCount edgeCount } }"}).encode()
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("body"),
        neo4j_uri=None,
        demo=True,
        snapshot=False,
        graphql_max_body_bytes=LIMIT,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def post(client: TestClient, body: bytes, **headers: str) -> httpx.Response:
    return client.post("/graphql", content=body, headers={**JSON, **headers})


@pytest.mark.parametrize(
    ("encoding", "pack"),
    [
        ("gzip", lambda b: gzip.compress(b, mtime=0)),
        ("deflate", zlib.compress),
        ("gzip", lambda b: gzip.compress(b[:10], mtime=0) + gzip.compress(b[10:], mtime=0)),
    ],
    ids=["gzip", "deflate", "gzip-two-members"],
)
def test_a_compressed_body_is_answered_as_the_plain_one(
    client: TestClient, encoding: str, pack: Callable[[bytes], bytes]
) -> None:
    plain = post(client, QUERY)
    assert plain.status_code == 200 and "errors" not in plain.json(), plain.text
    assert plain.json()["data"]["stats"]["nodeCount"] > 0  # the demo graph: a real answer
    packed = post(client, pack(QUERY), **{"content-encoding": encoding})
    assert packed.status_code == 200, packed.text
    assert packed.json() == plain.json()


def too_large(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "BODY_TOO_LARGE"
    assert "LKG_GRAPHQL_MAX_BODY_BYTES" in error["message"] and str(LIMIT) in error["message"]


def test_the_limit_holds_before_and_after_inflating(client: TestClient) -> None:
    padded = json.dumps({"query": "{ version }", "variables": {"v": " " * (2 * LIMIT)}}).encode()
    assert len(padded) > LIMIT
    too_large(post(client, padded))  # Content-Length says so: refused unread
    bomb = gzip.compress(padded, mtime=0)
    assert len(bomb) < LIMIT  # small on the wire, over the limit once inflated
    too_large(post(client, bomb, **{"content-encoding": "gzip"}))

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield padded[: LIMIT // 2]
        yield padded[LIMIT // 2 :]

    too_large(client.post("/graphql", content=chunks(), headers=JSON))
    # just within the limit still answers
    fits = json.dumps({"query": "{ version }", "variables": {"v": ""}}).encode()
    fits = fits.replace(b'""', b'"' + b" " * (LIMIT - len(fits)) + b'"')
    assert len(fits) == LIMIT
    assert post(client, fits).status_code == 200


@pytest.mark.parametrize(
    ("body", "encoding", "status", "says"),
    [
        (QUERY, "br", 415, "Content-Encoding 'br' is not supported"),
        (gzip.compress(QUERY, mtime=0)[:-6], "gzip", 400, "truncated"),
        (b"not gzip at all", "gzip", 400, "not valid gzip"),
        (gzip.compress(QUERY, mtime=0) + b"tail", "gzip", 400, "after the end"),
    ],
    ids=["unknown-encoding", "truncated", "not-gzip", "trailing-bytes"],
)
def test_unreadable_bodies_are_refused_as_the_intake_refuses_them(
    client: TestClient, body: bytes, encoding: str, status: int, says: str
) -> None:
    response = post(client, body, **{"content-encoding": encoding})
    assert response.status_code == status, response.text
    (error,) = response.json()["errors"]
    assert says in error["message"]
