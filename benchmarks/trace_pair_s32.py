"""Session 32 (issue 19, target 1): variants for `benchmarks.trace_pair_s31` (context managers,
`--variant NAME=benchmarks.trace_pair_s32:FUNC`), each today's trace with one of this session's
changes switched off, so that the real modules are compared with one switch (no copies):

- `walk_as_before`: the feature walk (a policy of one state) walked by `walk_ends`' loop over
  states (`_Pass`, `_follow`), as before session 32, not by `_walk_one_state`;
- `as_s31`: that, and the path edges' keys made as before (`_walked_key` at 3b08540, verbatim):
  the trace as the session began (its queries/ are unchanged but for `read_ahead`'s call).

    python -m benchmarks.trace_pair_s31 --keep /tmp/h88/estate --nodes 100000 --biggest 10 \
        --rounds 12 --variant walk_as_before=benchmarks.trace_pair_s32:walk_as_before \
        --uri bolt://127.0.0.1:27932 --out benchmarks/results/trace_s32_big_a

`walk_cpu` (`python -m benchmarks.trace_pair_s32 ...`): the feature walk's `walk_ends` alone, its
inputs captured from the biggest traces, each loop timed (thread CPU) in turn, answers equal.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.harness import kept_runtime
from lineage_kg.graph import ends_walk, neo4j_path_edges, neo4j_store
from lineage_kg.graph.model import NodeKey
from lineage_kg.graph.mutations import EdgeKey
from lineage_kg.queries import decision_trace


@contextmanager
def walk_as_before() -> Iterator[None]:
    saved = ends_walk._one_state_ways
    ends_walk._one_state_ways = lambda *_a, **_k: None  # type: ignore[assignment]
    try:
        yield
    finally:
        ends_walk._one_state_ways = saved


def _walked_key_s31(eid: Any) -> EdgeKey:
    """`neo4j_path_edges._walked_key` at 3b08540, verbatim."""
    _new, _KEY_SLOTS, _KINDS = object.__new__, neo4j_path_edges._KEY_SLOTS, neo4j_path_edges._KINDS
    src, kind, dst, disc = eid
    key = _new(EdgeKey)
    set_src, set_kind, set_dst, set_disc, set_id = _KEY_SLOTS
    src_key, dst_key, edge_kind = NodeKey.from_id(src), NodeKey.from_id(dst), _KINDS[kind]
    set_src(key, src_key)
    set_kind(key, edge_kind)
    set_dst(key, dst_key)
    set_disc(key, disc)
    set_id(key, (src_key.id, edge_kind.value, dst_key.id, disc))  # as `__post_init__` makes it
    return key


@contextmanager
def as_s31() -> Iterator[None]:
    saved = neo4j_path_edges._walked_key
    neo4j_path_edges._walked_key = _walked_key_s31
    try:
        with walk_as_before():
            yield
    finally:
        neo4j_path_edges._walked_key = saved


def _captured(store: Any, table: Any, chosen: list[str]) -> list[tuple[Any, ...]]:
    """The feature walk's `walk_ends` call of each trace (its ahead, starts, steps, keywords)."""
    calls: list[tuple[Any, ...]] = []
    inner = neo4j_store.walk_ends

    def record(ahead: Any, start: Any, steps: Any, **kw: Any) -> Any:
        if kw.get("edge_ids") is not None:
            calls.append((ahead, list(start), steps, {**kw, "edge_ids": None}))
        return inner(ahead, start, steps, **kw)

    neo4j_store.walk_ends = record  # type: ignore[assignment]
    try:
        for d in chosen:
            decision_trace.decision_lineage(store, d, decisions=table)
    finally:
        neo4j_store.walk_ends = inner  # type: ignore[assignment]
    return calls


def _shape(walked: Any, keys: dict[Any, int]) -> Any:
    passes = [
        (p.node, p.state, p.level, p.parent, p.edge, p.way) for p in (walked.exact, walked.every)
    ]
    return passes, walked.led_on, walked.truncated, walked.visited_edges, list(keys.items())


def walk_cpu(opts: argparse.Namespace) -> dict[str, Any]:
    kept = opts.keep / str(opts.nodes)
    manifest = json.loads((kept / "files" / "manifest.json").read_text())
    sample = manifest["samples"]["root_cause_decisions"][: opts.decisions]
    with kept_runtime(kept, opts.uri) as runtime:
        store, table = runtime.store, runtime.decisions
        sizes = {d: len(decision_trace.decision_lineage(store, d, decisions=table).features)
                 for d in sample}  # fmt: skip
        chosen = sorted(sample, key=lambda d: -sizes[d])[: opts.biggest]
        calls = _captured(store, table, chosen)
    loads = [os.getloadavg()]
    took: dict[str, list[list[float]]] = {
        "after": [[] for _ in calls],
        "before": [[] for _ in calls],
    }
    differ = 0
    for r in range(opts.rounds):
        for i, (ahead, start, steps, kw) in enumerate(calls):
            got = {}
            for name in ("after", "before") if (r + i) % 2 == 0 else ("before", "after"):
                keys: dict[Any, int] = {}
                with walk_as_before() if name == "before" else _nothing():
                    c = time.thread_time()
                    walked = ends_walk.walk_ends(ahead, start, steps, **{**kw, "edge_ids": keys})
                    took[name][i].append(1000 * (time.thread_time() - c))
                got[name] = _shape(walked, keys)
            differ += got["after"] != got["before"]
    loads.append(os.getloadavg())
    med = statistics.median
    per = [
        {
            "decision": d,
            "feature_steps": sizes[d],
            "rows": sum(len(h) for by in calls[i][0].edges.values() for h in by.values()),
            "after_ms": round(med(took["after"][i]), 3),
            "before_ms": round(med(took["before"][i]), 3),
        }
        for i, d in enumerate(chosen)
    ]
    return {
        "loads": loads,
        "differ": differ,
        "walks": len(calls),
        "rounds": opts.rounds,
        "per_decision": per,
        "after_median_ms": med(p["after_ms"] for p in per),
        "before_median_ms": med(p["before_ms"] for p in per),
        "ratio_median": med(p["after_ms"] / p["before_ms"] for p in per),
    }


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, required=True)
    parser.add_argument("--nodes", type=int, required=True)
    parser.add_argument("--biggest", type=int, default=10)
    parser.add_argument("--decisions", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--uri", help="a server already up on the kept data dir")
    opts = parser.parse_args()
    out = walk_cpu(opts)
    print(json.dumps({k: v for k, v in out.items() if k != "per_decision"}, indent=1))
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.with_suffix(".json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
