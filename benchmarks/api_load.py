"""The API: the impact question over HTTP GraphQL with concurrent clients on loopback, against
calling `queries.impact.impact` directly on the same graph, in the same run.

    python -m benchmarks.api_load --nodes 10000 --clients 1 4 --seconds 20

A generated estate goes into an event log; `lkg serve` (embedded store, or Neo4j with --neo4j)
projects it at start. Direct: this process projects the same log into its own store and asks
the same starts one after another. HTTP: each client thread asks random starts for a bounded
time, every answer checked complete (total = the direct answer's size). Overhead is HTTP latency
over direct latency at one client; throughput is answers per second at each concurrency.
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from benchmarks.harness import (
    RESULTS,
    Service,
    neo4j_for,
    percentiles,
    save,
    scratch_dir,
    settings_for,
)
from benchmarks.synthetic.load import load_sources
from benchmarks.synthetic.write import generate
from lineage_kg.graph.store import GraphStore
from lineage_kg.ingest.intake import accept_many
from lineage_kg.queries.impact import impact
from lineage_kg.runtime import Runtime

QUERY = """query($id: ID!) {
  impact(ref: {id: $id}, depth: 10, first: 1000) {
    summary { total byKind { kind count } }
    edges { node { distance certainty node { id } } }
  }
}"""


def direct(store: GraphStore, starts: list[str], seconds: float) -> tuple[dict[str, Any], dict]:
    sizes = {s: len(impact(store, s, depth=10).items) for s in starts}  # also warms up
    took: list[float] = []
    deadline = time.perf_counter() + seconds
    rng = random.Random(1)
    while time.perf_counter() < deadline:
        start = rng.choice(starts)
        began = time.perf_counter()
        impact(store, start, depth=10)
        took.append(time.perf_counter() - began)
    return {"latency": percentiles(took), "per_s": len(took) / sum(took)}, sizes


def over_http(url: str, starts: list[str], sizes: dict, clients: int, seconds: float) -> dict:
    took: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def client(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=url, timeout=60) as http:
            while time.perf_counter() < stop:
                start = rng.choice(starts)
                began = time.perf_counter()
                r = http.post("/graphql", json={"query": QUERY, "variables": {"id": start}})
                spent = time.perf_counter() - began
                body = r.json()
                total = (body.get("data") or {}).get("impact", {}) or {}
                with lock:
                    if r.status_code != 200 or "errors" in body:
                        errors.append(str(body.get("errors"))[:200])
                    elif total["summary"]["total"] != sizes[start]:
                        errors.append(f"{start}: {total['summary']['total']} != {sizes[start]}")
                    else:
                        took.append(spent)

    began = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    assert not errors, errors[:5]
    return {"clients": clients, "latency": percentiles(took), "per_s": len(took) / wall}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--starts", type=int, default=100)
    parser.add_argument("--neo4j", action="store_true", help="both sides on Neo4j")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON results go")
    args = parser.parse_args()

    result: dict[str, Any] = {
        "nodes_target": args.nodes,
        "store": "neo4j" if args.neo4j else "embedded",
    }
    with scratch_dir("api") as work, ExitStack() as stack:
        manifest = generate(work / "files", args.nodes, args.seed)
        data = work / "data"
        server = stack.enter_context(neo4j_for(args.nodes)) if args.neo4j else None
        # the log the service will serve, and this process's own store projected from it
        runtime = stack.enter_context(Runtime.open(settings_for(data, server)))
        with (work / "files" / "events.ndjson").open() as f:
            accept_many(runtime.log, enumerate(json.loads(line) for line in f))
        load_sources(work / "files", runtime.log)
        starts = random.Random(args.seed).sample(
            manifest["samples"]["impact_raw_columns"], args.starts
        )
        env: dict[str, str] = {"NEO4J_URI": ""}
        if server is not None:
            env = {
                "NEO4J_URI": server.uri,
                "NEO4J_USER": server.user,
                "NEO4J_PASSWORD": server.password,
            }
        runtime.catch_up()
        store = runtime.store
        result["direct"], sizes = direct(store, starts, args.seconds)
        print("direct", result["direct"], flush=True)
        service = stack.enter_context(Service(data, env))
        with httpx.Client(base_url=service.url, timeout=600) as http:
            while http.post("/graphql", json={"query": "{ ingestStatus { lag } }"}).json()["data"][
                "ingestStatus"
            ]["lag"]:
                time.sleep(0.2)
        result["http"] = []
        for clients in args.clients:
            run = over_http(service.url, starts, sizes, clients, args.seconds)
            result["http"].append(run)
            print("http", run, flush=True)
        one = next((r for r in result["http"] if r["clients"] == 1), None)
        if one:
            result["overhead_p50"] = (
                one["latency"]["p50_ms"] / result["direct"]["latency"]["p50_ms"]
            )
            result["overhead_mean"] = (
                one["latency"]["mean_ms"] / result["direct"]["latency"]["mean_ms"]
            )
        result["answer_nodes_median"] = sorted(sizes.values())[len(sizes) // 2]
    print({k: v for k, v in result.items() if k.startswith("overhead")})
    print("saved", save("api_load", result, tag=f"{result['store']}_{args.nodes}", out=args.out))


if __name__ == "__main__":
    main()
