"""Neo4j's offline bulk importer (`neo4j-admin database import full`) run from the launcher's
own classpath: `neo4j-import-tool` and `neo4j-command-line` come with `org.neo4j:neo4j` 5.26.30
(neo4j-launcher/target/lib), so nothing is fetched beyond what building the launcher fetches.

The importer writes the store files of database `neo4j` under `HOME/data` — the layout the
launcher's embedded DBMS opens with `--home HOME` (`LocalNeo4j(data_dir=HOME)`). It only ever
fills a database that does not exist yet; the server must not run on HOME meanwhile.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from tools import jvm_launcher
from tools.neo4j_server import ADD_OPENS, build_launcher

DATABASE = "neo4j"


class ImportRefused(RuntimeError):
    """HOME already holds the database, or the importer failed (its output in the message)."""


def database_exists(home: Path) -> bool:
    """Whether HOME holds store files or a transaction log of database `neo4j`."""
    return any(
        (d.is_dir() and any(d.iterdir()))
        for d in (home / "data" / "databases" / DATABASE, home / "data" / "transactions" / DATABASE)
    )


def import_full(
    home: Path,
    nodes: Sequence[Path],
    relationships: Sequence[Path],
    *,
    multiline: bool = False,
    heap_mb: int = 1024,
    off_heap: str = "1g",
    threads: int | None = None,
    timeout: float = 3600.0,
) -> float:
    """Import the CSV files (each with its header on the first line) into database `neo4j`
    under `home`; the seconds the importer's JVM ran. Any bad entry fails the import
    (`--bad-tolerance=0`): nothing is skipped silently."""
    if database_exists(home):
        raise ImportRefused(f"{home} already holds a Neo4j database {DATABASE!r}")
    jar = build_launcher()
    java = shutil.which("java", path=jvm_launcher.java_path())
    if java is None:
        raise RuntimeError("java (17+) is not on PATH or in JAVA_HOME")
    opens = [f"--add-opens={m}=ALL-UNNAMED" for m in ADD_OPENS]
    classpath = os.pathsep.join([str(jar), str(jar.parent / "lib" / "*")])
    args = [
        java,
        f"-Xmx{heap_mb}m",
        "-XX:+ExitOnOutOfMemoryError",
        *opens,
        "-cp",
        classpath,
        "org.neo4j.cli.AdminTool",
        *("database", "import", "full", DATABASE),
        *(f"--nodes={p}" for p in nodes),
        *(f"--relationships={p}" for p in relationships),
        "--array-delimiter=U+001F",
        f"--multiline-fields={'true' if multiline else 'false'}",
        "--bad-tolerance=0",
        f"--max-off-heap-memory={off_heap}",
        f"--report-file={home / 'import.report'}",
        *([f"--threads={threads}"] if threads else []),
    ]
    home.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lkg-import-conf-") as conf:
        # an empty conf dir: the importer's defaults, the data under HOME/data
        env = {**os.environ, "NEO4J_HOME": str(home), "NEO4J_CONF": conf}
        began = time.monotonic()
        done = subprocess.run(
            args, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        took = time.monotonic() - began
    if done.returncode != 0 or "IMPORT DONE" not in done.stdout:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
        raise ImportRefused(f"neo4j-admin database import failed ({done.returncode}):\n{tail}")
    return took
