"""Writes from another site's page (session 34, helper 96's red team): with auth off (`lkg serve`
on loopback without keys, the local default) a page anywhere on the web could make its visitor's
browser POST events and decisions into their service — a "simple" request (text/plain, no custom
header) is sent without asking, and the intake read it: 201. Now a write a browser marks as
coming from another site (Sec-Fetch-Site, else Origin) is a 403 and nothing is stored; clients
that are not browsers, and the service's own page, are as before."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.datastructures import Headers

from lineage_kg.api.cross_site import foreign_origin
from tests.fuzz.conftest import app_client
from tests.fuzz.test_intake_fuzz import VALID

DECISION = {"decision_id": "d", "timestamp": "2026-01-06T00:00:00Z", "decision_point": "p",
            "model": "m", "outcome": 1}  # fmt: skip
WRITES = [
    ("/api/v1/lineage", VALID),
    ("/api/v1/lineage/bulk", [VALID]),
    ("/api/v1/decisions", [DECISION]),
]
FOREIGN = [
    {"sec-fetch-site": "cross-site", "origin": "https://evil.example"},
    {"sec-fetch-site": "same-site", "origin": "http://testserver:3000"},
    {"origin": "https://evil.example"},  # a browser without Sec-Fetch-* headers
    {"origin": "null"},  # a sandboxed frame, a file
]
OWN = [
    {},  # not a browser: OpenLineage's client, curl
    {"sec-fetch-site": "same-origin", "origin": "http://testserver"},  # the web page
    {"sec-fetch-site": "none"},  # typed or bookmarked by the user
    {"origin": "http://testserver"},
]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with app_client(tmp_path_factory.mktemp("cross")) as client:
        yield client


def stored(client: TestClient) -> int:
    return client.app.state.event_log.count()  # type: ignore[attr-defined]


@pytest.mark.parametrize(("path", "body"), WRITES, ids=[p for p, _ in WRITES])
@pytest.mark.parametrize("foreign", FOREIGN, ids=range(len(FOREIGN)))
def test_a_write_from_another_sites_page_is_a_403_and_stores_nothing(
    client: TestClient, path: str, body: Any, foreign: dict[str, str]
) -> None:
    before = stored(client)
    headers = {"content-type": "text/plain", **foreign}
    response = client.post(path, content=json.dumps(body).encode(), headers=headers)
    assert response.status_code == 403, response.text
    assert "another site's page" in response.json()["error"]
    assert stored(client) == before


@pytest.mark.parametrize("own", OWN, ids=range(len(OWN)))
def test_writes_from_clients_and_the_own_page_are_as_before(
    client: TestClient, own: dict[str, str]
) -> None:
    for path, body in WRITES:
        response = client.post(path, json=body, headers=own)
        assert response.status_code in (200, 201), (path, response.text)
    response = client.post("/graphql", json={"query": "{ version }"}, headers=own)
    assert response.status_code == 200, response.text


def reference(method: str, headers: dict[str, str]) -> bool:
    """Is it a write from another site's page: spelled out."""
    if method in ("GET", "HEAD", "OPTIONS"):
        return False
    if "sec-fetch-site" in headers:
        return headers["sec-fetch-site"].strip().lower() not in ("same-origin", "none")
    if "origin" not in headers:
        return False
    origin = headers["origin"].strip().lower()
    if origin == "null":
        return True
    netloc = origin.split("://", 1)[1].split("/", 1)[0] if "://" in origin else ""
    return netloc != headers.get("host", "").strip().lower()


@settings(max_examples=60, derandomize=True, deadline=None)
@given(
    st.sampled_from(["GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE", "PATCH"]),
    st.fixed_dictionaries(
        {},
        optional={
            "sec-fetch-site": st.sampled_from(
                ["cross-site", "same-site", "same-origin", "none", "NONE", " Same-Origin", "x"]
            ),
            "origin": st.sampled_from(
                [
                    "null",
                    "http://testserver",
                    "http://TestServer",
                    "https://evil.example",
                    "http://testserver:3000",
                    "http://127.0.0.1:8000",
                    "https://evil.example/a",
                ]
            ),
            "host": st.sampled_from(["testserver", "127.0.0.1:8000", "TESTSERVER", ""]),
        },
    ),
)
def test_the_verdict_is_the_reference(method: str, headers: dict[str, str]) -> None:
    assert (foreign_origin(method, Headers(headers)) is not None) == reference(method, headers)
