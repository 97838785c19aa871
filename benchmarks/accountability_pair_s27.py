"""The accountability map of the largest team on Neo4j (issue 19, target 1), session 27: the map's
two walks in one store call (`walk_pair`, at once on two threads) and what followed, against the
same map with the pair walked one after the other, and against `accountability()` as it stood at
a revision (`--before REV`: queries/accountability.py and, where it existed then,
graph/neo4j_parts_assets.py read with git beside today's other modules, the store's
`parts_and_assets` the old one's), interleaved round by round in one process, every answer
checked equal to the first before its time counts.

    python -m benchmarks.accountability_pair_s27 --uri bolt://127.0.0.1:PORT \
        --estate /work/target1-estate-s24/100000 --rounds 4 [--before REV] [--tag s27]

On a server already holding the estate (a kept `accountability_walk --keep` directory, reopened
by `harness._sized_neo4j` on its data directory): the owner is the estate's manifest's
`accountability_owner`. Contenders: `now` (today's), `one_after_other` (today's, the store's
`walk_pair` the base class's: the downstream walk, then the upstream), `before` (with --before).
Wall and client CPU per run, the load average before and after.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.harness import ExternalNeo4j, module_at, save, settings_for, timed_rounds
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.accountability import accountability
from lineage_kg.runtime import Runtime


def _one_after_other(store: GraphStore) -> Callable[[str], Any]:
    def ask(owner: str) -> Any:
        store.walk_pair = GraphStore.walk_pair.__get__(store)  # type: ignore[method-assign]
        try:
            return accountability(store, owner)
        finally:
            del store.walk_pair

    return ask


def _before(store: GraphStore, rev: str) -> Callable[[str], Any]:
    old = module_at(rev, "queries/accountability.py")
    try:
        parts = module_at(rev, "graph/neo4j_parts_assets.py")
    except RuntimeError:  # before session 27: the old map did not ask for `parts_and_assets`
        return lambda owner: old.accountability(store, owner)
    read = store._read  # type: ignore[attr-defined]

    def ask(owner: str) -> Any:
        store.parts_and_assets = (  # type: ignore[method-assign]
            lambda ids, kinds, as_of=None: parts.parts_and_assets(read, ids, kinds, as_of)
        )
        try:
            return old.accountability(store, owner)
        finally:
            del store.parts_and_assets

    return ask


def _plain(answer: Any) -> Any:
    """The answer as plain data: `--before`'s module has classes of its own."""
    return dataclasses.asdict(answer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--uri", required=True)
    parser.add_argument("--estate", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--before", default=None)
    parser.add_argument("--contenders", default="now,one_after_other,before")
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    logging.getLogger("neo4j").setLevel(logging.ERROR)
    manifest = json.loads((args.estate / "files" / "manifest.json").read_text())
    owner = manifest["samples"]["accountability_owner"]
    # the service's store, opened as the service opens it (the estate's projected log is at
    # the head already: nothing is replayed)
    server = ExternalNeo4j(args.uri, "neo4j", "lineage-kg-test")
    runtime = Runtime.open(settings_for(args.estate / "neo4j", server, neo4j_query_timeout=600))
    store = runtime.store
    contenders: dict[str, Callable[[str], Any]] = {
        "now": lambda o: accountability(store, o),
        "one_after_other": _one_after_other(store),
    }
    if args.before:
        contenders["before"] = _before(store, args.before)
    wanted = args.contenders.split(",")
    contenders = {k: v for k, v in contenders.items() if k in wanted}
    figures, _ = timed_rounds(
        {n: (lambda ask=ask: ask(owner)) for n, ask in contenders.items()},
        args.rounds,
        same=_plain,
        cpu=True,
    )
    runtime.close()
    result = {
        "owner": owner,
        "figures": figures,
        "before": args.before,
    }
    print(json.dumps(figures, indent=1))
    print(save("accountability_pair_s27", result, args.tag))


if __name__ == "__main__":
    main()
