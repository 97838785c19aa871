"""The benchmarks at 10,000 nodes, so they keep working: each runs as `lkg bench` runs it (its own
process and `lkg serve`), and its results file must hold every measurement with answers that check
out. No timing is asserted: speed targets live in docs/benchmarks.md.

The smokes on Neo4j use the test session's server (`on_session_neo4j`) rather than starting their
own: a JVM start and warm-up cost 25-60 s each on a loaded machine, for no answer the smoke checks.

One test file per benchmark, so `make test`'s workers run them side by side."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from benchmarks.harness import EXTERNAL_NEO4J
from lineage_kg.graph.neo4j_store import Neo4jStore

NODES = 10_000


class Server(Protocol):  # the session's `neo4j_server`
    uri: str
    user: str
    password: str


def bench(module: str, out: Path, *args: str, env: dict[str, str] | None = None) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{module}", "--out", str(out), *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (result,) = [json.loads(p.read_text()) for p in out.glob(f"{module}_*.json")]
    assert result["machine"]["cpus"] >= 1 and result["date"]
    return result


@contextmanager
def on_session_neo4j(info: Server) -> Iterator[dict[str, str]]:
    """The environment that points a benchmark at the session's server. The benchmark empties it
    (schema too) between phases; afterwards it gets the store's schema back, empty, as the other
    tests on this worker expect it."""
    try:
        yield {EXTERNAL_NEO4J: f"{info.uri} {info.user} {info.password}"}
    finally:
        store = Neo4jStore(info.uri, user=info.user, password=info.password)  # makes the schema
        try:
            store.clear()
        finally:
            store.close()
