"""The accountability map of the largest team on Neo4j (issue 19, target 1), session 33: the pair's
two walks with their level 1 read in one statement (`first_levels`) against each walk reading its
own (`neo4j_walk_statements.SHARED_FIRST_LEVEL` off), interleaved, answers checked equal; and the
shared statement replayed alone against the two first levels it replaces.

    python -m benchmarks.accountability_pair_s33 --uri bolt://127.0.0.1:PORT \
        --estate /tmp/h90/estate/100000 --server-pid PID [--statements 3] [--shared 8] \
        [--phases 3] [--rounds 8] [--contenders now,before] [--tag s33]

`--statements N`, `--phases N`: as benchmarks/accountability_pair_s32.py (today's code).
`--shared N`: one map's statements captured both ways; the shared level-1 statement, and each
walk's first chunk as the map sends it without sharing run with `$levels` 1 (what it replaces),
replayed alone, N rounds interleaved, server CPU around each (`--server-pid`).
`--rounds N`: whole maps, contenders `now` (the shared level 1, the parts' statement of session
33), `before` (the code as at 415f788: the switch off, each walk its own level 1, and the parts'
statement before, kept here verbatim), `unshared` (the switch off alone), `halves` (the shared
level 1 in two statements at once, every other start each: `SPLIT_AT` 2,000), `base`
(queries/accountability.py at 3b08540), interleaved, every answer checked equal, the server's CPU
per map with `--server-pid`.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import logging
import os
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from neo4j import Query

from benchmarks import accountability_pair_s29 as s29
from benchmarks.accountability_pair_s29 import _phases, _Trace, _tracing
from benchmarks.harness import kept_runtime, module_at, save, timed_rounds
from lineage_kg.graph import neo4j_parts_assets, neo4j_walk_statements
from lineage_kg.graph.model import EdgeKind
from lineage_kg.graph.neo4j_cypher import SEEK, VALID_NOW_OR_AS_OF, typed
from lineage_kg.graph.neo4j_params import quiet
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.queries.accountability import accountability

BASE = "3b08540"
# how the shared level-1 statement (`_SHARED_LEVEL`) starts
SHARED_PREFIX = "UNWIND $chunk.starts AS sk MATCH"
# the session's new store method traced too (`--phases`, `--statements`): the shared level 1
# (`Neo4jStore._first_levels`, called by `walk_pair_then` before the two walks)
s29._STORE_METHODS += ("_first_levels",)
SERVER_PID: int | None = None  # `--server-pid`


def _server_cpu() -> float:
    """The server process's CPU seconds (user + system, /proc), or 0 when no pid is given."""
    if SERVER_PID is None:
        return 0.0
    fields = Path(f"/proc/{SERVER_PID}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# `_SETS_LEVEL` before bbb7bc3 (each pass's far nodes made DISTINCT and keyed apart), verbatim:
# the contender `sets_before`
_SETS_LEVEL_BEFORE = (
    "CALL (frontier, seen) {{ "
    "UNWIND frontier AS f WITH f[0] AS a, f[1] AS fe, f[2] AS fx CALL (a) {{ {ways} }} "
    "WITH fe, fx, b, x.exact + [m IN x.tests WHERE {passes} | m.exact] AS ok "
    "WHERE size(ok) > 0 "
    "WITH count(*) AS level_read, collect(CASE WHEN fe THEN b END) AS be, "
    "collect(CASE WHEN fx AND true IN ok THEN b END) AS bx "
    "CALL (be, seen) {{ UNWIND be AS b WITH DISTINCT b WITH b, b.key AS k "
    "WHERE NOT 'e|' + k IN seen RETURN collect(b) AS ne, collect(k) AS ke }} "
    "CALL (bx, seen) {{ UNWIND bx AS b WITH DISTINCT b WITH b, b.key AS k "
    "WHERE NOT 'x|' + k IN seen RETURN collect(b) AS nx, collect(k) AS kx }} "
    "CALL (ne, nx) {{ UNWIND [n IN ne | [n, true, false]] + [n IN nx | [n, false, true]] AS p "
    "WITH p[0] AS b, collect(p[1]) AS es, collect(p[2]) AS xs "
    "RETURN collect([b, true IN es, true IN xs]) AS next }} "
    "RETURN level_read, ke, kx, next }} "
    # the last level asked, or $cap nodes reached by every step (the walk is given up)
    "WITH CASE WHEN $levels <= {level} OR reached + size(ke) >= $cap THEN [] ELSE next END "
    "AS frontier, CASE WHEN $levels = {level} THEN next ELSE pending END AS pending, "
    "seen + [k IN ke | 'e|' + k] + [k IN kx | 'x|' + k] AS seen, reached + size(ke) AS reached, "
    "every + [ke] AS every, exact + [kx] AS exact, read + level_read AS read "
)


def _sets_level(text: str) -> None:
    """The one-state walk's level as `text` from the next statement made on."""
    neo4j_walk_statements._SETS_LEVEL = text  # type: ignore[assignment]
    neo4j_walk_statements._sets_query.cache_clear()


def _parts_statement_before(kinds: frozenset[EdgeKind]) -> str:
    """`neo4j_parts_assets._statement` before session 33 (every part's edges in read), verbatim."""
    return (
        f"{SEEK}CALL (a) {{ MATCH (a)-[r{typed(kinds)}]->(p) WHERE {VALID_NOW_OR_AS_OF}"
        "RETURN r, p } "
        "WITH collect([a.key, p.key, type(r), r.disc]) AS parts, collect(DISTINCT p) AS ps "
        "CALL (ps) { UNWIND ps AS p "
        f"CALL (p) {{ MATCH (p)<-[r{typed(kinds)}]-(b) WHERE {VALID_NOW_OR_AS_OF}"
        "RETURN collect([b.key, p.key, type(r), r.disc]) AS ins } "
        "WITH ins WHERE size(ins) > 1 RETURN collect(ins) AS more } "
        "RETURN parts, more"
    )


_PARTS_STATEMENT_NOW = neo4j_parts_assets._statement


def _ask(store: Neo4jStore, owner: str, name: str) -> Callable[[], Any]:
    if name == "base":
        old = module_at(BASE, "queries/accountability.py")
        return lambda: old.accountability(store, owner)
    if name == "sets_before":
        now = neo4j_walk_statements._SETS_LEVEL

        def before() -> Any:
            _sets_level(_SETS_LEVEL_BEFORE)
            try:
                return accountability(store, owner)
            finally:
                _sets_level(now)

        return before
    if name in ("before", "unshared"):

        def unshared() -> Any:
            was = neo4j_walk_statements.SHARED_FIRST_LEVEL
            neo4j_walk_statements.SHARED_FIRST_LEVEL = False
            if name == "before":
                neo4j_parts_assets._statement = _parts_statement_before  # type: ignore[assignment]
            try:
                return accountability(store, owner)
            finally:
                neo4j_walk_statements.SHARED_FIRST_LEVEL = was
                neo4j_parts_assets._statement = _PARTS_STATEMENT_NOW  # type: ignore[assignment]

        return unshared
    if name == "halves":  # the shared level 1 in two statements at once from 2,000 starts

        def halves() -> Any:
            was = neo4j_walk_statements.SPLIT_AT, neo4j_walk_statements.SHARED_FIRST_LEVEL
            neo4j_walk_statements.SPLIT_AT = 2000
            neo4j_walk_statements.SHARED_FIRST_LEVEL = True
            try:
                return accountability(store, owner)
            finally:
                neo4j_walk_statements.SPLIT_AT, neo4j_walk_statements.SHARED_FIRST_LEVEL = was

        return halves
    if name != "now":
        raise SystemExit(
            f"unknown contender {name!r}: now, halves, before, unshared, base, sets_before"
        )

    def shared() -> Any:  # `now`: the shared level 1, whatever the switch's default
        was = neo4j_walk_statements.SHARED_FIRST_LEVEL
        neo4j_walk_statements.SHARED_FIRST_LEVEL = True
        try:
            return accountability(store, owner)
        finally:
            neo4j_walk_statements.SHARED_FIRST_LEVEL = was

    return shared


Captured = tuple[str, str, Any, dict[str, Any]]  # (helper path, thread, query, params)


def _capture(store: Neo4jStore, owner: str) -> list[Captured]:
    """Every statement one map sends, in the order sent, with what sent it."""
    trace = _Trace()
    caught: list[Captured] = []
    lock = threading.Lock()
    with _tracing(store, trace):
        inner = store._read

        def read(query: Any, **params: Any) -> list[Any]:
            label = "/".join(trace.stack())
            thread = "main" if threading.current_thread().name == "MainThread" else "worker"
            with lock:
                caught.append((label, thread, query, copy.deepcopy(params)))
            return inner(query, **params)

        store._read = read  # type: ignore[method-assign]
        accountability(store, owner)
    return caught


def _run_once(
    store: Neo4jStore, query: Any, params: dict[str, Any], prefix: str = ""
) -> tuple[list[dict[str, Any]], Any, float, float]:
    with store._driver.session(database=store.database) as session:
        began, cpu = time.perf_counter(), _server_cpu()
        result = session.run(Query(prefix + query, timeout=600), quiet(params))
        rows = [r.data() for r in result]
        summary = result.consume()
        wall = time.perf_counter() - began
        spent = _server_cpu() - cpu
    return rows, summary, wall, spent


def _short(label: str) -> str:
    """A helper path without the repeats the tracing's nesting makes."""
    parts = [p for p in label.split("/") if p]
    return "/".join(dict.fromkeys(parts))


def _replay(
    store: Neo4jStore, named: list[tuple[str, Any, dict[str, Any]]], rounds: int
) -> dict[str, Any]:
    """Each (name, query, params) once to warm (plans compiled), then `rounds` rounds, one after
    the other, each round starting one further on: the server's time and CPU for each alone."""
    sizes = {}
    for name, query, params in named:
        rows, _, _, _ = _run_once(store, query, params)
        sizes[name] = len(json.dumps(rows, default=str))
    server: dict[str, list[int]] = {n: [] for n, _, _ in named}
    cpu: dict[str, list[float]] = {n: [] for n, _, _ in named}
    wall: dict[str, list[float]] = {n: [] for n, _, _ in named}
    load = [os.getloadavg()]
    for r in range(rounds):
        order = named[r % len(named) :] + named[: r % len(named)]
        for name, query, params in order:
            _, summary, took, spent = _run_once(store, query, params)
            server[name].append(summary.result_consumed_after or 0)
            cpu[name].append(round(spent, 3))
            wall[name].append(round(took, 4))
    load.append(os.getloadavg())
    figures: dict[str, Any] = {}
    for name, _, _ in named:
        f = {
            "server_cpu_s_median": statistics.median(cpu[name]),
            "server_cpu_s": cpu[name],
            "consumed_ms_median": statistics.median(server[name]),
            "wall_s_median": statistics.median(wall[name]),
            "answer_bytes": sizes[name],
        }
        figures[name] = f
        print(
            f"{name:70s} server CPU {f['server_cpu_s_median']:.3f} s "
            f"({min(cpu[name]):.2f}-{max(cpu[name]):.2f}), consumed {f['consumed_ms_median']} ms, "
            f"wall {f['wall_s_median']:.3f} s",
            flush=True,
        )
    return {"figures": figures, "load_average": load}


def _statements(store: Neo4jStore, owner: str, rounds: int) -> dict[str, Any]:
    caught = _capture(store, owner)
    named = []
    for i, (label, thread, query, params) in enumerate(caught):
        named.append((f"{i:02d} {thread}:{_short(label)}", query, params))
    print(f"{len(named)} statements in one map")
    got = _replay(store, named, rounds)
    total = sum(f["server_cpu_s_median"] for f in got["figures"].values())
    print(f"sum of the statements' server CPU medians: {total:.3f} s")
    return got | {"server_cpu_sum_s": round(total, 3)}


def _first_chunks(caught: list[Captured]) -> dict[str, tuple[Any, dict[str, Any]]]:
    """Each walk's first chunk as the map sent it: the downstream walk on ids (`_reach_rows`),
    the upstream one as sets (`_walk_sets`)."""
    found: dict[str, tuple[Any, dict[str, Any]]] = {}
    for label, _, query, params in caught:
        chunk = params.get("chunk") or {}
        if not chunk.get("starts"):
            continue
        if "_reach_rows" in label and "down" not in found:
            found["down"] = (query, params)
        elif "_walk_sets" in label and "up" not in found:
            found["up"] = (query, params)
    return found


def _chains(params: dict[str, Any], up: bool) -> tuple[str, dict[str, Any]]:
    """The starts seeked and their relationships of the walk's kinds (the downstream walk: both
    ways; the upstream: in) valid now, counted with the far end's key: a first level's floor."""
    from lineage_kg.graph.model import EdgeKind

    moves = params["moves"]
    if up:
        kinds = frozenset(EdgeKind(k) for k in moves.get("in", {}))
        pattern = f"(a)<-[r{typed(kinds)}]-(b)"
    else:
        kinds = frozenset(
            EdgeKind(k) for by_way in moves.values() for ks in by_way.values() for k in ks
        )
        pattern = f"(a)-[r{typed(kinds)}]-(b)"
    query = (
        "UNWIND $chunk.starts AS k MATCH (a:Node {key: k}) USING INDEX a:Node(key) "
        f"CALL (a) {{ MATCH {pattern} WHERE {VALID_NOW_OR_AS_OF}RETURN count(b.key) AS n }} "
        "RETURN sum(n) AS rows"
    )
    return query, {"chunk": {"starts": params["chunk"]["starts"]}, "as_of": params["as_of"]}


def _level1(store: Neo4jStore, owner: str, rounds: int) -> dict[str, Any]:
    chunks = _first_chunks(_capture(store, owner))
    named = []
    for walk, (query, params) in sorted(chunks.items()):
        named.append((f"{walk} chunk 1 (levels {params['levels']})", query, params))
        named.append((f"{walk} chunk 1, level 1 alone", query, params | {"levels": 1}))
        chains, chain_params = _chains(params, up=walk == "up")
        named.append((f"{walk} starts' chains alone", chains, chain_params))
    return _replay(store, named, rounds)


def _shared(store: Neo4jStore, owner: str, rounds: int) -> dict[str, Any]:
    """The shared level 1 against the two first levels it replaces, each replayed alone."""
    named = []
    for _, _, query, params in _capture(store, owner):
        if query.startswith(SHARED_PREFIX):
            named.append(("shared level 1 (both walks)", query, params))
            break
    was = neo4j_walk_statements.SHARED_FIRST_LEVEL
    neo4j_walk_statements.SHARED_FIRST_LEVEL = False
    try:
        chunks = _first_chunks(_capture(store, owner))
    finally:
        neo4j_walk_statements.SHARED_FIRST_LEVEL = was
    for walk, (query, params) in sorted(chunks.items()):
        named.append((f"{walk} chunk 1, level 1 alone (before)", query, params | {"levels": 1}))
        named.append((f"{walk} chunk 1 as sent before (levels {params['levels']})", query, params))
    got = _replay(store, named, rounds)
    return got


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--uri", help="a server holding the estate; else one started on it here")
    parser.add_argument("--estate", type=Path, required=True)
    parser.add_argument("--server-pid", type=int, help="the server's pid: its CPU per statement")
    parser.add_argument("--statements", type=int, default=0)
    parser.add_argument("--level1", type=int, default=0)
    parser.add_argument("--shared", type=int, default=0)
    parser.add_argument("--phases", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=0)
    parser.add_argument("--contenders", default="now,before")
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    global SERVER_PID  # noqa: PLW0603 - a benchmark's one setting
    SERVER_PID = args.server_pid
    logging.getLogger("neo4j").setLevel(logging.ERROR)
    manifest = json.loads((args.estate / "files" / "manifest.json").read_text())
    owner = manifest["samples"]["accountability_owner"]
    result: dict[str, Any] = {"owner": owner, "date": time.strftime("%Y-%m-%d %H:%M:%S UTC")}
    with kept_runtime(args.estate, args.uri) as runtime:
        store = runtime.store
        assert isinstance(store, Neo4jStore)
        if args.statements:
            result["statements"] = _statements(store, owner, args.statements)
        if args.level1:
            result["level1"] = _level1(store, owner, args.level1)
        if args.shared:
            result["shared"] = _shared(store, owner, args.shared)
        if args.phases:
            before = _server_cpu()
            result["phases"] = _phases(store, owner, args.phases)
            result["phases"]["server_cpu_s_all_maps"] = round(_server_cpu() - before, 3)
        if args.rounds:
            specs = args.contenders.split(",")
            asks = {spec: _ask(store, owner, spec) for spec in specs}
            spent: dict[str, list[float]] = {spec: [] for spec in specs}

            def with_cpu(spec: str) -> Callable[[], Any]:
                def ask() -> Any:
                    began = _server_cpu()
                    try:
                        return asks[spec]()
                    finally:
                        spent[spec].append(round(_server_cpu() - began, 3))

                return ask

            figures, _ = timed_rounds(
                {spec: with_cpu(spec) for spec in specs},
                args.rounds,
                same=dataclasses.asdict,
                cpu=True,
            )
            for spec in specs:  # the warm-up's first, then the rounds'
                figures[spec]["server_cpu_s"] = spent[spec][1:]
                figures[spec]["server_cpu_s_median"] = statistics.median(spent[spec][1:])
            result["figures"] = figures
            print(json.dumps(figures, indent=1))
    print(save("accountability_pair_s33", result, args.tag))


if __name__ == "__main__":
    main()
