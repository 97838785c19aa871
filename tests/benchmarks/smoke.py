"""The benchmarks at 10,000 nodes, so they keep working: each runs as `lkg bench` runs it (its own
process, its own Neo4j and `lkg serve`), and its results file must hold every measurement with
answers that check out. No timing is asserted: speed targets live in docs/benchmarks.md.

One test file per benchmark, so `make test`'s workers run them side by side."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

NODES = 10_000


def bench(module: str, out: Path, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{module}", "--out", str(out), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (result,) = [json.loads(p.read_text()) for p in out.glob(f"{module}_*.json")]
    assert result["machine"]["cpus"] >= 1 and result["date"]
    return result
