"""The accountability map of the largest team on Neo4j (issue 19, target 1), session 28: the walks'
client side (graph/ends_walk.py) and the map through a request's budget view (the API's store:
`parts_and_assets` charged there), against the same at a revision, interleaved round by round in
one process, every answer checked equal to the first before its time counts.

    python -m benchmarks.accountability_pair_s28 --uri bolt://127.0.0.1:PORT \
        --estate /work/target1-estate/100000 --before REV [--view] [--rounds 4] [--tag s28]

On a server already holding the estate (a kept `accountability_walk --keep` directory, reopened
on its data directory): the owner is the estate's manifest's `accountability_owner`. `now` is
today's map; `before` is the map with graph/ends_walk.py's `walk_ends` and `EndsAhead`,
queries/accountability.py and (with --view) api/graphql/traversal_budget.py as they were at REV
(read with git beside today's other modules). With --view each map is asked through a request's
budget view of the store (the API's way; a budget no map reaches), else of the store itself.
Wall and client CPU (both threads) per run, the load average before and after.
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

from benchmarks.harness import ExternalNeo4j, module_at, save, settings_for, timed_rounds
from lineage_kg.api.graphql.traversal_budget import TraversalBudget, budgeted
from lineage_kg.graph import neo4j_store
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.accountability import accountability
from lineage_kg.runtime import Runtime

PLENTY = 2**62


@contextmanager
def _walks_of(ends_walk: Any) -> Iterator[None]:
    """The store's walks on ids made with `ends_walk`'s `EndsAhead` and `walk_ends`."""
    saved = neo4j_store.EndsAhead, neo4j_store.walk_ends
    neo4j_store.EndsAhead, neo4j_store.walk_ends = ends_walk.EndsAhead, ends_walk.walk_ends
    try:
        yield
    finally:
        neo4j_store.EndsAhead, neo4j_store.walk_ends = saved


def _now(store: GraphStore, view: bool) -> Callable[[str], Any]:
    def ask(owner: str) -> Any:
        asked = budgeted(store, TraversalBudget(PLENTY)) if view else store
        return accountability(asked, owner)

    return ask


def _before(store: GraphStore, rev: str, view: bool) -> Callable[[str], Any]:
    old_map = module_at(rev, "queries/accountability.py")
    old_walk = module_at(rev, "graph/ends_walk.py")
    old_budget = module_at(rev, "api/graphql/traversal_budget.py") if view else None

    def ask(owner: str) -> Any:
        asked = store
        if old_budget is not None:
            asked = old_budget.budgeted(store, old_budget.TraversalBudget(PLENTY))
        with _walks_of(old_walk):
            return old_map.accountability(asked, owner)

    return ask


def _plain(answer: Any) -> Any:
    """The answer as plain data: `--before`'s module has classes of its own."""
    return dataclasses.asdict(answer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--uri", required=True)
    parser.add_argument("--estate", type=Path, required=True)
    parser.add_argument("--before", required=True)
    parser.add_argument("--view", action="store_true")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    logging.getLogger("neo4j").setLevel(logging.ERROR)
    manifest = json.loads((args.estate / "files" / "manifest.json").read_text())
    owner = manifest["samples"]["accountability_owner"]
    server = ExternalNeo4j(args.uri, "neo4j", "lineage-kg-test")
    runtime = Runtime.open(settings_for(args.estate / "neo4j", server, neo4j_query_timeout=600))
    store = runtime.store
    contenders = {"now": _now(store, args.view), "before": _before(store, args.before, args.view)}
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
        "view": args.view,
    }
    print(json.dumps(figures, indent=1))
    print(save("accountability_pair_s28", result, args.tag))


if __name__ == "__main__":
    main()
