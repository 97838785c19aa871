"""`lkg serve` as a user runs it: a real process, real HTTP, on each store."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from api.cli import app

LKG = Path(sys.executable).with_name("lkg")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(env: dict[str, str], data_dir: Path) -> Iterator[str]:
    port = _free_port()
    env = {**env, "LKG_DATA_DIR": str(data_dir)}
    proc = subprocess.Popen(
        [str(LKG), "serve", "--demo", "--port", str(port)],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                time.sleep(0.2)
        else:
            pytest.fail("lkg serve did not answer /healthz within 30 s")
        yield base
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=15)
        print(out)


@pytest.fixture
def embedded_service(tmp_path: Path) -> Iterator[str]:
    env = {"NEO4J_URI": "", "LKG_NEO4J_URI": ""}
    yield from _serve(env, tmp_path)


@pytest.fixture
def neo4j_service(neo4j_server, neo4j_store, tmp_path: Path) -> Iterator[str]:
    env = {
        "NEO4J_URI": neo4j_server.uri,
        "NEO4J_USER": neo4j_server.user,
        "NEO4J_PASSWORD": neo4j_server.password,
    }
    yield from _serve(env, tmp_path)


def _check(base: str, store: str) -> None:
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{base}/readyz").json() == {"status": "ready", "store": store}
    body = httpx.post(f"{base}/graphql", json={"query": "{ store stats { nodeCount } }"}).json()
    assert body["data"]["store"].startswith(store)
    assert body["data"]["stats"]["nodeCount"] == 19


def test_serve_on_embedded_store(embedded_service: str) -> None:
    _check(embedded_service, "embedded")


@pytest.mark.neo4j
def test_serve_on_neo4j(neo4j_service: str) -> None:
    _check(neo4j_service, "neo4j")


def test_cli_version_and_help() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0 and result.stdout.strip() == "0.1.0"
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0 and "serve" in result.stdout
