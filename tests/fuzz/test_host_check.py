"""DNS rebinding with auth off: a Host that does not name the service is refused (421).

A page on a name re-pointed at 127.0.0.1 is same-origin to the service; its requests carry
that name in Host. With auth off only loopback names/addresses, LKG_HOST and LKG_ALLOWED_HOSTS
are answered; the test client's `testserver` is allowed by tests/conftest.py (LKG_ALLOWED_HOSTS),
not by the rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from lineage_kg.api.host_check import HostCheck, host_name
from lineage_kg.settings import Settings
from tests.fuzz.conftest import app_client

EVENT = {
    "eventType": "COMPLETE",
    "eventTime": "2024-01-01T00:00:00Z",
    "run": {"runId": "0190d5a3-4c5e-7d6f-8a9b-0c1d2e3f4a5b"},
    "job": {"namespace": "ns", "name": "j"},
    "inputs": [],
    "outputs": [{"namespace": "ns", "name": "out"}],
    "producer": "https://example.com/p",
    "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json",
}


@pytest.fixture(scope="module")
def off(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    hosts = ["lkg.internal", "testserver"]  # the fixture's own list: testserver named again
    with app_client(tmp_path_factory.mktemp("hosts"), allowed_hosts=hosts) as client:
        yield client


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "10.0.0.5", "[fe80::1]"])
def test_a_foreign_host_is_refused_with_auth_off(off: TestClient, host: str) -> None:
    for method, path, body in [
        ("GET", "/healthz", None),
        ("POST", "/graphql", {"query": "{ version }"}),
        ("POST", "/api/v1/lineage", EVENT),
    ]:
        response = off.request(method, path, json=body, headers={"host": host})
        assert response.status_code == 421, (path, response.text)
        assert "LKG_ALLOWED_HOSTS" in response.json()["detail"]
    status = off.post("/graphql", json={"query": "{ ingestStatus { logSeq } }"}).json()
    assert status["data"]["ingestStatus"]["logSeq"] == 0  # nothing was written


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1:8000", "localhost", "LOCALHOST:1", "[::1]:8000", "127.0.0.2", "lkg.internal:80"],
)
def test_own_names_are_answered(off: TestClient, host: str) -> None:
    assert off.get("/healthz", headers={"host": host}).status_code == 200
    assert off.get("/healthz").status_code == 200  # testserver, from tests/conftest.py


def test_allowed_hosts_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LKG_ALLOWED_HOSTS", " a.example, b.example:9 ")
    assert Settings().allowed_hosts == ["a.example", "b.example:9"]


def test_with_auth_required_the_key_guards(tmp_path: Path) -> None:
    with app_client(tmp_path, auth="required") as client:
        assert client.get("/healthz", headers={"host": "evil.example"}).status_code == 200
        graphql = client.post("/graphql", json={"query": "{ version }"}, headers={"host": "e.x"})
        assert graphql.status_code == 401


def test_breakage_without_the_check_a_foreign_host_reads(
    off: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(HostCheck, "allows", lambda self, header: True)
    assert off.get("/healthz", headers={"host": "evil.example"}).status_code == 200


names = st.from_regex(r"[a-z0-9]([a-z0-9.-]{0,20}[a-z0-9])?", fullmatch=True)


@given(
    st.one_of(names, st.ip_addresses(v=4).map(str), st.ip_addresses(v=6).map(lambda a: f"[{a}]")),
    st.one_of(st.none(), st.integers(1, 65535)),
)
def test_host_name_as_urlsplit_reads_it(name: str, port: int | None) -> None:
    header = name if port is None else f"{name}:{port}"
    assert host_name(header) == urlsplit(f"//{header}").hostname
