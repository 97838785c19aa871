"""The accountability map's walk parameters on Neo4j (issue 19, target 1), session 28 later: a
walk's first chunk sending its starts as keys and one state (`now`: the frontier entries and the
starts' marks built on the server, `_REACH_START` / `_SETS_START`) against the same statements
handed the starts as before (`before`: the frontier as [key, state] or [key, true, true] lists and
every mark sent, `starts` empty) — the statements' text is the same, only what is sent differs.

    python -m benchmarks.walk_params_s28b --uri bolt://127.0.0.1:PORT \
        --estate /work/target1-estate/100000 [--replay 5] [--maps 0] [--tag s28b]

`--replay N`: the map's walk reads (the pair walked in the caller) captured once, then each read
replayed in both forms, interleaved, N rounds: per read, the thread CPU of `run()` (parameters
packed and sent) and of fetching the rows, the wall; every reply checked equal across the forms.
`--maps N`: the whole map (`accountability` on the store) in both forms, interleaved
(`timed_rounds`, answers checked equal), wall and client CPU. The load average before and after.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import logging
import os
import statistics
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from neo4j import Query

from benchmarks.harness import ExternalNeo4j, in_turn, save, settings_for, timed_rounds
from lineage_kg.graph import neo4j_store
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.graph.neo4j_walk_statements import sets_chunk, walk_chunk
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.accountability import accountability
from lineage_kg.runtime import Runtime


def _old_walk_chunk(
    frontier: list[list[str]],
    seen: list[str],
    levels: int,
    tested: Sequence[str] | None = None,
    drop: Any = None,
    *,
    skip: Any = None,
    starts: Sequence[str] = (),
    state: str | None = None,
) -> dict[str, Any]:
    """`walk_chunk` with the starts sent as before: [key, state] pairs and their marks."""
    pairs = [[key, state] for key in starts] + frontier
    marks = [f"{key}|{state}" for key in starts] + seen
    return walk_chunk(pairs, marks, levels, tested, drop, skip=skip)


def _old_sets_chunk(
    frontier: list[list[Any]],
    seen: list[str],
    reached: int,
    starts: Sequence[str] = (),
    marked: Sequence[str] = (),
) -> dict[str, Any]:
    """`sets_chunk` with the starts sent as before: [key, true, true] and both passes' marks."""
    entries: list[list[Any]] = [[key, True, True] for key in starts]
    marks = [f"{p}|{key}" for key in [*starts, *marked] for p in ("e", "x")]
    return sets_chunk(entries + frontier, marks + seen, reached)


@contextmanager
def _sent_as_before() -> Iterator[None]:
    saved = neo4j_store.walk_chunk, neo4j_store.sets_chunk
    neo4j_store.walk_chunk, neo4j_store.sets_chunk = _old_walk_chunk, _old_sets_chunk
    try:
        yield
    finally:
        neo4j_store.walk_chunk, neo4j_store.sets_chunk = saved


def _as_before(params: dict[str, Any]) -> dict[str, Any]:
    """A captured read's parameters in the old form (the same read, `starts` expanded)."""
    chunk = params.get("chunk")
    if not isinstance(chunk, dict) or not (chunk.get("starts") or chunk.get("marked")):
        return params
    if "reached" in chunk:  # the sets walk
        old = _old_sets_chunk(
            chunk["frontier"], chunk["seen"], chunk["reached"], chunk["starts"], chunk["marked"]
        )
    else:
        old = _old_walk_chunk(
            chunk["frontier"], chunk["seen"], 1, chunk["tested"], chunk["drop"],
            skip=chunk["skip"], starts=chunk["starts"], state=chunk["state"],
        )["chunk"]  # fmt: skip
    return {**params, "chunk": old}


def _captured(store: GraphStore, owner: str) -> list[tuple[str, dict[str, Any]]]:
    """The map's walk reads, the pair walked in the caller (one thread)."""
    store.walk_pair = GraphStore.walk_pair.__get__(store)  # type: ignore[method-assign]
    caps: list[tuple[str, dict[str, Any]]] = []
    real, walk = store._read, store.walk  # type: ignore[attr-defined]
    inside = [False]

    def read(query: str, **params: Any) -> Any:
        if inside[0]:
            caps.append((query, copy.deepcopy(params)))
        return real(query, **params)

    def walked(*args: Any, **kwargs: Any) -> Any:
        inside[0] = True
        try:
            return walk(*args, **kwargs)
        finally:
            inside[0] = False

    store._read, store.walk = read, walked  # type: ignore[attr-defined, method-assign]
    try:
        accountability(store, owner)
    finally:
        del store._read, store.walk, store.walk_pair  # type: ignore[attr-defined]
    return caps


def _replay(store: Any, caps: list[tuple[str, dict[str, Any]]], rounds: int) -> list[Any]:
    session = store._session()
    out = []
    for i, (query, params) in enumerate(caps):
        forms = {"now": params, "before": _as_before(params)}
        if forms["before"] is params:
            continue  # a later chunk: sent alike
        times: dict[str, dict[str, list[float]]] = {
            n: {"run": [], "fetch": [], "wall": []} for n in forms
        }
        replies: dict[str, Any] = {}
        for r in range(rounds + 1):  # the first round warms up
            for name, p in in_turn(forms, r):
                t, c = time.perf_counter(), time.thread_time()
                result = session.run(Query(query, timeout=600), p)  # type: ignore[arg-type]
                c1 = time.thread_time()
                rows = [dict(row) for row in result]
                c2 = time.thread_time()
                assert replies.setdefault(name, rows) == rows, f"read {i}: replies vary"
                if r:
                    times[name]["run"].append(c1 - c)
                    times[name]["fetch"].append(c2 - c1)
                    times[name]["wall"].append(time.perf_counter() - t)
        assert replies["before"] == replies["now"], f"read {i}: replies differ"
        sizes = {
            n: {k: len(v) for k, v in p["chunk"].items() if isinstance(v, list)}
            for n, p in forms.items()
        }
        figure = {
            n: {k: round(statistics.median(v) * 1000, 1) for k, v in t.items()}
            for n, t in times.items()
        }
        out.append({"read": i, "ms_median": figure, "sizes": sizes})
        print(i, json.dumps(figure), json.dumps(sizes), flush=True)
    session.close()
    return out


def _maps(store: GraphStore, owner: str, rounds: int) -> Any:
    def before() -> Any:
        with _sent_as_before():
            return accountability(store, owner)

    figures, _ = timed_rounds(
        {"now": lambda: accountability(store, owner), "before": before},
        rounds,
        same=dataclasses.asdict,
        cpu=True,
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--uri", required=True)
    parser.add_argument("--estate", type=Path, required=True)
    parser.add_argument("--replay", type=int, default=5)
    parser.add_argument("--maps", type=int, default=0)
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    logging.getLogger("neo4j").setLevel(logging.ERROR)
    manifest = json.loads((args.estate / "files" / "manifest.json").read_text())
    owner = manifest["samples"]["accountability_owner"]
    server = ExternalNeo4j(args.uri, "neo4j", "lineage-kg-test")
    runtime = Runtime.open(settings_for(args.estate / "neo4j", server, neo4j_query_timeout=600))
    store = runtime.store
    assert isinstance(store, Neo4jStore)
    result: dict[str, Any] = {"owner": owner, "load_before": os.getloadavg()}
    if args.replay:
        result["replay"] = _replay(store, _captured(store, owner), args.replay)
    if args.maps:
        result["maps"] = _maps(store, owner, args.maps)
        print(json.dumps(result["maps"], indent=1))
    result["load_after"] = os.getloadavg()
    runtime.close()
    print("load", result["load_before"], result["load_after"])
    print(save("walk_params_s28b", result, args.tag))


if __name__ == "__main__":
    main()
