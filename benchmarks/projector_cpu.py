"""The projector's own CPU on a kept log, without Neo4j (issue 19, target 4).

    python -m benchmarks.projector_cpu --log /work/target1-estate/10000/log
    python -m benchmarks.projector_cpu --log DIR --upto 500 --profile prepare --out /tmp/p.prof
    python -m benchmarks.projector_cpu --log DIR --upto 500 --repeat 3

The log's first `--upto` entries, read once, are mapped by the service's mappers (the map),
merged as one batch by `store.prepare` on an empty embedded store (the merge: what the projector
hands the writer), and their audit-trail entries derived (graph/sides/history.py), each timed by
this thread's CPU. The digest hashes the prepared records and the history entries: two versions
of the code give the same answers iff the digests are equal. To compare against another commit,
run the same command from a worktree of it (lineage_kg imported from that tree) and interleave.
`--repeat N` merges and derives N times in the one process (the module caches the merge and
the derivation keep emptied before each, so every round starts as cold as the first) and
reports each round and the minimum: the map and the log read are paid once. `--gc-ab`: each
round merges twice, once with the cyclic collector paused (`graph/gc_pause.no_cyclic_gc`, as
`GraphStore.prepare` has it since session 29) and once without (`_prepare` in a unit of work of
the store's, as `prepare` was before), the order flipped each round, the digests checked equal.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from benchmarks.harness import copy_log, scratch_dir, settings_for
from lineage_kg.graph.gc_pause import no_cyclic_gc
from lineage_kg.graph.mutations import MutationBatch
from lineage_kg.graph.sides.history import history_entries
from lineage_kg.ingest.sources import default_mappers
from lineage_kg.runtime import Runtime

T = TypeVar("T")


def digest(prepared: Any, history: list[Any]) -> str:
    """The prepared records (nodes, edges, which are new) and the history entries, hashed."""
    h = hashlib.sha256()
    for part in (
        sorted(prepared.nodes.items()),
        sorted((list(k), r) for k, r in prepared.edges.items()),
        sorted(prepared.new_nodes),
        sorted(list(k) for k in prepared.new_edges),
        [repr(e) for e in history],
    ):
        h.update(json.dumps(part, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def _cold() -> None:
    """The merge's and the derivation's module caches emptied (those a revision has)."""
    for module in ("graph.validity", "graph.records", "graph.sides.history"):
        loaded = sys.modules.get(f"lineage_kg.{module}")
        for name in ("_parsed", "_forms", "_PARSED", "_FRESH", "_DISPLAYS"):
            cache = getattr(loaded, name, None)
            if isinstance(cache, dict):
                cache.clear()


def _collected(store: Any, batch: MutationBatch) -> Any:
    """`store.prepare(batch)` with the collector left as it is (running)."""
    with store._unit_of_work() as uow:
        return store._prepare(uow, batch, None)


def _merges(
    store: Any, batch: MutationBatch, repeat: int, gc_ab: bool, timed: Callable[..., Any]
) -> tuple[Any, list[float], list[float]]:
    """`repeat` merges of `batch` (with `gc_ab`, each with the collector running and paused, the
    order flipped each round): the last one's result, its times, the paused ones' times."""
    prepares: list[float] = []
    paused: list[float] = []
    for r in range(repeat):  # prepare writes nothing: the store stays empty
        for gc_off in ([False, True] if r % 2 == 0 else [True, False]) if gc_ab else [False]:
            _cold()
            if gc_off:
                with no_cyclic_gc():
                    off, took = timed("prepare", lambda: store.prepare(batch))
                paused.append(took)
                off_digest = digest(off, [])
            else:
                prepared, prepare_s = timed(
                    "prepare", lambda: _collected(store, batch) if gc_ab else store.prepare(batch)
                )
                prepares.append(prepare_s)
    if paused:
        assert off_digest == digest(prepared, []), "the merge with the GC paused differs"
    return prepared, prepares, paused


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--log", type=Path, required=True, help="data dir with events.sqlite3")
    parser.add_argument("--upto", type=int, default=1_000_000, help="the log's first N entries")
    parser.add_argument("--profile", choices=["map", "prepare", "history"])
    parser.add_argument("--out", type=Path, default=Path("/tmp/projector_cpu.prof"))
    parser.add_argument("--repeat", type=int, default=1, help="merge and derive N times")
    parser.add_argument("--gc-ab", action="store_true", help="each merge also with the GC paused")
    args = parser.parse_args()
    with scratch_dir("cpu") as data:  # the log read from a copy, through the composition root
        settings = settings_for(data)
        copy_log(settings_for(args.log), settings)
        with Runtime.open(settings) as runtime:
            entries = runtime.log.read(0, args.upto)
    mappers = default_mappers()
    mappers[entries[0].source](entries[0])  # the mapper's imports, outside the timing
    profiler = cProfile.Profile() if args.profile else None

    def timed(name: str, work: Callable[[], T]) -> tuple[T, float]:
        on = profiler is not None and args.profile == name
        if on:
            profiler.enable()
        began = time.thread_time()
        out = work()
        took = time.thread_time() - began
        if on:
            profiler.disable()
        return out, took

    mapped, map_s = timed("map", lambda: [(e.seq, mappers[e.source](e)) for e in entries])
    batch = MutationBatch()
    for _, one in mapped:
        batch.extend(one.mutations)
        batch.confined.update(one.confined)
    histories: list[float] = []
    with scratch_dir("cpu-store") as empty, Runtime.open(settings_for(empty)) as runtime:
        store = runtime.store  # the embedded store of an empty log: nothing in it
        assert store.stats().node_count == 0
        prepared, prepares, paused = _merges(store, batch, args.repeat, args.gc_ab, timed)
    for _ in range(args.repeat):
        _cold()
        history, history_s = timed(
            "history", lambda: [h for seq, one in mapped for h in history_entries(seq, one)]
        )
        histories.append(history_s)
    prepare_s, history_s = min(prepares), min(histories)
    result = {
        "entries": len(entries),
        "mutations": len(batch.mutations),
        "records": len(prepared.nodes) + len(prepared.edges),
        "history": len(history),
        "map_s": round(map_s, 3),
        "prepare_s": round(prepare_s, 3),
        "history_s": round(history_s, 3),
        "total_s": round(map_s + prepare_s + history_s, 3),
        "digest": digest(prepared, history),
        "prepare_rounds": [round(x, 3) for x in prepares],
        "history_rounds": [round(x, 3) for x in histories],
        **({"prepare_gc_paused_rounds": [round(x, 3) for x in paused]} if paused else {}),
        "load": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(result))
    if profiler is not None:
        profiler.dump_stats(args.out)


if __name__ == "__main__":
    main()
