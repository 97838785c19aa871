"""What our graph costs Neo4j on disk, per node and per edge, for sizing on paper (docs/scale.md).

    python -m benchmarks.neo4j_store_size --nodes 100000   # lkg generate --nodes 100000 --seed 7

A generated estate (`lkg generate`'s files, seed 7) projected into a fresh Neo4j 5 (community,
the default record format) by the service's projector; then a checkpoint (so the store files hold
everything, not the transaction log), and the size of each file of the database's directory —
node, relationship, property and string/array stores, token stores, the schema indexes — with the
graph's node, relationship and property counts. Bytes per node and per edge follow; docs/scale.md
scales them linearly to 100M nodes / 1B edges. The transaction logs are reported apart: their
size follows retention (`db.tx_log.rotation.retention_policy`), not the graph.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import RESULTS, copy_log, estate, save, scratch_dir, settings_for
from lineage_kg.runtime import Runtime
from tools.neo4j_server import LocalNeo4j

GROUPS = {  # store file name fragment -> what it holds
    "nodestore": "nodes",
    "relationshipstore": "relationships",
    "relationshipgroupstore": "relationships",
    "propertystore.db.strings": "strings",
    "propertystore.db.arrays": "arrays",
    "propertystore.db": "properties",
    "labeltokenstore": "tokens",
    "propertystore.db.index": "tokens",
    "relationshiptypestore": "tokens",
    "schema": "indexes",
}


def group_of(name: str) -> str:
    # the longest fragment that names the file wins (strings before properties)
    hits = [k for k in GROUPS if k in name]
    return GROUPS[max(hits, key=len)] if hits else "other"


def sizes(root: Path) -> dict[str, int]:
    """Bytes per group of the files under `root` (recursively: indexes live in sub-dirs)."""
    found: dict[str, int] = {}
    for path in root.rglob("*"):
        if path.is_file():
            group = group_of(str(path.relative_to(root)))
            found[group] = found.get(group, 0) + path.stat().st_size
    return found


SAMPLE = 3000  # nodes and edges whose property values are sized


def _mean_payload(rows: Any) -> float:
    sizes_ = [len(json.dumps(row["p"], default=str)) for row in rows]
    return statistics.fmean(sizes_) if sizes_ else 0.0


def _share(n: int, node_payload: float, r: int, edge_payload: float) -> float:
    """The nodes' share of the property bytes."""
    return n * node_payload / (n * node_payload + r * edge_payload)


def measure(nodes: int, seed: int) -> dict[str, Any]:
    with estate(nodes, seed, "store-size") as e, scratch_dir("store-size-neo4j") as home:
        server = LocalNeo4j(
            data_dir=home,  # ours: kept after the stop, so the files can be measured
            jvm_options=("-Xms2g", "-Xmx2g", "-XX:+ExitOnOutOfMemoryError"),
            pagecache_mb=max(256, nodes // 1000 * 4),
        )
        with server:
            settings = settings_for(e.work / "neo4j", server)
            copy_log(e.log, settings)
            with Runtime.open(settings) as runtime:
                began = time.perf_counter()
                status = runtime.catch_up()
                took = time.perf_counter() - began
            if status.parked:
                raise RuntimeError(f"{status.parked} events parked")
            with server.driver() as driver, driver.session() as session:
                n = session.run("MATCH (n) RETURN count(n) AS c").single()["c"]
                r = session.run("MATCH ()-[r]->() RETURN count(r) AS c").single()["c"]
                node_props = session.run("MATCH (n) RETURN sum(size(keys(n))) AS p").single()["p"]
                edge_props = session.run(
                    "MATCH ()-[r]->() RETURN sum(size(keys(r))) AS p"
                ).single()["p"]
                # the values' size, from a random sample of each (Cypher has no byte size)
                node_payload = _mean_payload(
                    session.run(
                        "MATCH (n) WHERE rand() < $q RETURN properties(n) AS p", q=SAMPLE / n
                    )
                )
                edge_payload = _mean_payload(
                    session.run(
                        "MATCH ()-[r]->() WHERE rand() < $q RETURN properties(r) AS p",
                        q=SAMPLE / max(r, 1),
                    )
                )
        # stopped cleanly: a checkpoint, so the store files hold everything
        data = home / "data"
        store = sizes(data / "databases" / "neo4j")
        tx_logs = sum(f.stat().st_size for f in (data / "transactions").rglob("*") if f.is_file())
        total = sum(store.values())
        props = store.get("properties", 0) + store.get("strings", 0) + store.get("arrays", 0)
        return {
            "nodes": n,
            "edges": r,
            "node_properties": node_props,
            "edge_properties": edge_props,
            "node_payload_bytes": round(node_payload),  # JSON of a node's properties, mean
            "edge_payload_bytes": round(edge_payload),
            "projection_s": round(took, 1),
            "store_bytes": store,
            "store_total_bytes": total,
            "tx_log_bytes": tx_logs,
            "bytes_per_node_all_in": round(total / n),  # the edges' share included
            "node_record_bytes": round(store.get("nodes", 0) / n),
            "relationship_bytes_per_edge": round(store.get("relationships", 0) / max(r, 1)),
            "property_bytes_per_entity": round(props / (n + r)),
            # the property stores split by the sampled payloads: what a node's and an edge's
            # properties take (an estimate: the stores do not say whose record is whose)
            "property_bytes_per_node": round(props * _share(n, node_payload, r, edge_payload) / n),
            "property_bytes_per_edge": round(
                props * (1 - _share(n, node_payload, r, edge_payload)) / max(r, 1)
            ),
            "index_bytes_per_node": round(store.get("indexes", 0) / n),
        }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON results go")
    args = parser.parse_args()
    result = measure(args.nodes, args.seed)
    print(result)
    print("saved", save("neo4j_store_size", result, tag=str(args.nodes), out=args.out))


if __name__ == "__main__":
    main()
