"""`lkg serve` with a Neo4j that does not answer (issue 18 §5): the process answers /healthz at
once, /readyz 503 with the reason, intake goes on into the log; once Neo4j answers, the
projector catches up and the graph holds what was sent meanwhile. Neo4j "comes back" through a
small TCP relay on the port the service was given, where nothing listened before.

And the CLI's inputs: `lkg ingest` says what it skipped in a folder and refuses a missing path
(exit 2); `lkg stats` on the embedded store counts what the log holds."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from lineage_kg.runtime import Runtime
from lineage_kg.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "tests" / "fixtures" / "dbt_shop_events.ndjson"
LKG = Path(sys.executable).with_name("lkg")
PATIENCE = 240.0  # a bound on waiting for a condition on a loaded machine, not a measurement


def _closed_port() -> int:
    with socket.socket() as s:  # bound, then closed: nothing listens there
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _oracle_counts() -> dict[str, int]:
    """Runs and jobs the events name (their parents included), read from the file directly."""
    runs, jobs = set(), set()
    for line in EVENTS.read_text().splitlines():
        event = json.loads(line)
        runs.add(event["run"]["runId"])
        jobs.add((event["job"]["namespace"], event["job"]["name"]))
        parent = event["run"].get("facets", {}).get("parent")
        if parent:
            runs.add(parent["run"]["runId"])
            jobs.add((parent["job"]["namespace"], parent["job"]["name"]))
    return {"Run": len(runs), "Job": len(jobs)}


class Relay:
    """Bytes both ways between 127.0.0.1:`port` and `target`, from `open()` on."""

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.port, self.target = port, target
        self.server: socket.socket | None = None
        self.sockets: list[socket.socket] = []

    def open(self) -> None:
        self.server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        assert self.server is not None
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return  # closed
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for s in self.sockets:
            s.close()


class Serving:
    """`lkg serve` in a subprocess, waited for on /healthz (it must not wait for the store)."""

    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.port = _closed_port()
        self.url = f"http://127.0.0.1:{self.port}"
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("LKG_", "NEO4J_"))}
        self.env = {**clean, "LKG_DATA_DIR": str(data_dir), **env}
        self.output: list[str] = []
        self.proc = subprocess.Popen(
            [str(LKG), "serve", "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)

    def until(self, what: str, check: Callable[[], bool]) -> None:
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"lkg serve exited before {what}:\n" + "".join(self.output))
            try:
                if check():
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        pytest.fail(f"not {what} within {PATIENCE}s:\n" + "".join(self.output[-50:]))

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, timeout=30)

    def graphql(self, query: str) -> dict[str, Any]:
        return httpx.post(self.url + "/graphql", json={"query": query}, timeout=60).json()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[list[Serving]]:
    started: list[Serving] = []
    yield started
    for service in started:
        service.stop()


def _send_events(service: Serving) -> int:
    sent = httpx.post(
        service.url + "/api/v1/lineage/bulk",
        content=EVENTS.read_bytes(),
        headers={"content-type": "application/x-ndjson"},
        timeout=60,
    )
    assert sent.status_code == 200, sent.text
    return int(sent.json()["accepted"])


def test_serve_answers_without_neo4j_and_keeps_the_events(
    tmp_path: Path, serving: list[Serving]
) -> None:
    uri = f"bolt://127.0.0.1:{_closed_port()}"
    service = Serving(tmp_path / "data", {"NEO4J_URI": uri})
    serving.append(service)
    service.until("answering /healthz", lambda: service.get("/healthz").status_code == 200)
    ready = service.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable" and uri in ready.json()["error"]
    assert _send_events(service) == len(EVENTS.read_text().splitlines())
    service.stop()
    with Runtime.open(Settings(data_dir=tmp_path / "data")) as runtime:
        assert runtime.log.last_seq() == len(EVENTS.read_text().splitlines())


@pytest.mark.neo4j
def test_the_graph_catches_up_once_neo4j_answers(
    tmp_path: Path, serving: list[Serving], neo4j_server, neo4j_store
) -> None:
    port = _closed_port()
    target = urlsplit(neo4j_server.uri)
    relay = Relay(port, (target.hostname or "127.0.0.1", target.port or 7687))
    service = Serving(
        tmp_path / "data",
        {
            "NEO4J_URI": f"bolt://127.0.0.1:{port}",
            "NEO4J_USER": neo4j_server.user,
            "NEO4J_PASSWORD": neo4j_server.password,
        },
    )
    serving.append(service)
    try:
        service.until("answering /healthz", lambda: service.get("/healthz").status_code == 200)
        assert service.get("/readyz").status_code == 503
        sent = _send_events(service)
        relay.open()  # Neo4j answers from now on
        service.until("ready", lambda: service.get("/readyz").status_code == 200)

        def caught_up() -> bool:
            status = service.graphql("{ ingestStatus { logSeq projectedSeq lag } }")
            return "errors" not in status and status["data"]["ingestStatus"]["lag"] == 0

        service.until("caught up", caught_up)
        answer = service.graphql("{ stats { nodes { kind count } } ingestStatus { logSeq } }")
        assert answer["data"]["ingestStatus"]["logSeq"] == sent
        counts = {n["kind"]: n["count"] for n in answer["data"]["stats"]["nodes"]}
        oracle = _oracle_counts()
        assert {kind: counts.get(kind) for kind in oracle} == oracle
    finally:
        service.stop()
        relay.close()


# ---- the CLI's inputs ------------------------------------------------------------------------
def _lkg(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LKG_", "NEO4J_"))}
    return subprocess.run(
        [str(LKG), *args],
        env={**clean, "LKG_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        check=False,
        timeout=PATIENCE,
    )


def test_ingest_names_what_it_skipped_and_refuses_a_missing_path(tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "events.ndjson").write_bytes(EVENTS.read_bytes())
    (folder / "LOUD.JSON").write_bytes(EVENTS.read_bytes())
    (folder / "notes.txt").write_text("not events")

    missing = _lkg(tmp_path, "ingest", str(folder), str(tmp_path / "nowhere.ndjson"))
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [f"not found: {tmp_path / 'nowhere.ndjson'}"]
    assert not (tmp_path / "data").exists()  # nothing opened, nothing taken

    done = _lkg(tmp_path, "ingest", str(folder))
    assert done.returncode == 0, done.stderr
    skipped = " ".join(done.stderr.split())
    assert "skipped 2 file(s)" in skipped
    assert str(folder / "LOUD.JSON") in skipped and str(folder / "notes.txt") in skipped
    assert "events.ndjson" not in skipped

    stats = _lkg(tmp_path, "stats", "--json")  # the embedded store, rebuilt from the log
    assert stats.returncode == 0, stats.stderr
    nodes = json.loads(stats.stdout)["nodes"]
    oracle = _oracle_counts()
    assert {kind: nodes.get(kind) for kind in oracle} == oracle
