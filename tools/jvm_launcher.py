"""What the project's JVM launchers (`neo4j-launcher/`, `kafka-launcher/`) share: the Maven build,
cached and locked, a free loopback port, where `java` is, and stopping the launched process.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import socket
import subprocess
import threading
from pathlib import Path


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
        mvn = shutil.which("mvn")
        if mvn is None:
            raise RuntimeError(f"Maven (mvn) is not on PATH; it is needed once to fetch {what}")
        result = subprocess.run(
            [mvn, "-B", "-q", "-f", str(project / "pom.xml"), "package"],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
            raise RuntimeError(f"building the {what} launcher failed:\n{tail}")
        # Maven leaves an unchanged jar untouched; stamp it so the freshness check holds.
        jar.touch()
        return jar


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
