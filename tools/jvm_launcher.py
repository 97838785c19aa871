"""What the project's JVM launchers (`neo4j-launcher/`, `kafka-launcher/`) share: the Maven build,
cached and locked, a free loopback port, where `java` is, and the launched process's life
(`LaunchedServer`: start it with its stdin as a lifeline, read its output, stop, kill, restart).
"""

from __future__ import annotations

import atexit
import collections
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import threading
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self


def build_launcher(project: Path, jar: Path, marker: str, what: str, force: bool = False) -> Path:
    """Build `project`'s launcher `jar` and its runtime classpath (target/lib) unless they are up
    to date; returns the jar. Up to date means: the jar is newer than pom.xml and every source,
    and the classpath holds a jar named like `marker` (a glob); then no Maven runs at all
    (offline, instant). `what` names the artifacts Maven fetches, for the errors."""
    sources = [project / "pom.xml", *(project / "src").rglob("*")]
    newest_source = max(p.stat().st_mtime for p in sources if p.is_file())
    jar.parent.mkdir(parents=True, exist_ok=True)
    # A lock so parallel test workers don't run Maven on the same target/ at once.
    with (jar.parent / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        fresh = (
            jar.is_file()
            and jar.stat().st_mtime >= newest_source
            and any((jar.parent / "lib").glob(marker))
        )
        if fresh and not force:
            return jar
        run_maven(project / "pom.xml", what, f"building the {what} launcher failed")
        # Maven leaves an unchanged jar untouched; stamp it so the freshness check holds.
        jar.touch()
        return jar


def run_maven(pom: Path, what: str, failed: str) -> None:
    """`mvn package` on `pom`, quietly; a failure raises `failed` with Maven's last 40 lines."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise RuntimeError(f"Maven (mvn) is not on PATH; it is needed once to fetch {what}")
    result = subprocess.run(
        [mvn, "-B", "-q", "-f", str(pom), "package"], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
        raise RuntimeError(f"{failed}:\n{tail}")


def free_port() -> int:
    # The OS picks a free port; another process could take it before the server binds, which a
    # start then reports as a failed start rather than hanging.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def java_path() -> str:
    """PATH with `$JAVA_HOME/bin` first, when JAVA_HOME is set: where to look for `java`."""
    java_home = os.environ.get("JAVA_HOME")
    path = os.environ.get("PATH", os.defpath)
    return f"{java_home}/bin{os.pathsep}{path}" if java_home else path


def terminate(
    proc: subprocess.Popen[str], reader: threading.Thread | None, timeout: float
) -> int | None:
    """SIGTERM (the launcher's shutdown hook stops the server cleanly), SIGKILL after `timeout`;
    then close its stdin lifeline and let the output reader finish. Returns the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdin is not None:
        proc.stdin.close()
    if reader is not None:
        reader.join(timeout=5)
    return proc.returncode


class LaunchedServer:
    """One launched JVM server process and its life: `stop` (SIGTERM, then SIGKILL), `kill`,
    `restart` on the same ports and directory, a context manager, the output's tail kept for
    diagnostics, and a stop at interpreter exit for any a caller left running. Subclasses give
    `start` (which calls `_launch`) and may read their launcher's lines in `_on_line`."""

    name = "server"  # for the reader thread's name and messages
    output_lines = 200  # how much of the output's tail is kept

    def __init__(self, data_dir: Path | None) -> None:
        self.data_dir = data_dir
        self.exit_code: int | None = None  # of the last stopped process
        self._owns_dir = False  # a temp directory made by `start`: `stop` removes it
        self._proc: subprocess.Popen[str] | None = None
        self._output: collections.deque[str] = collections.deque(maxlen=self.output_lines)
        self._reader: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float | None = None) -> None:
        raise NotImplementedError

    def stop(self, timeout: float = 30) -> None:
        """Stop the server (SIGTERM, then SIGKILL after `timeout`); drop a temp data dir."""
        self._terminate(timeout)
        if self._owns_dir and self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None
            self._owns_dir = False

    def restart(self, timeout: float | None = None) -> None:
        """Stop cleanly and start again on the same ports and data directory."""
        self._terminate(timeout=30)
        self.start(timeout)

    def kill(self) -> None:
        """SIGKILL, no clean shutdown: for crash tests. Data dir and ports are kept."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
        self._terminate(timeout=10)

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()  # __exit__ won't run: drop the temp dir here
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _launch(self, argv: Sequence[str], env: Mapping[str, str] | None = None) -> None:
        """Start `argv` with its output read line by line on a thread of its own."""
        self._output.clear()
        self._proc = subprocess.Popen(
            list(argv),
            env=None if env is None else dict(env),
            # stdin stays open as a lifeline: if this Python process dies, the JVM sees EOF and
            # shuts down instead of lingering on its ports.
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        _RUNNING.add(self)
        self._reader = threading.Thread(
            target=self._read_output, args=(self._proc,), name=f"{self.name}-output", daemon=True
        )
        self._reader.start()

    def _read_output(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self._output.append(line.rstrip("\n"))
            self._on_line(line)

    def _on_line(self, line: str) -> None:
        """A line the launcher printed (its READY line, its version)."""

    def _check_alive(self) -> None:
        assert self._proc is not None
        if self._proc.poll() is not None:
            raise RuntimeError(f"launcher exited with status {self._proc.returncode}")

    def _terminate(self, timeout: float) -> None:
        proc, self._proc = self._proc, None
        _RUNNING.discard(self)
        if proc is not None:
            self.exit_code = terminate(proc, self._reader, timeout)


# Servers of this process still running at exit: stopped then, even if a caller forgot to.
_RUNNING: weakref.WeakSet[LaunchedServer] = weakref.WeakSet()


@atexit.register
def _stop_leftovers() -> None:
    for server in list(_RUNNING):
        server.stop(timeout=10)
