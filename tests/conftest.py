"""Fixtures shared by every test: the stores, and a real Neo4j server to put one of them on.

Where the Neo4j comes from, in order: `NEO4J_URI` (+ `NEO4J_USER`/`NEO4J_PASSWORD`) if set; else
the project's own launcher (Neo4j Community from Maven Central, see `neo4j-launcher/`); else a
testcontainers Neo4j if a Docker engine answers. With `LKG_REQUIRE_NEO4J=1` (as in CI) not
getting one is a test failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import neo4j
import pytest
from hypothesis import settings

from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.graph.store import GraphStore

# Property tests: no per-example deadline (a wall-clock limit fails on a loaded machine, not on a
# bug) and, by default, the same examples on every run, so a verdict never depends on the draw.
# HYPOTHESIS_PROFILE=explore draws new examples each run, for hunting bugs locally.
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.register_profile("explore", deadline=None, max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# The CLI tests read `lkg`'s human output. A pytest-xdist worker has no terminal, so Rich would
# wrap it at 80 columns and split the long node keys the tests look for; a wide fixed width makes
# the output the same in every worker (read when the CLI's consoles are created, after this).
os.environ.setdefault("COLUMNS", "200")

# The in-process test client sends `Host: testserver`; with auth off the service answers only
# the Host names it is told are its own (api/host_check.py, a guard against DNS rebinding).
os.environ.setdefault("LKG_ALLOWED_HOSTS", "testserver")


@dataclass
class Neo4jInfo:
    uri: str
    user: str
    password: str
    version: str
    origin: str
    startup_seconds: float | None = None


_STARTED: list[Neo4jInfo] = []


def _required() -> bool:
    return os.environ.get("LKG_REQUIRE_NEO4J", "") == "1"


def _server_version(uri: str, user: str, password: str) -> str:
    store = Neo4jStore(uri, user=user, password=password)
    try:
        return store.server_version()
    finally:
        store.close()


def _launcher_usable() -> bool:
    return not os.environ.get("NEO4J_URI") and bool(shutil.which("java") and shutil.which("mvn"))


class _EarlyNeo4j:
    """The session's Neo4j, started on a thread as soon as collection shows a test will need it,
    so the JVM boots while the tests before the first Neo4j one run. On a saturated two-core
    machine a start took minutes; inside the first Neo4j test it ate that test's time limit and
    every Neo4j test of the worker then failed on the cached fixture error."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._server: Any = None
        self._error: BaseException | None = None

    def begin(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._start, name="early-neo4j", daemon=True)
            self._thread.start()

    def _start(self) -> None:
        from tools.neo4j_server import LocalNeo4j

        server = LocalNeo4j(settings=SHARED_NEO4J_SETTINGS)
        try:
            server.start()  # bounded by LKG_NEO4J_START_TIMEOUT
        except BaseException as exc:
            self._error = exc
        else:
            self._server = server

    def wait(self) -> Any:
        assert self._thread is not None
        self._thread.join()  # the start ends by itself: it has its own deadline
        if self._error is not None:
            raise self._error
        return self._server

    def stop(self) -> None:
        if self._thread is not None and not self._thread.is_alive() and self._server is not None:
            self._server.stop()


# The session's server is shared by tests that replace its whole graph, often many times a test
# (property tests). Two of Neo4j's plan-cache rules then make it plan the same statements again
# and again, and the chunked walk costs 1-2.5 s to plan on this machine: a cached plan is dropped
# as stale once the statistics moved past the divergence threshold (10 s after it was made), and
# each size bucket of a list parameter (the walk's frontier and marks) gets a plan of its own.
# Measured on the accountability property test: 10 slow walk reads of 40 examples with Neo4j's
# defaults, 2 with these (the first plans), 64 s -> 49 s for the test. Plans are still made per
# statement on first use, and the plan tests (tests/integration/test_neo4j_plans.py) empty the
# cache first. Benchmarks start their own servers with the defaults.
SHARED_NEO4J_SETTINGS = {
    "dbms.cypher.min_replan_interval": "1h",
    "internal.cypher.use_parameter_size": "false",
}

_EARLY = _EarlyNeo4j()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Begin the Neo4j start when a collected test needs the session's server (an xdist
    controller collects nothing, so only the workers that run tests start one)."""
    if _launcher_usable() and any(
        "neo4j_server" in getattr(item, "fixturenames", ()) or item.get_closest_marker("neo4j")
        for item in session.items
    ):
        _EARLY.begin()


def pytest_sessionfinish(session: pytest.Session) -> None:
    _EARLY.stop()  # started for tests that were then deselected or never reached


@pytest.fixture(scope="session")
def neo4j_server() -> Iterator[Neo4jInfo]:
    if uri := os.environ.get("NEO4J_URI"):
        user, password = os.environ.get("NEO4J_USER", "neo4j"), os.environ.get("NEO4J_PASSWORD", "")
        info = Neo4jInfo(uri, user, password, _server_version(uri, user, password), "NEO4J_URI")
        _STARTED.append(info)
        yield info
        return

    problems: list[str] = []
    if _launcher_usable():
        _EARLY.begin()  # a no-op when collection already began it
        try:
            server = _EARLY.wait()
        except Exception as exc:  # report why, then try the next way
            problems.append(f"local launcher: {exc}")
        else:
            info = Neo4jInfo(
                server.uri,
                server.user,
                server.password,
                server.version,
                "local launcher (Maven Central artifacts)",
                server.startup_seconds,
            )
            _STARTED.append(info)
            try:
                yield info
            finally:
                server.stop()
            return
    else:
        problems.append("local launcher: java or mvn not on PATH")

    try:
        from testcontainers.neo4j import Neo4jContainer

        with Neo4jContainer("neo4j:5.26") as container:
            uri, password = container.get_connection_url(), container.password
            version = _server_version(uri, "neo4j", password)
            info = Neo4jInfo(uri, "neo4j", password, version, "testcontainers")
            _STARTED.append(info)
            yield info
            return
    except Exception as exc:
        problems.append(f"testcontainers: {exc}")

    message = "no Neo4j available: " + "; ".join(problems)
    if _required():
        pytest.fail(message + " (LKG_REQUIRE_NEO4J=1)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def neo4j_store_session(neo4j_server: Neo4jInfo) -> Iterator[Neo4jStore]:
    store = Neo4jStore(neo4j_server.uri, user=neo4j_server.user, password=neo4j_server.password)
    yield store
    store.close()


@pytest.fixture
def neo4j_driver(neo4j_server: Neo4jInfo) -> Iterator[neo4j.Driver]:
    """A plain driver on the session's server, for tests that read or write it with Cypher of
    their own (the stores' statements held to an oracle written beside them)."""
    with neo4j.GraphDatabase.driver(
        neo4j_server.uri, auth=(neo4j_server.user, neo4j_server.password)
    ) as driver:
        yield driver


@pytest.fixture
def neo4j_store(neo4j_store_session: Neo4jStore) -> Neo4jStore:
    neo4j_store_session.record_cache = None  # a projector of an earlier test attached one
    neo4j_store_session.clear()
    return neo4j_store_session


@pytest.fixture(params=["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def store(request: pytest.FixtureRequest) -> GraphStore:
    """Each test that takes `store` runs once per store."""
    if request.param == "embedded":
        return EmbeddedStore()
    return request.getfixturevalue("neo4j_store")


@pytest.fixture
def both_stores(neo4j_store: Neo4jStore) -> tuple[GraphStore, GraphStore]:
    """The two stores side by side, for tests that compare their answers directly."""
    return EmbeddedStore(), neo4j_store


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """In CI (`LKG_REQUIRE_NEO4J=1`) no test skips: one that would (the shared corpus or a real
    source missing, a test left to be asked for) fails, saying why, so nothing CI should run is
    left out unseen. Expected failures (`xfail`) stay what they are."""
    report = yield
    if _required() and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where every test runs (LKG_REQUIRE_NEO4J=1): {reason}"
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for info in _STARTED:
        started = f", started in {info.startup_seconds:.1f}s" if info.startup_seconds else ""
        terminalreporter.write_line(
            f"Neo4j used by the tests: {info.version} from {info.origin} at {info.uri}{started}"
        )


# ---- the service as a real process ------------------------------------------------------------
LKG = Path(sys.executable).with_name("lkg")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServiceProcess:
    """`lkg serve` in a subprocess, on a fixed port and data dir, that a test can kill -9."""

    data_dir: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[str] | None = None
    output: list[str] = field(default_factory=list)
    _reader: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 180) -> ServiceProcess:
        env = {**os.environ, "LKG_DATA_DIR": str(self.data_dir), **self.env}
        self.proc = subprocess.Popen(
            [str(LKG), "serve", "--port", str(self.port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        # drain the output as it comes: a full pipe (64 KiB of log lines) would block the service
        self._reader = threading.Thread(target=self._drain, args=(self.proc,), daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._collect()
                pytest.fail("lkg serve exited early:\n" + "".join(self.output))
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"lkg serve not ready within {timeout}s:\n" + "".join(self.output))

    def _drain(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.output.append(line)

    def _collect(self) -> None:
        if self._reader is not None:
            self._reader.join(10)

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing — a crash."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self._collect()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            self._collect()

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables}, timeout=30
        )
        body = response.json()
        assert "errors" not in body, body
        return body["data"]

    def wait_projected(self, timeout: float = 120) -> dict[str, int]:
        """Until the graph reflects everything in the log; returns the ingest status (as it is
        at the deadline if never: the caller's assert says what lagged). The deadline only
        bounds a hang: a fresh Neo4j's first writes on a loaded machine take long."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.graphql("{ ingestStatus { logSeq projectedSeq lag parked } }")
            if status["ingestStatus"]["lag"] == 0 or time.monotonic() > deadline:
                return status["ingestStatus"]
            time.sleep(0.1)


@pytest.fixture
def service_factory(tmp_path: Path) -> Iterator[Callable[..., ServiceProcess]]:
    started: list[ServiceProcess] = []

    def make(**env: str) -> ServiceProcess:
        service = ServiceProcess(tmp_path / "data", {"NEO4J_URI": "", **env})
        started.append(service)
        return service

    yield make
    for service in started:
        service.stop()
