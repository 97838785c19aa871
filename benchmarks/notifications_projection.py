"""What detecting changes for the notifications outbox costs the projection (issue 20 part 3):
the whole log of `lkg generate`'s estate projected into the embedded store with the change
projection (ingest/notifications/projection.py) and without it, the naive baseline (the
decisions' side table only), interleaved in one run.

    python -m benchmarks.notifications_projection --nodes 10000 [--rounds 3] [--work DIR]

Each round copies the estate's log into a fresh data dir (no snapshot, no outbox) and times
`Runtime.rebuild_embedded`, as a start of `lkg serve` does; the projector's own split (map,
prepare, write, side tables) is reported with the changes found.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import machine
from benchmarks.start_time import _estate


def _one(log_file: Path, scratch: Path, with_changes: bool) -> dict[str, Any]:
    from lineage_kg.ingest.notifications.projection import ChangeProjection
    from lineage_kg.runtime import Runtime
    from lineage_kg.settings import Settings

    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    shutil.copy(log_file, scratch / "events.sqlite3")
    with Runtime.open(Settings(data_dir=scratch, snapshot=False)) as runtime:
        if not with_changes:  # the baseline: the side tables as before issue 20
            kept = [s for s in runtime.side if not isinstance(s, ChangeProjection)]
            for s in runtime.side:
                if isinstance(s, ChangeProjection):
                    s.close()
            runtime.__dict__["side"] = kept
        began = time.perf_counter()
        status = runtime.rebuild_embedded()
        seconds = time.perf_counter() - began
        assert status is not None and status.lag == 0
        outbox = runtime.outbox
        return {
            "with_changes": with_changes,
            "seconds": round(seconds, 3),
            "split": {k: round(v, 3) for k, v in runtime.projector.seconds.items()},
            "entries": status.log_seq,
            "changes": outbox.counts() if outbox is not None else None,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="lkg-notify-bench-"))
    log_file = _estate(args.nodes, work)
    runs = []
    for r in range(args.rounds):
        for with_changes in (r % 2 == 0, r % 2 != 0):  # interleaved, alternating first
            runs.append(_one(log_file, work / "run", with_changes))
            print(json.dumps(runs[-1]), flush=True)
    best = {w: min(x["seconds"] for x in runs if x["with_changes"] is w) for w in (False, True)}
    result = {
        "benchmark": "notifications_projection",
        "nodes": args.nodes,
        "machine": machine(),
        "runs": runs,
        "best_seconds": {"without": best[False], "with": best[True]},
        "overhead": round(best[True] / best[False] - 1, 3),
    }
    out = Path("benchmarks/results") / f"notifications_projection_{args.nodes}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    main()
