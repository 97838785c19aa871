"""A benchmark's "before" run side by side with "after": the code of an earlier commit answering
in a process of its own, asked one question at a time by the benchmark, so that both are timed
interleaved, in one run, on the same machine state (benchmarks/store_walk.py `--before`).

    python -m benchmarks.ab_worker SOURCE_ROOT DATA_DIR

SOURCE_ROOT is a checkout of the earlier commit (`git archive`): its rooms are imported as
`lineage_kg` in place of the installed package. DATA_DIR holds an event log; the worker builds
its embedded store from it as the service does (`rebuild_embedded`), says `ready`, then answers
JSON lines on stdin — {"ask": "impact", "start": id, "depth": n} or {"ask": "accountability",
"owner": id} — with {"wall": s, "cpu": s, "digest": hex}: its own time for the question alone,
and a digest of the answer (the same functions as the benchmark's, so equal answers match).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import subprocess
import sys
import time
from importlib.machinery import ModuleSpec
from pathlib import Path
from typing import Any

ROOMS = {"": "service", "api": "api", "cli": "cli", "graph": "graph", "ingest": "ingest"}
ROOMS["queries"] = "queries"


def impact_digest(answer: Any) -> str:
    """What the benchmark compares of an impact answer: each item's node, distance, certainty,
    path (edge ids) and owners, and the summaries."""
    items = sorted(
        (i.node.id, i.distance, i.certainty.value, [list(h.edge.key.id) for h in i.path], i.owners)
        for i in answer.items
    )
    summary = [answer.by_kind, answer.by_certainty, answer.by_owner, answer.kpis, answer.unowned]
    return _digest([items, summary, answer.truncated])


def accountability_digest(answer: Any) -> str:
    return _digest(repr(dataclasses.astuple(answer)))


def _digest(value: Any) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()


class _Rooms:
    """Imports `lineage_kg` and its rooms from SOURCE_ROOT (as pyproject's package-dir maps
    them), ahead of the installed package."""

    def __init__(self, root: Path) -> None:
        self.at = {
            "lineage_kg" + (f".{name}" if name else ""): root / folder
            for name, folder in ROOMS.items()
        }

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        folder = self.at.get(fullname)
        if folder is None:
            return None
        return importlib.util.spec_from_file_location(
            fullname, folder / "__init__.py", submodule_search_locations=[str(folder)]
        )


def main() -> None:
    root, data_dir = Path(sys.argv[1]), Path(sys.argv[2])
    sys.meta_path.insert(0, _Rooms(root))  # type: ignore[arg-type]
    import lineage_kg
    from lineage_kg.queries.accountability import accountability
    from lineage_kg.queries.impact import impact
    from lineage_kg.runtime import Runtime
    from lineage_kg.settings import Settings

    assert Path(lineage_kg.__file__).is_relative_to(root), lineage_kg.__file__
    with Runtime.open(Settings(data_dir=data_dir, snapshot=False, neo4j_uri=None)) as runtime:
        runtime.rebuild_embedded()
        store = runtime.store
        print("ready", flush=True)
        for line in sys.stdin:
            q = json.loads(line)
            wall, cpu = time.perf_counter(), time.process_time()
            if q["ask"] == "impact":
                got = impact(store, q["start"], depth=q["depth"])
                took = time.perf_counter() - wall, time.process_time() - cpu
                digest = impact_digest(got)
            else:
                got = accountability(store, q["owner"])
                took = time.perf_counter() - wall, time.process_time() - cpu
                digest = accountability_digest(got)
            print(json.dumps({"wall": took[0], "cpu": took[1], "digest": digest}), flush=True)


class Before:
    """The worker, from the benchmark's side: started on a checkout and a data dir, asked one
    question at a time."""

    def __init__(self, root: Path, data_dir: Path) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.ab_worker", str(root), str(data_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).parent.parent,
        )
        assert self._proc.stdout is not None
        ready = self._proc.stdout.readline().strip()
        assert ready == "ready", f"the before worker did not start: {ready!r}"

    def ask(self, **question: Any) -> dict[str, Any]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps(question) + "\n")
        self._proc.stdin.flush()
        return json.loads(self._proc.stdout.readline())  # type: ignore[no-any-return]

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc.wait(timeout=60)


def checkout(rev: str, into: Path) -> Path:
    """The tree of commit `rev` in `into` (`git archive`: no worktree registered)."""
    into.mkdir(parents=True, exist_ok=True)
    repo = Path(__file__).parent.parent
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", rev], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


if __name__ == "__main__":
    main()
