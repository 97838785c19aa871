"""Two trees of the code, one benchmark, alternated process by process (session 30, target 4).

    python -m benchmarks.projector_ab_s30 --tree base=/tmp/base --tree after=. --rounds 4 \
        -- benchmarks.projector_cpu --log DIR --upto 500
    python -m benchmarks.projector_ab_s30 --tree base=/tmp/base --tree after=. --rounds 2 \
        -- benchmarks.projector_batches --log DIR --nodes 100000 --warmup --rounds 1 --limit

Each round runs the benchmark module once per tree (the order flipped each round), each in a
fresh process whose `lineage_kg` is imported from that tree (a git worktree of the "before"
commit, say) while the benchmark scripts are this checkout's. The last line of each run's
standard output that parses as JSON is kept (projector_cpu prints one), with the load average
before and after it; `--check KEY` (e.g. digest) must be equal across every run. Saved to
benchmarks/results/projector_ab_s30_<tag>.json.

`--as-tree TREE -m MODULE ARGS`: run one module with `lineage_kg` imported from TREE (what each
round's process does).
"""

from __future__ import annotations

import argparse
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import runpy
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# pyproject.toml's package-dir: lineage_kg's packages live at the top of the tree
PACKAGE_DIRS = {
    "lineage_kg": "service",
    "lineage_kg.graph": "graph",
    "lineage_kg.ingest": "ingest",
    "lineage_kg.queries": "queries",
    "lineage_kg.api": "api",
    "lineage_kg.cli": "cli",
}


class _TreeFinder(importlib.abc.MetaPathFinder):
    """lineage_kg.* from `tree` instead of the editable install's checkout."""

    def __init__(self, tree: Path) -> None:
        self.tree = tree

    def find_spec(
        self, name: str, path: Any = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if name != "lineage_kg" and not name.startswith("lineage_kg."):
            return None
        parts = name.split(".")
        for i in range(len(parts), 0, -1):
            if (head := ".".join(parts[:i])) in PACKAGE_DIRS:
                base = self.tree / PACKAGE_DIRS[head] / Path(*parts[i:])
                break
        else:
            return None
        if base.is_dir():
            return importlib.util.spec_from_file_location(
                name, base / "__init__.py", submodule_search_locations=[str(base)]
            )
        source = base.with_suffix(".py")
        return importlib.util.spec_from_file_location(name, source) if source.exists() else None


def run_as_tree(tree: Path, module: str, args: list[str]) -> None:
    sys.meta_path.insert(0, _TreeFinder(tree.resolve()))
    sys.path.insert(0, str(ROOT))  # the benchmarks: this checkout's
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


def _results(text: str) -> dict[str, Any]:
    """What a run printed: its last bare JSON line's keys (projector_cpu, projector_map_s30),
    each `LABEL {json}` line under its label and each `LABEL NUMBER` line (projector_batches'
    "round 1 projector {...}", "round 1 ratio limit/projector 0.4"); a label printed again
    (intake_ratio's phases, once a round) keeps every value, in order."""
    found: dict[str, Any] = {}
    labelled: dict[str, list[Any]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        label, _, rest = line.partition(" {")
        try:
            if line.startswith("{"):
                found.update(json.loads(line))
            elif rest:
                labelled.setdefault(label.strip(), []).append(json.loads("{" + rest))
            elif (words := line.rsplit(" ", 1))[-1].replace(".", "", 1).isdigit():
                labelled.setdefault(words[0], []).append(float(words[-1]))
        except ValueError:
            continue
    found.update((k, v[0] if len(v) == 1 else v) for k, v in labelled.items())
    return found


def _one(tree: Path, command: list[str]) -> dict[str, Any]:
    load = os.getloadavg()[0]
    began = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.projector_ab_s30",
            "--as-tree",
            str(tree),
            "-m",
            *command,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{tree}: exit {done.returncode}\n{done.stderr[-3000:]}")
    return {
        "wall_s": round(time.perf_counter() - began, 2),
        "load": [round(load, 2), round(os.getloadavg()[0], 2)],
        "result": _results(done.stdout),
        "stdout_tail": done.stdout[-2000:],
    }


def main() -> None:
    if len(sys.argv) > 3 and sys.argv[1] == "--as-tree":
        assert sys.argv[3] == "-m", "--as-tree TREE -m MODULE ARGS"
        run_as_tree(Path(sys.argv[2]), sys.argv[4], sys.argv[5:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", action="append", required=True, help="NAME=DIR")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--check", action="append", default=[], help="a result key: equal")
    parser.add_argument("--tag", default="")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- MODULE ARGS")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    trees = dict(t.split("=", 1) for t in args.tree)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
    for r in range(args.rounds):
        order = list(trees) if r % 2 == 0 else list(reversed(trees))
        for name in order:
            run = _one(Path(trees[name]), command)
            runs[name].append(run)
            line = {**(run["result"] or {}), "ab_round": r, "tree": name, "load": run["load"]}
            print(json.dumps(line))
            sys.stdout.flush()
    for key in args.check:
        seen = {json.dumps(run["result"].get(key)) for rs in runs.values() for run in rs}
        assert len(seen) == 1, f"{key} differs between runs: {seen}"
    summary: dict[str, Any] = {}
    for name, rs in runs.items():
        numbers = [run["result"] or {} for run in rs]
        summary[name] = {
            key: {"median": statistics.median(vals), "min": min(vals), "all": vals}
            for key in numbers[0]
            if all(isinstance(n.get(key), (int, float)) for n in numbers)
            and (vals := [n[key] for n in numbers])
        }
    print(json.dumps({"summary": summary}, indent=1))
    out = ROOT / "benchmarks" / "results" / f"projector_ab_s30_{args.tag or 'run'}.json"
    out.write_text(json.dumps({"command": command, "trees": trees, "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
