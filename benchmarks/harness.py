"""What every benchmark shares: a Neo4j sized for the graph, `lkg serve` as a real subprocess,
percentiles, peak memory, and one JSON file of results per run (docs/benchmarks.md is written
from those files by `benchmarks.report`)."""

from __future__ import annotations

import atexit
import json
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import httpx

from lineage_kg.runtime import Runtime, log_path
from lineage_kg.settings import Settings
from tools.neo4j_server import LocalNeo4j

RESULTS = Path(__file__).parent / "results"
LKG = Path(sys.executable).with_name("lkg")


def _sized_neo4j(nodes: int) -> LocalNeo4j:
    """A Neo4j with heap and page cache to match the graph: the tests' 512 MiB heap and 128 MiB
    page cache hold a 10k-node graph, not a million (~1 KiB of store files per node with its
    edges, measured)."""
    heap_mb = 1024 if nodes <= 20_000 else 4096
    pagecache_mb = max(256, min(8192, nodes // 1000 * 4))
    return LocalNeo4j(
        jvm_options=(f"-Xms{heap_mb}m", f"-Xmx{heap_mb}m", "-XX:+ExitOnOutOfMemoryError"),
        pagecache_mb=pagecache_mb,
    )


def settings_for(data_dir: Path, server: LocalNeo4j | None = None, **changes: Any) -> Settings:
    """What a benchmark's `Runtime` opens the service's parts from (the composition root, as the
    service does): its data dir, the server's store (the embedded one without a server), and no
    start-up snapshot, so that a rebuild measured is the whole log replayed."""
    store: dict[str, Any] = {"neo4j_uri": None}
    if server is not None:
        store = {
            "neo4j_uri": server.uri,
            "neo4j_user": server.user,
            "neo4j_password": server.password,
        }
    return Settings(data_dir=data_dir, snapshot=False, **store, **changes)


def copy_log(source: Settings, target: Settings) -> None:
    """The event log of `source` into `target`'s data dir (SQLite's online backup: a proper copy
    even of a log still open), for two runtimes that project one log each into their store."""
    target.data_dir.mkdir(parents=True, exist_ok=True)
    with (
        closing(sqlite3.connect(log_path(source))) as src,
        closing(sqlite3.connect(log_path(target))) as dst,
    ):
        src.backup(dst)


def make_schema(server: LocalNeo4j) -> None:
    """The store's constraints and indexes on a server, made as the service makes them (the
    Runtime opening its store), for the baselines that then write with a driver of their own."""
    with scratch_dir("schema") as data, Runtime.open(settings_for(data, server)) as runtime:
        assert runtime.store.name == "neo4j"  # opening it made the schema


class _Sharing:
    """Whether phases share a server, and the servers shared (one per graph size)."""

    enabled = False
    servers: dict[int, LocalNeo4j] = {}  # noqa: RUF012 - one process-wide registry

    @classmethod
    def stop_all(cls) -> None:
        for server in cls.servers.values():
            server.stop()


def share_neo4j_between_phases() -> None:
    """Let every phase of this process use one server, emptied between phases. For the CI smoke
    runs, where a server start (8 to 25 s) costs more than the phase it serves; a measured run
    keeps a fresh server per phase, so no contender inherits another's warm JVM and page cache."""
    _Sharing.enabled = True
    atexit.register(_Sharing.stop_all)


@contextmanager
def neo4j_for(nodes: int) -> Iterator[LocalNeo4j]:
    """A server for one phase: a fresh one, or the shared one emptied (data and schema)."""
    if not _Sharing.enabled:
        with _sized_neo4j(nodes) as server:
            yield server
        return
    server = _Sharing.servers.get(nodes)
    if server is None:
        server = _Sharing.servers[nodes] = _sized_neo4j(nodes)
        server.start()
    else:
        _empty(server)
    yield server


def _empty(server: LocalNeo4j) -> None:
    with server.driver() as driver, driver.session() as session:
        session.run("MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS")
        # schema names come from the server itself; DROP takes no parameter for a name
        for kind in ("CONSTRAINT", "INDEX"):
            rows = session.run(f"SHOW {kind}ES" if kind == "INDEX" else "SHOW CONSTRAINTS")
            names = [r["name"] for r in rows if r.get("type") != "LOOKUP"]
            for name in names:
                quoted = "`" + name.replace("`", "``") + "`"
                session.run(f"DROP {kind} {quoted} IF EXISTS")  # type: ignore[arg-type]


class Service:
    """`lkg serve` on a free port with its own data dir; the benchmark talks HTTP to it."""

    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.data_dir, self.env = data_dir, env
        self.port = _free_port()
        self.proc: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        env = {
            **os.environ,
            "LKG_DATA_DIR": str(self.data_dir),
            "LKG_AUTH": "off",
            "LKG_RATE_LIMIT": "off",
            "LKG_LOG_LEVEL": "warning",
            **self.env,
        }
        self.proc = subprocess.Popen(
            [str(LKG), "serve", "--port", str(self.port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._drain, daemon=True).start()
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("lkg serve exited:\n" + "".join(self.output[-50:]))
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError("lkg serve not ready in 300 s:\n" + "".join(self.output[-50:]))

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)

    def rss_mb(self) -> float:
        """Resident memory of the service process now."""
        assert self.proc is not None
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        line = next(x for x in status.splitlines() if x.startswith("VmRSS:"))
        return int(line.split()[1]) / 1024

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"lkg-bench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def percentiles(seconds: list[float]) -> dict[str, float]:
    """p50/p95/p99/max in milliseconds (nearest rank)."""
    ordered = sorted(seconds)

    def rank(q: float) -> float:
        return 1000 * ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]

    return {
        "n": len(ordered),
        "p50_ms": rank(0.50),
        "p95_ms": rank(0.95),
        "p99_ms": rank(0.99),
        "max_ms": 1000 * ordered[-1],
        "mean_ms": 1000 * statistics.fmean(ordered),
    }


def peak_rss_mb() -> float:
    """This process's peak resident memory (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": os.getloadavg(),
    }


def save(name: str, result: dict[str, Any], tag: str = "", out: Path = RESULTS) -> Path:
    """Write one run's results, with the machine, the date and the command that produced them."""
    out.mkdir(parents=True, exist_ok=True)
    result = {
        "benchmark": name,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python", "-m", f"benchmarks.{name}", *sys.argv[1:]]),
        "machine": machine(),
        **result,
    }
    path = out / (f"{name}_{tag}.json" if tag else f"{name}.json")
    path.write_text(json.dumps(result, indent=2, sort_keys=False) + "\n")
    return path
