"""`GraphStore.apply` before and after the dropped-column mend (session 34, helper 93:
graph/dropped_columns.py), interleaved, one process per round and version.

    python -m benchmarks.dropped_columns_s34 --log /work/q31/estate/10000/log \
        --before /tmp/h93/before --after /tmp/h93/after --rounds 4

Each round runs a worker per version (the order flipped every round): the worker imports
`lineage_kg` from its tree (benchmarks/ab_worker.py's rooms), reads the log, maps every entry
(not timed: the mappers are the same code), then applies the mapped entries to an empty embedded
store in batches of `--batch` entries, as the projector does, timing this thread's CPU over the
applies only. It reports that CPU, the graph's digest (every node and edge record with its
dates), the digest with the FEEDS' ends left out, and how many FEEDS edges are closed. The mend
changes only FEEDS ends (into columns a schema dropped), so the second digest must be equal
across versions, and the first equal across the rounds of one version.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def worker(root: Path, log: Path, batch_size: int, kind: str = "FEEDS") -> None:
    """Apply the log's batches on the tree at `root`; the digests leave out `kind` edges' ends."""
    from benchmarks.ab_worker import _Rooms

    sys.meta_path.insert(0, _Rooms(root))  # type: ignore[arg-type]
    import lineage_kg

    assert Path(lineage_kg.__file__).is_relative_to(root), lineage_kg.__file__
    from benchmarks.harness import empty_store, log_batches

    batches = log_batches(log, batch_size)
    store = empty_store()
    cpu = 0.0
    for batch in batches:
        began = time.thread_time()
        store.apply(batch)
        cpu += time.thread_time() - began
    whole, rest = hashlib.sha256(), hashlib.sha256()
    closed = 0
    for node in sorted(store.iter_nodes(), key=lambda n: n.key.id):
        text = repr((node.key.id, sorted(node.props.items()))).encode()
        whole.update(text)
        rest.update(text)
    for e in sorted(store.iter_edges(), key=lambda e: e.key.id):
        dated = (e.key.id, sorted(e.props.items()), e.first_seen, e.last_seen)
        whole.update(repr((*dated, e.valid_to, e.retired_by)).encode())
        if e.key.kind.value == kind:
            closed += e.valid_to is not None
            rest.update(repr(dated).encode())
        else:
            rest.update(repr((*dated, e.valid_to, e.retired_by)).encode())
    print(
        json.dumps(
            {
                "mutations": sum(len(b.mutations) for b in batches),
                "batches": len(batches),
                "apply_cpu": cpu,
                "digest": whole.hexdigest()[:16],
                "digest_but_kind_ends": rest.hexdigest()[:16],
                "closed": closed,
            }
        )
    )


def main(kind: str = "FEEDS", doc: str | None = None) -> None:
    """Both versions' rounds, interleaved; the digests leave out `kind` edges' ends (the edges
    the mend changes: FEEDS for the dropped columns, OWNS for the ownership retirement)."""
    parser = argparse.ArgumentParser(description=(doc or __doc__ or "").split("\n\n")[0])
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--before", type=Path, required=True, help="a tree of the base commit")
    parser.add_argument("--after", type=Path, required=True, help="a tree with the mend")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    found: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    load = [os.getloadavg()[0]]
    for r in range(args.rounds):
        order = ["before", "after"] if r % 2 == 0 else ["after", "before"]
        for name in order:
            root = args.before if name == "before" else args.after
            out = subprocess.run(
                [sys.executable, "-m", "benchmarks.dropped_columns_s34", "worker", str(root),
                 str(args.log), str(args.batch), kind],
                check=True, capture_output=True, text=True,
                cwd=Path(__file__).parent.parent,
            ).stdout  # fmt: skip
            got = json.loads(out.strip().splitlines()[-1])
            found[name].append(got)
            print(name, r, got, f"load {os.getloadavg()[0]:.2f}", flush=True)
        load.append(os.getloadavg()[0])
    for name, runs in found.items():
        cpus = [g["apply_cpu"] for g in runs]
        print(
            name,
            f"apply CPU median {statistics.median(cpus):.3f} s",
            f"(min {min(cpus):.3f}, max {max(cpus):.3f})",
            "digests",
            sorted({g["digest"] for g in runs}),
            sorted({g["digest_but_kind_ends"] for g in runs}),
            f"closed {kind}",
            sorted({g["closed"] for g in runs}),
        )
    print(f"load (1 min) during the run: {min(load):.2f}-{max(load):.2f}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        worker(Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    else:
        main()
