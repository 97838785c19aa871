"""What every benchmark shares: a generated estate built into each store, a Neo4j sized for the
graph, `lkg serve` as a real subprocess, contenders timed in interleaved rounds with their answers
checked the same, percentiles, peak memory, code as it was at a commit (the baselines), and one
JSON file of results per run (docs/benchmarks.md is written from those files by
`benchmarks.report`)."""

from __future__ import annotations

import argparse
import atexit
import dataclasses
import functools
import json
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from contextlib import ExitStack, closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any, Self, TypeVar

import httpx
import neo4j

from benchmarks.synthetic.write import generate
from lineage_kg.graph.mutations import MutationBatch
from lineage_kg.graph.store import GraphStore
from lineage_kg.runtime import Runtime, log_path
from lineage_kg.settings import Settings
from tools.jvm_launcher import free_port
from tools.neo4j_server import LocalNeo4j

RESULTS = Path(__file__).parent / "results"
# a server already running (the test session's, for the CI smokes): "<bolt uri> <user> <password>"
EXTERNAL_NEO4J = "LKG_BENCH_NEO4J"
LKG = Path(sys.executable).with_name("lkg")


# More for every sized server of a benchmark process and its children (session 31, trying server
# settings without a code change): JVM options separated by spaces, and Neo4j settings as
# space-separated name=value pairs (`db.tx_state.memory_allocation=OFF_HEAP`).
SIZED_JVM = "LKG_BENCH_NEO4J_JVM"
SIZED_SETTINGS = "LKG_BENCH_NEO4J_SETTINGS"


def _sized_neo4j(nodes: int, **options: Any) -> LocalNeo4j:
    """A Neo4j with heap and page cache to match the graph: the tests' 512 MiB heap and 128 MiB
    page cache hold a 10k-node graph, not a million (~1 KiB of store files per node with its
    edges, measured). `options`: more of LocalNeo4j's (`tools.neo4j_server.apoc_options()`);
    `LKG_BENCH_NEO4J_JVM` / `LKG_BENCH_NEO4J_SETTINGS` add JVM options and Neo4j settings."""
    heap_mb = 1024 if nodes <= 20_000 else 4096
    pagecache_mb = max(256, min(8192, nodes // 1000 * 4))
    extra_jvm = tuple(os.environ.get(SIZED_JVM, "").split())
    # The throughput collector, unless the caller names one: on 2 cores a warm 100k load cost
    # the server 44.8 s of CPU with it against 57.4 s with G1 (GC threads 8.2 against 12.9 s;
    # G1's old cycles were started by the transaction state's humongous arrays; session 31,
    # docs/bench-notes/target4-projector.md). A loading server, not a latency-bound one.
    collector = (
        ()
        if any(o.endswith("GC") and o.startswith("-XX:+Use") for o in extra_jvm)
        else ("-XX:+UseParallelGC",)
    )
    settings = dict(
        pair.split("=", 1) for pair in os.environ.get(SIZED_SETTINGS, "").split() if "=" in pair
    )
    settings.update(options.pop("settings", None) or {})
    return LocalNeo4j(
        jvm_options=(
            f"-Xms{heap_mb}m",
            f"-Xmx{heap_mb}m",
            "-XX:+ExitOnOutOfMemoryError",
            *collector,
            *extra_jvm,
        ),
        pagecache_mb=pagecache_mb,
        settings=settings,
        **options,
    )


@dataclasses.dataclass(frozen=True)
class ExternalNeo4j:
    """A server someone else runs: phases use it emptied, and never stop it."""

    uri: str
    user: str
    password: str

    def driver(self, **config: Any) -> neo4j.Driver:
        return neo4j.GraphDatabase.driver(self.uri, auth=(self.user, self.password), **config)


Neo4jServer = LocalNeo4j | ExternalNeo4j


def _external_neo4j() -> ExternalNeo4j | None:
    given = os.environ.get(EXTERNAL_NEO4J, "").split(" ")
    return ExternalNeo4j(*given) if len(given) == 3 else None


def settings_for(data_dir: Path, server: Neo4jServer | None = None, **changes: Any) -> Settings:
    """What a benchmark's `Runtime` opens the service's parts from (the composition root, as the
    service does): its data dir, the server's store (the embedded one without a server), and no
    start-up snapshot, so that a rebuild measured is the whole log replayed."""
    store: dict[str, Any] = {"neo4j_uri": None}
    if server is not None:
        store = {
            "neo4j_uri": server.uri,
            "neo4j_user": server.user,
            "neo4j_password": server.password,
        }
    return Settings(data_dir=data_dir, snapshot=False, **store, **changes)


@contextmanager
def kept_runtime(kept: Path, uri: str | None = None) -> Iterator[Runtime]:
    """A runtime on a kept estate's Neo4j (`accountability_walk --keep`'s DIR/<nodes>: files/,
    log, neo4j/, neo4j-db/): the server at `uri` already holding it, else one started here on its
    data dir (nobody else may have it open), sized by the manifest's node count. Reads may take
    600 s: a cold server's first walk took over 30 s."""
    manifest = json.loads((kept / "files" / "manifest.json").read_text())
    with ExitStack() as stack:
        server: Neo4jServer
        if uri is not None:
            server = ExternalNeo4j(uri, "neo4j", "lineage-kg-test")
        else:
            local = _sized_neo4j(manifest["target_nodes"])
            local.data_dir = kept / "neo4j-db"
            server = stack.enter_context(local)
        settings = settings_for(kept / "neo4j", server, neo4j_query_timeout=600)
        yield stack.enter_context(Runtime.open(settings))


def copy_log(source: Settings, target: Settings) -> None:
    """The event log of `source` into `target`'s data dir (SQLite's online backup: a proper copy
    even of a log still open), for two runtimes that project one log each into their store."""
    target.data_dir.mkdir(parents=True, exist_ok=True)
    with (
        closing(sqlite3.connect(log_path(source))) as src,
        closing(sqlite3.connect(log_path(target))) as dst,
    ):
        src.backup(dst)


def make_schema(server: Neo4jServer) -> None:
    """The store's constraints and indexes on a server, made as the service makes them (the
    Runtime opening its store), for the baselines that then write with a driver of their own."""
    with scratch_dir("schema") as data, Runtime.open(settings_for(data, server)) as runtime:
        assert runtime.store.name == "neo4j"  # opening it made the schema


class _Sharing:
    """Whether phases share a server, and the servers shared (one per graph size)."""

    enabled = False
    servers: dict[int, LocalNeo4j] = {}  # noqa: RUF012 - one process-wide registry

    @classmethod
    def stop_all(cls) -> None:
        for server in cls.servers.values():
            server.stop()


def share_neo4j_between_phases() -> None:
    """Let every phase of this process use one server, emptied between phases. For the CI smoke
    runs, where a server start (8 to 25 s) costs more than the phase it serves; a measured run
    keeps a fresh server per phase, so no contender inherits another's warm JVM and page cache."""
    _Sharing.enabled = True
    atexit.register(_Sharing.stop_all)


@contextmanager
def neo4j_for(nodes: int, **options: Any) -> Iterator[Neo4jServer]:
    """A server for one phase: a fresh one, or the shared one emptied (data and schema): the
    process's own, or the one `LKG_BENCH_NEO4J` names (a smoke run beside the tests, which saves a
    JVM start and its warm-up on a loaded machine). `options` (LocalNeo4j's, e.g. APOC's): always
    a fresh server of its own."""
    if not options and (external := _external_neo4j()) is not None:
        _empty(external)
        yield external
        return
    if not _Sharing.enabled or options:
        with _sized_neo4j(nodes, **options) as server:
            yield server
        return
    server = _Sharing.servers.get(nodes)
    if server is None:
        server = _Sharing.servers[nodes] = _sized_neo4j(nodes)
        server.start()
    else:
        _empty(server)
    yield server


def _empty(server: Neo4jServer) -> None:
    with server.driver() as driver, driver.session() as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS")
        # schema names come from the server itself; DROP takes no parameter for a name
        for kind in ("CONSTRAINT", "INDEX"):
            rows = session.run(f"SHOW {kind}ES" if kind == "INDEX" else "SHOW CONSTRAINTS")
            names = [r["name"] for r in rows if r.get("type") != "LOOKUP"]
            for name in names:
                quoted = "`" + name.replace("`", "``") + "`"
                session.run(f"DROP {kind} {quoted} IF EXISTS")  # type: ignore[arg-type]


class Service:
    """`lkg serve` on a free port with its own data dir; the benchmark talks HTTP to it."""

    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.data_dir, self.env = data_dir, env
        self.port = free_port()
        self.proc: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        env = {
            **os.environ,
            "LKG_DATA_DIR": str(self.data_dir),
            "LKG_AUTH": "off",
            "LKG_RATE_LIMIT": "off",
            "LKG_LOG_LEVEL": "warning",
            **self.env,
        }
        self.proc = subprocess.Popen(
            [str(LKG), "serve", "--port", str(self.port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._drain, daemon=True).start()
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("lkg serve exited:\n" + "".join(self.output[-50:]))
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError("lkg serve not ready in 300 s:\n" + "".join(self.output[-50:]))

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)

    def rss_mb(self) -> float:
        """Resident memory of the service process now."""
        assert self.proc is not None
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        line = next(x for x in status.splitlines() if x.startswith("VmRSS:"))
        return int(line.split()[1]) / 1024

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"lkg-bench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def empty_store() -> GraphStore:
    """An empty embedded store, as the composition root opens one (no Neo4j, an empty log)."""
    with scratch_dir("empty-store") as empty, Runtime.open(settings_for(empty)) as runtime:
        return runtime.store  # closing an embedded store releases nothing


def log_batches(log: Path, size: int) -> list[MutationBatch]:
    """The entries of the log in data dir `log`, mapped by the service's mappers and merged
    `size` entries a batch, as the projector hands them to `GraphStore.apply`."""
    from lineage_kg.ingest.sources import default_mappers

    with scratch_dir("log-batches") as data:
        settings = settings_for(data)
        copy_log(settings_for(log), settings)
        with Runtime.open(settings) as runtime:
            entries = runtime.log.read(0, 10_000_000)
    mappers = default_mappers()
    mapped = [mappers[e.source](e) for e in entries]
    batches = []
    for at in range(0, len(mapped), size):
        batch = MutationBatch()
        for one in mapped[at : at + size]:
            batch.extend(one.mutations)
            batch.confined.update(one.confined)
        batches.append(batch)
    return batches


def percentiles(seconds: list[float]) -> dict[str, float]:
    """p50/p95/p99/max in milliseconds (nearest rank)."""
    ordered = sorted(seconds)

    def rank(q: float) -> float:
        return 1000 * ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]

    return {
        "n": len(ordered),
        "p50_ms": rank(0.50),
        "p95_ms": rank(0.95),
        "p99_ms": rank(0.99),
        "max_ms": 1000 * ordered[-1],
        "mean_ms": 1000 * statistics.fmean(ordered),
    }


def peak_rss_mb() -> float:
    """This process's peak resident memory (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": os.getloadavg(),
    }


def save(name: str, result: dict[str, Any], tag: str = "", out: Path = RESULTS) -> Path:
    """Write one run's results, with the machine, the date and the command that produced them."""
    out.mkdir(parents=True, exist_ok=True)
    result = {
        "benchmark": name,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python", "-m", f"benchmarks.{name}", *sys.argv[1:]]),
        "machine": machine(),
        **result,
    }
    path = out / (f"{name}_{tag}.json" if tag else f"{name}.json")
    path.write_text(json.dumps(result, indent=2, sort_keys=False) + "\n")
    return path


# ---- an estate, built into each store --------------------------------------------------------

STORES = ("embedded", "neo4j")


@dataclasses.dataclass(frozen=True)
class Estate:
    """`lkg generate`'s files of one size, appended once to an event log that each store is then
    built from (`built`)."""

    nodes: int  # the size asked of the generator
    manifest: dict[str, Any]  # its samples name the questions' starts
    work: Path
    log: Settings  # the data dir holding the event log


@contextmanager
def estate(nodes: int, seed: int, prefix: str) -> Iterator[Estate]:
    """A scratch dir with the generated files and their event log (the intake and the syncs
    append them, as the service does), removed afterwards."""
    from benchmarks.query_latency import build_log  # lazily: it imports this module

    with scratch_dir(f"{prefix}{nodes}") as work:
        files = work / "files"
        manifest = generate(files, nodes, seed)
        logged = settings_for(work / "log")
        with Runtime.open(logged) as runtime:
            build_log(files, runtime.log)
        yield Estate(nodes, manifest, work, logged)


@dataclasses.dataclass(frozen=True)
class Built:
    runtime: Runtime
    figures: dict[str, Any]  # the store's node count and its projection's seconds


@contextmanager
def built(estate: Estate, store: str, **changes: Any) -> Iterator[Built]:
    """`estate`'s log copied into a data dir of its own and projected into `store` by the
    service's code: the embedded store by `rebuild_embedded` (the graph frozen out of the
    collector, as the service keeps it), Neo4j (a server for this phase, `neo4j_for`) by the
    projector; no event may be parked. `changes`: other settings (`settings_for`). Figures:
    `nodes` (the store's count) and `<store>_projection_s`."""
    if store not in STORES:
        raise ValueError(f"store must be one of {STORES}, not {store!r}")
    with ExitStack() as stack:
        server = stack.enter_context(neo4j_for(estate.nodes)) if store == "neo4j" else None
        settings = settings_for(estate.work / store, server, **changes)
        copy_log(estate.log, settings)
        runtime = stack.enter_context(Runtime.open(settings))
        began = time.perf_counter()
        status = runtime.catch_up() if server is not None else runtime.rebuild_embedded()
        took = time.perf_counter() - began
        assert status is not None  # None only for a store not embedded, which catch_up builds
        if status.parked:
            raise RuntimeError(f"{store}: {status.parked} events parked")
        figures = {
            "nodes": runtime.store.stats().node_count,
            f"{store}_projection_s": round(took, 1),
        }
        yield Built(runtime, figures)


def sizes_command(
    name: str,
    doc: str | None,
    one_size: Callable[[int, int, int, list[str]], dict[str, Any]],
    *,
    stores: Sequence[str] = STORES,
) -> None:
    """The command line of a benchmark run per estate size and store: `one_size(nodes, seed,
    rounds, stores)` for each of `--nodes`, the results saved as `<name>_<sizes>_<stores>.json`
    (`--out`). `stores`: those run unless `--stores` names others."""
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--stores", nargs="+", choices=STORES, default=list(stores))
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON results go")
    args = parser.parse_args()
    sizes = {str(n): one_size(n, args.seed, args.rounds, args.stores) for n in args.nodes}
    tag = "_".join(map(str, args.nodes)) + "_" + "_".join(args.stores)
    print("saved", save(name, {"sizes": sizes}, tag=tag, out=args.out))


# ---- contenders against each other, the same answers -----------------------------------------


T = TypeVar("T")


def in_turn(contenders: Mapping[str, T], r: int) -> list[tuple[str, T]]:
    """The contenders in round `r`'s order: interleaved, each round starting one further on, so
    that no contender always runs first (after another's work warmed or loaded the machine)."""
    order = list(contenders.items())
    return order[r % len(order) :] + order[: r % len(order)]


def timed_rounds(
    contenders: Mapping[str, Callable[[], Any]],
    rounds: int,
    *,
    same: Callable[[Any], Any] = lambda answer: answer,
    cpu: bool = False,
) -> tuple[dict[str, Any], Any]:
    """`contenders` timed against each other: each called once to warm up (Neo4j's plan cache,
    the JIT of a JVM just started), then once a round, in turn (`in_turn`: each round starting one
    further on) — interleaved, so a change in the machine's load falls on all of them alike. Every
    answer, as `same` puts it, is checked equal to the first contender's warm-up answer
    (`check_same`) before its time counts.

    Returns the figures — per contender the wall seconds' median (the p50), p95 (nearest rank),
    min, max and every run (`cpu`: the process's CPU seconds too, the wall time on a loaded
    machine being mostly waiting), and the load average before and after the rounds — and the
    first contender's answer."""
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    names = list(contenders)
    answer = contenders[names[0]]()
    expected = same(answer)
    for name in names[1:]:
        check_same(name, same(contenders[name]()), expected)
    wall: dict[str, list[float]] = {name: [] for name in names}
    spent: dict[str, list[float]] = {name: [] for name in names}
    load_before = os.getloadavg()
    for r in range(rounds):
        for name, ask in in_turn(contenders, r):
            began, began_cpu = time.perf_counter(), time.process_time()
            got = ask()
            wall[name].append(time.perf_counter() - began)
            spent[name].append(time.process_time() - began_cpu)
            check_same(name, same(got), expected)
    figures: dict[str, Any] = {
        name: seconds(wall[name]) | ({"cpu": seconds(spent[name])} if cpu else {}) for name in names
    }
    return figures | {"load_average": [load_before, os.getloadavg()]}, answer


def seconds(runs: list[float]) -> dict[str, Any]:
    """Timed runs in seconds: the median (the p50), p95 (nearest rank), min, max, and the runs."""
    return {
        "median_s": round(statistics.median(runs), 3),
        "p95_s": round(percentiles(runs)["p95_ms"] / 1000, 3),
        "min_s": round(min(runs), 3),
        "max_s": round(max(runs), 3),
        "runs_s": [round(x, 3) for x in runs],
    }


def check_same(name: str, got: Any, expected: Any) -> None:
    """Raise AssertionError naming where `name`'s answer first differs from `expected` (raised,
    not asserted: it holds under `python -O` too)."""
    where = first_difference(got, expected)
    if where is not None:
        raise AssertionError(f"{name}: a different answer, first at {where}")


def first_difference(got: Any, expected: Any, at: str = "answer") -> str | None:
    """Where `got` first differs from `expected`, as a path into them (`answer[3].node: …`),
    None when they are equal: mappings key by key (sorted), sequences item by item, dataclasses
    field by field, sets by what one holds and the other lacks."""
    if got == expected:
        return None
    if isinstance(got, Mapping) and isinstance(expected, Mapping):
        for key in sorted(got.keys() | expected.keys(), key=repr):
            if key not in expected:
                return f"{at}[{key!r}]: not expected (got {_short(got[key])})"
            if key not in got:
                return f"{at}[{key!r}]: missing (expected {_short(expected[key])})"
            if (found := first_difference(got[key], expected[key], f"{at}[{key!r}]")) is not None:
                return found
    elif isinstance(got, list | tuple) and isinstance(expected, list | tuple):
        for i, (a, b) in enumerate(zip(got, expected, strict=False)):
            if (found := first_difference(a, b, f"{at}[{i}]")) is not None:
                return found
        if len(got) != len(expected):
            return f"{at}: {len(got)} items, expected {len(expected)}"
    elif isinstance(got, AbstractSet) and isinstance(expected, AbstractSet):
        extra, missing = sorted(got - expected, key=repr), sorted(expected - got, key=repr)
        return (
            f"{at}: {len(extra)} not expected {_short(extra[:3])}, "
            f"{len(missing)} missing {_short(missing[:3])}"
        )
    elif _is_record(got) and _is_record(expected):
        for field in dataclasses.fields(expected):
            mine = getattr(got, field.name, "<no such field>")
            theirs = getattr(expected, field.name)
            if (found := first_difference(mine, theirs, f"{at}.{field.name}")) is not None:
                return found
    # the parts agree, the wholes do not (e.g. a list and a tuple, two types): say so whole
    return f"{at}: {_short(got)} != {_short(expected)}"


def _is_record(x: Any) -> bool:
    return dataclasses.is_dataclass(x) and not isinstance(x, type)


def _short(x: Any, width: int = 160) -> str:
    text = repr(x)
    return text if len(text) <= width else text[: width - 3] + "..."


# ---- the baselines: code as it was -----------------------------------------------------------


@functools.cache
def module_at(commit: str, path: str, root: Path | None = None) -> ModuleType:
    """The module at `path` (from the root of the repository `root`, this one by default) as it
    was at `commit`, read with `git show` and loaded beside today's code (its imports are
    today's modules): a benchmark's baseline kept by git instead of as a copy. Needs a checkout
    holding `commit` (not a shallow clone), so no test's reference may come from here."""
    root = root or Path(__file__).resolve().parent.parent
    try:
        source = subprocess.run(
            ["git", "-C", str(root), "show", f"{commit}:{path}"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        why = getattr(exc, "stderr", None) or exc
        raise RuntimeError(
            f"{path} at {commit} could not be read from git ({str(why).strip()}): the baseline "
            "needs a git checkout holding that commit (a shallow clone: git fetch --unshallow)"
        ) from exc
    module = ModuleType(f"benchmarks._at_{commit[:12]}_{Path(path).stem}")
    module.__file__ = f"{commit}:{path}"
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"{path}@{commit}", "exec"), module.__dict__)
    return module
