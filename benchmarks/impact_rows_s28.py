"""Session 28 (issue 19, target 1): impact on Neo4j as it is (`read_ahead`) against impact with
the walk statement and `OwnersAhead` of `--before REV` (`before`: graph/neo4j_walk_statements.py
and graph/neo4j_walk_ahead.py as they stood there, over today's other modules), interleaved in
one run with the QPP statement (benchmarks/walk_contenders.py's estate, starts, rounds, answer
checks and QPP contender).

    python -m benchmarks.impact_rows_s28 --keep /work/target1-estate --nodes 10000 \
        --starts 30 --rounds 3 --before 2a0c6eb

`before`'s answers are checked equal to `read_ahead`'s (nodes, distances, certainty, paths,
owners), the QPP statement's node set to the walk's.
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks import walk_contenders as wc
from benchmarks.harness import RESULTS, save
from lineage_kg.graph import neo4j_store
from lineage_kg.queries.impact import impact


def _module_at(rev: str, path: str) -> types.ModuleType:
    """The module at `path` (e.g. graph/neo4j_walk_ahead.py) as it stood at `rev`, over today's
    other modules."""
    root = Path(__file__).resolve().parents[1]
    source = subprocess.run(
        ["git", "show", f"{rev}:{path}"], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    name = f"{Path(path).stem}_at_{rev}"
    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(compile(source, f"{rev}:{path}", "exec"), module.__dict__)
    return module


@contextmanager
def statements_at(rev: str) -> Iterator[Callable[[], Any]]:
    """A switch to `rev`'s walk statement and `OwnersAhead` in the Neo4j store (single thread)."""
    old_statements = _module_at(rev, "graph/neo4j_walk_statements.py")
    old_ahead = _module_at(rev, "graph/neo4j_walk_ahead.py")
    now = (neo4j_store.reach_statement, neo4j_store.OwnersAhead)

    @contextmanager
    def then() -> Iterator[None]:
        neo4j_store.reach_statement = old_statements.reach_statement  # type: ignore[assignment]
        neo4j_store.OwnersAhead = old_ahead.OwnersAhead  # type: ignore[misc]
        try:
            yield
        finally:
            neo4j_store.reach_statement, neo4j_store.OwnersAhead = now  # type: ignore[misc]

    yield then


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
    parser.add_argument("--before", required=True, help="a git revision")
    parser.add_argument("--tag", default="s28", help="the results file's name ends with it")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    original = wc.neo4j_contenders

    with statements_at(args.before) as then:

        def contenders(
            store: Any, session: Any, depth: int, opts: wc.Options
        ) -> dict[str, Callable[[str], Any]]:
            base = original(store, session, depth, dataclasses.replace(opts, before=None))

            def before(key: str) -> Any:
                with then():
                    return impact(store, key, depth=depth)

            return {
                "read_ahead": base["read_ahead"],
                "before": before,
                "one_qpp_statement": base["one_qpp_statement"],
            }

        wc.neo4j_contenders = contenders  # type: ignore[assignment]
        opts = wc.Options(keep=args.keep)
        sizes = {
            str(n): wc.one_size(n, args.seed, args.starts, args.rounds, depth=args.depth, opts=opts)
            for n in args.nodes
        }
    tag = "_".join(map(str, args.nodes)) + "_" + args.tag
    print("saved", save("impact_rows_s28", {"sizes": sizes, "before": args.before}, tag=tag,
                        out=args.out))  # fmt: skip


if __name__ == "__main__":
    main()
