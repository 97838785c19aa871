"""In one process, alternated: a log's applies with the dropped-column hooks
(graph/dropped_columns.py) live vs no-ops (what the code before 974bca8 does when no column is
dropped), thread CPU of the applies, digests of the dated edges compared (session 34).

    python -m benchmarks.dropped_columns_inproc_s34 --batch 25 --rounds 8
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lineage_kg.graph.store as store_module
from benchmarks.harness import empty_store, log_batches
from lineage_kg.graph import validity
from lineage_kg.graph.mutations import MutationBatch

Hooks = tuple[Callable[..., Any], Callable[..., Any]]
LIVE: Hooks = (store_module.settle_dropped, store_module.load_dropped_feeds)
OFF: Hooks = (lambda *a, **k: None, lambda *a, **k: set())


def run(batches: list[MutationBatch], hooks: Hooks) -> tuple[float, str]:
    store_module.settle_dropped, store_module.load_dropped_feeds = hooks
    validity._parsed.clear()
    validity._forms.clear()
    store, cpu = empty_store(), 0.0
    for batch in batches:
        began = time.thread_time()
        store.apply(batch)
        cpu += time.thread_time() - began
    h = hashlib.sha256()
    for e in sorted(store.iter_edges(), key=lambda e: e.key.id):
        dated = (e.key.id, e.first_seen, e.last_seen, e.valid_to, e.retired_by)
        h.update(repr((*dated, sorted(e.props.items()))).encode())
    return cpu, h.hexdigest()[:12]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--log", type=Path, default=Path("/work/q31/estate/10000/log"))
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    batches = log_batches(args.log, args.batch)
    found: dict[str, list[float]] = {"off": [], "on": []}
    digests, loads = set(), [os.getloadavg()[0]]
    run(batches, LIVE)  # warm both
    run(batches, OFF)
    for r in range(args.rounds):
        for name in ["off", "on"] if r % 2 == 0 else ["on", "off"]:
            cpu, digest = run(batches, LIVE if name == "on" else OFF)
            found[name].append(cpu)
            digests.add(digest)
        loads.append(os.getloadavg()[0])
    diffs = [a - b for a, b in zip(found["on"], found["off"], strict=True)]

    def spread(xs: list[float]) -> str:
        return f"{statistics.median(xs):.3f} s [{min(xs):.3f}-{max(xs):.3f}]"

    print(
        f"batch {args.batch}: {len(batches)} batches; off (before) {spread(found['off'])}, "
        f"on (after) {spread(found['on'])}, pair diff median {statistics.median(diffs):+.3f} s "
        f"[{min(diffs):+.3f}..{max(diffs):+.3f}], digests {sorted(digests)}, "
        f"load {min(loads):.1f}-{max(loads):.1f}"
    )


if __name__ == "__main__":
    main()
