"""Session 25 (issue 19, target 1): Neo4j's walk statements (graph/neo4j_walk_statements.py) as
they stand against those of a git revision (`--before`, default f6b458f: session 24's), run
through today's store in one process, interleaved, answers checked equal.

    python -m benchmarks.walk_statements_s25 map --keep /work/target1-estate-s24 --nodes 100000 \
        --rounds 3
    python -m benchmarks.walk_statements_s25 impact --keep /work/target1-estate-s24 \
        --nodes 10000 --starts 30 --rounds 3

`map`: the accountability map of the largest team (benchmarks/accountability_walk.py's kept
estate and contest), `after` against `before`; then each contender's walk statements of one map
replayed with PROFILE: their server db hits, a figure the machine's load does not move.
`impact`: benchmarks/walk_contenders.py's impact contest with `read_ahead` (today's statements),
`before` (the revision's) and the QPP statement.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import subprocess
import sys
import types
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks import accountability_walk as aw
from benchmarks import walk_contenders as wc
from benchmarks.harness import RESULTS, save
from lineage_kg.graph import neo4j_store, neo4j_walk_statements
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.queries.accountability import accountability
from lineage_kg.queries.impact import impact

BEFORE = "f6b458f"  # session 24's walk statements (split out of neo4j_store.py, texts unchanged)
_PATCHED = ("reach_statement", "sets_statement", "walk_policy")


def statements_at(rev: str) -> types.ModuleType:
    """graph/neo4j_walk_statements.py as it stood at `rev` (git), over today's other modules;
    its statements count as slow to plan as today's do (the store's `PLAN_TIMEOUT`)."""
    root = Path(__file__).resolve().parents[1]
    path = "graph/neo4j_walk_statements.py"
    source = subprocess.run(
        ["git", "show", f"{rev}:{path}"], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    name = f"neo4j_walk_statements_at_{rev}"
    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(compile(source, f"{rev}:{path}", "exec"), module.__dict__)
    module.SLOW_TO_PLAN = neo4j_walk_statements.SLOW_TO_PLAN
    return module


@contextmanager
def statements_of(module: types.ModuleType | None) -> Iterator[None]:
    """The store builds its walk statements with `module`'s (None: today's) while inside."""
    if module is None:
        yield
        return
    saved = {name: getattr(neo4j_store, name) for name in _PATCHED}
    for name in _PATCHED:
        setattr(neo4j_store, name, getattr(module, name))
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(neo4j_store, name, value)


def under(module: types.ModuleType | None, ask: Callable[..., Any]) -> Callable[..., Any]:
    def asked(*args: Any, **kwargs: Any) -> Any:
        with statements_of(module):
            return ask(*args, **kwargs)

    return asked


def db_hits(plan: Mapping[str, Any]) -> int:
    return int(plan.get("dbHits") or 0) + sum(db_hits(c) for c in plan.get("children", []))


def walk_hits(store: Neo4jStore, ask: Callable[[], Any]) -> dict[str, Any]:
    """The walk statements one answer sends (`$chunk` in their parameters), replayed with
    PROFILE: their db hits, each and in all."""
    caught: list[tuple[str, dict[str, Any]]] = []
    read = store._read

    def grab(query: Any, **params: Any) -> list[Any]:
        if "chunk" in params:  # copied: the caller extends the marks' list after the read
            caught.append((query, copy.deepcopy(params)))
        return read(query, **params)

    store._read = grab  # type: ignore[method-assign]
    try:
        ask()
    finally:
        del store._read
    each = []
    with store._driver.session(database=store.database) as session:
        for query, params in caught:
            summary = session.run("PROFILE " + query, params).consume()  # type: ignore[arg-type]
            assert summary.profile is not None
            each.append(db_hits(summary.profile))
    return {"statements": len(each), "db_hits": each, "total_db_hits": sum(each)}


def run_map(args: argparse.Namespace, before: types.ModuleType) -> dict[str, Any]:
    aw.CONTENDERS["before"] = under(before, accountability)
    aw.CONTENDERS["after"] = accountability
    hits: dict[str, Any] = {}
    contest = aw.contest

    def contest_then_hits(store: Any, owner: str, rounds: int, names: Any) -> dict[str, Any]:
        out = contest(store, owner, rounds, names)
        for name in names:
            ask = aw.CONTENDERS[name]
            hits[name] = walk_hits(store, lambda ask=ask: ask(store, owner))
            print(f"  {name}: walk statements' db hits {hits[name]}", flush=True)
        return out | {"walk_db_hits": hits}

    aw.contest = contest_then_hits  # type: ignore[assignment]
    try:
        return {
            str(n): aw.kept_size(args.keep, n, args.seed, args.rounds, ("before", "after"))
            for n in args.nodes
        }
    finally:
        aw.contest = contest  # type: ignore[assignment]


def run_impact(args: argparse.Namespace, before: types.ModuleType) -> dict[str, Any]:
    original = wc.neo4j_contenders

    def contenders(
        store: Any, session: Any, depth: int, opts: wc.Options
    ) -> dict[str, Callable[[str], Any]]:
        base = original(store, session, depth, dataclasses.replace(opts, before=None))
        return {
            "read_ahead": base["read_ahead"],
            "before": under(before, lambda k: impact(store, k, depth=depth)),
            "one_qpp_statement": base["one_qpp_statement"],
        }

    wc.neo4j_contenders = contenders  # type: ignore[assignment]
    opts = wc.Options(keep=args.keep)
    return {
        str(n): wc.one_size(n, args.seed, args.starts, args.rounds, depth=args.depth, opts=opts)
        for n in args.nodes
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("question", choices=["map", "impact"])
    parser.add_argument("--keep", type=Path, required=True, help="accountability_walk's estate")
    parser.add_argument("--nodes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--starts", type=int, default=30, help="impact: start columns")
    parser.add_argument("--depth", type=int, default=10, help="impact's depth")
    parser.add_argument("--before", default=BEFORE, help="git revision of the statements")
    parser.add_argument("--tag", default="s25", help="the results file's name ends with it")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    before = statements_at(args.before)
    run = run_map if args.question == "map" else run_impact
    sizes = run(args, before)
    tag = f"{args.question}_" + "_".join(map(str, args.nodes)) + f"_{args.tag}"
    result = {"sizes": sizes, "before": args.before}
    print("saved", save("walk_statements_s25", result, tag=tag, out=args.out))


if __name__ == "__main__":
    main()
