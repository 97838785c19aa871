"""The accountability map's parts read (graph/neo4j_parts_assets.py), its client post-processing
alone: the edges sorted as (src, kind, dst, disc) tuples (b544989) against one joined string per
edge (session 30), on the row the largest team's map reads on a kept estate; alternated, process
CPU per call, answers checked equal.

    python -m benchmarks.parts_order_s30 --estate /work/q30/estate/100000 [--uri bolt://…]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import kept_runtime, module_at
from lineage_kg.graph import neo4j_parts_assets, neo4j_store
from lineage_kg.graph.model import EdgeKind
from lineage_kg.queries.accountability import accountability


def _row(estate: Path, uri: str | None) -> dict[str, Any]:
    """The parts statement's row as the map reads it."""
    manifest = json.loads((estate / "files" / "manifest.json").read_text())
    captured: list[dict[str, Any]] = []
    real = neo4j_store.parts_and_assets

    def capture(read: Any, *args: Any) -> Any:
        def reading(*a: Any, **k: Any) -> list[Any]:
            rows = read(*a, **k)
            captured.append(rows[0])
            return rows

        return real(reading, *args)

    neo4j_store.parts_and_assets = capture  # type: ignore[assignment]
    try:
        with kept_runtime(estate, uri) as runtime:
            accountability(runtime.store, manifest["samples"]["accountability_owner"])
    finally:
        neo4j_store.parts_and_assets = real
    return captured[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--estate", type=Path, required=True)
    parser.add_argument("--uri")
    parser.add_argument("--rounds", type=int, default=12)
    args = parser.parse_args()
    row = _row(args.estate, args.uri)
    before = module_at("b544989", "graph/neo4j_parts_assets.py").parts_and_assets
    kinds = [EdgeKind.HAS_COLUMN]
    contenders = {
        "before": lambda: before(lambda *_a, **_k: [row], ["x"], kinds, None),
        "after": lambda: neo4j_parts_assets.parts_and_assets(
            lambda *_a, **_k: [row], ["x"], kinds, None
        ),
    }
    assert contenders["before"]() == contenders["after"]()
    seconds: dict[str, list[float]] = {name: [] for name in contenders}
    for r in range(args.rounds):
        for name, call in list(contenders.items())[:: 1 if r % 2 else -1]:
            gc.collect()
            start = time.process_time()
            call()
            seconds[name].append(time.process_time() - start)
    print(f"parts {len(row['parts'])}, parents of several {len(row['more'])}")
    for name, runs in seconds.items():
        print(f"{name}: median {statistics.median(runs) * 1e3:.1f} ms, min {min(runs) * 1e3:.1f}")


if __name__ == "__main__":
    main()
