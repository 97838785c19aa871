"""`benchmarks.projector_batches`, with each timed load's statements summed by kind (session 32,
target 4): node CREATE / MERGE, edge CREATE / MERGE by their ends' element ids or by key, the
commit, and the projector thread's reads; each kind's statements, rows, wall and server time
(`result_available_after` + `result_consumed_after`), and the two Python threads' CPU (the
projector thread's steps, the writer thread's commits).

    python -m benchmarks.projector_writes_s32 --log DIR --nodes 100000 --warmup --rounds 1 --digest
    python -m benchmarks.projector_ab_s30 --tree base=/tmp/base --tree after=/tmp/after \
        --rounds 2 --check graph -- benchmarks.projector_writes_s32 --log DIR --nodes 100000 \
        --warmup --rounds 1 --digest

The arguments are projector_batches' own; its full result goes to a directory of this process's
own (`--out`, unless given), so runs side by side never overwrite each other's. Prints
projector_batches' lines, then `statements round N {json}` per timed load, and `graph {json}`
(the last load's digest, for `projector_ab_s30 --check graph`).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks import projector_batches


def family(label: str) -> str:
    """A statement's kind, from projector_batches' label of it (its start and its end)."""
    if label == "COMMIT":
        return "commit"
    if "(n:Node" in label and "CREATE (n:Node" in label:
        return "node create"
    if "MERGE (n:Node" in label:
        return "node merge"
    way = "by id" if "elementId(a)" in label else "by key"
    if "CREATE (a)-" in label:
        return f"edge create {way}"
    if "MERGE (a)-" in label:
        return f"edge merge {way}"
    return "other"


def summary(load: dict[str, Any]) -> dict[str, Any]:
    writes: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for commit in load["commits"]:
        for label, entry in commit["statements"].items():
            for name, value in entry.items():
                writes[family(label)][name] += value
    reads: dict[str, float] = defaultdict(float)
    for step in load["steps"]:
        for label, entry in step["reads"].items():
            if label != "COMMIT":
                for name, value in entry.items():
                    reads[name] += value
    return {
        "seconds": load["seconds"],
        "process_cpu_s": load["process_cpu_s"],
        "server_cpu_s": load["server_cpu_s"],
        "bolt_worker_s": round(
            sum(v for k, v in load["server_threads_s"].items() if "BoltWork" in k),
            2,
        ),
        "projector_thread_cpu_s": round(sum(s["cpu_s"] for s in load["steps"]), 2),
        "writer_thread_cpu_s": round(sum(c["cpu_s"] for c in load["commits"]), 2),
        "writes": {
            k: {m: round(v, 2) for m, v in sorted(e.items())} for k, e in sorted(writes.items())
        },
        "reads": {m: round(v, 2) for m, v in sorted(reads.items())},
    }


def main() -> None:
    args = sys.argv[1:]
    if "--out" not in args:
        out = Path(f"/tmp/projector_writes_s32/{time.strftime('%H%M%S')}-{os.getpid()}")
        args += ["--out", str(out)]
    else:
        out = Path(args[args.index("--out") + 1])
    sys.argv = [sys.argv[0], *args]
    projector_batches.main()
    (saved,) = sorted(out.glob("projector_batches*.json"), key=lambda p: p.stat().st_mtime)[-1:]
    result = json.loads(saved.read_text())
    for i, this in enumerate(result["rounds"], start=1):
        print(f"statements round {i}", json.dumps(summary(this["projector"])), flush=True)
    print("graph", json.dumps(result["rounds"][-1]["projector"]["graph"]), flush=True)
    print(saved)


if __name__ == "__main__":
    main()
