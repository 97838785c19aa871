"""Ingest: OpenLineage events per second into Neo4j, three ways, each on an empty database.

    python -m benchmarks.ingest_throughput --nodes 100000 --naive-events 300

1. **lineage-kg**: the events POSTed to a real `lkg serve` (bulk NDJSON, 4 clients), durable in
   its event log, projected into Neo4j by its projector; timed from the first request until the
   projector has applied the last event (`ingestStatus.lag == 0`). Also the in-process projector
   alone (log -> Neo4j, no HTTP), to split the cost.
2. **naive baseline**: what a hand-written consumer does: map each event, then one transaction
   per event with one MERGE statement per node and per edge (on the first `--naive-events`).
3. **the limit**: the exact records the projector writes (captured from the same projection on
   the embedded store), pre-built, written straight with the store's `UNWIND ... MERGE`
   statements, one transaction per projector batch: Neo4j's own write speed, no Python work.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import defaultdict
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, LiteralString, cast

import httpx

from benchmarks.harness import (
    RESULTS,
    Service,
    make_schema,
    neo4j_for,
    save,
    scratch_dir,
    settings_for,
    share_neo4j_between_phases,
)
from benchmarks.synthetic.events import run_events
from benchmarks.synthetic.plan import make_plan
from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import EdgeKind, NodeKind
from lineage_kg.graph.mutations import EdgeUpsert, NodeUpsert
from lineage_kg.graph.neo4j_cypher import chunks
from lineage_kg.graph.neo4j_unit_of_work import (
    _CREATE_EDGES,
    _CREATE_NODES,
    _IDS,
    _WRITE_EDGES,
    _WRITE_NODES,
)
from lineage_kg.graph.record_cache import RecordCache, through_cache
from lineage_kg.graph.records import EdgeId, Record
from lineage_kg.graph.store import UnitOfWork
from lineage_kg.ingest.intake import accept_many
from lineage_kg.ingest.openlineage.mapping import map_event
from lineage_kg.runtime import Runtime

BATCH = 500  # events per projector batch (the service's default LKG_PROJECTOR_BATCH_SIZE)
POST_CHUNK = 100  # events per bulk request
CLIENTS = 4


# ---- 1. lineage-kg: HTTP intake + projector ---------------------------------------------------
def through_http(events: list[dict[str, Any]], nodes: int) -> dict[str, Any]:
    bodies = [
        "\n".join(json.dumps(e) for e in events[i : i + POST_CHUNK]).encode()
        for i in range(0, len(events), POST_CHUNK)
    ]
    with neo4j_for(nodes) as server, scratch_dir("ingest") as data:
        env = {
            "NEO4J_URI": server.uri,
            "NEO4J_USER": server.user,
            "NEO4J_PASSWORD": server.password,
            "LKG_PROJECTOR_BATCH_SIZE": str(BATCH),
        }
        with Service(data, env) as service, httpx.Client(base_url=service.url, timeout=300) as http:

            def post(body: bytes) -> int:
                r = http.post(
                    "/api/v1/lineage/bulk",
                    content=body,
                    headers={"Content-Type": "application/x-ndjson"},
                )
                r.raise_for_status()
                return int(r.json()["accepted"])

            began = time.perf_counter()
            with ThreadPoolExecutor(CLIENTS) as pool:
                accepted = sum(pool.map(post, bodies))
            acked = time.perf_counter() - began
            lag = _wait_projected(http)
            done = time.perf_counter() - began
            stats = http.post("/graphql", json={"query": "{ stats { nodeCount edgeCount } }"})
            counts = stats.json()["data"]["stats"]
            rss = service.rss_mb()
    assert accepted == len(events), f"accepted {accepted} of {len(events)}"
    return {
        "events": len(events),
        "acknowledged_s": acked,
        "intake_events_per_s": len(events) / acked,
        "end_to_end_s": done,
        "events_per_s": len(events) / done,
        "parked": lag["parked"],
        "nodes": counts["nodeCount"],
        "edges": counts["edgeCount"],
        "service_rss_mb": rss,
    }


def _wait_projected(http: httpx.Client, bound_s: float = 1800) -> dict[str, int]:
    """Poll until the projector has caught up; a projector that stops short fails the run with
    the state it was left in (a parked event does not count as lag)."""
    query = {"query": "{ ingestStatus { lag parked } }"}
    deadline = time.monotonic() + bound_s
    while True:
        status = http.post("/graphql", json=query).json()["data"]["ingestStatus"]
        if status["lag"] == 0:
            return status
        if time.monotonic() > deadline:
            raise RuntimeError(f"the projector did not catch up in {bound_s:.0f} s: {status}")
        time.sleep(0.05)


def in_process(events: list[dict[str, Any]], nodes: int) -> dict[str, Any]:
    """The projector alone: log already written, then log -> Neo4j."""
    with (
        neo4j_for(nodes) as server,
        scratch_dir("project") as data,
        Runtime.open(settings_for(data, server, projector_batch_size=BATCH)) as runtime,
    ):
        accept_many(runtime.log, enumerate(events))
        assert runtime.store.name == "neo4j"  # connected, its schema made, before the clock
        began = time.perf_counter()
        status = runtime.catch_up()
        took = time.perf_counter() - began
        stages = dict(runtime.projector.seconds)
    return {
        "events": len(events),
        "seconds": took,
        "events_per_s": len(events) / took,
        "parked": status.parked,
        # the projector thread's time: mapping, load + merge, waiting on the writer, sides
        "stages_s": stages,
    }


# ---- 2. naive: one transaction per event, one MERGE per node and edge ---------------------------
_NAIVE_NODE: LiteralString = (
    "MERGE (n:Node {key: $key}) SET n += $props, n.kind = $kind, "
    "n.last_seen = $t, n.last_event = $e"
)
_NAIVE_EDGE: dict[EdgeKind, LiteralString] = {
    kind: cast(
        LiteralString,
        "MERGE (a:Node {key: $src}) MERGE (b:Node {key: $dst}) "
        f"MERGE (a)-[r:{kind.value} {{disc: $disc}}]->(b) "
        "SET r += $props, r.last_seen = $t, r.last_event = $e",
    )
    for kind in EdgeKind
}


def naive(events: list[dict[str, Any]], nodes: int) -> dict[str, Any]:
    with neo4j_for(nodes) as server:
        make_schema(server)  # the store's constraints, as the service makes them
        with server.driver() as driver, driver.session() as session:
            began = time.perf_counter()
            statements = 0
            for i, event in enumerate(events):
                batch = map_event(event, f"naive-{i}")

                def write(tx: Any, batch: Any = batch) -> int:
                    n = 0
                    for m in batch.mutations:
                        t, e = m.prov.event_time, m.prov.event_id
                        if isinstance(m, NodeUpsert):
                            tx.run(
                                _NAIVE_NODE,
                                key=m.key.id,
                                kind=m.key.kind.value,
                                props=m.props,
                                t=t,
                                e=e,
                            ).consume()
                        elif isinstance(m, EdgeUpsert):
                            tx.run(
                                _NAIVE_EDGE[m.key.kind],
                                src=m.key.src.id,
                                dst=m.key.dst.id,
                                disc=m.key.disc,
                                props=m.props,
                                t=t,
                                e=e,
                            ).consume()
                        else:
                            continue  # the naive consumer never retires anything
                        n += 1
                    return n

                statements += session.execute_write(write)
            took = time.perf_counter() - began
    return {
        "events": len(events),
        "seconds": took,
        "events_per_s": len(events) / took,
        "statements": statements,
    }


# ---- 3. the limit: the projector's own writes, pre-built ----------------------------------------
# one batch's writes: records, and which of them are new (created, not updated)
Captured = tuple[dict[str, Record], dict[EdgeId, Record], set[str], set[EdgeId]]


class CapturingStore(EmbeddedStore):
    """The embedded store, keeping every record each batch writes (what Neo4j would get)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[Captured] = []

    @contextmanager
    def _unit_of_work(self) -> Iterator[UnitOfWork]:
        with super()._unit_of_work() as uow:
            inner = uow.write

            def write(
                nodes: dict[str, Record],
                edges: dict[EdgeId, Record],
                new_nodes: AbstractSet[str] = frozenset(),
                new_edges: AbstractSet[EdgeId] = frozenset(),
            ) -> None:
                self.writes.append(({**nodes}, {**edges}, set(new_nodes), set(new_edges)))
                inner(nodes, edges, new_nodes, new_edges)

            uow.write = write  # type: ignore[method-assign]
            yield uow


def captured_writes(events: list[dict[str, Any]]) -> list[Captured]:
    store = CapturingStore()
    with scratch_dir("capture") as data:
        settings = settings_for(data, projector_batch_size=BATCH)
        with Runtime.open(settings, store=store) as runtime:
            accept_many(runtime.log, enumerate(events))
            runtime.catch_up()
    return store.writes


def limit(writes: list[Captured], events: int, nodes: int) -> dict[str, Any]:
    # rows grouped by statement in advance: nothing left to do but send them
    batches = []
    for node_records, edge_records, new_nodes, new_edges in writes:
        statements: dict[LiteralString, list[Any]] = defaultdict(list)
        for key, r in node_records.items():
            kind = NodeKind(r["kind"])
            query = (_CREATE_NODES if key in new_nodes else _WRITE_NODES)[kind]
            # the plain write: without the element ids the store's node statements answer (its
            # edges use them; these go by key)
            statements[cast(LiteralString, query.removesuffix(_IDS))].append(r)
        for eid, r in edge_records.items():
            src, kind_name, dst, _ = eid
            query = (_CREATE_EDGES if eid in new_edges else _WRITE_EDGES)[EdgeKind(kind_name)]
            statements[query].append({"src": src, "dst": dst, "rec": r})
        batches.append(statements)
    records = sum(len(n) + len(e) for n, e, _, _ in writes)
    with neo4j_for(nodes) as server:
        make_schema(server)
        with server.driver() as driver, driver.session() as session:
            began = time.perf_counter()
            for statements in batches:
                with session.begin_transaction() as tx:
                    for query, rows in statements.items():
                        for chunk in chunks(rows):
                            tx.run(query, rows=chunk).consume()
                    tx.commit()
            took = time.perf_counter() - began
    return {
        "events": events,
        "records": records,
        "seconds": took,
        "events_per_s": events / took,
        "records_per_s": records / took,
    }


# ---- the record cache, before and after (graph/record_cache.py) ---------------------------------
class CachedEmbeddedStore(EmbeddedStore):
    """The embedded store reading through the record cache as Neo4j does (the service does not
    attach one to it: this measures whether it would help)."""

    record_cache: RecordCache | None = None

    def _unit_of_work(self) -> AbstractContextManager[UnitOfWork]:
        return through_cache(self.record_cache, super()._unit_of_work())


def _projector_alone(bodies: list[bytes], server: Any, cache: bool, store: Any = None) -> Any:
    from benchmarks.intake_ratio import _logged, _project

    load = os.getloadavg()[0]
    with (
        scratch_dir("cache-ab") as data,
        Runtime.open(settings_for(data, server, projector_batch_size=BATCH), store=store) as rt,
    ):
        _logged(rt.log, bodies)
        projector = rt.projector
        if not cache:
            projector.records = None
            rt.store.record_cache = None  # type: ignore[attr-defined]
        assert (projector.records is not None) == cache
        result = _project(projector)
        if projector.records is not None:
            result["cache"] = {
                "hits": projector.records.hits,
                "misses": projector.records.misses,
                "held": len(projector.records),
            }
    return {**result, "load_1min": round(load, 2)}


def cache_ab(bodies: list[bytes], nodes: int, rounds: int, neo4j: bool = True) -> dict[str, Any]:
    """The projector alone without and with the record cache, interleaved (the order flips each
    round), next to the UNWIND-only limit of its records, on one Neo4j emptied between phases;
    and on the embedded store (no limit there)."""
    from benchmarks.intake_ratio import projector_embedded

    share_neo4j_between_phases()
    _, writes = projector_embedded(bodies)
    out: dict[str, Any] = {"events": len(bodies), "rounds": []}
    for r in range(rounds):
        one: dict[str, Any] = {}
        order = [False, True] if r % 2 == 0 else [True, False]
        for cache in order:
            store = CachedEmbeddedStore() if cache else None  # None: the runtime's own
            key = f"embedded_{'on' if cache else 'off'}"
            one[key] = _projector_alone(bodies, None, cache, store)
        if neo4j:
            load = os.getloadavg()[0]
            one["limit"] = {**limit(writes, len(bodies), nodes), "load_1min": round(load, 2)}
            for cache in order:
                with neo4j_for(nodes) as server:
                    key = f"neo4j_{'on' if cache else 'off'}"
                    one[key] = _projector_alone(bodies, server, cache)
            for key in ("neo4j_off", "neo4j_on"):
                one[f"ratio_{key}"] = round(
                    one[key]["events_per_s"] / one["limit"]["events_per_s"], 3
                )
        for key in ("embedded", "neo4j"):
            if f"{key}_on" in one:
                one[f"speedup_{key}"] = round(
                    one[f"{key}_on"]["events_per_s"] / one[f"{key}_off"]["events_per_s"], 3
                )
        print({k: v for k, v in one.items() if k.startswith(("ratio", "speedup"))}, flush=True)
        out["rounds"].append(one)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--naive-events",
        type=int,
        default=200,
        help="the naive baseline runs on the first N events (it is slow)",
    )
    parser.add_argument(
        "--skip", nargs="*", default=[], choices=["http", "in_process", "naive", "limit"]
    )
    parser.add_argument(
        "--share-neo4j",
        action="store_true",
        help="one Neo4j for every phase, emptied between them (CI smoke; not for measurements)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON results go")
    parser.add_argument(
        "--cache-ab",
        type=int,
        default=0,
        metavar="ROUNDS",
        help="only the projector without and with the record cache, interleaved, ROUNDS rounds, "
        "beside the limit, on one Neo4j emptied between phases (and on the embedded store)",
    )
    parser.add_argument(
        "--corpus",
        type=int,
        default=0,
        metavar="COPIES",
        help="with --cache-ab: the OpenLineage corpus copied COPIES times (benchmarks/"
        "intake_ratio.py's bodies) instead of the generated estate",
    )
    parser.add_argument("--embedded-only", action="store_true", help="with --cache-ab: no Neo4j")
    args = parser.parse_args()
    if args.cache_ab:
        from benchmarks.intake_ratio import corpus_bodies, generated_bodies

        bodies = (
            corpus_bodies(args.corpus) if args.corpus else generated_bodies(args.nodes, args.seed)
        )
        print(f"{len(bodies)} events", flush=True)
        ab = cache_ab(bodies, args.nodes, args.cache_ab, neo4j=not args.embedded_only)
        tag = f"cache_ab_{'corpus' + str(args.corpus) if args.corpus else args.nodes}"
        print("saved", save("ingest_throughput", ab, tag=tag, out=args.out))
        return
    if args.share_neo4j:
        share_neo4j_between_phases()

    events = list(run_events(make_plan(args.nodes, args.seed)))
    print(f"{len(events)} events for ~{args.nodes} nodes", flush=True)
    result: dict[str, Any] = {"nodes_target": args.nodes, "seed": args.seed, "events": len(events)}
    if "limit" not in args.skip:
        result["limit"] = limit(captured_writes(events), len(events), args.nodes)
        print("limit", result["limit"], flush=True)
    if "http" not in args.skip:
        result["lineage_kg"] = through_http(events, args.nodes)
        print("lineage-kg (HTTP + projector)", result["lineage_kg"], flush=True)
    if "in_process" not in args.skip:
        result["projector_only"] = in_process(events, args.nodes)
        print("projector only", result["projector_only"], flush=True)
    if "naive" not in args.skip:
        result["naive"] = naive(events[: args.naive_events], args.nodes)
        print("naive", result["naive"], flush=True)
    if "lineage_kg" in result:
        ours = result["lineage_kg"]["events_per_s"]
        if "naive" in result:
            result["ratio_vs_naive"] = ours / result["naive"]["events_per_s"]
        if "limit" in result:
            result["ratio_vs_limit"] = ours / result["limit"]["events_per_s"]
    print({k: v for k, v in result.items() if k.startswith("ratio")})
    print("saved", save("ingest_throughput", result, tag=str(args.nodes), out=args.out))


if __name__ == "__main__":
    main()
