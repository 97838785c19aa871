"""How long the embedded service takes to be ready, and its peak memory: from its snapshot (plus
the log's tail) against the whole log replayed, the naive baseline, in the same run.

    python -m benchmarks.start_time --nodes 10000 100000 [--tail 0.05] [--work DIR]

Per size: `lkg generate`'s estate -> the event log (OpenLineage events and every source file).
Each start runs in a fresh process (`Runtime.open` then `rebuild_embedded`, as `lkg serve` does
before it answers) so its peak RSS is its own:
- full: no snapshot yet, the whole log projected (what every start did before issue 19);
- snapshot: the snapshot at the log's head, nothing to replay;
- snapshot + tail: the snapshot taken `--tail` of the log's entries before its end (the rest
  appended after it, as a service that stopped between snapshots), the tail projected.
Every start's graph is checked equal (node and edge counts by kind, checkpoint) to the full one.
Also the snapshot's write (the keeper's `write_now`: copy under the lock, pickle, fsync) and size.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path
from typing import Any

# the child: one start, measured in its own process ------------------------------------------------


def _child(data_dir: str, write: bool, writer: str) -> None:
    began = time.perf_counter()
    from lineage_kg import snapshots
    from lineage_kg.runtime import Runtime, snapshot_path
    from lineage_kg.settings import Settings

    # one writer identity for the run's processes: the code digest in it would change if the
    # working tree is edited during a run, and every start would then (rightly) refuse
    snapshots.writer_version = lambda: writer  # type: ignore[assignment]

    imported = time.perf_counter()
    # no snapshot written but the one asked for (`write`)
    settings = Settings(
        data_dir=Path(data_dir), snapshot_every=10**9, snapshot_after_seconds=10.0**9
    )
    with Runtime.open(settings) as runtime:
        status = runtime.rebuild_embedded()
        assert status is not None
        ready = time.perf_counter()
        stats = runtime.store.stats()
        out: dict[str, Any] = {
            "import_s": imported - began,
            "ready_s": ready - imported,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "snapshot_seq": runtime.snapshot_seq,
            "refused": runtime.snapshot_refused,
            "replayed": runtime.projector.events_projected,
            "checkpoint": runtime.store.checkpoint(),
            "nodes": stats.nodes,
            "edges": stats.edges,
        }
        if write:
            keeper = runtime.snapshot_keeper()
            assert keeper is not None
            keeper.last_seq = 0  # write it whatever the settings say
            t = time.perf_counter()
            state = keeper.take_state()
            out["copy_s"] = time.perf_counter() - t  # what readers wait for (the store's lock)
            del state
            t = time.perf_counter()
            keeper.write_now()
            out["write_s"] = time.perf_counter() - t
            out["write_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            out["snapshot_mb"] = snapshot_path(settings).stat().st_size / 2**20
    print(json.dumps(out))


def _start(data_dir: Path, *, write: bool = False) -> dict[str, Any]:
    from lineage_kg.snapshots import writer_version

    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.start_time", "--child", str(data_dir)]
        + ["--writer", writer_version()]
        + (["--write"] if write else []),
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "LKG_LOG_LEVEL": "warning"},
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - began
    return result


# the parent: logs, snapshots, the runs ------------------------------------------------------------


def _estate(nodes: int, work: Path) -> Path:
    """The estate's log in `work/<nodes>/data` (reused when there)."""
    from benchmarks.synthetic.load import load_sources
    from benchmarks.synthetic.write import generate
    from lineage_kg.ingest.intake import accept_many
    from lineage_kg.runtime import open_log_at

    base = work / str(nodes)
    log_file = base / "data" / "events.sqlite3"
    if log_file.exists():
        return log_file
    shutil.rmtree(base, ignore_errors=True)
    (base / "files").mkdir(parents=True)
    (base / "data").mkdir()
    generate(base / "files", nodes)
    log = open_log_at(log_file)
    try:
        with (base / "files" / "events.ndjson").open() as lines:
            accept_many(log, enumerate(json.loads(line) for line in lines))
        load_sources(base / "files", log)
    finally:
        log.close()
    return log_file


def _copy_log(template: Path, data_dir: Path, after: int, upto: int) -> None:
    """Entries after..upto of `template` appended, as stored (chain hashes and all), to the log
    in `data_dir`: that log reaches `upto` exactly as the template did."""
    from lineage_kg.runtime import open_log_at

    data_dir.mkdir(parents=True, exist_ok=True)
    open_log_at(data_dir / "events.sqlite3").close()  # the schema
    with closing(sqlite3.connect(data_dir / "events.sqlite3", isolation_level=None)) as db:
        db.execute("ATTACH ? AS t", (str(template),))
        db.execute("BEGIN")
        for table in ("events", "confined"):
            db.execute(
                f"INSERT INTO {table} SELECT * FROM t.{table} WHERE seq > ? AND seq <= ?",
                (after, upto),
            )
        db.execute("COMMIT")


def _last(log_file: Path) -> int:
    with closing(sqlite3.connect(log_file)) as db:
        return int(db.execute("SELECT max(seq) FROM events").fetchone()[0])


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return (a["nodes"], a["edges"], a["checkpoint"]) == (b["nodes"], b["edges"], b["checkpoint"])


def run(nodes: int, work: Path, tail: float, keep: bool = False) -> dict[str, Any]:
    """`tail` 0: no snapshot-behind-the-head start (it costs a second full replay, ~an hour at
    1M on this machine). `keep`: the head's data dir (log and snapshot) stays, for later runs."""
    template = _estate(nodes, work)
    last = _last(template)
    run_dir = Path(tempfile.mkdtemp(prefix=f"start-{nodes}-", dir=work))
    try:
        head = run_dir / "head"
        _copy_log(template, head, 0, last)
        full = _start(head, write=True)  # no snapshot yet: the baseline; then it writes one
        at_head = _start(head)
        assert at_head["refused"] is None, f"snapshot: {at_head['refused']}"
        assert _same(at_head, full), "snapshot: not the graph the full replay built"
        assert at_head["snapshot_seq"] == last
        common = {
            "nodes": sum(full["nodes"].values()),
            "edges": sum(full["edges"].values()),
            "log_entries": last,
            "full": full,
            "snapshot": at_head,
            "loadavg_after": os.getloadavg(),
        }
        if tail <= 0:
            return common | {"tail_entries": 0, "snapshot_tail": None, "kept": str(head)}
        cut = max(1, round(last * (1 - tail)))
        behind = run_dir / "behind"
        _copy_log(template, behind, 0, cut)
        prefix = _start(behind, write=True)
        _copy_log(template, behind, cut, last)
        with_tail = _start(behind)
        for name, got in (("snapshot", at_head), ("snapshot + tail", with_tail)):
            assert got["refused"] is None, f"{name}: {got['refused']}"
            assert _same(got, full), f"{name}: not the graph the full replay built"
        assert with_tail["snapshot_seq"] == cut and at_head["snapshot_seq"] == last
        return {
            "nodes": sum(full["nodes"].values()),
            "edges": sum(full["edges"].values()),
            "log_entries": last,
            "tail_entries": last - cut,
            "full": full,
            "snapshot": at_head,
            "snapshot_tail": with_tail,
            "prefix_full_s": prefix["ready_s"],
            "loadavg_after": os.getloadavg(),
        }
    finally:
        if not keep:
            shutil.rmtree(run_dir, ignore_errors=True)


def _row(label: str, r: dict[str, Any]) -> str:
    return (
        f"| {label} | {r['ready_s']:.2f} s | {r['process_s']:.2f} s | {r['peak_rss_mb']:,.0f} MiB "
        f"| {r['replayed']:,} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--tail", type=float, default=0.05, help="share of entries after it")
    parser.add_argument("--work", type=Path, default=None, help="where estates are kept")
    parser.add_argument("--child", type=str, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--write", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--writer", type=str, default="", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the head's data dir and snapshot")
    args = parser.parse_args()
    if args.child is not None:
        _child(args.child, args.write, args.writer)
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="lkg-start-"))
    work.mkdir(parents=True, exist_ok=True)
    results = []
    for nodes in args.nodes:
        load = os.getloadavg()
        r = run(nodes, work, args.tail, args.keep)
        r["loadavg_before"] = load
        results.append(r)
        full, snap = r["full"], r["snapshot"]
        print(
            f"\n{r['nodes']:,} nodes, {r['edges']:,} edges, {r['log_entries']:,} log entries "
            f"(load average before {load[0]:.1f}, after {r['loadavg_after'][0]:.1f})\n"
            "| start | ready (in process) | process (with imports) | peak RSS | entries "
            "replayed |\n|---|---|---|---|---|\n"
            + _row("full replay (no snapshot: the baseline)", full)
            + "\n"
            + _row("snapshot at the head", snap)
            + (
                "\n" + _row(f"snapshot + tail of {r['tail_entries']:,} entries", r["snapshot_tail"])
                if r["snapshot_tail"]
                else ""
            )
            + f"\nsnapshot write {full['write_s']:.2f} s (of which the copy under the store's "
            f"lock {full['copy_s']:.2f} s), {full['snapshot_mb']:,.1f} MiB on "
            f"disk; speed-up at the head {full['ready_s'] / snap['ready_s']:.1f}x",
            flush=True,
        )
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
