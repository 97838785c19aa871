"""Impact on Neo4j, the walk read ahead in one statement against the ways one could walk instead,
in the same run, on the same estate and starts (issue 19, target 1):

- lineage-kg's direct `impact()` on Neo4j, its walk read ahead in one statement (`reach`);
- the same `impact()` walking level by level, one round trip per level (the read-ahead off:
  how it walked before);
- one Cypher statement, a quantified path pattern over the flow kinds that a column's change
  follows in these estates, returning the node set (what a user would write by hand; it carries
  no certainty, no paths, no owners).

    python -m benchmarks.walk_contenders --nodes 10000 --starts 50 --rounds 3
    python -m benchmarks.walk_contenders --nodes 10000 100000 --embedded --trace --accountability

`--embedded`: the same log rebuilt into the embedded store (as `lkg serve` builds it), and two
more impact contenders interleaved with the others: its direct `impact()` (answers checked equal
to Neo4j's) and a numpy CSR BFS of the same edges confined to impact's node set
(benchmarks/embedded_walk.py's, checked equal). `--trace`: decision traces of the generator's
root-cause decisions on each store, interleaved, answers checked equal. `--accountability`: the
largest team's map on each store, `--rounds` times, answers checked equal. `--apoc`: one more
impact contender on Neo4j, APOC Core's `apoc.path.subgraphNodes` over the same relationship types
and directions (the server started with APOC: tools/neo4j_server.py `apoc_options`, fetched once
from Maven Central); it cannot test edge properties or the node an edge leaves from (current
edges only, PRODUCES without authoritative column lineage, HAS_VERSION from a Dataset only), so
the run counts the starts where its node set differs from the walk's.

Every start is asked of each contender in each round, the contenders interleaved; the two
lineage-kg walks must give the same answers (nodes, distances, certainty, paths), and the
statement the walk's node set, or the run says how many differ.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import subprocess
import sys
import time
import types
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
from neo4j import Query

from benchmarks.embedded_walk import DEPTH as CSR_DEPTH
from benchmarks.embedded_walk import Csr
from benchmarks.harness import (
    RESULTS,
    _sized_neo4j,
    copy_log,
    in_turn,
    neo4j_for,
    percentiles,
    save,
    scratch_dir,
    settings_for,
)
from benchmarks.neo4j_reads import trace_answer
from benchmarks.query_latency import workload
from benchmarks.synthetic.load import load_sources
from benchmarks.synthetic.write import generate
from lineage_kg.graph.model import COLUMN_LINEAGE, EdgeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.store import GraphStore
from lineage_kg.ingest.intake import accept_many
from lineage_kg.queries.accountability import accountability
from lineage_kg.queries.decision_trace import decision_lineage
from lineage_kg.queries.impact import IMPACT_STEPS, impact, walk_downstream
from lineage_kg.queries.impact_steps import WHOLE
from lineage_kg.queries.traversal import moves, start_nodes
from lineage_kg.runtime import Runtime
from lineage_kg.settings import Settings
from tools.neo4j_server import apoc_options

# From a column, in these estates: column lineage forwards, a column into its table, a table's
# readers and versions (a model's versions are not its data), training, serving — but not into a
# job's outputs whose column lineage is authoritative (a column it does not name does not reach
# them), and never a run's writes. The planner runs this as one pruning breadth-first expand
# (VarLengthExpand(Pruning,BFS)).
_FORWARD = sorted(
    {k.value for (_, way, k) in moves(IMPACT_STEPS, WHOLE) if way is Direction.OUT}
    - {EdgeKind.HAS_COLUMN.value}
)
_KINDS = "|".join([*_FORWARD, EdgeKind.HAS_COLUMN.value])


# APOC's relationship filter: the same types and directions as the statement's, no conditions
_APOC_FILTER = "|".join([*(f"{k}>" for k in _FORWARD), f"<{EdgeKind.HAS_COLUMN.value}"])


def apoc_subgraph(session: Any, depth: int) -> Callable[[str], set[str]]:
    """`apoc.path.subgraphNodes` from the start (breadth-first, each node once) to `depth`: the
    node set, less the start."""
    query = Query(
        "MATCH (s:Node {key: $key}) "
        "CALL apoc.path.subgraphNodes(s, {relationshipFilter: $filter, maxLevel: $depth}) "
        "YIELD node RETURN collect(node.key) AS keys",
        timeout=60,
    )

    def subgraph(key: str) -> set[str]:
        rows = session.run(query, key=key, filter=_APOC_FILTER, depth=depth).single()
        return set(rows["keys"]) - {key} if rows else set()

    return subgraph


def qpp(depth: int) -> Query:
    """The statement to `depth` hops (a quantifier takes no parameter)."""
    return Query(
        "MATCH (s:Node {key: $key}) "  # type: ignore[arg-type]
        f"MATCH (s) ((a)-[r:{_KINDS}]-(b) WHERE r.valid_to IS NULL AND ("
        "(startNode(r) = a AND type(r) IN $forward "
        f"AND NOT (type(r) = 'PRODUCES' AND coalesce(r.{COLUMN_LINEAGE}, false)) "
        "AND (type(r) <> 'HAS_VERSION' OR a:Dataset)) "
        f"OR (endNode(r) = a AND type(r) = 'HAS_COLUMN'))){{1,{int(depth)}}} (n) "
        "RETURN collect(DISTINCT n.key) AS keys",
        timeout=60,
    )


class Before:
    """The store as impact read it before its walk on edge ids (e.g. at 6be1d4c): no walk of
    its own with paths — the level loop over the record read-ahead, `reach`."""

    def __init__(self, inner: GraphStore) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def walk(self, *args: Any, edges: bool, **kwargs: Any) -> Any:
        return None if edges else self._inner.walk(*args, edges=edges, **kwargs)


def impact_at(rev: str) -> Callable[..., Any]:
    """`impact` as queries/impact.py stood at `rev` (git), over today's other modules: with the
    store seen through `Before`, impact's reads at that revision, interleaved with today's in
    one process."""
    return _at(rev, "impact").impact  # type: ignore[no-any-return]


def _at(rev: str, module_name: str) -> types.ModuleType:
    """queries/MODULE.py as it stood at `rev` (git), over today's other modules."""
    root = Path(__file__).resolve().parents[1]
    source = subprocess.run(
        ["git", "show", f"{rev}:queries/{module_name}.py"],
        cwd=root, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    name = f"{module_name}_at_{rev}"
    module = types.ModuleType(name)
    sys.modules[name] = module  # dataclasses look their module up
    exec(compile(source, f"{rev}:queries/{module_name}.py", "exec"), module.__dict__)
    return module


class LevelByLevel:
    """The store with its read-ahead off: the walk reads one level per round trip."""

    def __init__(self, inner: GraphStore) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def reach(self, *args: Any, **kwargs: Any) -> None:
        return None


def answer(a: Any) -> list[Any]:
    """Everything an impact answer says about its items."""
    return sorted(
        (i.node.id, i.distance, i.certainty.value, [h.edge.key.id for h in i.path], i.owners)
        for i in a.items
    )


def walked(store: GraphStore, key: str, depth: int) -> tuple[set[str], int, int]:
    """The node set impact's walk reaches (before it leaves out history that trained nothing),
    how many nodes it expands, and how many the read-ahead covers (a superset of those)."""
    _, ids = start_nodes(store, key, None)
    walk = walk_downstream(LevelByLevel(store), ids, depth=depth, as_of=None, max_nodes=100_000)  # type: ignore[arg-type]
    ahead = store.reach(
        ids, moves(IMPACT_STEPS, WHOLE), start_state=WHOLE, max_depth=depth, as_of=None,
        limit=100_000,
    )  # fmt: skip
    assert ahead is not None
    expanded = {k for k, r in walk.reached.items() if r.distance < depth} | set(ids)
    return set(walk.reached), len(expanded), len(ahead.covered)


@dataclasses.dataclass(frozen=True)
class Options:
    """What one size runs: the stores and questions, and where its estate comes from."""

    neo4j: bool = True
    embedded: bool = False
    trace: bool = False
    accountable: bool = False
    estate: Path | None = None  # start_time's `--work W` layout W/<nodes>: files/, data/
    snapshot_dir: Path | None = None  # a data dir whose snapshot starts the embedded store
    load_limit: float | None = None  # seconds: the Neo4j load stopped there, its rate recorded
    accountability_rounds: int | None = None  # default: the impact rounds
    profile: Path | None = None  # cProfile of Neo4j's impact, trace, accountability (pstats)
    apoc: bool = False  # APOC's subgraphNodes as one more Neo4j contender
    keep: Path | None = None  # accountability_walk's kept estate: DIR/<nodes>, Neo4j projected
    before: str | None = None  # a git revision: its impact as one more Neo4j contender


def source_log(work: Path, nodes: int, seed: int, opts: Options) -> tuple[Settings, dict[str, Any]]:
    """The estate's log (generated and taken in here, or the one in `opts.estate`) and manifest."""
    if opts.keep is not None:
        kept = opts.keep / str(nodes)
        manifest = json.loads((kept / "files" / "manifest.json").read_text())
        return settings_for(kept / "log"), manifest
    if opts.estate is not None:
        manifest = json.loads((opts.estate / "files" / "manifest.json").read_text())
        return settings_for(opts.estate / "data"), manifest
    files = work / "files"
    manifest = generate(files, nodes, seed)
    logged = settings_for(work / "log")
    with Runtime.open(logged) as runtime:
        with (files / "events.ndjson").open() as f:
            accept_many(runtime.log, enumerate(json.loads(line) for line in f))
        load_sources(files, runtime.log)
    return logged, manifest


class _Stop(Exception):
    pass


def project_bounded(runtime: Runtime, limit: float | None) -> dict[str, Any]:
    """The log into Neo4j, timed; stopped after `limit` seconds (between batches) with how far
    it got, progress sampled every ~30 s."""
    began = time.perf_counter()
    samples: list[list[float]] = []

    def progress(done: int, total: int) -> None:
        took = time.perf_counter() - began
        if not samples or took - samples[-1][0] >= 30:
            samples.append([round(took, 1), done, total])
            print(f"  neo4j load {took:.0f} s: {done:,} of {total:,} entries", flush=True)
        if limit is not None and took > limit:
            samples.append([round(took, 1), done, total])
            raise _Stop

    finished = True
    try:
        status = runtime.catch_up(progress)
        assert status.parked == 0, f"{status.parked} events parked"
    except _Stop:
        finished = False
    took = time.perf_counter() - began
    done, total = (samples[-1][1], samples[-1][2]) if samples else (0, 0)
    if finished:
        done = total = runtime.log.last_seq()
    return {
        "finished": finished,
        "seconds": round(took, 1),
        "entries_done": done,
        "entries_total": total,
        "entries_per_s": round(done / took, 2) if took else None,
        "progress": samples,
    }


def open_embedded(stack: ExitStack, work: Path, source: Settings, opts: Options) -> Runtime:
    """The embedded store: from `opts.snapshot_dir`'s snapshot (nothing replayed: checked), or
    the whole log replayed, as `lkg serve` builds it."""
    if opts.snapshot_dir is not None:
        from lineage_kg import snapshots
        from lineage_kg.runtime import snapshot_path

        settings = Settings(
            data_dir=opts.snapshot_dir, snapshot_every=10**9, snapshot_after_seconds=10.0**9
        )
        # the writer stamped by benchmarks.start_time's run: the working tree (graph/, ingest/)
        # may have been edited since by other work, which would (rightly) refuse it otherwise
        writer = snapshots.read_header(snapshot_path(settings)).writer
        snapshots.writer_version = lambda: writer  # type: ignore[assignment]
    else:
        settings = settings_for(work / "embedded")
        copy_log(source, settings)
    local = stack.enter_context(Runtime.open(settings))
    local.rebuild_embedded()
    if opts.snapshot_dir is not None:
        assert local.snapshot_refused is None, local.snapshot_refused
        assert local.projector.events_projected == 0, "the snapshot did not stand at the head"
    return local


def open_neo4j(
    stack: ExitStack, nodes: int, work: Path, source: Settings, opts: Options
) -> tuple[Any, Settings]:
    """A Neo4j server and the settings to project the log into it: a fresh one, or with
    `opts.keep` the kept one (its data dir projected by an earlier run: only the rest of the
    log is taken in)."""
    with_apoc = apoc_options() if opts.apoc else {}
    if opts.keep is None:
        server = stack.enter_context(neo4j_for(nodes, **with_apoc))
        on_neo4j = settings_for(work / "neo4j", server)
        copy_log(source, on_neo4j)
        return server, on_neo4j
    kept = _sized_neo4j(nodes, **with_apoc)
    kept.data_dir = opts.keep / str(nodes) / "neo4j-db"
    server = stack.enter_context(kept)
    # a cold server on kept files: its first walks are slow (benchmarks/accountability_walk.py)
    return server, settings_for(opts.keep / str(nodes) / "neo4j", server, neo4j_query_timeout=600)


def neo4j_contenders(
    store: GraphStore, session: Any, depth: int, opts: Options
) -> dict[str, Callable[[str], Any]]:
    """Impact on Neo4j (today's, level by level, `--before`'s), the QPP statement, APOC's."""
    query = qpp(depth)

    def statement(key: str) -> set[str]:
        rows = session.run(query, key=key, forward=_FORWARD).single()
        return set(rows["keys"]) - {key} if rows else set()

    contenders: dict[str, Callable[[str], Any]] = {
        "read_ahead": lambda k: impact(store, k, depth=depth),
        "level_by_level": lambda k: impact(LevelByLevel(store), k, depth=depth),
        "one_qpp_statement": statement,
    }
    if opts.apoc:
        contenders["apoc_subgraph_nodes"] = apoc_subgraph(session, depth)
    if opts.before is not None:
        then = impact_at(opts.before)
        contenders["before"] = lambda k: then(Before(store), k, depth=depth)
    return contenders


def one_size(
    nodes: int, seed: int, starts: int, rounds: int, *, depth: int, opts: Options
) -> dict[str, Any]:
    with scratch_dir(f"walk{nodes}") as work, ExitStack() as stack:
        source, manifest = source_log(work, nodes, seed, opts)
        load = workload(manifest["samples"], starts, random.Random(seed))
        keys = load["impact_raw_column"] + load["impact_lattice_column"]
        extra: dict[str, Any] = {"load_average_before": os.getloadavg(), "starts": len(keys)}
        stores: dict[str, GraphStore] = {}
        decisions: dict[str, Any] = {}
        contenders: dict[str, Callable[[str], Any]] = {}
        if opts.neo4j:
            server, on_neo4j = open_neo4j(stack, nodes, work, source, opts)
            runtime = stack.enter_context(Runtime.open(on_neo4j))
            extra["neo4j_load"] = project_bounded(runtime, opts.load_limit)
            extra["neo4j_projection_s"] = extra["neo4j_load"]["seconds"]
            print(f"{nodes}: Neo4j load {extra['neo4j_load']}", flush=True)
            if extra["neo4j_load"]["finished"]:
                store = stores["neo4j"] = runtime.store
                decisions["neo4j"] = runtime.decisions
                quiet = server.driver(notifications_min_severity="OFF")  # RENAMED_TO may be absent
                session = stack.enter_context(stack.enter_context(quiet).session())
                contenders |= neo4j_contenders(store, session, depth, opts)
        if opts.embedded or opts.trace or opts.accountable:
            began = time.perf_counter()
            local = open_embedded(stack, work, source, opts)
            extra["embedded_start_s"] = round(time.perf_counter() - began, 1)
            extra["embedded_from_snapshot"] = opts.snapshot_dir is not None
            print(f"{nodes}: embedded ready in {extra['embedded_start_s']:.0f} s", flush=True)
            stores["embedded"] = local.store
            decisions["embedded"] = local.decisions
            if opts.embedded:
                contenders |= embedded_contenders(local.store, keys, depth)
        result: dict[str, Any] = {}
        if contenders:
            result = measure(stores.get("neo4j"), keys, contenders, rounds, depth)
        result["nodes"] = next(iter(stores.values())).stats().node_count if stores else None
        if opts.trace and stores:
            chosen = manifest["samples"]["root_cause_decisions"][: max(1, starts // 2)]
            asks = {
                name: lambda d, s=s, t=decisions[name]: decision_lineage(s, d, decisions=t)
                for name, s in stores.items()
            }
            if opts.before is not None and "neo4j" in stores:  # the trace at `--before` too
                then = _at(opts.before, "decision_trace").decision_lineage
                s, t = stores["neo4j"], decisions["neo4j"]
                asks["neo4j_before"] = lambda d: then(s, d, decisions=t)
            result["decision_trace"] = traces(asks, chosen, rounds)
        if opts.accountable and stores:
            owner = manifest["samples"]["accountability_owner"]
            result["accountability"] = accountabilities(
                stores, owner, opts.accountability_rounds or rounds
            )
        if opts.profile is not None and "neo4j" in stores:
            profiled(
                stores["neo4j"], decisions["neo4j"], manifest, keys, depth=depth, out=opts.profile
            )
        extra["load_average_after"] = os.getloadavg()
        return result | extra


def profiled(
    store: GraphStore,
    table: Any,
    manifest: dict[str, Any],
    keys: list[str],
    *,
    depth: int,
    out: Path,
) -> None:
    """cProfile (wall clock) of each Neo4j question over the run's starts, one file each:
    OUT.impact, OUT.trace (half the starts' decisions), OUT.accountability (one map)."""
    import cProfile

    decisions = manifest["samples"]["root_cause_decisions"][: max(1, len(keys) // 2)]
    owner = manifest["samples"]["accountability_owner"]
    asks: dict[str, Callable[[], Any]] = {
        "impact": lambda: [impact(store, k, depth=depth) for k in keys],
        "trace": lambda: [decision_lineage(store, d, decisions=table) for d in decisions],
        "accountability": lambda: accountability(store, owner),
    }
    for name, ask in asks.items():
        prof = cProfile.Profile()
        prof.runcall(ask)
        prof.dump_stats(f"{out}.{name}")
        print(f"  profile of {name} written to {out}.{name}", flush=True)


def embedded_contenders(
    emb: GraphStore, keys: list[str], depth: int
) -> dict[str, Callable[[str], Any]]:
    """Direct `impact()` on the embedded store, and the numpy CSR BFS of the same edges confined
    to its node set for each start."""
    assert depth == CSR_DEPTH, f"the CSR contender walks {CSR_DEPTH} levels"
    csr = Csr(emb)
    masks = {}
    for k in keys:
        ids = {i.node.id for i in impact(emb, k, depth=depth).items}
        mask = np.zeros(len(csr.names), dtype=bool)
        mask[[csr.ids[n] for n in ids if n in csr.ids]] = True
        masks[k] = mask
    return {
        "embedded_direct": lambda k: impact(emb, k, depth=depth),
        "csr_numpy_same_set": lambda k: csr.bfs_numpy(k, masks[k]),
    }


def traces(
    contenders: dict[str, Callable[[str], Any]], decisions: list[str], rounds: int
) -> dict[str, Any]:
    """Decision traces asked of each store in turn, interleaved; answers checked equal."""
    for d in decisions[:10]:  # warm up
        for ask in contenders.values():
            ask(d)
    took: dict[str, list[float]] = {name: [] for name in contenders}
    differ = 0
    for r in range(rounds):
        for d in decisions:
            order = in_turn(contenders, r)
            got = {}
            for name, ask in order:
                began = time.perf_counter()
                got[name] = trace_answer(ask(d))
                took[name].append(time.perf_counter() - began)
            differ += len({json.dumps(g, sort_keys=True, default=str) for g in got.values()}) > 1
    out: dict[str, Any] = {name: percentiles(t) for name, t in took.items()}
    out |= {"differ": differ, "answers": len(decisions) * rounds}
    for name in contenders:
        print(f"  trace {name}: p50 {out[name]['p50_ms']:.1f} ms, p95 {out[name]['p95_ms']:.1f} ms")
    print(f"  traces differing: {differ} of {out['answers']}", flush=True)
    return out


def accountabilities(stores: dict[str, GraphStore], owner: str, rounds: int) -> dict[str, Any]:
    """The largest team's map on each store, `rounds` times each, interleaved; equal answers."""
    expected = None
    took: dict[str, list[float]] = {name: [] for name in stores}
    cpu: dict[str, list[float]] = {name: [] for name in stores}  # this process's, all threads
    for _ in range(rounds):
        for name, store in stores.items():
            began, began_cpu = time.perf_counter(), time.process_time()
            got = dataclasses.astuple(accountability(store, owner))
            took[name].append(time.perf_counter() - began)
            cpu[name].append(time.process_time() - began_cpu)
            expected = expected if expected is not None else got
            assert got == expected, f"accountability on {name}: a different answer"
            print(
                f"  accountability {name}: {took[name][-1]:.2f} s (cpu {cpu[name][-1]:.2f} s)",
                flush=True,
            )
    return {
        name: {
            "median_s": sorted(t)[len(t) // 2],
            "runs_s": [round(x, 3) for x in t],
            "cpu_runs_s": [round(x, 3) for x in cpu[name]],
        }
        for name, t in took.items()
    }


def measure(
    neo4j: GraphStore | None,
    keys: list[str],
    contenders: dict[str, Callable[[str], Any]],
    rounds: int,
    depth: int,
) -> dict[str, Any]:
    """Each start asked of every contender, interleaved, `rounds` times. The reference answer is
    Neo4j's read-ahead walk when there, else the embedded store's: every other lineage-kg walk
    must equal it, the statement and the CSR BFS its node set."""
    for key in keys[:20]:  # warm up: plan caches, the JIT of a JVM just started
        for ask in contenders.values():
            ask(key)
    took: dict[str, list[float]] = {name: [] for name in contenders}
    ref = "read_ahead" if "read_ahead" in contenders else "embedded_direct"
    differ = {name: 0 for name in contenders if name != ref}
    sizes: list[int] = []
    ratios: list[float] = []  # nodes read ahead per node the walk expands
    apoc_extra: list[int] = []  # per start: nodes APOC reached that the walk did not
    apoc_missing: list[int] = []  # and the walk's nodes APOC did not reach
    for r in range(rounds):
        for key in keys:
            got = {}
            order = in_turn(contenders, r)
            for name, ask in order:
                began = time.perf_counter()
                got[name] = ask(key)
                took[name].append(time.perf_counter() - began)
            for name in ("before", "level_by_level", "embedded_direct"):
                if name in differ:
                    differ[name] += answer(got[ref]) != answer(got[name])
            if "csr_numpy_same_set" in got:
                nodes = {i.node.id for i in got[ref].items}
                differ["csr_numpy_same_set"] += got["csr_numpy_same_set"] != nodes
            if r == 0 and neo4j is not None:
                reached, expanded, covered = walked(neo4j, key, depth)
                differ["one_qpp_statement"] += got["one_qpp_statement"] != reached
                if "apoc_subgraph_nodes" in got:
                    differ["apoc_subgraph_nodes"] += got["apoc_subgraph_nodes"] != reached
                    apoc_extra.append(len(got["apoc_subgraph_nodes"] - reached))
                    apoc_missing.append(len(reached - got["apoc_subgraph_nodes"]))
                sizes.append(len(reached))
                ratios.append(covered / expanded)
            elif r == 0:
                sizes.append(len(got[ref].items))
    out: dict[str, Any] = {name: percentiles(t) for name, t in took.items()}
    out["differ"] = differ
    out["walk_nodes_median"] = sorted(sizes)[len(sizes) // 2]
    out["walk_nodes_max"] = max(sizes)
    if apoc_extra:
        out["apoc_nodes_not_walked"] = {"total": sum(apoc_extra), "max": max(apoc_extra)}
        out["apoc_walk_nodes_missed"] = {"total": sum(apoc_missing), "max": max(apoc_missing)}
    if ratios:
        ratios.sort()
        out["read_ahead_cover_ratio"] = {"median": ratios[len(ratios) // 2], "max": ratios[-1]}
    for name in contenders:
        print(f"  {name}: p50 {out[name]['p50_ms']:.2f} ms, p95 {out[name]['p95_ms']:.2f} ms")
    print(f"  answers differing: {differ}; walk nodes median {out['walk_nodes_median']}")
    print(f"  read-ahead nodes per node expanded: {out.get('read_ahead_cover_ratio')}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--starts", type=int, default=50, help="impact start columns per size")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON results go")
    parser.add_argument("--embedded", action="store_true", help="embedded impact and numpy CSR")
    parser.add_argument("--trace", action="store_true", help="decision traces on both stores")
    parser.add_argument("--accountability", action="store_true", help="largest team, both stores")
    parser.add_argument("--no-neo4j", action="store_true", help="the embedded store alone")
    parser.add_argument(
        "--estate", type=Path, help="an estate already taken in: DIR/files, DIR/data (one size)"
    )
    parser.add_argument(
        "--snapshot-dir", type=Path, help="start the embedded store from this data dir's snapshot"
    )
    parser.add_argument(
        "--load-limit", type=float, help="seconds: stop the Neo4j load there, record its rate"
    )
    parser.add_argument("--accountability-rounds", type=int, help="default: --rounds")
    parser.add_argument("--profile", type=Path, help="cProfile Neo4j's questions into FILE.*")
    parser.add_argument("--apoc", action="store_true", help="APOC subgraphNodes (Neo4j + APOC)")
    parser.add_argument(
        "--before",
        help="a git revision: its queries/impact.py as a contender (`before`); with --trace, "
        "its queries/decision_trace.py too (`neo4j_before`)",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        help="benchmarks.accountability_walk's kept estate (DIR/<nodes>, its Neo4j projected)",
    )
    args = parser.parse_args()
    opts = Options(
        accountability_rounds=args.accountability_rounds,
        profile=args.profile,
        apoc=args.apoc,
        neo4j=not args.no_neo4j,
        embedded=args.embedded,
        trace=args.trace,
        accountable=args.accountability,
        estate=args.estate,
        snapshot_dir=args.snapshot_dir,
        load_limit=args.load_limit,
        keep=args.keep,
        before=args.before,
    )
    sizes = {
        str(n): one_size(n, args.seed, args.starts, args.rounds, depth=args.depth, opts=opts)
        for n in args.nodes
    }
    tag = "_".join(map(str, args.nodes))
    if args.embedded or args.trace or args.accountability:
        tag += "_embedded" if args.no_neo4j else "_both_stores"
    print("saved", save("walk_contenders", {"sizes": sizes}, tag=tag, out=args.out))


if __name__ == "__main__":
    main()
