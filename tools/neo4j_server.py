"""A real Neo4j 5 server for tests and local runs, with no Docker and no Neo4j package.

`neo4j-launcher/` holds a tiny Maven project whose jar runs Neo4j Community embedded and opens
Bolt on 127.0.0.1 with auth on. Maven fetches Neo4j from Maven Central once; after that a start
costs only the JVM and the database boot (a few seconds).

    with LocalNeo4j() as server:
        with server.driver() as driver:
            driver.execute_query("RETURN 1")
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import neo4j

from tools import jvm_launcher

NEO4J_DIR = Path(__file__).resolve().parent.parent / "neo4j-launcher"
LAUNCHER_JAR = NEO4J_DIR / "target" / "neo4j-launcher.jar"

# Heap for tests; the page cache (128 MiB, set in the launcher) lives outside it. The netty flag
# matches what Neo4j's own start script passes on Java 17; the module --add-opens are in the jar's
# manifest. Exiting on OOM beats a half-alive server that hangs a test run.
JVM_OPTIONS = (
    "-Xms256m",
    "-Xmx512m",
    "-XX:+ExitOnOutOfMemoryError",
    "-Dio.netty.tryReflectionSetAccessible=true",
)

_READY = "NEO4J_READY "
# the launcher jar's manifest Add-Opens (neo4j-launcher/pom.xml), for a start with `-cp`
ADD_OPENS = ("java.base/java.nio", "java.base/java.io", "java.base/sun.nio.ch")


def build_launcher(force: bool = False) -> Path:
    """Build the launcher jar and its runtime classpath (target/lib) unless they are up to date;
    returns the runnable jar."""
    return jvm_launcher.build_launcher(
        NEO4J_DIR, LAUNCHER_JAR, "neo4j-kernel-*.jar", "Neo4j", force
    )


APOC_POM = NEO4J_DIR / "apoc" / "pom.xml"
APOC_PLUGINS = NEO4J_DIR / "target" / "apoc-plugins"


def apoc_options() -> dict[str, Any]:
    """Opt-in APOC Core, as `LocalNeo4j(**apoc_options())`: its jars fetched once from Maven
    Central into target/apoc-plugins (neo4j-launcher/apoc/pom.xml; nothing else builds it, so the
    default launcher, its build and the tests are unchanged), put on the JVM's classpath (APOC's
    kernel extension, which makes its procedures' injected components, is found there only) and
    named as the plugins directory (where Neo4j looks for procedures)."""
    (NEO4J_DIR / "target").mkdir(exist_ok=True)
    with (NEO4J_DIR / "target" / ".apoc.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = APOC_PLUGINS / ".fetched"  # the jars keep the repository's dates
        if not stamp.is_file() or stamp.stat().st_mtime < APOC_POM.stat().st_mtime:
            shutil.rmtree(APOC_PLUGINS, ignore_errors=True)
            jvm_launcher.run_maven(APOC_POM, "APOC", "fetching APOC failed")
            stamp.touch()
    return {
        "settings": {
            "server.directories.plugins": str(APOC_PLUGINS),
            "dbms.security.procedures.unrestricted": "apoc.*",
        },
        "classpath": (APOC_PLUGINS / "*",),
    }


def start_timeout() -> float:
    """How long a start may take before it is given up (`LKG_NEO4J_START_TIMEOUT`, seconds)."""
    return float(os.environ.get("LKG_NEO4J_START_TIMEOUT", "600"))


class LocalNeo4j(jvm_launcher.LaunchedServer):
    """One Neo4j server process on 127.0.0.1, user `neo4j`, the given password.

    Without `data_dir` it uses a temporary directory, removed by `stop()`; without `port` it picks
    a free one. Both are kept across `restart()`, so data written before a restart is still there.
    """

    user = "neo4j"
    name = "neo4j"

    def __init__(
        self,
        data_dir: Path | None = None,
        port: int | None = None,
        password: str = "lineage-kg-test",
        jvm_options: Sequence[str] = JVM_OPTIONS,
        pagecache_mb: int = 128,
        *,
        settings: Mapping[str, str] | None = None,
        classpath: Sequence[Path] = (),
    ) -> None:
        if len(password) < 8:  # Neo4j's dbms.security.auth_minimum_password_length
            raise ValueError("Neo4j requires a password of at least 8 characters")
        super().__init__(data_dir)
        self.port = port
        self.password = password
        self.jvm_options = tuple(jvm_options)
        self.pagecache_mb = pagecache_mb
        # Neo4j's own settings (`dbms.…`), as neo4j.conf would have them
        self.settings = dict(settings or {})
        # more of the JVM's classpath (`apoc_options`); empty: `java -jar`, as always
        self.classpath = tuple(classpath)
        self.version = ""
        self.ready_seconds = 0.0  # process start -> launcher printed READY
        self.startup_seconds = 0.0  # process start -> the Python driver verified connectivity
        self._ready = threading.Event()

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.port}"

    @property
    def auth(self) -> tuple[str, str]:
        return (self.user, self.password)

    def driver(self, **config: Any) -> neo4j.Driver:
        """A new driver for this server; the caller closes it."""
        return neo4j.GraphDatabase.driver(self.uri, auth=self.auth, **config)

    def start(self, timeout: float | None = None) -> None:
        """Start the server and wait until Bolt accepts the password, at most `timeout` seconds
        (default `LKG_NEO4J_START_TIMEOUT`, 600: a JVM on a saturated 2-core machine has been
        seen to need over 120 s; the bound is there so a start that cannot succeed still ends)."""
        if timeout is None:
            timeout = start_timeout()
        if self.running:
            raise RuntimeError(f"Neo4j is already running at {self.uri}")
        jar = build_launcher()
        if self.data_dir is None:
            self.data_dir = Path(tempfile.mkdtemp(prefix="lineage-kg-neo4j-"))
            self._owns_dir = True
        if self.port is None:
            self.port = jvm_launcher.free_port()
        java = shutil.which("java", path=jvm_launcher.java_path())
        if java is None:
            raise RuntimeError("java (17+) is not on PATH or in JAVA_HOME")

        self._ready.clear()
        started = time.monotonic()
        deadline = started + timeout
        self._launch(
            [
                java,
                *self.jvm_options,
                *self._main(jar),
                *("--home", str(self.data_dir), "--port", str(self.port)),
                *("--stop-on-stdin-eof", "true"),
                *("--pagecache-mb", str(self.pagecache_mb)),
                *(arg for name, value in self.settings.items() for arg in (f"--{name}", value)),
            ],
            # The password goes by environment, not argv, so `ps` does not show it.
            env={**os.environ, "NEO4J_LAUNCHER_PASSWORD": self.password},
        )
        try:
            self._wait_ready(deadline)
            self.ready_seconds = time.monotonic() - started
            self._wait_bolt(deadline)
            self.startup_seconds = time.monotonic() - started
        except Exception as exc:
            self._terminate(timeout=10)
            raise RuntimeError(f"Neo4j did not start: {exc}\n{self._diagnostics()}") from exc

    def _main(self, jar: Path) -> list[str]:
        """`-jar` the launcher; with more classpath, `-cp` with its Class-Path and Add-Opens
        (which only an executable jar's manifest gives) spelled out."""
        if not self.classpath:
            return ["-jar", str(jar)]
        opens = [f"--add-opens={m}=ALL-UNNAMED" for m in ADD_OPENS]
        path = os.pathsep.join([str(jar), str(jar.parent / "lib" / "*"), *map(str, self.classpath)])
        return [*opens, "-cp", path, "org.lineagekg.Neo4jLauncher"]

    def _on_line(self, line: str) -> None:
        if line.startswith(_READY):
            self.version = line.strip().rpartition("version=")[2]
            self._ready.set()

    def _wait_ready(self, deadline: float) -> None:
        assert self._proc is not None
        while not self._ready.wait(0.05):
            self._check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError("no NEO4J_READY line before the timeout")

    def _wait_bolt(self, deadline: float) -> None:
        # READY is printed after Bolt is bound and the password set, so this normally passes at
        # once; it proves the server is reachable with these credentials from the Python driver.
        while True:
            try:
                with self.driver() as driver:
                    driver.verify_connectivity()
            except neo4j.exceptions.AuthError:
                raise
            except (neo4j.exceptions.DriverError, neo4j.exceptions.Neo4jError, OSError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
            else:
                return

    def _diagnostics(self) -> str:
        parts = ["--- launcher output (tail) ---", *list(self._output)[-60:]]
        debug_log = self.data_dir / "logs" / "debug.log" if self.data_dir else None
        if debug_log is not None and debug_log.is_file():
            lines = debug_log.read_text(errors="replace").splitlines()
            parts += [f"--- {debug_log} (tail) ---", *lines[-30:]]
        return "\n".join(parts)


if __name__ == "__main__":
    # `python -m tools.neo4j_server build`: fetch and build once, visibly, before the tests use it
    # (`lkg neo4j` runs a server by hand)
    began = time.monotonic()
    jar = build_launcher()
    print(f"Neo4j launcher ready: {jar} ({time.monotonic() - began:.1f}s)")
