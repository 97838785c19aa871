"""Ingest against its own limits, same run, same bodies (issue 19, target 4).

    python -m benchmarks.intake_ratio --copies 100          # ~5,000 corpus events
    python -m benchmarks.intake_ratio --generated 10000     # `lkg generate` events instead

The bodies: every valid event of the shared OpenLineage corpus (../shared/corpus/openlineage),
copied `--copies` times with fresh run ids and job/dataset names (so no copy is a duplicate and
each adds its own nodes), serialised once; every contender gets exactly these bytes.

(a) **raw SQLite**: `INSERT (seq, body)` + `COMMIT` per event into a WAL table with
    `synchronous=FULL` (the log's setting), and per 100 events (what a bulk request may do).
(b) **our intake, acknowledged**: the bytes through the real HTTP routes of the app, in process
    (httpx over ASGI, the app's lifespan run, auth off, the projector stopped so that intake is
    measured alone): `POST /api/v1/lineage` per event, `POST /api/v1/lineage/bulk` per 100
    (NDJSON). Also `ingest.intake` alone (parse + validate + `EventLog.append`, no HTTP).
    Ratio = our events/s over raw SQLite's, per event against per event, bulk against per 100.
(c) **projector alone** (log already written, log -> store) on the embedded store and on Neo4j,
    against the **limit**: the very records it wrote (captured from the embedded projection),
    pre-built and written straight — for Neo4j with the store's own `UNWIND … MERGE`
    statements, one transaction per projector batch; for the embedded store through its unit of
    work. The projector's time is until its checkpoint reaches the log's end; the audit trail's
    catch-up, when it runs beside it, is reported as well ("history_lag_s").
(d) **the service's shape in process**: intake (bulk, 4 threads) and the projector running at
    once, embedded store, timed until the last event is projected: against (b) + (c) alone it
    shows what sharing the process (2 cores, one GIL, one log) costs.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import sqlite3
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from benchmarks.harness import (
    neo4j_for,
    save,
    scratch_dir,
    settings_for,
    share_neo4j_between_phases,
)
from benchmarks.ingest_throughput import Captured, CapturingStore, limit
from benchmarks.openlineage_corpus import valid_events as corpus_events  # replicas.py too
from lineage_kg.graph.store import GraphStore
from lineage_kg.ingest.eventlog import EventLog
from lineage_kg.ingest.intake import accept_lines, ndjson_lines
from lineage_kg.ingest.projector import Projector
from lineage_kg.runtime import Runtime

BATCH = 500  # events per projector batch (LKG_PROJECTOR_BATCH_SIZE's default)
BULK = 100  # events per bulk request / per raw commit in the batched baseline


# ---- the bodies ---------------------------------------------------------------------------------
def _renamed(event: dict[str, Any], copy_no: int) -> dict[str, Any]:
    """The event as another run of another job over other datasets would send it."""
    event = copy.deepcopy(event)
    tag = f"c{copy_no}"
    if isinstance(run := event.get("run"), dict) and "runId" in run:
        run["runId"] = str(uuid.uuid5(uuid.NAMESPACE_OID, f"{tag}/{run['runId']}"))
    if isinstance(job := event.get("job"), dict) and "name" in job:
        job["name"] = f"{job['name']}.{tag}"
    for side in ("inputs", "outputs"):
        for dataset in event.get(side) or []:
            if isinstance(dataset, dict) and "name" in dataset:
                dataset["name"] = f"{dataset['name']}_{tag}"
    if isinstance(dataset := event.get("dataset"), dict) and "name" in dataset:
        dataset["name"] = f"{dataset['name']}_{tag}"
    return event


def corpus_bodies(copies: int) -> list[bytes]:
    events = corpus_events()
    return [json.dumps(_renamed(e, c)).encode() for c in range(copies) for e in events]


def generated_bodies(nodes: int, seed: int) -> list[bytes]:
    from benchmarks.synthetic.events import run_events
    from benchmarks.synthetic.plan import make_plan

    return [json.dumps(e).encode() for e in run_events(make_plan(nodes, seed))]


def _rate(n: int, seconds: float) -> dict[str, float]:
    return {"events": n, "seconds": round(seconds, 3), "events_per_s": round(n / seconds, 1)}


# ---- (a) raw SQLite -----------------------------------------------------------------------------
def raw_sqlite(bodies: list[bytes], per_commit: int) -> dict[str, float]:
    with scratch_dir("raw") as data:
        db = sqlite3.connect(data / "raw.sqlite3", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")  # the event log's setting
        db.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        began, cpu = time.perf_counter(), time.process_time()
        for i in range(0, len(bodies), per_commit):
            db.execute("BEGIN IMMEDIATE")
            for body in bodies[i : i + per_commit]:
                db.execute("INSERT INTO events (body) VALUES (?)", (body.decode(),))
            db.execute("COMMIT")
        took, cpu = time.perf_counter() - began, time.process_time() - cpu
        db.close()
    return {**_rate(len(bodies), took), "cpu_s": round(cpu, 3)}


# ---- (b) our intake -----------------------------------------------------------------------------
def intake_function(bodies: list[bytes], per_call: int) -> dict[str, float]:
    """ingest.intake without HTTP: the NDJSON reader (strict parse), validation, the append."""
    with scratch_dir("intake") as data, Runtime.open(settings_for(data)) as runtime:
        log = runtime.log
        began, cpu = time.perf_counter(), time.process_time()
        for i in range(0, len(bodies), per_call):
            summary = accept_lines(log, ndjson_lines(b"\n".join(bodies[i : i + per_call])))
            assert not summary.rejected, summary.rejected[:1]
        took, cpu = time.perf_counter() - began, time.process_time() - cpu
        assert log.count() == len(bodies)
    # the process's CPU seconds: the wall time less the waits (fsync, other processes)
    return {**_rate(len(bodies), took), "cpu_s": round(cpu, 3)}


def intake_http(bodies: list[bytes], per_request: int) -> dict[str, float]:
    """The app's routes in process (httpx over ASGI), its lifespan run, the projector stopped."""
    from lineage_kg.api.app import create_app

    async def run(data: Path) -> float:
        app = create_app(settings_for(data, auth="off"))
        async with app.router.lifespan_context(app):
            app.state.projector.stop()  # intake alone: nothing else in the process
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://lkg") as http:
                began = time.perf_counter()
                if per_request == 1:
                    for body in bodies:
                        answer = await http.post(
                            "/api/v1/lineage",
                            content=body,
                            headers={"content-type": "application/json"},
                        )
                        assert answer.status_code == 201, answer.text
                else:
                    for i in range(0, len(bodies), per_request):
                        answer = await http.post(
                            "/api/v1/lineage/bulk",
                            content=b"\n".join(bodies[i : i + per_request]),
                            headers={"content-type": "application/x-ndjson"},
                        )
                        assert answer.status_code == 200, answer.text
                        assert not answer.json()["rejected"], answer.text
                took = time.perf_counter() - began
            assert app.state.event_log.count() == len(bodies)
        return took

    with scratch_dir("http") as data:
        took = asyncio.run(run(data))
    return _rate(len(bodies), took)


# ---- (c) the projector against the limit --------------------------------------------------------
def _logged(log: EventLog, bodies: list[bytes]) -> EventLog:
    for i in range(0, len(bodies), BULK):
        accept_lines(log, ndjson_lines(b"\n".join(bodies[i : i + BULK])))
    return log


def _project(projector: Projector) -> dict[str, Any]:
    """Until the graph holds the last event; then how much longer the audit trail took."""
    began = time.perf_counter()
    status = projector.catch_up(audit=False)
    took = time.perf_counter() - began
    projector.history_caught_up()
    lag = time.perf_counter() - began - took
    projector.stop()
    return {
        **_rate(status.projected_seq, took),
        "parked": status.parked,
        "stages_s": {k: round(v, 3) for k, v in projector.seconds.items()},
        "history_stage_s": round(projector.history.seconds, 3),
        "history_lag_s": round(lag, 3),
        "with_history_events_per_s": round(status.projected_seq / (took + lag), 1),
    }


def projector_embedded(bodies: list[bytes]) -> tuple[dict[str, Any], list[Captured]]:
    store = CapturingStore()
    with (
        scratch_dir("proj-emb") as data,
        Runtime.open(settings_for(data, projector_batch_size=BATCH), store=store) as runtime,
    ):
        _logged(runtime.log, bodies)
        result = _project(runtime.projector)
    return result, store.writes


def limit_embedded(writes: list[Captured], events: int) -> dict[str, Any]:
    with scratch_dir("limit-emb") as data, Runtime.open(settings_for(data)) as runtime:
        return _limit_embedded(runtime.store, writes, events)


def _limit_embedded(store: GraphStore, writes: list[Captured], events: int) -> dict[str, Any]:
    began = time.perf_counter()
    for nodes, edges, new_nodes, new_edges in writes:
        with store._unit_of_work() as uow:
            uow.write(nodes, edges, new_nodes, new_edges)
    took = time.perf_counter() - began
    return _rate(events, took)


def projector_neo4j(bodies: list[bytes], nodes: int) -> dict[str, Any]:
    with (
        neo4j_for(nodes) as server,
        scratch_dir("proj-neo") as data,
        Runtime.open(settings_for(data, server, projector_batch_size=BATCH)) as runtime,
    ):
        _logged(runtime.log, bodies)
        return _project(runtime.projector)


def limit_neo4j(writes: list[Captured], events: int, nodes: int) -> dict[str, Any]:
    """The same UNWIND-only write the ingest benchmark measures as its limit."""
    return limit(writes, events, nodes)


# ---- (d) intake and projector in one process ----------------------------------------------------
def service_shape(bodies: list[bytes], clients: int = 4) -> dict[str, Any]:
    with (
        scratch_dir("service") as data,
        Runtime.open(settings_for(data, projector_batch_size=BATCH)) as runtime,
    ):
        log, projector = runtime.log, runtime.projector
        projector.start()
        chunks = [b"\n".join(bodies[i : i + BULK]) for i in range(0, len(bodies), BULK)]

        def post(chunk: bytes) -> None:
            accept_lines(log, ndjson_lines(chunk))
            projector.wake()

        began = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(post, chunks))
        acknowledged = time.perf_counter() - began
        deadline = time.monotonic() + 1800
        while projector.status().lag > 0:
            if time.monotonic() > deadline:
                raise RuntimeError(f"projector did not catch up: {projector.status()}")
            time.sleep(0.01)
        took = time.perf_counter() - began
        projector.stop()
    return {
        **_rate(len(bodies), took),
        "acknowledged_s": round(acknowledged, 3),
        # woken after every request, the projector takes what is there: smaller batches
        "mean_batch": round(projector.events_projected / max(projector.batches_applied, 1), 1),
        "stages_s": {k: round(v, 3) for k, v in projector.seconds.items()},
        "history_stage_s": round(projector.history.seconds, 3),
    }


# ---- the run ------------------------------------------------------------------------------------
def _ratio(ours: dict[str, Any], base: dict[str, Any]) -> float:
    return round(ours["events_per_s"] / base["events_per_s"], 3)


def one_round(bodies: list[bytes], skip: list[str]) -> dict[str, Any]:
    """Every contender once, each next to its baseline (the machine's load drifts)."""
    n, out = len(bodies), {}
    if "per-event" not in skip:  # a commit (an fsync) per event: mostly the disk's time
        out["raw_per_event"] = raw_sqlite(bodies, 1)
        out["intake_fn_per_event"] = intake_function(bodies, 1)
        if "http" not in skip:
            out["http_per_event"] = intake_http(bodies, 1)
    out["raw_per_100"] = raw_sqlite(bodies, BULK)
    out["intake_fn_per_100"] = intake_function(bodies, BULK)
    if "http" not in skip:
        out["http_bulk_100"] = intake_http(bodies, BULK)
    if "service" not in skip:
        out["service_embedded"] = service_shape(bodies)
    if "projector" not in skip:
        out["projector_embedded"], writes = projector_embedded(bodies)
        out["limit_embedded"] = limit_embedded(writes, n)
    if "neo4j" not in skip and "projector" not in skip:
        graph_nodes = sum(len(w[2]) for w in writes)
        out["projector_neo4j"] = projector_neo4j(bodies, graph_nodes)
        out["limit_neo4j"] = limit_neo4j(writes, n, graph_nodes)
    pairs = [
        ("intake_fn_per_event", "raw_per_event"),
        ("http_per_event", "raw_per_event"),
        ("intake_fn_per_100", "raw_per_100"),
        ("http_bulk_100", "raw_per_100"),
        ("projector_embedded", "limit_embedded"),
        ("projector_neo4j", "limit_neo4j"),
        ("service_embedded", "projector_embedded"),
    ]
    out["ratios"] = {
        f"{ours} / {base}": _ratio(out[ours], out[base])
        for ours, base in pairs
        if ours in out and base in out
    }
    out["load_average_at_end"] = os.getloadavg()
    for name, value in out.items():
        print(f"  {name:24} {json.dumps(value)}", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--copies", type=int, default=100, help="corpus copies (~50 events each)")
    parser.add_argument("--generated", type=int, default=0, help="use `lkg generate` events")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=1, help="ratios: the median of the rounds")
    parser.add_argument(
        "--skip",
        nargs="*",
        default=[],
        choices=["http", "neo4j", "service", "projector", "per-event"],
        help="leave contenders out (projector: both projector phases, Neo4j's too; per-event: "
        "the commit-per-event pairs)",
    )
    parser.add_argument("--share-neo4j", action="store_true")
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    if args.share_neo4j:
        share_neo4j_between_phases()
    if args.generated:
        bodies = generated_bodies(args.generated, args.seed)
    else:
        bodies = corpus_bodies(args.copies)
    n = len(bodies)
    sizes = sorted(map(len, bodies))
    print(f"{n} events, median body {sizes[n // 2]} bytes, load {os.getloadavg()}", flush=True)
    rounds = []
    for number in range(args.rounds):
        print(f"round {number + 1}", flush=True)
        rounds.append(one_round(bodies, args.skip))
    ratios = {
        name: statistics.median(r["ratios"][name] for r in rounds) for name in rounds[0]["ratios"]
    }
    for name, value in ratios.items():
        each = ", ".join(f"{r['ratios'][name]:.3f}" for r in rounds)
        print(f"{name:44} median {value:.3f}  ({each})")
    out = {"events": n, "median_body_bytes": sizes[n // 2], "ratios": ratios, "rounds": rounds}
    print("saved", save("intake_ratio", out, args.tag))


if __name__ == "__main__":
    main()
