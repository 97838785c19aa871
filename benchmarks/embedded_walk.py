"""The embedded store's impact walk against a plain BFS over an integer adjacency (issue 19,
target 2: direct `impact()` at most 3x a plain CSR BFS of the same edges).

    python -m benchmarks.embedded_walk --nodes 10000 100000 --starts 50 --rounds 3 [--before REV]

Per size: `lkg generate`'s files -> the event log -> the projector into the embedded store, and
into the networkx store it replaced (its source read from git at BASELINE_COMMIT, when the
checkout has it); each in a forked child, for its RSS growth alone, which hands its
`export_state` back (pickled: size and read-back time reported). Then, interleaved for
`--rounds` rounds over the same raw-column starts (the query benchmark's):
- direct `impact(store, column, depth=10)` on each store (answers checked equal); on the new
  one also with its StoredNode/StoredEdge caches and its nodes' sorted hops emptied before
  each walk (the rounds repeat the same starts, so these are otherwise warm);
- a plain CSR BFS over the edges impact reads — every flow kind it follows forward, and a
  column up to its dataset — built once from `iter_edges` (current edges only): plain Python
  lists, confined to the nodes impact returned (so it returns exactly the same node set:
  checked), and the same with numpy (level by level, vectorised); and unconfined, the whole
  reachable set without impact's rules (how much larger it is, is reported too).
With `--before REV`, graph/embedded.py as it was at commit REV (harness.module_at: today's
queries, that commit's store) is loaded from the same `export_state` and asked each question too,
interleaved with the others (answers checked equal): before and after in one run, one process.
The machine's load average before and after goes into the results.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import os
import pickle
import random
import time
from operator import truediv
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.harness import (
    RESULTS,
    copy_log,
    module_at,
    percentiles,
    save,
    scratch_dir,
    settings_for,
)
from benchmarks.query_latency import build_log, impact_shape, project, rss_mb
from benchmarks.synthetic.write import generate
from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import EdgeKind
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.impact import impact
from lineage_kg.queries.impact_steps import impact_steps
from lineage_kg.runtime import Runtime
from lineage_kg.settings import Settings

# main before the integer adjacency: the networkx MultiDiGraph store
BASELINE_COMMIT = "27c1e48"
DEPTH = 10
UP = (EdgeKind.HAS_COLUMN,)  # walked backwards: a column reaches its dataset


def networkx_store_class() -> type[GraphStore] | None:
    """The store as it was at BASELINE_COMMIT, loaded from git; None outside a checkout, or
    when it no longer fits `GraphStore` (abstract methods added since: it cannot be made)."""
    try:
        old: type[GraphStore] = module_at(BASELINE_COMMIT, "graph/embedded.py").EmbeddedStore
    except RuntimeError:
        return None
    if missing := sorted(getattr(old, "__abstractmethods__", ())):
        print(f"networkx store ({BASELINE_COMMIT}) left out: it lacks {', '.join(missing)}")
        return None
    return old


class Csr:
    """Forward adjacency of the walk's edges as CSR: offsets and targets, lists and arrays."""

    def __init__(self, store: GraphStore) -> None:
        forward = {s.kind for s in impact_steps() if s.direction.value == "out"}
        self.ids: dict[str, int] = {}
        pairs: list[tuple[int, int]] = []
        for edge in store.iter_edges():
            if not edge.current:
                continue
            kind = edge.key.kind
            if kind in forward:
                pairs.append((self._id(edge.key.src.id), self._id(edge.key.dst.id)))
            if kind in UP:
                pairs.append((self._id(edge.key.dst.id), self._id(edge.key.src.id)))
        self.names = list(self.ids)
        pairs.sort()
        n = len(self.names)
        counts = [0] * (n + 1)
        for s, _ in pairs:
            counts[s + 1] += 1
        for i in range(n):
            counts[i + 1] += counts[i]
        self.offsets, self.targets = counts, [d for _, d in pairs]
        self.np_offsets = np.array(self.offsets, dtype=np.int64)
        self.np_targets = np.array(self.targets, dtype=np.int64)
        self.edges = len(pairs)

    def _id(self, name: str) -> int:
        n = self.ids.get(name)
        if n is None:
            n = self.ids[name] = len(self.ids)
        return n

    def bfs(self, start: str, allowed: set[int] | None = None) -> set[str]:
        """Level by level to DEPTH, plain lists; `allowed`: enqueue only these nodes."""
        offsets, targets = self.offsets, self.targets
        s = self.ids[start]
        seen = {s}
        frontier = [s]
        for _ in range(DEPTH):
            nxt = []
            for u in frontier:
                for v in targets[offsets[u] : offsets[u + 1]]:
                    if v not in seen and (allowed is None or v in allowed):
                        seen.add(v)
                        nxt.append(v)
            if not nxt:
                break
            frontier = nxt
        seen.discard(s)
        names = self.names
        return {names[v] for v in seen}

    def bfs_numpy(self, start: str, allowed: np.ndarray) -> set[str]:
        """The same with numpy, one vectorised step per level; `allowed` a bool mask."""
        offsets, targets = self.np_offsets, self.np_targets
        s = self.ids[start]
        seen = np.zeros(len(self.names), dtype=bool)
        seen[s] = True
        frontier = np.array([s], dtype=np.int64)
        for _ in range(DEPTH):
            lo, hi = offsets[frontier], offsets[frontier + 1]
            lengths = hi - lo
            if not lengths.sum():
                break
            idx = np.repeat(lo - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
            cand = np.unique(targets[idx])
            cand = cand[~seen[cand] & allowed[cand]]
            if not len(cand):
                break
            seen[cand] = True
            frontier = cand
        seen[s] = False
        names = self.names
        return {names[v] for v in np.flatnonzero(seen)}


def _load_in_child(
    cls: type[GraphStore], logged: Settings, work: Path, state_file: Path
) -> tuple[float, float]:
    """Load a store in a forked child, through the composition root (a copy of the log in a
    data dir of its own, the store given): (seconds, RSS growth in MiB) with nothing else
    loaded in that process since the fork; its `export_state` pickled into `state_file`."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: load, measure, report, leave without cleanup
        try:
            settings = settings_for(work)
            copy_log(logged, settings)
            with Runtime.open(settings, store=cls()) as runtime:
                assert runtime.log.last_seq() > 0  # open: only the store's memory is counted
                gc.collect()
                before = rss_mb()
                took = project(runtime)
                gc.collect()
                grew = rss_mb() - before
                state = runtime.store.export_state()  # type: ignore[attr-defined]
            state_file.write_bytes(pickle.dumps(state, protocol=5))
            os.write(write, json.dumps([took, grew]).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as answer:
        took, grew = json.loads(answer.read())
    os.waitpid(pid, 0)
    return took, grew


def _from_state_in_child(cls: type[GraphStore], state_file: Path) -> float:
    """RSS growth (MiB) of a forked child reading `state_file` into a store: the store's own
    size, without what the projector allocated on the way."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            gc.collect()
            before = rss_mb()
            store = cls.from_state(pickle.loads(state_file.read_bytes()))  # type: ignore[attr-defined]
            gc.collect()
            os.write(write, json.dumps(rss_mb() - before).encode())
            del store
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as answer:
        grew = float(json.loads(answer.read()))
    os.waitpid(pid, 0)
    return grew


def _cold(store: EmbeddedStore, start: str) -> Any:
    """impact with the store's StoredNode/StoredEdge caches and its nodes' sorted hops (a
    store of before these) emptied first."""
    store._g.ncache.clear()
    store._g.ecache.clear()
    if (hops := getattr(store._g, "hops", None)) is not None:
        hops.clear()
    return impact(store, start, depth=DEPTH)


def _impact(store: GraphStore, start: str) -> Any:
    return impact(store, start, depth=DEPTH)


def load_stores(
    work: Path,
    logged: Settings,
    nodes: int,
    result: dict[str, Any],
    *,
    before: str | None = None,
    networkx: bool = True,
) -> dict[str, GraphStore]:
    """Each store loaded from the log in a child, then here from the child's export_state; with
    `before`, that commit's embedded store too, from the same state."""
    stores: dict[str, GraphStore] = {}
    classes = {"integer": EmbeddedStore, "networkx": networkx_store_class() if networkx else None}
    for name, cls in classes.items():
        if cls is None:
            continue
        state_file = work / f"{name}.pickle"
        took, grew = _load_in_child(cls, logged, work / name, state_file)
        result[f"{name}_load_s"], result[f"{name}_rss_growth_mb"] = took, grew
        result[f"{name}_rss_from_state_mb"] = _from_state_in_child(cls, state_file)
        began = time.perf_counter()  # the walks' copy: the child's export_state, read back
        stores[name] = cls.from_state(pickle.loads(state_file.read_bytes()))  # type: ignore[attr-defined]
        result[f"{name}_state_read_s"] = time.perf_counter() - began
        result[f"{name}_state_mb"] = state_file.stat().st_size / 2**20
        print(
            f"{nodes}: {name} store loaded in {took:.1f}s, +{grew:.0f} MiB; its state "
            f"{result[f'{name}_state_mb']:.0f} MiB pickled, read back in "
            f"{result[f'{name}_state_read_s']:.1f}s, "
            f"+{result[f'{name}_rss_from_state_mb']:.0f} MiB",
            flush=True,
        )
    if before is not None:
        cls = module_at(before, "graph/embedded.py").EmbeddedStore
        stores["integer_before"] = cls.from_state(
            pickle.loads((work / "integer.pickle").read_bytes())
        )
    return stores


def _race(
    stores: dict[str, GraphStore],
    csr: Csr,
    allowed: dict[str, set[int]],
    masks: dict[str, np.ndarray],
    *,
    picks: list[str],
    rounds: int,
) -> dict[str, list[float]]:
    """Each contender's times (seconds), asked the same starts interleaved for `rounds`."""
    # per start: the new store with its caches emptied, then at once again (warm: what the
    # same question asked twice costs), then the networkx store, then the plain BFS; with
    # `before`, that commit's store the same way (cold, then warm), the two pairs in turns
    # (one first in even rounds, the other in odd ones): the warm run follows its own cold
    # one, whose reads left the same store's memory in the CPU's caches
    pairs = [("integer", "")]
    if "integer_before" in stores:
        pairs.append(("integer_before", "_before"))
    contenders: dict[str, Any] = {}
    for name, tag in pairs:
        cold = functools.partial(_cold, stores[name])
        contenders[f"impact_integer_cold_caches{tag}"] = cold
        contenders[f"impact_{name}"] = functools.partial(_impact, stores[name])
    if "networkx" in stores:
        contenders["impact_networkx"] = functools.partial(_impact, stores["networkx"])
    contenders["csr_lists_same_set"] = lambda s: csr.bfs(s, allowed[s])
    contenders["csr_numpy_same_set"] = lambda s: csr.bfs_numpy(s, masks[s])
    contenders["csr_lists_unconfined"] = csr.bfs
    took: dict[str, list[float]] = {name: [] for name in contenders}
    for ask in contenders.values():  # warm: caches, allocator
        for s in picks[:10]:
            ask(s)
    names = list(contenders)
    turned = names[2:4] + names[:2] + names[4:] if len(pairs) > 1 else names
    for r in range(rounds):  # interleaved start by start: load swings hit every contender
        for s in picks:
            for name in turned if r % 2 else names:
                ask = contenders[name]
                began = time.perf_counter()
                ask(s)
                took[name].append(time.perf_counter() - began)
    return took


def one_size(
    nodes: int,
    seed: int,
    starts: int,
    rounds: int,
    *,
    before: str | None = None,
    networkx: bool = True,
) -> dict[str, Any]:
    with scratch_dir(f"walk{nodes}") as work:
        files = work / "files"
        manifest = generate(files, nodes, seed)
        logged = settings_for(work / "log")
        with Runtime.open(logged) as runtime:
            build_log(files, runtime.log)
        result: dict[str, Any] = {"nodes_target": nodes, "load_average_before": os.getloadavg()}
        stores = load_stores(work, logged, nodes, result, before=before, networkx=networkx)
        result["before"] = before
        stats = stores["integer"].stats()
        result["nodes"], result["edges"] = stats.node_count, stats.edge_count

        raw = manifest["samples"]["impact_raw_columns"]
        picks = random.Random(seed).sample(raw, min(starts, len(raw)))
        csr = Csr(stores["integer"])
        result["csr_edges"] = csr.edges
        answers = {s: impact_shape(impact(stores["integer"], s, depth=DEPTH)) for s in picks}
        for other in ("networkx", "integer_before"):
            if other in stores:
                for s in picks:
                    assert impact_shape(impact(stores[other], s, depth=DEPTH)) == answers[s], s
        node_sets = {s: {node for node, _, _ in answers[s]} for s in picks}
        allowed = {s: {csr.ids[n] for n in node_sets[s] if n in csr.ids} for s in picks}
        masks = {}
        for s in picks:
            mask = np.zeros(len(csr.names), dtype=bool)
            mask[list(allowed[s])] = True
            masks[s] = mask
        for s in picks:  # the confined BFS returns impact's node set exactly
            assert csr.bfs(s, allowed[s]) == node_sets[s], f"{s}: not impact's node set"
            assert csr.bfs_numpy(s, masks[s]) == node_sets[s], f"{s}: numpy, not the same set"
        unconfined = [len(csr.bfs(s)) / max(1, len(node_sets[s])) for s in picks]
        result["unconfined_over_impact_nodes_median"] = sorted(unconfined)[len(unconfined) // 2]
        result["impact_nodes_median"] = sorted(len(v) for v in node_sets.values())[len(picks) // 2]

        took = _race(stores, csr, allowed, masks, picks=picks, rounds=rounds)
        result["latency"] = {name: percentiles(t) for name, t in took.items()}
        base = result["latency"]["csr_lists_same_set"]["p50_ms"]
        vectorised = result["latency"]["csr_numpy_same_set"]["p50_ms"]
        for name, stats_ in result["latency"].items():
            print(
                f"  {name}: p50 {stats_['p50_ms']:.2f} ms, p95 {stats_['p95_ms']:.2f} ms "
                f"({stats_['p50_ms'] / base:.1f}x the list BFS, "
                f"{stats_['p50_ms'] / vectorised:.2f}x the numpy BFS)",
                flush=True,
            )
        if "impact_integer_before" in took:  # start by start, same round: load swings cancel
            paired = sorted(map(truediv, took["impact_integer"], took["impact_integer_before"]))
            result["impact_after_over_before_paired_median"] = paired[len(paired) // 2]
            print(f"  after / before, paired by start: median {paired[len(paired) // 2]:.3f}")
        result["load_average_after"] = os.getloadavg()
        return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--starts", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--before", help="a commit whose graph/embedded.py answers too, interleaved (same state)"
    )
    parser.add_argument(
        "--no-networkx", action="store_true", help="leave out the networkx store it replaced"
    )
    args = parser.parse_args()
    sizes = {
        str(n): one_size(
            n,
            args.seed,
            args.starts,
            args.rounds,
            before=args.before,
            networkx=not args.no_networkx,
        )
        for n in args.nodes
    }
    tag = "_".join(map(str, args.nodes))
    print("saved", save("embedded_walk", {"sizes": sizes}, tag=tag, out=args.out))


if __name__ == "__main__":
    main()
