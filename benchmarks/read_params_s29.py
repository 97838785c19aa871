"""Reads on Neo4j with their parameters sent quiet (graph/neo4j_params.py) against as they were,
interleaved round by round in one process, every answer checked equal (issue 19, target 1).

    python -m benchmarks.read_params_s29 --estate /work/q29/estate/100000 [--rounds 5]

The driver builds the text of every RUN's parameters for its debug log whatever the log level;
`loud` is today's store with `quiet` replaced by a plain copy, so the only difference is that
text. Questions: the largest team's accountability map (the walks send 34k start keys and up to
41k marks), and the generator's first decision traces. On a kept `accountability_walk --keep`
estate (DIR/files, DIR/log, DIR/neo4j-db; the server started here on it, so nobody else may have
it open). Wall and process CPU per run, the load average before and after.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.harness import kept_runtime, save, timed_rounds
from lineage_kg.graph import neo4j_store
from lineage_kg.queries.accountability import accountability
from lineage_kg.queries.decision_trace import decision_lineage


@contextmanager
def _loud() -> Iterator[None]:
    saved = neo4j_store.quiet
    neo4j_store.quiet = dict
    try:
        yield
    finally:
        neo4j_store.quiet = saved


def _both(ask: Callable[[], Any]) -> dict[str, Callable[[], Any]]:
    def loud() -> Any:
        with _loud():
            return ask()

    return {"quiet": ask, "loud": loud}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--estate", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--traces", type=int, default=15)
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    logging.getLogger("neo4j").setLevel(logging.ERROR)
    manifest = json.loads((args.estate / "files" / "manifest.json").read_text())
    samples = manifest["samples"]
    owner = samples["accountability_owner"]
    decisions = samples["root_cause_decisions"][: args.traces]
    result: dict[str, Any] = {"owner": owner, "traces": len(decisions)}
    with kept_runtime(args.estate) as runtime:
        store = runtime.store
        result["accountability"], _ = timed_rounds(
            _both(lambda: accountability(store, owner)),
            args.rounds,
            same=dataclasses.asdict,
            cpu=True,
        )
        print("accountability", json.dumps(result["accountability"]), flush=True)

        def traces() -> list[Any]:
            return [decision_lineage(store, d, decisions=runtime.decisions) for d in decisions]

        result["traces"], _ = timed_rounds(
            _both(traces), args.rounds, same=lambda a: [repr(t) for t in a], cpu=True
        )
        print("traces", json.dumps(result["traces"]), flush=True)
    print(save("read_params_s29", result, args.tag))


if __name__ == "__main__":
    main()
