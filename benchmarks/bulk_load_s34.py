"""Issue 19, target 4 (session 34): an estate's log into an EMPTY Neo4j through the offline
importer (`lkg bulk-load`, cli/bulk.py) against the normal projector, graph digests compared.

    .venv/bin/python -m benchmarks.bulk_load_s34 --estate /work/q31/estate \\
        --bulk 10000 --bulk 100000 --projector 10000 --projector 100000 --bulk 1000000

Each `--bulk N` loads ESTATE/N/log through the bulk path into a fresh launcher data dir and
hashes the graph (`projector_batches.graph_digest`); each `--projector N` loads the same log
with the projector into a fresh server (`projector_batches.project`, batches of 500) and hashes
it. Runs in the order given (interleave them); sizes loaded both ways must hash the same. Walls
are given with the load average at start and end, and this process's CPU (the projection's).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import copy_log, scratch_dir, settings_for
from benchmarks.projector_batches import graph_digest, project
from lineage_kg.cli.bulk import bulk_load


def _load() -> float:
    return os.getloadavg()[0]


def bulk(
    estate: Path, nodes: int, batch: int | None, keep: Path | None, digest_graph: bool
) -> dict[str, Any]:
    digest: dict[str, Any] = {}
    with scratch_dir("bulk") as data:
        settings = settings_for(data)
        copy_log(settings_for(estate / str(nodes) / "log"), settings)
        home = Path(tempfile.mkdtemp(prefix="lkg-bulk-home-", dir=keep))
        cpu = time.process_time()
        report = bulk_load(
            settings,
            home,
            batch=batch,
            heap_mb=1024 if nodes <= 20_000 else 4096,
            pagecache_mb=max(256, min(2048, nodes // 1000 * 4)),
            then=(lambda server: digest.update(graph_digest(server))) if digest_graph else None,
            progress=lambda step, took: print(
                f"  {nodes} bulk: {step} {took:.1f} s (load {_load():.1f}, cpu "
                f"{time.process_time() - cpu:.1f} s)",
                flush=True,
            ),
        )
        report["process_cpu_s"] = round(time.process_time() - cpu, 1)
        if keep is None:
            import shutil

            shutil.rmtree(home, ignore_errors=True)
        else:
            report["home"] = str(home)
    report["digest"] = digest
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--estate", type=Path, default=Path("/work/q31/estate"))
    parser.add_argument("--bulk", type=int, action="append", default=[], help="a size, bulk")
    parser.add_argument("--projector", type=int, action="append", default=[])
    parser.add_argument("--batch", type=int, help="the bulk projection's batch (the projector's)")
    parser.add_argument("--order", default="", help="e.g. b10000,p10000,b100000 (else bulk first)")
    parser.add_argument(
        "--digest-upto", type=int, default=100_000, help="hash bulk graphs up to this size"
    )
    parser.add_argument("--keep", type=Path, help="keep the bulk data dirs under this dir")
    parser.add_argument("--out", type=Path, default=Path("/tmp/bulk_load_s34.json"))
    args = parser.parse_args()
    order = [s for s in args.order.split(",") if s] or [
        *(f"b{n}" for n in args.bulk),
        *(f"p{n}" for n in args.projector),
    ]
    results: list[dict[str, Any]] = []
    for step in order:
        way, nodes = step[0], int(step[1:])
        began, load = time.perf_counter(), _load()
        if way == "b":
            digest_graph = nodes <= args.digest_upto
            result = bulk(args.estate, nodes, args.batch, args.keep, digest_graph)
        else:
            result = project(args.estate / str(nodes) / "log", nodes, upto=None, batch=500,
                             profile=None, digest_graph=True)  # fmt: skip
            keys = ("seconds", "process_cpu_s", "server_cpu_s", "node_count", "edge_count")
            result = {**{k: result[k] for k in keys}, "digest": result["graph"]}
        result.update(
            way="bulk" if way == "b" else "projector",
            nodes_estate=nodes,
            wall_s=round(time.perf_counter() - began, 1),
            load_start=round(load, 2),
            load_end=round(_load(), 2),
        )
        results.append(result)
        print(json.dumps(result), flush=True)
        args.out.write_text(json.dumps(results, indent=1))
    by_size: dict[int, set[str]] = {}
    for r in results:
        if not r["digest"]:
            continue
        by_size.setdefault(r["nodes_estate"], set()).add(json.dumps(r["digest"], sort_keys=True))
    for nodes, digests in sorted(by_size.items()):
        print(f"{nodes}: {'one graph' if len(digests) == 1 else 'DIFFERENT GRAPHS'}", flush=True)


if __name__ == "__main__":
    main()
