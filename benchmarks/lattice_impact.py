"""Impact of one column on a diamond lattice of N column nodes, on Neo4j and the embedded store,
against a plain networkx BFS (the reference answer) and a naive variable-length-path Cypher in
the same run.

    python -m benchmarks.lattice_impact --layers 1000 --width 100 --depth 10 --starts 30

Each column j of layer i feeds columns j .. j+fanout-1 (mod width) of layer i+1, so paths
multiply like fanout**depth while the nodes reached grow at most like width*depth.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import networkx as nx
from neo4j import GraphDatabase, Query

from benchmarks.harness import scratch_dir, settings_for
from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import MutationBatch, Provenance
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.impact import impact
from lineage_kg.runtime import Runtime
from tools.neo4j_server import LocalNeo4j

P = Provenance("bench", "lattice", "2026-01-01T00:00:00Z")


def cell(layer: int, i: int) -> NodeKey:
    return NodeKey.of(NodeKind.COLUMN, namespace="lattice", name=f"t{layer:05d}", field=f"c{i}")


def build(layers: int, width: int, fanout: int = 2) -> tuple[list[MutationBatch], nx.DiGraph]:
    batches, ref = [], nx.DiGraph()
    batch = MutationBatch()
    for layer in range(layers - 1):
        for i in range(width):
            for j in ((i + k) % width for k in range(fanout)):
                batch.edge(cell(layer, i), EdgeKind.FEEDS, cell(layer + 1, j), P)
                ref.add_edge(cell(layer, i).id, cell(layer + 1, j).id)
        if len(batch) >= 20_000:
            batches.append(batch)
            batch = MutationBatch()
    batches.append(batch)
    return batches, ref


def load(store: GraphStore, batches: list[MutationBatch]) -> float:
    began = time.perf_counter()
    for batch in batches:
        store.apply(batch)
    return time.perf_counter() - began


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def time_impact(store: GraphStore, starts: list[NodeKey], depth: int, ref: nx.DiGraph) -> dict:
    took, sizes = [], []
    for start in starts:
        began = time.perf_counter()
        answer = impact(store, start.id, depth=depth)
        took.append(time.perf_counter() - began)
        sizes.append(len(answer.items))
        want = nx.single_source_shortest_path_length(ref, start.id, cutoff=depth)
        want.pop(start.id)
        got = {i.node.id: i.distance for i in answer.items}
        assert got == want, f"{store.name}: answer differs from the reference BFS"
    return {
        "p50_ms": 1000 * statistics.median(took),
        "p95_ms": 1000 * pct(took, 0.95),
        "max_ms": 1000 * max(took),
        "nodes_per_answer": statistics.median(sizes),
    }


NAIVE = {
    # enumerates every path, as a hand-written lineage query that returns paths does
    "paths": "MATCH p = (s:Node {key: $key})-[:FEEDS*1..%d]->(n) RETURN count(p) AS n",
    # Neo4j 5 plans DISTINCT end nodes as a pruning expand: no enumeration, but also no
    # distances, no explaining paths and no certainty
    "distinct_ends": "MATCH (s:Node {key: $key})-[:FEEDS*1..%d]->(n) RETURN count(DISTINCT n) AS n",
}


def naive_cypher(uri: str, auth: tuple[str, str], starts: list[NodeKey], depth: int) -> dict:
    results = {}
    with GraphDatabase.driver(uri, auth=auth) as driver, driver.session() as session:
        for name, template in NAIVE.items():
            took, timeouts = [], 0
            for start in starts:
                began = time.perf_counter()
                try:
                    query = Query(template % int(depth), timeout=10)  # type: ignore[arg-type]
                    session.run(query, key=start.id).consume()
                    took.append(time.perf_counter() - began)
                except Exception:
                    timeouts += 1
            results[name] = {
                "p50_ms": 1000 * statistics.median(took) if took else None,
                "timeouts_10s": timeouts,
                "runs": len(starts),
            }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--layers", type=int, default=1000)
    parser.add_argument("--width", type=int, default=100)
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--fanout", type=int, default=2)
    parser.add_argument("--starts", type=int, default=30)
    parser.add_argument("--naive-starts", type=int, default=3)
    args = parser.parse_args()

    batches, ref = build(args.layers, args.width, args.fanout)
    print(f"lattice: {ref.number_of_nodes()} column nodes, {ref.number_of_edges()} FEEDS edges")
    rng = random.Random(7)
    starts = [
        cell(rng.randrange(args.layers - args.depth - 1), rng.randrange(args.width))
        for _ in range(args.starts)
    ]

    with scratch_dir("lattice") as data, Runtime.open(settings_for(data)) as runtime:
        embedded = runtime.store  # the batches go straight to the stores: no log here
        print(f"embedded load: {load(embedded, batches):.1f}s")
        print("embedded impact:", time_impact(embedded, starts, args.depth, ref))

    with LocalNeo4j() as server, scratch_dir("lattice") as data:
        with Runtime.open(settings_for(data, server)) as runtime:
            store = runtime.store
            print(f"neo4j {server.version} load: {load(store, batches):.1f}s")
            time_impact(store, starts[:3], args.depth, ref)  # warm the plan and page caches
            print("neo4j impact:", time_impact(store, starts, args.depth, ref))
        naive = naive_cypher(
            server.uri, (server.user, server.password), starts[: args.naive_starts], args.depth
        )
        print("neo4j naive variable-length Cypher:", naive)


if __name__ == "__main__":
    main()
