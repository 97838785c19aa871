"""Marquez's own lineage query against lineage-kg's, on the same estate and starts (issue 19,
target 5: peers in the benchmark).

What a Marquez user runs for `GET /api/v1/lineage?nodeId=dataset:NS:NAME&depth=D` is, in
LineageService.lineage, two statements of marquez.db.LineageDao: `getJobFromInputOrOutput` (the
dataset's producer, else a reader: one job) and `getLineage` (a recursive CTE: the jobs within D
job-to-job hops of it, two jobs being one hop apart when they share a dataset, read or written;
with each job's inputs and outputs). Both are run here verbatim, as in
MarquezProject/marquez api/src/main/java/marquez/db/LineageDao.java at commit
a89b89cad27f87c90dd964c40dae8dfb3f64031f (0.51.1; the statements last changed in 39ddd655,
2024-10-17), on a throwaway PostgreSQL 15 holding Marquez's tables as its Flyway migrations
leave them (api/src/main/resources/marquez/db/migration, V1 to V74 and the R__ views, same
commit: columns, keys, indexes and the two views these statements read; left out: the sources
table and the jobs_view rewrite trigger, which neither statement touches). Marquez's code is
Apache-2.0; the two statements are quoted as they are in LineageDao, with JDBI's placeholders
(`<jobIds>` a bound list, `:depth` a bound value) turned into psycopg's, never formatted in.

The estate's job -> dataset graph (`lkg generate --nodes N --seed 7`, built by the service's code
into the embedded store, `benchmarks.harness.built`) is loaded as Marquez holds it: one
namespace per namespace, a dataset (with its primary symlink) per Dataset node, a job with one
current version per Job node, and one `job_versions_io_mapping` row (current version) per
current INPUT_TO / PRODUCES edge between them.

Contenders, each start asked of each in each round, interleaved (the order rotates by round):

- `marquez_sql`: the two statements, the node set being the jobs returned and every dataset in
  their inputs and outputs (as LineageService builds its graph);
- `lkg_lineage`: lineage-kg's answer to the same request (queries/marquez.py `lineage`: the same
  definition, from every job touching the dataset at hop 0), direct, on the embedded store;
- `lkg_impact`: lineage-kg's `impact()` of the dataset (depth 10), direct, on the embedded store;
- with `--neo4j`, `cypher_lineage`: the graph `lkg_lineage` answers, as one Cypher statement (a
  quantified path pattern over INPUT_TO / PRODUCES either way) on the same log projected into
  Neo4j: what a user of Neo4j would write by hand; it must give `lkg_lineage`'s node set.

What is compared (checked before any time counts, every round):
- `marquez_sql` against lineage-kg's lineage from the job Marquez resolved the dataset to
  (`lineage(job:…)`, the same definition from the same job): equal node sets (jobs and datasets,
  as Marquez node ids), or the run fails;
- `marquez_sql` against `lkg_lineage`: Marquez starts from one job, lineage-kg from all the jobs
  touching the dataset, so Marquez's set is contained in lineage-kg's and equal once the depth
  covers the component; the run counts the starts where they are equal and fails if Marquez's is
  not contained;
- `lkg_impact`: a different question (downstream of the dataset's columns, through column
  lineage, to models and decisions too), so only its Job and Dataset nodes (a Column counted as
  its dataset) are set against Marquez's graph: how many, and how many of them Marquez's graph
  holds (all, unless impact went by an edge that is not a job's input or output, e.g. a rename).

    python -m benchmarks.marquez_lineage --nodes 10000 100000 --starts 30 --rounds 3

Needs PostgreSQL's server binaries (initdb, pg_ctl, postgres: Debian's postgresql-15) and psycopg
(`pip install -e '.[bench]'`). As root, the server runs as the `postgres` user (initdb refuses
root).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import pwd
import random
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import neo4j
from neo4j import Query

from benchmarks.harness import RESULTS, built, estate, in_turn, percentiles, save
from benchmarks.marquez_sql import (
    GET_JOB_FROM_INPUT_OR_OUTPUT,
    GET_LINEAGE,
    SCHEMA,
    jdbi_to_psycopg,
)
from benchmarks.query_latency import workload
from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.naming import dataset_key
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.impact import impact
from lineage_kg.queries.marquez import dataset_node_id, job_node_id, lineage

MARQUEZ_DEPTH = 20  # LineageResource's default depth (queries/marquez.py DEFAULT_DEPTH)
IMPACT_DEPTH = 10  # the impact benchmarks' depth


# ---- a throwaway PostgreSQL ---------------------------------------------------------------------


def postgres_bin() -> Path:
    """The directory of PostgreSQL's server binaries (initdb, pg_ctl, postgres): PATH first, then
    Debian's /usr/lib/postgresql/<version>/bin, newest first."""
    found = shutil.which("initdb")
    candidates = [Path(found).resolve().parent] if found else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for d in candidates:
        if all((d / tool).exists() for tool in ("initdb", "pg_ctl", "postgres")):
            return d
    raise RuntimeError(
        "PostgreSQL's server binaries (initdb, pg_ctl, postgres) are not on PATH nor in "
        "/usr/lib/postgresql/*/bin: install Debian's postgresql-15 (apt-get install postgresql-15)"
    )


class LocalPostgres:
    """A PostgreSQL initdb'd into a temp dir, listening on a unix socket in that dir only (no TCP
    port), trust auth, user `postgres`; stopped and removed on exit (and at interpreter exit, if
    an exception skipped that). As root, the server runs as the `postgres` OS user."""

    def __init__(self) -> None:
        self.bin = postgres_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="lkg-bench-pg-"))
        self.data = self.dir / "data"
        self.user: str | None = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("as root, PostgreSQL needs an OS user `postgres`") from None
            self.user = "postgres"
            shutil.chown(self.dir, "postgres", "postgres")
        self.version = ""
        self._started = False

    def _run(self, *args: str) -> str:
        done = subprocess.run(args, user=self.user, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def __enter__(self) -> Self:
        try:
            self._run(
                str(self.bin / "initdb"),
                *("-D", str(self.data), "-U", "postgres", "--auth=trust"),
                *("-E", "UTF8", "--locale=C", "--no-sync"),
            )
            options = f"-k {self.dir} -c listen_addresses='' -c port=5432"
            self._run(
                str(self.bin / "pg_ctl"),
                *("-D", str(self.data), "-o", options, "-l", str(self.dir / "log"), "-w"),
                "start",
            )
            self._started = True
            atexit.register(self.stop)
            self.version = self._run(str(self.bin / "postgres"), "--version").strip()
        except BaseException:
            self.stop()
            raise
        return self

    def connect(self, **kwargs: Any) -> Any:
        import psycopg

        return psycopg.connect(host=str(self.dir), user="postgres", dbname="postgres", **kwargs)

    def stop(self) -> None:
        if self._started:
            self._started = False
            with contextlib.suppress(RuntimeError):
                self._run(
                    str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"
                )
        shutil.rmtree(self.dir, ignore_errors=True)

    def __exit__(self, *exc: object) -> None:
        self.stop()


def require_psycopg() -> None:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise RuntimeError(
            "psycopg is not installed: pip install -e '.[bench]' (PostgreSQL's driver, for "
            "benchmarks/marquez_lineage.py)"
        ) from None


# ---- the estate's job -> dataset graph, as Marquez holds it -------------------------------------


@dataclass(frozen=True)
class JobGraph:
    """The store's Dataset and Job nodes and the current job inputs / outputs between them."""

    datasets: list[NodeKey]
    jobs: list[NodeKey]
    io: list[tuple[NodeKey, NodeKey, str]]  # (job, dataset, INPUT | OUTPUT)

    @classmethod
    def of(cls, store: GraphStore) -> JobGraph:
        datasets, jobs, io = [], [], []
        for node in store.iter_nodes():
            if node.key.kind is NodeKind.DATASET:
                datasets.append(node.key)
            elif node.key.kind is NodeKind.JOB:
                jobs.append(node.key)
        for e in store.iter_edges():
            k = e.key
            if e.valid_to is not None:
                continue
            if k.kind is EdgeKind.INPUT_TO and (k.src.kind, k.dst.kind) == (
                NodeKind.DATASET,
                NodeKind.JOB,
            ):
                io.append((k.dst, k.src, "INPUT"))
            elif k.kind is EdgeKind.PRODUCES and (k.src.kind, k.dst.kind) == (
                NodeKind.JOB,
                NodeKind.DATASET,
            ):
                io.append((k.src, k.dst, "OUTPUT"))
        return cls(datasets, jobs, sorted(set(io)))


def uuid_of(key: NodeKey) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, key.id)


def load_marquez(conn: Any, graph: JobGraph) -> dict[str, int]:
    """Marquez's tables made and filled (COPY) from `graph`, then ANALYZEd: one namespace per
    namespace, a dataset and its primary symlink per Dataset, a job and its one (current)
    version per Job, one current `job_versions_io_mapping` row per input or output."""
    now = datetime.now(UTC)
    naive = now.replace(tzinfo=None)
    names = sorted({k.parts[0] for k in (*graph.datasets, *graph.jobs)})
    ns = {n: uuid.uuid5(uuid.NAMESPACE_DNS, n) for n in names}
    ver = {j: uuid.uuid5(uuid.NAMESPACE_OID, j.id) for j in graph.jobs}
    ds, jobs = graph.datasets, graph.jobs
    tables: dict[str, tuple[str, Iterable[Sequence[Any]]]] = {
        "namespaces": ("uuid created_at updated_at name", ((ns[n], now, now, n) for n in names)),
        "datasets": (
            "uuid type created_at updated_at namespace_uuid name physical_name namespace_name",
            ((uuid_of(d), "DB_TABLE", now, now, ns[d.parts[0]], d.parts[1], d.parts[1], d.parts[0])
             for d in ds),
        ),
        "dataset_symlinks": (
            "dataset_uuid name namespace_uuid type is_primary created_at updated_at",
            ((uuid_of(d), d.parts[1], ns[d.parts[0]], "DEFAULT", True, naive, naive) for d in ds),
        ),
        "jobs": (
            "uuid type created_at updated_at namespace_uuid simple_name current_version_uuid "
            "namespace_name name",
            ((uuid_of(j), "BATCH", now, now, ns[j.parts[0]], j.parts[1], ver[j], j.parts[0],
              j.parts[1]) for j in jobs),
        ),
        "job_versions": (
            "uuid created_at updated_at job_uuid version namespace_uuid namespace_name job_name",
            ((ver[j], now, now, uuid_of(j), ver[j], ns[j.parts[0]], j.parts[0], j.parts[1])
             for j in jobs),
        ),
        "job_versions_io_mapping": (
            "job_version_uuid dataset_uuid io_type job_uuid is_current_job_version made_current_at",
            ((ver[j], uuid_of(d), t, uuid_of(j), True, naive) for j, d, t in graph.io),
        ),
    }  # fmt: skip
    with conn.cursor() as cur:
        cur.execute(SCHEMA)
        for table, (columns, rows) in tables.items():
            # names from this module only, never from data
            with cur.copy(f"COPY {table} ({', '.join(columns.split())}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        cur.execute("ANALYZE")
    conn.commit()
    return {
        "namespaces": len(names),
        "datasets": len(ds),
        "jobs": len(jobs),
        "io_rows": len(graph.io),
    }


# ---- the contenders -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """A lineage graph's nodes as Marquez node ids, and the job it started from (Marquez's)."""

    nodes: frozenset[str]
    job: str | None = None


class Marquez:
    """Marquez's two statements over one connection (psycopg prepares them server-side after a
    few runs, as PgJDBC does for Marquez)."""

    def __init__(self, conn: Any, graph: JobGraph, depth: int) -> None:
        self.conn, self.depth = conn, depth
        self.ids = {uuid_of(k): dataset_node_id(k) for k in graph.datasets}
        self.ids |= {uuid_of(k): job_node_id(k) for k in graph.jobs}
        self.find_job = jdbi_to_psycopg(GET_JOB_FROM_INPUT_OR_OUTPUT, {})
        self.get_lineage = jdbi_to_psycopg(GET_LINEAGE, {"jobIds": 1})

    def __call__(self, dataset: NodeKey) -> Answer:
        with self.conn.cursor() as cur:
            cur.execute(
                self.find_job, {"datasetName": dataset.parts[1], "namespaceName": dataset.parts[0]}
            )
            row = cur.fetchone()
            if row is None:  # an orphan dataset: Marquez answers with it alone
                return Answer(frozenset({dataset_node_id(dataset)}))
            cur.execute(self.get_lineage, {"jobIds_0": row[0], "depth": self.depth})
            names = [c.name for c in cur.description]
            at = names.index("uuid"), names.index("input_uuids"), names.index("output_uuids")
            nodes = set()
            for r in cur.fetchall():
                nodes.add(self.ids[r[at[0]]])
                nodes.update(self.ids[u] for u in (*(r[at[1]] or ()), *(r[at[2]] or ())))
        self.conn.rollback()  # end the read transaction, as an autocommitting JDBI handle does
        return Answer(frozenset(nodes), self.ids[row[0]])


def lkg_lineage(store: GraphStore, node_id: str, depth: int) -> Answer:
    graph = lineage(store, node_id, depth, max_nodes=10**7)
    if graph.truncated:
        raise AssertionError(f"lineage-kg's lineage of {node_id} stopped at its node bound")
    return Answer(frozenset(n["id"] for n in graph.nodes))


def impact_nodes(store: GraphStore, dataset: NodeKey, depth: int) -> Answer:
    """impact()'s Job and Dataset nodes (a Column as its dataset), as Marquez node ids."""
    out = set()
    for item in impact(store, dataset.id, depth=depth).items:
        key = item.node.key
        if key.kind is NodeKind.JOB:
            out.add(job_node_id(key))
        elif key.kind in (NodeKind.DATASET, NodeKind.COLUMN):
            out.add(dataset_node_id(dataset_key(key.parts[0], key.parts[1])))
    return Answer(frozenset(out))


def dataset_starts(manifest: dict[str, Any], starts: int, seed: int) -> list[NodeKey]:
    """The datasets of the impact benchmarks' start columns (raw and lattice), each once."""
    load = workload(manifest["samples"], starts * 4, random.Random(seed))
    columns = load["impact_raw_column"] + load["impact_lattice_column"]
    keys = [NodeKey.from_id(c) for c in columns]
    return list(dict.fromkeys(dataset_key(k.parts[0], k.parts[1]) for k in keys))[:starts]


def cypher_lineage(session: Any, depth: int) -> Callable[[NodeKey], Answer]:
    """Marquez's graph as lineage-kg defines it from a dataset, in one Cypher statement: current
    INPUT_TO / PRODUCES edges either way, the store being bipartite there (Dataset -> Job ->
    Dataset), so jobs within `depth` job hops lie within 2 * depth + 1 edges and their datasets
    within one more; the planner walks it breadth-first, each node once (a pruning expand)."""
    query = Query(
        "MATCH (s:Node {key: $key}) "  # type: ignore[arg-type]
        "MATCH (s) ((a)-[r:INPUT_TO|PRODUCES]-(b) WHERE r.valid_to IS NULL)"
        f"{{0,{2 * int(depth) + 2}}} (n) RETURN collect(DISTINCT n.key) AS keys",
        timeout=300,
    )

    def ask(dataset: NodeKey) -> Answer:
        row = session.run(query, key=dataset.id).single()
        keys = [NodeKey.from_id(k) for k in (row["keys"] if row else [dataset.id])]
        ids = (job_node_id(k) if k.kind is NodeKind.JOB else dataset_node_id(k) for k in keys)
        return Answer(frozenset(ids))

    return ask


def one_size(
    nodes: int, seed: int, starts: int, rounds: int, depth: int, *, with_neo4j: bool = False
) -> dict[str, Any]:
    require_psycopg()
    out: dict[str, Any] = {"load_average_before": os.getloadavg()}
    with (
        estate(nodes, seed, "marquez") as est,
        built(est, "embedded") as b,
        LocalPostgres() as pg,
        pg.connect() as conn,
        ExitStack() as stack,
    ):
        more: dict[str, Callable[[NodeKey], Answer]] = {}
        if with_neo4j:  # the same log projected into Neo4j by the service's code
            on_neo4j = stack.enter_context(built(est, "neo4j"))
            out |= on_neo4j.figures
            conf = on_neo4j.runtime.settings
            auth = (conf.neo4j_user, conf.neo4j_password.get_secret_value())
            quiet = neo4j.GraphDatabase.driver(
                conf.neo4j_uri, auth=auth, notifications_min_severity="OFF"
            )
            session = stack.enter_context(stack.enter_context(quiet).session())
            more["cypher_lineage"] = cypher_lineage(session, depth)
        store = b.runtime.store
        out |= b.figures | {"postgres": pg.version}
        graph = JobGraph.of(store)
        began = time.perf_counter()
        out["marquez_tables"] = load_marquez(conn, graph)
        out["marquez_load_s"] = round(time.perf_counter() - began, 2)
        marquez = Marquez(conn, graph, depth)
        keys = dataset_starts(est.manifest, starts, seed)
        out |= measure(store, marquez, keys, rounds, depth, more=more)
    out["load_average_after"] = os.getloadavg()
    return out


def measure(
    store: GraphStore,
    marquez: Marquez,
    keys: list[NodeKey],
    rounds: int,
    depth: int,
    *,
    more: dict[str, Callable[[NodeKey], Answer]],
) -> dict[str, Any]:
    """Each start asked of each contender in each round, interleaved; answers checked (see the
    module's docstring) on every round. `more`: contenders that must give `lkg_lineage`'s set."""
    contenders: dict[str, Callable[[NodeKey], Answer]] = {
        "marquez_sql": marquez,
        "lkg_lineage": lambda k: lkg_lineage(store, dataset_node_id(k), depth),
        "lkg_impact": lambda k: impact_nodes(store, k, IMPACT_DEPTH),
        **more,
    }
    for key in keys[:10]:  # warm up: PostgreSQL's plans and caches, psycopg's prepared statements
        for ask in contenders.values():
            ask(key)
    took: dict[str, list[float]] = {name: [] for name in contenders}
    equal_to_lkg = 0
    sizes: list[dict[str, int]] = []
    for r in range(rounds):
        for key in keys:
            order = in_turn(contenders, r)
            got: dict[str, Answer] = {}
            for name, ask in order:
                began = time.perf_counter()
                got[name] = ask(key)
                took[name].append(time.perf_counter() - began)
            sizes.append(compare(store, key, got, depth) if r == 0 else {})
            equal_to_lkg += got["marquez_sql"].nodes == got["lkg_lineage"].nodes
            for name in more:
                if got[name].nodes != got["lkg_lineage"].nodes:
                    raise AssertionError(f"{name}: a different graph from {key.id}")
    firsts = [s for s in sizes if s]
    result: dict[str, Any] = {name: percentiles(t) for name, t in took.items()}
    result |= {
        "starts": len(keys),
        "rounds": rounds,
        "depth": depth,
        "impact_depth": IMPACT_DEPTH,
        "marquez_equal_to_lkg_lineage_from_its_job": len(firsts),  # else compare() raised
        "marquez_equal_to_lkg_lineage_from_dataset": equal_to_lkg,
        "answers": len(keys) * rounds,
        "per_start": firsts,
    }
    for field in ("marquez_nodes", "lkg_lineage_nodes", "impact_nodes", "impact_in_marquez"):
        values = sorted(s[field] for s in firsts)
        result[f"{field}_median"] = values[len(values) // 2]
    for name in contenders:
        print(f"  {name}: p50 {result[name]['p50_ms']:.2f} ms, p95 {result[name]['p95_ms']:.2f} ms")
    print(
        f"  Marquez = lineage-kg's lineage from Marquez's job at every start; = from the dataset: "
        f"{equal_to_lkg} of {result['answers']}; nodes median: Marquez "
        f"{result['marquez_nodes_median']}, impact {result['impact_nodes_median']} (in Marquez's "
        f"graph {result['impact_in_marquez_median']})",
        flush=True,
    )
    return result


def compare(
    store: GraphStore, start: NodeKey, got: dict[str, Answer], depth: int
) -> dict[str, int]:
    """The checks of the module's docstring for one start (AssertionError when one fails), and
    the sizes of the sets compared."""
    mq = got["marquez_sql"]
    if mq.job is not None:
        same_job = lkg_lineage(store, mq.job, depth)
        if same_job.nodes != mq.nodes:
            extra, missing = sorted(mq.nodes - same_job.nodes), sorted(same_job.nodes - mq.nodes)
            raise AssertionError(
                f"{start.id}: Marquez's graph from {mq.job} differs from lineage-kg's: "
                f"{len(extra)} only in Marquez's {extra[:3]}, {len(missing)} only in "
                f"lineage-kg's {missing[:3]}"
            )
    lkg = got["lkg_lineage"]
    if not mq.nodes <= lkg.nodes:
        raise AssertionError(f"{start.id}: Marquez's graph is not within lineage-kg's lineage")
    imp = got["lkg_impact"].nodes
    return {
        "marquez_nodes": len(mq.nodes),
        "lkg_lineage_nodes": len(lkg.nodes),
        "impact_nodes": len(imp),
        "impact_in_marquez": len(imp & mq.nodes),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--starts", type=int, default=30, help="dataset starts per size")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--depth", type=int, default=MARQUEZ_DEPTH, help="lineage depth (jobs)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON results go")
    parser.add_argument(
        "--neo4j", action="store_true", help="and the same graph as one Cypher statement (Neo4j)"
    )
    args = parser.parse_args()
    sizes = {
        str(n): one_size(n, args.seed, args.starts, args.rounds, args.depth, with_neo4j=args.neo4j)
        for n in args.nodes
    }
    tag = "_".join(map(str, args.nodes))
    print("saved", save("marquez_lineage", {"sizes": sizes}, tag=tag, out=args.out))


if __name__ == "__main__":
    main()
