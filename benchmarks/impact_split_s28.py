"""Session 28 (issue 19, target 1): where one impact answer on Neo4j spends its time, against
the QPP statement. Two parts, on a kept estate (benchmarks/walk_contenders.py's, its starts):

- the statements: impact's walk statement as sent (captured), replayed alone and cut down step
  by step — the walk alone (no records), with the nodes met seeked and their owners, with their
  records, with every edge's record (as sent) — interleaved per start with the QPP statement:
  wall, server time (the summary's available + consumed after), bytes received;
- the client: impact's thread CPU per phase (the statement's round trip, `walk_ends`,
  `PathEdges`, the nodes made, the paths, ...), timed by wrapping those functions.

    python -m benchmarks.impact_split_s28 --keep /work/target1-estate --nodes 10000 --rounds 3
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import os
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from neo4j import Query
from neo4j._async_compat.network import _bolt_socket

from benchmarks import walk_contenders as wc
from benchmarks.harness import _sized_neo4j
from benchmarks.query_latency import workload
from lineage_kg.graph import ends_walk, neo4j_path_edges, neo4j_store, neo4j_walk_ahead
from lineage_kg.graph import neo4j_walk_statements as ws
from lineage_kg.graph.neo4j_cypher import EDGE_VIEW
from lineage_kg.queries import impact as impact_module
from lineage_kg.queries import traversal

RECEIVED = [0]  # bytes read from Bolt sockets


def _count_received() -> None:
    recv_into = _bolt_socket.BoltSocketBase.recv_into

    def counted(self: Any, buffer: Any, nbytes: int) -> int:
        got = recv_into(self, buffer, nbytes)
        RECEIVED[0] += got
        return got  # type: ignore[no-any-return]

    _bolt_socket.BoltSocketBase.recv_into = counted  # type: ignore[method-assign]


def variants(full: str) -> dict[str, str]:
    """The walk statement as sent, and cut down (the read-ahead's parts taken off)."""
    head = full[: full.index("CALL (edges) {")]
    record = "+ [" + EDGE_VIEW + "] END"
    assert record in full and ws.NODE_ROW in full
    no_edge_records = full.replace(record, " END")
    return {
        "as_sent": full,
        "no_edge_records": no_edge_records,
        "no_records": no_edge_records.replace(f"collect({ws.NODE_ROW})", "collect([n.key])"),
        "walk_alone": head + ws._REACH_END,
    }


def percentiles(xs: list[float]) -> dict[str, float]:
    xs = sorted(xs)
    return {
        "p50": round(xs[len(xs) // 2], 2),
        "p95": round(xs[min(len(xs) - 1, int(len(xs) * 0.95))], 2),
        "mean": round(statistics.mean(xs), 2),
    }


def statements(store: Any, keys: list[str], sent: dict[str, Any], rounds: int) -> dict[str, Any]:
    session = store._session()
    qpp = wc.qpp(10).text

    def run(query: str, params: dict[str, Any]) -> tuple[float, float, int]:
        RECEIVED[0] = 0
        began = time.perf_counter()
        result = session.run(Query(query, timeout=600), params)  # type: ignore[arg-type]
        list(result)
        summary = result.consume()
        wall = (time.perf_counter() - began) * 1000
        server = (summary.result_available_after or 0) + (summary.result_consumed_after or 0)
        return wall, server, RECEIVED[0]

    asks: dict[str, Callable[[str], tuple[float, float, int]]] = {
        "qpp": lambda k: run(qpp, {"key": k, "forward": wc._FORWARD}),
    }
    for name, text in variants(sent[keys[0]][0]).items():
        asks[name] = lambda k, text=text: run(text, sent[k][1])
    for key in keys[:10]:  # plans, caches
        for ask in asks.values():
            ask(key)
    took: dict[str, dict[str, list[float]]] = {
        n: {"wall": [], "server": [], "bytes": []} for n in asks
    }
    names = list(asks)
    for r in range(rounds):
        for i, key in enumerate(keys):
            j = (r + i) % len(names)
            for name in names[j:] + names[:j]:
                for field, value in zip(("wall", "server", "bytes"), asks[name](key), strict=True):
                    took[name][field].append(value)
    return {name: {f: percentiles(xs) for f, xs in t.items()} for name, t in took.items()}


def client(store: Any, keys: list[str], rounds: int) -> dict[str, Any]:
    spent: dict[str, float] = {}

    def timed(name: str, f: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(f)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            began = time.thread_time()
            try:
                return f(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.thread_time() - began

        return wrapped

    patches = [
        (neo4j_store, "walk_ends", "walk_ends"),
        (neo4j_store, "EndsAhead", "EndsAhead"),
        (neo4j_path_edges.PathEdges, "__init__", "PathEdges"),
        (neo4j_walk_ahead.OwnersAhead, "add", "OwnersAhead.add"),
        (neo4j_walk_ahead.OwnersAhead, "answer", "OwnersAhead.answer (nodes made)"),
        (traversal._WalkedVisits, "__init__", "visits"),
        (traversal._WalkedVisits, "paths", "paths"),
        (impact_module, "training_rows", "training_rows"),
        (impact_module, "_items", "items"),
    ]
    saved = [(owner, attr, getattr(owner, attr)) for owner, attr, _ in patches]
    read = store._read
    store._read = timed("statement (send, wait, decode)", read)
    ends_ahead = ends_walk.EndsAhead
    try:
        for owner, attr, name in patches:
            if attr == "EndsAhead":
                init = timed(name, ends_ahead.__init__)
                setattr(owner, attr, type("EndsAhead", (ends_ahead,), {"__init__": init}))
            else:
                setattr(owner, attr, timed(name, getattr(owner, attr)))
        per: dict[str, list[float]] = {}
        for _ in range(rounds):
            for key in keys:
                spent.clear()
                began, wall = time.thread_time(), time.perf_counter()
                impact_module.impact(store, key)
                spent["impact (all)"] = time.thread_time() - began
                per.setdefault("impact wall", []).append((time.perf_counter() - wall) * 1000)
                for name, seconds in spent.items():
                    per.setdefault(name, []).append(seconds * 1000)
    finally:
        store._read = read
        for owner, attr, value in saved:
            setattr(owner, attr, value)
    return {name: percentiles(xs) for name, xs in per.items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keep", type=Path, required=True, help="a kept estate: DIR/<nodes>")
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--starts", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, help="a JSON file for the figures")
    args = parser.parse_args()
    _count_received()
    work = args.keep / str(args.nodes)
    manifest = json.loads((work / "files" / "manifest.json").read_text())
    load = workload(manifest["samples"], args.starts, random.Random(7))
    keys = load["impact_raw_column"] + load["impact_lattice_column"]
    server = _sized_neo4j(args.nodes)
    server.data_dir = work / "neo4j-db"
    with server:
        store = neo4j_store.Neo4jStore(
            server.uri, user=server.user, password=server.password, query_timeout=600
        )
        sent: dict[str, Any] = {}
        read = store._read

        def capture(query: str, **params: Any) -> Any:
            sent.setdefault(current, (query, copy.deepcopy(params)))  # the walk: the first
            return read(query, **params)

        store._read = capture
        for current in keys:
            impact_module.impact(store, current)
        store._read = read
        found = {
            "load_before": os.getloadavg(),
            "statements": statements(store, keys, sent, args.rounds),
            "client": client(store, keys, args.rounds),
            "load_after": os.getloadavg(),
            "starts": len(keys),
        }
        store.close()
    print(json.dumps(found, indent=1))
    if args.out is not None:
        args.out.write_text(json.dumps(found, indent=1))


if __name__ == "__main__":
    main()
