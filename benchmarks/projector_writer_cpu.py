"""The projector's writer thread's own CPU per record, without Neo4j (issue 19, target 4).

    python -m benchmarks.projector_writer_cpu --log DIR --upto 500 --rounds 5 --base REV

The log's first `--upto` entries are mapped and merged as one batch on an empty embedded store
(what the projector hands its writer thread, as `benchmarks.projector_cpu` does), then written as
the writer thread writes them: `Neo4jUnitOfWork.write` into a transaction that does on the client
what the driver's `run` does with each statement (neo4j 5.28 `_bolt5.run`: its debug line's
`" ".join(map(repr, fields))`, built whatever the log level, and the RUN message packed by the
driver's packer, the Rust extension when installed) and sends nothing; then the written records
installed into a `RecordCache` as after a commit (`--cache N` entries, the key filter on, as the
projector has them on an empty graph). Each part is timed by this thread's CPU, per record.

With `--base REV`: graph/neo4j_unit_of_work.py and graph/record_cache.py as they were at REV
(`harness.module_at`) against this tree's, alternated round by round (`harness.in_turn`); the
bytes packed must be equal, and so must the cache's entries after the install.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from neo4j._codec.packstream import Structure
from neo4j._codec.packstream.v1 import Packer

from benchmarks.harness import copy_log, in_turn, module_at, scratch_dir, settings_for
from lineage_kg.graph import neo4j_unit_of_work, record_cache
from lineage_kg.graph.mutations import MutationBatch
from lineage_kg.ingest.sources import default_mappers
from lineage_kg.runtime import Runtime


class _Done:
    def consume(self) -> None:
        return None


class DriverTx:
    """What the driver does on the client for each `tx.run`, short of sending: the debug line's
    text and the RUN message packed (`hashed`: the packed bytes hashed, for the answer check)."""

    def __init__(self, *, debug_text: bool = True, hashed: bool = False) -> None:
        self.out = io.BytesIO()
        self.packer = Packer(self.out)
        self.debug_text = debug_text
        self.digest = hashlib.sha256() if hashed else None
        self.statements = 0

    def run(self, query: str, **params: Any) -> _Done:
        fields = (query, params, {})
        if self.debug_text:
            " ".join(map(repr, fields))  # as `_bolt5.run` builds it for `log.debug`
        self.packer.pack(Structure(b"\x10", *fields))
        if self.digest is not None:
            self.digest.update(self.out.getvalue())
        self.out.seek(0)
        self.out.truncate()
        self.statements += 1
        return _Done()


def prepared_batch(log_dir: Path, upto: int) -> Any:
    with scratch_dir("wcpu") as data:
        settings = settings_for(data)
        copy_log(settings_for(log_dir), settings)
        with Runtime.open(settings) as runtime:
            entries = runtime.log.read(0, upto)
    mappers = default_mappers()
    batch = MutationBatch()
    for e in entries:
        one = mappers[e.source](e)
        batch.extend(one.mutations)
        batch.confined.update(one.confined)
    with scratch_dir("wcpu-store") as empty, Runtime.open(settings_for(empty)) as runtime:
        return runtime.store.prepare(batch)


def _write(module: ModuleType, prepared: Any, tx: DriverTx) -> None:
    module.Neo4jUnitOfWork(tx).write(
        prepared.nodes, prepared.edges, prepared.new_nodes, prepared.new_edges
    )


def _install(module: ModuleType, prepared: Any, size: int) -> Any:
    cache = module.RecordCache(size)
    cache.start_from_empty()
    written: dict[Any, Any] = {}
    written.update(prepared.nodes)
    written.update(prepared.edges)
    cache.install(written)
    return cache


def _cpu(work: Callable[[], Any]) -> tuple[Any, float]:
    began = time.thread_time()
    out = work()
    return out, time.thread_time() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--log", type=Path, required=True, help="data dir with events.sqlite3")
    parser.add_argument("--upto", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cache", type=int, default=20_000, help="the record cache's size")
    parser.add_argument("--base", help="a revision to compare against (alternated)")
    args = parser.parse_args()
    prepared = prepared_batch(args.log, args.upto)
    records = len(prepared.nodes) + len(prepared.edges)
    trees: dict[str, tuple[ModuleType, ModuleType]] = {"now": (neo4j_unit_of_work, record_cache)}
    if args.base:
        trees = {
            "base": (
                module_at(args.base, "graph/neo4j_unit_of_work.py"),
                module_at(args.base, "graph/record_cache.py"),
            ),
            **trees,
        }
    # answers: the same bytes packed, the same cache entries (checked once, outside the timing)
    digests, entries = {}, {}
    for name, (uow, cache) in trees.items():
        tx = DriverTx(hashed=True)
        _write(uow, prepared, tx)
        digests[name] = (tx.digest.hexdigest()[:16] if tx.digest else "", tx.statements)
        entries[name] = list(_install(cache, prepared, args.cache)._entries.items())
    assert len({json.dumps(d) for d in digests.values()}) == 1, digests
    assert all(e == next(iter(entries.values())) for e in entries.values()), "cache differs"
    parts = ("write", "of_it_debug_text", "install")
    spent: dict[str, dict[str, list[float]]] = {n: {p: [] for p in parts} for n in trees}
    load = [os.getloadavg()]
    for r in range(args.rounds):
        for name, (uow, cache) in in_turn(trees, r):
            _, with_text = _cpu(lambda uow=uow: _write(uow, prepared, DriverTx()))
            _, without = _cpu(lambda uow=uow: _write(uow, prepared, DriverTx(debug_text=False)))
            _, install = _cpu(lambda cache=cache: _install(cache, prepared, args.cache))
            spent[name]["write"].append(with_text)
            spent[name]["of_it_debug_text"].append(with_text - without)
            spent[name]["install"].append(install)
    load.append(os.getloadavg())
    result = {
        "log": str(args.log),
        "upto": args.upto,
        "records": records,
        "nodes": len(prepared.nodes),
        "edges": len(prepared.edges),
        "packed": digests,
        "load": [[round(x, 2) for x in one] for one in load],
        "seconds": {
            name: {
                p: {
                    "median": round(statistics.median(v), 3),
                    "min": round(min(v), 3),
                    "us_per_record": round(statistics.median(v) / records * 1e6, 2),
                    "runs": [round(x, 3) for x in v],
                }
                for p, v in ps.items()
            }
            for name, ps in spent.items()
        },
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
