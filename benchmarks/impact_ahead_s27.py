"""Session 27 (issue 19, target 1): impact on Neo4j with its nodes and owners read by the walk
statement (graph/walk_ahead.py: one round trip) against the same impact reading them after the
walk (`READ_AHEAD` off: two), interleaved in one run with the QPP statement
(benchmarks/walk_contenders.py's estate, starts, rounds, answer checks and QPP contender).

    python -m benchmarks.impact_ahead_s27 --keep /work/target1-estate --nodes 10000 \
        --starts 30 --rounds 3

`read_ahead` is impact as it is, `before` the same with `READ_AHEAD` off (answers checked equal
to `read_ahead`'s: nodes, distances, certainty, paths, owners), `one_qpp_statement` the node set
in one statement (checked equal to the walk's).
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import walk_contenders as wc
from benchmarks.harness import RESULTS, save
from lineage_kg.graph import walk_ahead
from lineage_kg.queries.impact import impact


def without_read_ahead(store: Any, depth: int) -> Callable[[str], Any]:
    """Impact reading its nodes and owners after the walk (as before this session)."""

    def ask(key: str) -> Any:
        walk_ahead.READ_AHEAD = False
        try:
            return impact(store, key, depth=depth)
        finally:
            walk_ahead.READ_AHEAD = True

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
    parser.add_argument("--profile", type=Path, help="cProfile Neo4j's questions into FILE.*")
    parser.add_argument("--tag", default="s27", help="the results file's name ends with it")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    original = wc.neo4j_contenders

    def contenders(
        store: Any, session: Any, depth: int, opts: wc.Options
    ) -> dict[str, Callable[[str], Any]]:
        base = original(store, session, depth, dataclasses.replace(opts, before=None))
        return {
            "read_ahead": base["read_ahead"],
            "before": without_read_ahead(store, depth),
            "one_qpp_statement": base["one_qpp_statement"],
        }

    wc.neo4j_contenders = contenders  # type: ignore[assignment]
    opts = wc.Options(keep=args.keep, profile=args.profile)
    sizes = {
        str(n): one
        for n in args.nodes
        if (one := wc.one_size(n, args.seed, args.starts, args.rounds, depth=args.depth, opts=opts))
    }
    tag = "_".join(map(str, args.nodes)) + "_" + args.tag
    print("saved", save("impact_ahead_s27", {"sizes": sizes}, tag=tag, out=args.out))


if __name__ == "__main__":
    main()
