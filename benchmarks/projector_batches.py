"""Where the projector's time goes on Neo4j, batch by batch (issue 19, target 4).

    python -m benchmarks.projector_batches --log /work/target1-estate/10000/log --nodes 10000
    python -m benchmarks.projector_batches --log DIR --upto 1000 --plans --profile /tmp/prof
    python -m benchmarks.projector_batches --log DIR --upto 500 --warmup --rounds 2 --digest
    python -m benchmarks.projector_batches --log DIR --warmup --rounds 4 --limit

A kept estate's event log (`--log DIR`: the data dir holding `events.sqlite3`) is copied into a
data dir of its own and projected by the service's projector (`Runtime.open`), step by step,
into a Neo4j sized for `--nodes` (a fresh server; with `--warmup` or `--rounds` one server,
emptied between loads, so the JVM is warm after the first). For each step: the entries and
their bytes, the projector thread's stages (map, prepare = loads + merge, wait_write, side
tables) and CPU; for each batch the writer thread committed: the records written (new and
updated, nodes and edges), its wall and CPU time, and each statement's wall time and the
server's own (`result_available_after` + `result_consumed_after`), summed by statement, with the
commit. For the load: this process's CPU, the Neo4j JVM's CPU (/proc), and with `--digest` a
hash of every node and relationship (two loads wrote the same graph iff equal). `--plans`:
each statement's first run of 100 rows or more PROFILEd. `--profile DIR`: cProfile of the
projector's thread (the steps) and of the writer thread (the commits) apart, and Neo4j's
debug.log. `--limit`: each round also the UNWIND limit of the same records
(`ingest_throughput.limit`, the records captured from the same log projected into the embedded
store) on the same server, the order flipped each round. `baseline(rev)`/`use(...)`:
graph/store.py's merge helpers as they stood at a commit, for a "before" contender in the same
process.

The statements are wrapped, not changed: the texts are the store's own.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import types
from collections import defaultdict
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from neo4j import Transaction

from benchmarks.harness import (
    copy_log,
    neo4j_for,
    save,
    scratch_dir,
    settings_for,
    share_neo4j_between_phases,
)
from lineage_kg.graph import neo4j_unit_of_work
from lineage_kg.graph import store as store_module
from lineage_kg.graph.store import Prepared
from lineage_kg.runtime import Runtime, log_path
from tools.neo4j_server import LocalNeo4j

_local = threading.local()  # the statements timed on this thread: set by the commit wrapper


def _label(query: str) -> str:
    """A short name for a statement: its start and its end (where the kind is)."""
    return query if len(query) <= 130 else f"{query[:50]} … {query[-75:]}"


PLANS: dict[str, Any] = {}  # statement -> its first run's PROFILE (with --plans)
_plans = {"on": False}


def _plan_tree(plan: Any, depth: int = 0) -> list[str]:
    if plan is None:
        return []
    args = plan.get("args", {}) if isinstance(plan, dict) else {}
    op = plan.get("operatorType", "?")
    details = str(args.get("Details", ""))[:90]
    line = (
        f"{'  ' * depth}{op} rows={plan.get('rows')} dbHits={plan.get('dbHits')} "
        f"time={args.get('Time')} {details}"
    )
    out = [line]
    for child in plan.get("children", []):
        out += _plan_tree(child, depth + 1)
    return out


class _TimedResult:
    def __init__(self, result: Any, label: str, began: float, rows: int) -> None:
        self._result, self._label, self._began, self._rows = result, label, began, rows

    def _done(self) -> Any:
        summary = self._result.consume()
        took = time.perf_counter() - self._began
        sink = getattr(_local, "statements", None)
        if sink is not None:
            entry = sink[self._label]
            entry["n"] += 1
            entry["rows_in"] += self._rows
            entry["wall_s"] += took
            server = (summary.result_available_after or 0) + (summary.result_consumed_after or 0)
            entry["server_s"] += server / 1000
        if self._label not in PLANS and summary.profile is not None:
            PLANS[self._label] = {"rows_in": self._rows, "plan": _plan_tree(summary.profile)}
        return summary

    def consume(self) -> Any:
        return self._done()

    def __iter__(self) -> Iterator[Any]:
        yield from self._result
        self._done()

    def single(self, strict: bool = False) -> Any:
        record = self._result.single(strict=strict)
        self._done()
        return record


class _TimedTx:
    def __init__(self, tx: Any) -> None:
        self._tx = tx

    def run(self, query: str, **params: Any) -> _TimedResult:
        rows = sum(len(v) for v in params.values() if isinstance(v, list))
        label = _label(query)
        if _plans["on"] and label not in PLANS and rows >= 100:
            query = "PROFILE " + query
        began = time.perf_counter()
        return _TimedResult(self._tx.run(query, **params), label, began, rows)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)


def _new_sink() -> defaultdict[str, dict[str, float]]:
    return defaultdict(lambda: {"n": 0, "rows_in": 0, "wall_s": 0.0, "server_s": 0.0})


@contextmanager
def _timed_statements() -> Iterator[None]:
    """Every Neo4j unit of work's statements timed (on threads that set a sink)."""
    original = neo4j_unit_of_work.Neo4jUnitOfWork.__init__

    def init(self: Any, tx: Any) -> None:
        original(self, _TimedTx(tx))

    commit = Transaction.commit

    def timed_commit(self: Any) -> Any:
        began = time.perf_counter()
        try:
            return commit(self)
        finally:
            sink = getattr(_local, "statements", None)
            if sink is not None:
                sink["COMMIT"]["n"] += 1
                sink["COMMIT"]["wall_s"] += time.perf_counter() - began

    neo4j_unit_of_work.Neo4jUnitOfWork.__init__ = init  # type: ignore[method-assign]
    Transaction.commit = timed_commit  # type: ignore[method-assign]
    try:
        yield
    finally:
        neo4j_unit_of_work.Neo4jUnitOfWork.__init__ = original  # type: ignore[method-assign]
        Transaction.commit = commit  # type: ignore[method-assign]


def baseline(rev: str) -> dict[str, Any]:
    """The merge's helpers as they stood at `rev` (graph/validity.py, graph/merge.py), loaded
    as modules of their own: what `use(...)` puts in graph/store.py's hands for a "before"
    contender in the same process."""
    names: dict[str, Any] = {}
    for path, module_name in (("graph/validity.py", "validity"), ("graph/merge.py", "merge")):
        text = subprocess.run(
            ["git", "show", f"{rev}:{path}"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent.parent,
        ).stdout
        module = types.ModuleType(f"_baseline_{module_name}")
        sys.modules[module.__name__] = module  # dataclasses look their module up
        exec(compile(text, f"{rev}:{path}", "exec"), module.__dict__)
        names[module_name] = module
    return {
        "remember_all": names["validity"].remember_all,
        "settle_all": names["validity"].settle_all,
        "datasets_named": names["merge"].datasets_named,
    }


CURRENT = {
    name: getattr(store_module, name) for name in ("remember_all", "settle_all", "datasets_named")
}


def use(helpers: dict[str, Any]) -> None:
    for name, value in helpers.items():
        setattr(store_module, name, value)


def _server_cpu(server: Any) -> float:
    """CPU seconds the server's process has used (0.0 if not a local one)."""
    proc = getattr(server, "_proc", None)
    if proc is None:
        return 0.0
    fields = Path(f"/proc/{proc.pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_threads(server: Any) -> dict[str, float]:
    """CPU seconds of the server's threads by name (/proc's 15-character `comm`, trailing digits
    and `#` dropped so a pool's threads add up: `GC Thread`, `neo4j.BoltWork`, `C2 CompilerThre`):
    where the JVM's CPU goes between Cypher (the Bolt workers), the collector, the JIT and Neo4j's
    own background jobs (checkpoints, index population). Empty if not a local server."""
    proc = getattr(server, "_proc", None)
    if proc is None:
        return {}
    tick = os.sysconf("SC_CLK_TCK")
    found: defaultdict[str, float] = defaultdict(float)
    for task in Path(f"/proc/{proc.pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rpartition(")")[2].split()
        except OSError:  # the thread ended meanwhile
            continue
        group = name.rstrip("0123456789#- ")  # a pool's threads: `GC Thread#0`, `#1`
        found[group] += (int(fields[11]) + int(fields[12])) / tick
    return dict(found)


def _threads_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    moved = {k: round(v - before.get(k, 0.0), 2) for k, v in after.items()}
    return dict(sorted(((k, v) for k, v in moved.items() if v >= 0.05), key=lambda kv: -kv[1]))


_JFR: dict[str, Any] = {
    "dir": None,
    "n": 0,
}  # --jfr DIR: each load's Flight Recording as DIR/loadN.jfr


def _jfr(server: Any, action: str) -> Path | None:
    """Start (`action` "start") or stop and dump ("stop") a Java Flight Recording of the server's
    JVM with jcmd, the `profile` settings (method samples every 10-20 ms, allocations, GC)."""
    proc, where = getattr(server, "_proc", None), _JFR["dir"]
    if proc is None or where is None:
        return None
    jcmd = shutil.which("jcmd") or "jcmd"
    if action == "start":
        _JFR["n"] += 1
        subprocess.run(
            [jcmd, str(proc.pid), "JFR.start", "name=lkg", "settings=profile"],
            check=True,
            capture_output=True,
        )
        return None
    path = Path(where) / f"load{_JFR['n']}.jfr"
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [jcmd, str(proc.pid), "JFR.stop", "name=lkg", f"filename={path}"],
        check=True,
        capture_output=True,
    )
    return path


_DROP_LOOKUP: dict[str, str | None] = {"entity": None}  # --drop-lookup NODE|RELATIONSHIP


def _drop_lookup(server: Any) -> None:
    """Drop the token lookup index of one entity type (a schema proposal measured without
    changing the store's schema: session 31). Neo4j keeps it by default; the store never makes
    or drops it, and `_empty` keeps lookup indexes, so once dropped it stays dropped."""
    entity = _DROP_LOOKUP["entity"]
    if entity is None:
        return
    with server.driver() as driver:
        rows = driver.execute_query(
            "SHOW INDEXES YIELD name, type, entityType WHERE type = 'LOOKUP' "
            "AND entityType = $entity RETURN name",
            entity=entity,
        ).records
        for row in rows:
            quoted = "`" + row["name"].replace("`", "``") + "`"
            driver.execute_query(f"DROP INDEX {quoted}")  # type: ignore[arg-type]


def graph_digest(server: Any) -> dict[str, Any]:
    """Every node (labels, properties) and relationship (ends, type, properties) the server
    holds, hashed in key order: two loads wrote the same graph iff the digests are equal."""
    nodes, edges = hashlib.sha256(), hashlib.sha256()
    with server.driver() as driver, driver.session() as session:
        rows = session.run(
            "MATCH (n) RETURN coalesce(n.key, n.name) AS k, labels(n) AS l, properties(n) AS p"
        )
        listed = sorted(json.dumps([r["k"], sorted(r["l"]), r["p"]], sort_keys=True) for r in rows)
        for line in listed:
            nodes.update(line.encode())
        rows = session.run(
            "MATCH (a)-[r]->(b) RETURN a.key AS a, type(r) AS t, b.key AS b, properties(r) AS p"
        )
        rels = sorted(json.dumps([r["a"], r["t"], r["b"], r["p"]], sort_keys=True) for r in rows)
        for line in rels:
            edges.update(line.encode())
    return {
        "nodes": len(listed),
        "edges": len(rels),
        "nodes_sha256": nodes.hexdigest(),
        "edges_sha256": edges.hexdigest(),
    }


def _entry_bytes(db: Path) -> list[tuple[int, int]]:
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as c:
        return c.execute("SELECT seq, length(body) FROM events ORDER BY seq").fetchall()


def project(  # noqa: PLR0915 - one measured load, its wrappers beside it
    log_dir: Path,
    nodes: int,
    *,
    upto: int | None,
    batch: int,
    profile: Path | None,
    cache: bool = True,
    digest_graph: bool = False,
) -> dict[str, Any]:
    sizes = dict(_entry_bytes(log_path(settings_for(log_dir))))
    commits: list[dict[str, Any]] = []
    writer_prof = cProfile.Profile() if profile else None
    main_prof = cProfile.Profile() if profile else None
    with (
        neo4j_for(nodes) as server,
        scratch_dir("projbatches") as data,
        _timed_statements(),
    ):
        settings = settings_for(
            data, server, projector_batch_size=batch, **({} if cache else {"record_cache": 0})
        )
        copy_log(settings_for(log_dir), settings)
        with Runtime.open(settings) as runtime:
            store, projector = runtime.store, runtime.projector
            assert store.name == "neo4j"
            _drop_lookup(server)
            original_commit = store.commit

            def commit(prepared: Prepared, checkpoint: int | None = None, **kw: Any) -> Any:
                _local.statements = sink = _new_sink()
                began, cpu = time.perf_counter(), time.thread_time()
                if writer_prof is not None:
                    writer_prof.enable()
                try:
                    return original_commit(prepared, checkpoint, **kw)
                finally:
                    if writer_prof is not None:
                        writer_prof.disable()
                    commits.append(
                        {
                            "checkpoint": checkpoint,
                            "wall_s": round(time.perf_counter() - began, 3),
                            "cpu_s": round(time.thread_time() - cpu, 3),
                            "nodes": len(prepared.nodes),
                            "new_nodes": len(prepared.new_nodes),
                            "edges": len(prepared.edges),
                            "new_edges": len(prepared.edges.keys() & prepared.new_edges),
                            "statements": {
                                k: {m: round(v, 3) for m, v in e.items()} for k, e in sink.items()
                            },
                        }
                    )
                    _local.statements = None

            store.commit = commit  # type: ignore[method-assign]
            steps: list[dict[str, Any]] = []
            server_cpu = _server_cpu(server)
            threads_before = server_threads(server)
            _jfr(server, "start")
            process_cpu = time.process_time()
            began = time.perf_counter()
            last = runtime.log.last_seq() if upto is None else upto
            _local.statements = None
            while True:
                at = projector._inflight.last if projector._inflight else (projector._position or 0)
                if at >= last:
                    break
                before = dict(projector.seconds)
                _local.statements = reads = _new_sink()
                t0, cpu = time.perf_counter(), time.thread_time()
                if main_prof is not None:
                    main_prof.enable()
                moved = projector.step()
                if main_prof is not None:
                    main_prof.disable()
                _local.statements = None
                after_at = (
                    projector._inflight.last if projector._inflight else (projector._position or 0)
                )
                steps.append(
                    {
                        "upto": after_at,
                        "entries": moved,
                        "bytes": sum(sizes.get(s, 0) for s in range(at + 1, after_at + 1)),
                        "wall_s": round(time.perf_counter() - t0, 3),
                        "cpu_s": round(time.thread_time() - cpu, 3),
                        "at_s": round(time.perf_counter() - began, 1),
                        **{k: round(projector.seconds[k] - before[k], 3) for k in before},
                        "reads": {
                            k: {m: round(v, 3) for m, v in e.items()} for k, e in reads.items()
                        },
                    }
                )
                print(
                    f"step to {after_at}: {steps[-1]['wall_s']} s "
                    f"(map {steps[-1]['map']}, prepare {steps[-1]['prepare']}, "
                    f"wait {steps[-1]['wait_write']}, side {steps[-1]['side']})",
                    flush=True,
                )
                if moved == 0:
                    break
            t0 = time.perf_counter()
            projector._land()
            tail = time.perf_counter() - t0
            took = time.perf_counter() - began
            process_cpu = time.process_time() - process_cpu
            server_cpu = _server_cpu(server) - server_cpu
            threads = _threads_delta(threads_before, server_threads(server))
            recording = _jfr(server, "stop")
            history_s = projector.history.seconds
            stats = store.stats()
            digest = graph_digest(server) if digest_graph else None
            if isinstance(server, LocalNeo4j) and server.data_dir is not None:
                debug = server.data_dir / "logs" / "debug.log"
                if debug.is_file() and profile is not None:
                    profile.mkdir(parents=True, exist_ok=True)
                    shutil.copy(debug, profile / "neo4j_debug.log")
            cache_stats = None
            if projector.records is not None:
                r = projector.records
                cache_stats = {
                    "hits": r.hits,
                    "misses": r.misses,
                    "surely_absent": r.surely_absent,
                    "clears": r.clears,
                }
    if profile is not None:
        profile.mkdir(parents=True, exist_ok=True)
        assert main_prof is not None and writer_prof is not None
        main_prof.dump_stats(profile / "projector_thread.prof")
        writer_prof.dump_stats(profile / "writer_thread.prof")
    return {
        "seconds": round(took, 1),
        "process_cpu_s": round(process_cpu, 1),  # every thread of this process
        "server_cpu_s": round(server_cpu, 1),  # Neo4j's JVM (utime + stime)
        "server_threads_s": threads,  # the same by thread name
        "jfr": None if recording is None else str(recording),
        "history_stage_s": round(history_s, 1),
        "last_land_s": round(tail, 3),
        "node_count": stats.node_count,
        "edge_count": stats.edge_count,
        "cache": cache_stats,
        "graph": digest,
        "steps": steps,
        "commits": commits,
    }


def captured(log_dir: Path, batch: int) -> list[Any]:
    """The records each projector batch writes, captured from the same log projected into the
    embedded store (what `benchmarks.ingest_throughput.limit` then writes straight to Neo4j)."""
    from benchmarks.ingest_throughput import CapturingStore

    store = CapturingStore()
    with scratch_dir("capture") as data:
        settings = settings_for(data, projector_batch_size=batch)
        copy_log(settings_for(log_dir), settings)
        with Runtime.open(settings, store=store) as runtime:
            runtime.catch_up()
    return store.writes


def _brief(result: dict[str, Any]) -> dict[str, Any]:
    steps, commits = result["steps"], result["commits"]
    return {
        "seconds": result["seconds"],
        "process_cpu_s": result["process_cpu_s"],
        "server_cpu_s": result["server_cpu_s"],
        "server_threads_s": dict(list(result["server_threads_s"].items())[:8]),
        "jfr": result["jfr"],
        "commits": len(commits),
        "records": sum(c["nodes"] + c["edges"] for c in commits),
        "map_s": round(sum(s["map"] for s in steps), 1),
        "prepare_s": round(sum(s["prepare"] for s in steps), 1),
        "wait_write_s": round(sum(s["wait_write"] for s in steps), 1),
        "commit_wall_s": round(sum(c["wall_s"] for c in commits), 1),
        "graph": result["graph"],
        "load": os.getloadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--log", type=Path, required=True, help="data dir with events.sqlite3")
    parser.add_argument("--nodes", type=int, default=100_000, help="sizes the Neo4j server")
    parser.add_argument("--upto", type=int, help="stop once this seq is handed to the writer")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--profile", type=Path)
    parser.add_argument("--no-cache", action="store_true")
    parser.add_argument("--tag", default="")
    parser.add_argument("--out", type=Path, default=Path("/tmp/projbatches"))
    parser.add_argument(
        "--rounds", type=int, default=1, help="loads in a row, on one server emptied between"
    )
    parser.add_argument("--warmup", action="store_true", help="a first load, not counted")

    parser.add_argument(
        "--limit",
        action="store_true",
        help="each round also the UNWIND limit of the same records on the same server "
        "(benchmarks.ingest_throughput.limit), order flipped each round",
    )
    parser.add_argument("--digest", action="store_true", help="hash the whole graph at the end")
    parser.add_argument("--plans", action="store_true", help="PROFILE each statement's first run")
    parser.add_argument(
        "--jfr", type=Path, help="a Java Flight Recording of the server per load: DIR/loadN.jfr"
    )
    parser.add_argument(
        "--drop-lookup",
        choices=["NODE", "RELATIONSHIP"],
        help="drop that token lookup index before each load (measures a schema proposal)",
    )
    args = parser.parse_args()
    _plans["on"] = args.plans
    _JFR["dir"] = args.jfr
    _DROP_LOOKUP["entity"] = args.drop_lookup
    if args.rounds > 1 or args.warmup:
        share_neo4j_between_phases()  # the JVM stays warm from one load to the next

    def phase() -> dict[str, Any]:
        return project(
            args.log,
            args.nodes,
            upto=args.upto,
            batch=args.batch,
            profile=args.profile,
            cache=not args.no_cache,
            digest_graph=args.digest,
        )

    if args.warmup:
        print("warm-up", json.dumps(_brief(phase())), flush=True)
    writes = captured(args.log, args.batch) if args.limit else []
    rounds: list[dict[str, Any]] = []
    for r in range(args.rounds):
        this: dict[str, Any] = {}
        for name in ("projector", "limit") if r % 2 == 0 else ("limit", "projector"):
            if name == "projector":
                this[name] = phase()
                print(f"round {r + 1} projector", json.dumps(_brief(this[name])), flush=True)

            elif args.limit:
                from benchmarks.ingest_throughput import limit

                this[name] = limit(writes, len(writes), args.nodes)
                this[name]["load"] = os.getloadavg()
                print(f"round {r + 1} limit", json.dumps(this[name]), flush=True)
        if args.limit:
            this["ratio"] = round(this["limit"]["seconds"] / this["projector"]["seconds"], 3)
            print(f"round {r + 1} ratio limit/projector {this['ratio']}", flush=True)
        rounds.append(this)
    for label, plan in PLANS.items():
        print(label, plan["rows_in"], *plan["plan"], sep="\n  ")
    out = {"log": str(args.log), "plans": PLANS, "rounds": rounds}
    print(save("projector_batches", out, args.tag, args.out))


if __name__ == "__main__":
    main()
