"""Intake and projection lag with API replicas on a Kafka log, against the single-process default
(issue 21; docs/decisions/0004-kafka-as-the-log.md). One run, loopback, the same load for every
case:

    python -m benchmarks.replicas                      # 2,000 corpus events, 4 clients
    python -m benchmarks.replicas --events 10000
    python -m benchmarks.replicas --smoke              # tiny, embedded store (tests/benchmarks)

The load: real-shaped OpenLineage events — every valid event of the shared corpus, copied with
fresh run ids and job/dataset names (`benchmarks.intake_ratio.corpus_bodies`, as the intake
benchmark sends them) — posted by `--clients` threads over HTTP, one event per request
(`POST /api/v1/lineage`, as openlineage-python's HttpTransport sends) or `--bulk` per request,
spread round-robin over the case's replicas. Before a case's clock starts, `--prime` requests
go through it and are seen projected (the first batch after a start waits seconds on Neo4j
planning the projector's statements: a start-up cost, not lag); before the first case, a
`--warmup` case warms Neo4j's JVM. Cases, each on a fresh data dir, a fresh topic and
the one Neo4j emptied between cases:

- **single**: the default — one `lkg serve`, the SQLite log, its projector writing Neo4j;
- **kafka_1**: `LKG_LOG=kafka://…`, one replica (201 after the broker's ack and the local copy);
- **kafka_3**: three replicas on one topic. With `LKG_PROJECTOR` (on|off|group) in the settings:
  one `on`, two `off`, all on the shared Neo4j — one graph written once. Without it: each
  replica projects its own embedded graph (the result says which: `projection`).

Figures per case: acknowledged (2xx) events/s from the first request to the last 201; the
request latency (p50/p95); the projection lag — from the last 201 until the graph's checkpoint
reached the log's end; per-event lag (p50/p95/max), from each event's 201 to the first poll of
the projecting replica's `ingestStatus` that shows its checkpoint past the event's sequence
number (read afterwards from that replica's local log: one partition gives every copy the same
order), so the resolution is the poll interval (`--poll`, 50 ms); and the CPU seconds each
process spent (services, Neo4j's JVM, Kafka's JVM, this client), which says where a 2-core
machine's time went.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import os
import resource
import sqlite3
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, closing, contextmanager, nullcontext
from dataclasses import dataclass, field
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
    share_neo4j_between_phases,
)
from benchmarks.intake_ratio import corpus_bodies, corpus_events
from lineage_kg.ingest.intake import to_new_event
from lineage_kg.settings import Settings
from tools.kafka_server import LocalKafka
from tools.neo4j_server import LocalNeo4j

CASES = ("single", "kafka_1", "kafka_3")
STATUS = {"query": "{ ingestStatus { logSeq projectedSeq lag parked } }"}
TICK = os.sysconf("SC_CLK_TCK")


def projector_setting() -> bool:
    """Whether the service has LKG_PROJECTOR (on|off|group): one graph for many replicas."""
    return "projector" in Settings.model_fields


# ---- the load -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Load:
    requests: list[bytes]  # each one request's body
    ids: list[list[str]]  # the event ids each request carries (the local log's event_id)
    bulk: int

    @property
    def events(self) -> int:
        return sum(map(len, self.ids))

    def split(self, requests: int) -> tuple[Load, Load]:
        """The first `requests` requests, and the rest."""
        return (
            Load(self.requests[:requests], self.ids[:requests], self.bulk),
            Load(self.requests[requests:], self.ids[requests:], self.bulk),
        )


def make_load(events: int, bulk: int) -> Load:
    copies = -(-events // len(corpus_events()))
    bodies = corpus_bodies(copies)[:events]
    ids = [to_new_event(json.loads(b)).event_id for b in bodies]
    if len(set(ids)) != len(ids):
        raise RuntimeError("the load repeats an event: every one must be new")
    chunks = range(0, len(bodies), bulk)
    if bulk == 1:
        return Load(bodies, [[i] for i in ids], 1)
    requests = [b"\n".join(bodies[i : i + bulk]) for i in chunks]
    return Load(requests, [ids[i : i + bulk] for i in chunks], bulk)


# ---- processes' CPU --------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (its waited-for children included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return sum(int(x) for x in fields[11:15]) / TICK


def _pid(process: Any) -> int | None:
    # the launchers keep their JVM's Popen private; the benchmark only reads its CPU time
    proc = getattr(process, "_proc", None) or getattr(process, "proc", None)
    return proc.pid if proc is not None and proc.poll() is None else None


class CpuMeter:
    """CPU seconds spent by named processes (and this one) between `start` and `stop`."""

    def __init__(self, processes: dict[str, Any]) -> None:
        self.processes = processes
        self.before: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        now = {"client": usage.ru_utime + usage.ru_stime}
        for name, process in self.processes.items():
            if (pid := _pid(process)) is not None:
                now[name] = cpu_seconds(pid)
        return now

    def start(self) -> None:
        self.before = self._now()

    def stop(self) -> dict[str, float]:
        after = self._now()
        return {k: round(after[k] - self.before.get(k, 0.0), 1) for k in after}


# ---- one case ----------------------------------------------------------------------------------
@dataclass
class Poller:
    """Samples each projecting replica's checkpoint (`projectedSeq`) every `interval` s."""

    urls: list[str]
    interval: float
    samples: dict[str, list[tuple[float, int, int]]] = field(default_factory=dict)
    parked: dict[str, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(timeout=30) as http:
            while not self._stop.is_set():
                for url in self.urls:
                    status = http.post(f"{url}/graphql", json=STATUS).json()["data"]["ingestStatus"]
                    sample = (time.perf_counter(), status["logSeq"], status["projectedSeq"])
                    self.samples.setdefault(url, []).append(sample)
                    self.parked[url] = status["parked"]
                self._stop.wait(self.interval)

    def caught_up(self, events: int) -> bool:
        """Every projecting replica's log holds `events` and its graph reflects all of it."""
        last = [self.samples.get(u, [])[-1:] for u in self.urls]
        return all(s and s[0][1] >= events and s[0][2] >= s[0][1] for s in last)

    def first_at(self, url: str, seq: int) -> float | None:
        """When the replica's checkpoint was first seen at or past `seq`."""
        samples = self.samples[url]
        i = bisect.bisect_left([p for _, _, p in samples], seq)
        return samples[i][0] if i < len(samples) else None

    def stop(self) -> None:
        self._stop.set()


def seqs_by_id(data_dir: Path) -> dict[str, int]:
    with closing(sqlite3.connect(f"file:{data_dir / 'events.sqlite3'}?mode=ro", uri=True)) as db:
        return dict(db.execute("SELECT event_id, seq FROM events"))


def drive(
    load: Load,
    services: Sequence[Service],
    *,
    projecting: Sequence[Service],
    clients: int,
    poll: float,
    meter: CpuMeter,
    before: int = 0,
    bound_s: float = 1800,
) -> dict[str, Any]:
    """The load over `services` (round-robin per request) from `clients` threads, then wait
    until every projecting replica's graph reflects it (and the `before` events logged before
    it); the figures."""
    poller = Poller([s.url for s in projecting], poll)
    acks: list[tuple[float, int]] = []  # (time of the 2xx, request index)
    latency: list[float] = []
    failed: list[str] = []
    turn = itertools.count()
    local = threading.local()

    def post(index: int) -> None:
        http = getattr(local, "http", None)
        if http is None:
            http = local.http = httpx.Client(timeout=120)
        service = services[next(turn) % len(services)]
        bulk = load.bulk > 1
        path = "/api/v1/lineage/bulk" if bulk else "/api/v1/lineage"
        ctype = "application/x-ndjson" if bulk else "application/json"
        sent = time.perf_counter()
        answer = http.post(
            service.url + path, content=load.requests[index], headers={"Content-Type": ctype}
        )
        done = time.perf_counter()
        if answer.status_code // 100 != 2 or (bulk and answer.json()["rejected"]):
            failed.append(f"{answer.status_code} {answer.text[:200]}")
            return
        acks.append((done, index))
        latency.append(done - sent)

    poll_thread = threading.Thread(target=poller.run, daemon=True)
    poll_thread.start()
    meter.start()
    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(post, range(len(load.requests))))
    last_ack = max(t for t, _ in acks) if acks else time.perf_counter()
    if failed:
        poller.stop()
        raise RuntimeError(f"{len(failed)} requests not acknowledged, e.g. {failed[:3]}")
    deadline = time.monotonic() + bound_s
    while not poller.caught_up(before + load.events):
        if time.monotonic() > deadline or not poll_thread.is_alive():
            raise RuntimeError(f"not projected in {bound_s:.0f} s: {poller.samples}")
        time.sleep(poll / 2)
    caught_up = time.perf_counter()
    cpu = meter.stop()
    poller.stop()
    poll_thread.join(10)
    # per event: its 201 to the first sample showing it projected (on every projecting replica)
    per_event: list[float] = []
    seqs = {s.url: seqs_by_id(s.data_dir) for s in projecting}
    for acked, index in acks:
        for event_id in load.ids[index]:
            seen = [poller.first_at(u, seqs[u][event_id]) for u in seqs]
            if any(t is None for t in seen):
                raise RuntimeError(f"event {event_id} never seen projected")
            per_event.append(max(0.0, max(t for t in seen if t is not None) - acked))
    lag = percentiles(per_event)
    intake_s = last_ack - began
    return {
        "events": load.events,
        "requests": len(load.requests),
        "intake_s": round(intake_s, 2),
        "intake_events_per_s": round(load.events / intake_s, 1),
        "request_p50_ms": round(percentiles(latency)["p50_ms"], 1),
        "request_p95_ms": round(percentiles(latency)["p95_ms"], 1),
        "projection_lag_s": round(caught_up - last_ack, 2),
        "event_lag_p50_ms": round(lag["p50_ms"]),
        "event_lag_p95_ms": round(lag["p95_ms"]),
        "event_lag_max_ms": round(lag["max_ms"]),
        "end_to_end_s": round(caught_up - began, 2),
        "end_to_end_events_per_s": round(load.events / (caught_up - began), 1),
        "polls": sum(map(len, poller.samples.values())),
        "parked": max(poller.parked.values()),
        "cpu_s": cpu,
        "load_average_after": [round(x, 1) for x in os.getloadavg()],
        # (seconds since the first request, logSeq, projectedSeq), at most ~60 per replica
        "timeline": {
            f"service{i}": [
                [round(t - began, 2), log_seq, projected]
                for t, log_seq, projected in samples[:: max(1, len(samples) // 60)]
            ]
            for i, samples in enumerate(poller.samples.values())
        },
    }


def _store_env(server: LocalNeo4j | None) -> dict[str, str]:
    if server is None:
        return {"NEO4J_URI": ""}
    return {"NEO4J_URI": server.uri, "NEO4J_USER": server.user, "NEO4J_PASSWORD": server.password}


@contextmanager
def started(specs: Sequence[tuple[Path, dict[str, str]]]) -> Iterator[list[Service]]:
    """`lkg serve` for each (data dir, env), stopped afterwards: the first alone (it makes the
    store's schema: replicas making it at once on an empty Neo4j can fail with
    EquivalentSchemaRuleAlreadyExists, seen at start here), then the others side by side (each
    start is seconds of mostly waiting)."""
    with ExitStack() as stack:
        services = [Service(d, env) for d, env in specs]
        stack.enter_context(services[0])
        if len(services) > 1:
            with ThreadPoolExecutor(len(services) - 1) as pool:
                list(pool.map(stack.enter_context, services[1:]))
        yield services


def run_case(
    case: str,
    load: Load,
    args: argparse.Namespace,
    kafka: LocalKafka | None,
    server_for: Callable[[], Any],
) -> dict[str, Any]:
    with server_for() as server, scratch_dir(f"replicas-{case}") as work:
        store = _store_env(server)
        processes: dict[str, Any] = {"neo4j": server} if server is not None else {}
        topic = ""
        if kafka is not None and case != "single":
            processes["kafka"] = kafka
            topic = f"kafka://{kafka.bootstrap_servers}/lkg-bench-{uuid.uuid4().hex[:8]}"
        projection = "own graph" if server is None else "one graph"
        if case == "single":
            specs = [(work / "a", store)]
        elif case == "kafka_1":
            specs = [(work / "a", {**store, "LKG_LOG": topic})]
        elif server is not None and projector_setting():
            roles = ("on", "off", "off")
            specs = [
                (work / f"r{i}", {**store, "LKG_LOG": topic, "LKG_PROJECTOR": role})
                for i, role in enumerate(roles)
            ]
            projection = "one graph: LKG_PROJECTOR=on, off, off"
        else:
            # before LKG_PROJECTOR: each replica writes a graph of its own (embedded)
            specs = [(work / f"r{i}", {"NEO4J_URI": "", "LKG_LOG": topic}) for i in range(3)]
            projection = "each replica its own embedded graph"
        with started(specs) as services:
            for i, s in enumerate(services):
                processes[f"service{i}"] = s
            projecting = services if projection.startswith("each") else services[:1]
            # a few events through every replica first, projected before the clock starts: the
            # first batch after a start waits on Neo4j planning the projector's statements
            primer, measured = load.split(args.prime)
            if primer.requests:
                drive(
                    primer,
                    services,
                    projecting=projecting,
                    clients=1,
                    poll=args.poll,
                    meter=CpuMeter({}),
                )
            meter = CpuMeter(processes)
            figures = drive(
                measured,
                services,
                projecting=projecting,
                clients=args.clients,
                poll=args.poll,
                meter=meter,
                before=primer.events,
            )
        return {
            "replicas": len(specs),
            "projection": projection,
            "primed_with": primer.events,
            **figures,
        }


def code_state() -> dict[str, Any]:
    """The commit measured, and the service's files that differed from it (a shared tree)."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    changed = git("status", "--porcelain", "--", "graph", "ingest", "queries", "api", "service")
    return {"commit": git("rev-parse", "HEAD"), "uncommitted": changed.splitlines()}


# ---- the command ----------------------------------------------------------------------------
def table(cases: dict[str, dict[str, Any]]) -> str:
    columns = (
        ("case", None),
        ("replicas", "replicas"),
        ("events/s (2xx)", "intake_events_per_s"),
        ("req p50 ms", "request_p50_ms"),
        ("req p95 ms", "request_p95_ms"),
        ("lag after last 201 s", "projection_lag_s"),
        ("event lag p50 ms", "event_lag_p50_ms"),
        ("event lag p95 ms", "event_lag_p95_ms"),
        ("end-to-end events/s", "end_to_end_events_per_s"),
    )
    lines = ["| " + " | ".join(c for c, _ in columns) + " |", "|" + "---|" * len(columns)]
    for name, r in cases.items():
        cells = [name] + [str(r[k]) for _, k in columns[1:]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=2_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--bulk", type=int, default=1, help="events per request (1: single POST)")
    parser.add_argument("--poll", type=float, default=0.05, help="seconds between status polls")
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument(
        "--prime",
        type=int,
        default=20,
        help="requests each case sends and sees projected before its clock starts (not counted)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=200,
        help="events through the first case before the measured ones, not reported (Neo4j's "
        "JIT and caches warm for every case alike)",
    )
    parser.add_argument(
        "--store", choices=("neo4j", "embedded"), default="neo4j", help="embedded: no Neo4j"
    )
    parser.add_argument(
        "--smoke", action="store_true", help="60 events, 2 clients, embedded store (a CI check)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON results go")
    args = parser.parse_args(argv)
    if args.smoke:
        args.events, args.clients, args.store = min(args.events, 60), 2, "embedded"
        args.warmup, args.prime = 0, 5

    load = make_load(args.events + args.prime * args.bulk, args.bulk)
    print(f"{args.events} events (+{args.prime} requests to prime), {args.clients} clients")
    share_neo4j_between_phases()  # one server for the run, emptied between cases

    def server_for() -> Any:
        return neo4j_for(max(10_000, 10 * args.events)) if args.store == "neo4j" else nullcontext()

    result: dict[str, Any] = {
        "events": args.events,
        "prime_requests": args.prime,
        "clients": args.clients,
        "bulk": args.bulk,
        "store": args.store,
        "projector_setting": projector_setting(),
        # (the harness's machine() reads the load when the results are saved, at the end)
        "load_average_before": [round(x, 1) for x in os.getloadavg()],
        **code_state(),
        "cases": {},
    }
    needs_kafka = any(c != "single" for c in args.cases)
    with LocalKafka() if needs_kafka else nullcontext() as kafka:
        if args.warmup:
            warm_load = make_load(args.warmup + args.prime * args.bulk, args.bulk)
            warm = run_case(args.cases[0], warm_load, args, kafka, server_for)
            print("warm-up", args.cases[0], warm["end_to_end_s"], "s", flush=True)
        for case in args.cases:
            result["cases"][case] = run_case(case, load, args, kafka, server_for)
            print(case, result["cases"][case], flush=True)
    result["load_average_at_end"] = os.getloadavg()
    print(table(result["cases"]))
    tag = f"{args.events}_{args.store}"
    tag += f"_c{args.clients}" if args.clients != 4 and not args.smoke else ""
    tag += f"_bulk{args.bulk}" if args.bulk > 1 else ""
    tag += "_smoke" if args.smoke else ""
    print("saved", save("replicas", result, tag=tag, out=args.out))


if __name__ == "__main__":
    main()
