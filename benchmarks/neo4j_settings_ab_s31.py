"""Neo4j server settings, before and after, alternated process by process (session 31, target 4).

    python -m benchmarks.neo4j_settings_ab_s31 --variant g1=JVM:-XX:+UseG1GC \
        --variant pgc=JVM:-XX:+UseParallelGC --rounds 2 --tag gc \
        -- --log DIR --nodes 100000 --warmup --rounds 1 --digest

Each round runs `benchmarks.projector_batches` (the arguments after `--`) once per variant, the
order flipped each round, each in a fresh process (so a fresh server) whose sized Neo4j gets the
variant's JVM options (`JVM:...`) and Neo4j settings (`name=value`), through
`LKG_BENCH_NEO4J_JVM` / `LKG_BENCH_NEO4J_SETTINGS` (benchmarks/harness.py `_sized_neo4j`). A
variant is `NAME=` then items separated by commas. The runs' `round N projector {...}` lines are
kept with the load before and after; the graph digests must be equal across every run. Saved to
benchmarks/results/neo4j_settings_ab_s31_<tag>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.harness import SIZED_JVM, SIZED_SETTINGS

ROOT = Path(__file__).resolve().parent.parent


def _env(items: str) -> dict[str, str]:
    jvm = [i[4:] for i in items.split(",") if i.startswith("JVM:")]
    settings = [i for i in items.split(",") if i and not i.startswith("JVM:")]
    return {SIZED_JVM: " ".join(jvm), SIZED_SETTINGS: " ".join(settings)}


def _loads(stdout: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for line in stdout.splitlines():
        label, _, rest = line.partition(" {")
        if rest and (label.startswith("round") or label == "warm-up"):
            found[label] = json.loads("{" + rest)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", action="append", required=True, help="NAME=ITEM,ITEM")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--tag", default="run")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- projector_batches args")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    variants = dict(v.split("=", 1) for v in args.variant)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    for r in range(args.rounds):
        for name in list(variants) if r % 2 == 0 else list(reversed(variants)):
            load = os.getloadavg()[0]
            done = subprocess.run(
                [sys.executable, "-m", "benchmarks.projector_batches", *command],
                cwd=ROOT,
                env={**os.environ, **_env(variants[name])},
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise RuntimeError(f"{name}: exit {done.returncode}\n{done.stderr[-3000:]}")
            run = {"load": [round(load, 2), round(os.getloadavg()[0], 2)], **_loads(done.stdout)}
            runs[name].append(run)
            print(json.dumps({"variant": name, "ab_round": r, **run}), flush=True)
    graphs = {
        json.dumps(load.get("graph"), sort_keys=True)
        for rs in runs.values()
        for run in rs
        for key, load in run.items()
        if key != "load"
    }
    assert len(graphs) == 1, f"graphs differ: {graphs}"
    summary = {}
    for name, rs in runs.items():
        timed = [run[k] for run in rs for k in run if k.startswith("round")]
        summary[name] = {
            key: {"median": statistics.median(vals), "all": vals}
            for key in ("seconds", "server_cpu_s", "process_cpu_s", "commit_wall_s")
            if (vals := [t[key] for t in timed])
        }
        summary[name]["server_threads_s"] = [t["server_threads_s"] for t in timed]
    print(json.dumps({"summary": summary}, indent=1))
    out = ROOT / "benchmarks" / "results" / f"neo4j_settings_ab_s31_{args.tag}.json"
    out.write_text(json.dumps({"command": command, "variants": variants, "runs": runs}, indent=1))
    print(out)


if __name__ == "__main__":
    main()
