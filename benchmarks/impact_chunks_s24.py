"""Session 24 (issue 19, target 1): impact on Neo4j with the walk with paths in chunks of N levels
a statement against M levels, interleaved in one run with the QPP statement
(benchmarks/walk_contenders.py's estate, starts, rounds, answer checks and QPP contender).

    python -m benchmarks.impact_chunks_s24 --keep /work/target1-estate --nodes 10000 \
        --starts 30 --rounds 3 --chunks 10 5 --out /tmp/t1s24

`read_ahead` is impact with `Neo4jStore.paths_chunk` = the first of `--chunks`, `before` with
the second (answers checked equal to `read_ahead`'s: nodes, distances, certainty, paths, owners),
`one_qpp_statement` the node set in one statement (checked equal to the walk's).
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import walk_contenders as wc
from benchmarks.harness import RESULTS, save
from lineage_kg.graph.ends_walk import _TABLES
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.graph.neo4j_walk_statements import _POLICIES, PATHS_CHUNK
from lineage_kg.queries.impact import impact


def chunked(
    store: Neo4jStore, levels: int, depth: int, uncached: bool = False, by_key: bool = False
) -> Callable[[str], Any]:
    """Impact with the walk with paths in chunks of `levels` levels (the store's own after);
    `uncached`: the walk's policy tables made again for each answer (as before 6d045bf);
    `by_key`: the path edges' records read by key, not by element id (as before)."""

    def ask(key: str) -> Any:
        if uncached:
            _POLICIES.clear()
            _TABLES.clear()
        store.paths_chunk, store.path_element_ids = levels, not by_key
        try:
            return impact(store, key, depth=depth)
        finally:
            store.paths_chunk, store.path_element_ids = PATHS_CHUNK, True

    return ask


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keep", type=Path, required=True, help="accountability_walk's estate")
    parser.add_argument("--nodes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--starts", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--chunks", type=int, nargs=2, default=[PATHS_CHUNK, 5])
    parser.add_argument(
        "--before-uncached", action="store_true", help="`before` makes its policy tables per answer"
    )
    parser.add_argument(
        "--before-by-key", action="store_true", help="`before` reads path edges by key"
    )
    parser.add_argument("--profile", type=Path, help="cProfile Neo4j's questions into FILE.*")
    parser.add_argument("--tag", default="s24", help="the results file's name ends with it")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    after, before = args.chunks
    original = wc.neo4j_contenders

    def contenders(
        store: Any, session: Any, depth: int, opts: wc.Options
    ) -> dict[str, Callable[[str], Any]]:
        base = original(store, session, depth, dataclasses.replace(opts, before=None))
        return {
            "read_ahead": chunked(store, after, depth),
            "before": chunked(store, before, depth, args.before_uncached, args.before_by_key),
            "one_qpp_statement": base["one_qpp_statement"],
        }

    wc.neo4j_contenders = contenders  # type: ignore[assignment]
    opts = wc.Options(keep=args.keep, profile=args.profile)
    sizes = {
        str(n): one
        | {"chunks": {"read_ahead": after, "before": before}, "uncached": args.before_uncached}
        | {"by_key": args.before_by_key}
        for n in args.nodes
        if (one := wc.one_size(n, args.seed, args.starts, args.rounds, depth=args.depth, opts=opts))
    }
    tag = "_".join(map(str, args.nodes)) + "_" + args.tag
    print("saved", save("impact_chunks_s24", {"sizes": sizes}, tag=tag, out=args.out))


if __name__ == "__main__":
    main()
