"""The projector's map as its thread runs it, batch by batch, without Neo4j (session 30, target 4).

    python -m benchmarks.projector_map_s30 --log /work/q30/estate/100000/log --rounds 3
    python -m benchmarks.projector_map_s30 --log DIR --rounds 4 --gc-ab
    python -m benchmarks.projector_ab_s30 --tree base=/tmp/base --tree after=. --rounds 3 \
        --check digest -- benchmarks.projector_map_s30 --log DIR --rounds 1

The log (a copy) is read once and mapped by the service's projector (`Projector._map_all`, the
service's mappers), `--batch` entries at a time, the previous batch's mutations kept alive as the
batch in flight is in the pipeline; each round's thread CPU summed over the batches. The audit
trail's hand-off is left out (its worker would compete for the GIL). The digest hashes every
mapped mutation's repr in order: two trees mapped alike iff equal. `--gc-ab`: each round maps
twice, with the collector paused around each batch's map as the projector has it since session
30, and without (`ingest.projector.no_cyclic_gc` replaced by a no-op), the order flipped each
round. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import copy_log, scratch_dir, settings_for
from lineage_kg.graph.mutations import EdgeRetire
from lineage_kg.ingest import projector as projector_module
from lineage_kg.runtime import Runtime


def _canonical(m: Any) -> str:
    """A mutation's repr with its sets sorted (a frozenset's repr follows the string hashes,
    which differ from one process to the next)."""
    if isinstance(m, EdgeRetire):
        only = None if m.only is None else sorted(k.id for k in m.only)
        keep = sorted(k.id for k in m.keep)
        return repr((m.anchor, m.kind, m.direction, keep, m.prov, m.disc, only))
    return repr(m)


def _map_round(projector: Any, entries: list[Any], batch: int, digest: Any) -> float:
    took, held = 0.0, None
    for i in range(0, len(entries), batch):
        began = time.thread_time()
        mapped, _ = projector._map_all(entries[i : i + batch])
        took += time.thread_time() - began
        if digest is not None:
            for m in mapped.mutations:
                digest.update(_canonical(m).encode())
            digest.update(repr(sorted(mapped.confined.items())).encode())
        held = mapped  # noqa: F841 - the batch in flight stays alive while the next one maps
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--log", type=Path, required=True, help="data dir with events.sqlite3")
    parser.add_argument("--upto", type=int, default=10_000_000, help="the log's first N entries")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--gc-ab", action="store_true", help="also without the collector paused")
    args = parser.parse_args()
    paused_map = getattr(projector_module, "no_cyclic_gc", None)
    with scratch_dir("map") as data:
        settings = settings_for(data)
        copy_log(settings_for(args.log), settings)
        with Runtime.open(settings) as runtime:
            entries = runtime.log.read(0, args.upto)
            projector = runtime.projector
            projector.history.hand = lambda mapped: None  # type: ignore[method-assign]
            projector.side = []
            digest = hashlib.sha256()
            _map_round(projector, entries[:1], args.batch, None)  # the mappers' imports
            rounds: dict[str, list[float]] = {"map_s": [], "map_gc_on_s": []}
            for r in range(args.rounds):
                order = [True, False] if r % 2 == 0 else [False, True]
                for paused in order if args.gc_ab else [True]:
                    if not paused:
                        projector_module.no_cyclic_gc = contextlib.nullcontext  # type: ignore[attr-defined]
                    try:
                        took = _map_round(
                            projector, entries, args.batch, digest if r == 0 and paused else None
                        )
                    finally:
                        if paused_map is not None:
                            projector_module.no_cyclic_gc = paused_map  # type: ignore[attr-defined]
                    rounds["map_s" if paused else "map_gc_on_s"].append(round(took, 3))
    out: dict[str, Any] = {
        "entries": len(entries),
        "map_s": statistics.median(rounds["map_s"]),
        "map_rounds": rounds["map_s"],
        "digest": digest.hexdigest()[:16],
        "load": [round(x, 2) for x in os.getloadavg()],
    }
    if args.gc_ab:
        out["map_gc_on_s"] = statistics.median(rounds["map_gc_on_s"])
        out["map_gc_on_rounds"] = rounds["map_gc_on_s"]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
