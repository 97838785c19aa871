"""The plain-data completion (api/graphql/execution.py) of this tree against the one at a
revision, on the same fresh resolver results, interleaved in one process (session 28).

    python -m benchmarks.graphql_completion_pair --before REV [--nodes 10000] [--starts 20]
        [--rounds 3] [--questions impact impact_light decision_trace audit_trail]

Each request of benchmarks/graphql_overhead.py is executed as the router runs it, but its root
value is captured instead of completed; each contender then completes a result of its own (a
result completes once: its path steps keep their completed maps), the order alternating, and
the two replies must encode the same. The revision's module is read with `git show`; its
completers are kept per operation as the service keeps them (`plan_for`).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Self

from fastapi.testclient import TestClient

from benchmarks import graphql_overhead as overhead
from benchmarks.harness import RESULTS, save, scratch_dir
from benchmarks.synthetic.load import load_sources
from benchmarks.synthetic.write import generate
from lineage_kg.api.app import create_app
from lineage_kg.api.graphql import execution
from lineage_kg.api.graphql.types import PathStep
from lineage_kg.ingest.intake import accept_many
from lineage_kg.runtime import Runtime
from lineage_kg.settings import Settings

MODULE = "api/graphql/execution.py"


def module_at(revision: str, work: Path) -> Any:
    text = subprocess.run(
        ["git", "show", f"{revision}:{MODULE}"], check=True, capture_output=True, text=True
    ).stdout
    path = work / "execution_before.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("execution_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module._SHARED.add(PathStep)  # what types.py marks on this tree's module
    return module


class Capture:
    """The execution context's completion replaced by a capture of what it would complete."""

    def __init__(self) -> None:
        self.taken: list[tuple[Any, ...]] = []
        self._complete = execution.PlainDataExecutionContext.complete_value

    def __enter__(self) -> Self:
        taken = self.taken

        def capture(ctx: Any, return_type: Any, details: Any, *_rest: Any) -> Any:
            result = _rest[2]
            plan = (ctx.schema, ctx.fragments, ctx.variable_values, ctx.operation)
            taken.append((*plan, ctx.hide_suggestions, return_type, details, result))
            return {}

        execution.PlainDataExecutionContext.complete_value = capture  # type: ignore[method-assign]
        return self

    def __exit__(self, *_exc: object) -> None:
        execution.PlainDataExecutionContext.complete_value = self._complete  # type: ignore[method-assign]

    def result(self, app: Any, q: overhead.Question, start: str) -> tuple[tuple[Any, ...], Any]:
        self.taken.clear()
        overhead.execute(app, q, start)
        ((*plan, result),) = self.taken
        return tuple(plan), result


def completer(module: Any, plan: tuple[Any, ...]) -> Any:
    schema, fragments, variables, operation, hide, return_type, details = plan
    found = module.plan_for(schema, fragments, variables, operation, hide)
    return found.completer(return_type, details)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--before", required=True, help="the revision to compare with")
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--starts", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--questions", nargs="+", default=["impact", "impact_light", "decision_trace"]
    )
    parser.add_argument("--tag", default="")
    args = parser.parse_args()

    out: dict[str, Any] = {"before": args.before, "nodes_target": args.nodes, "questions": {}}
    with scratch_dir("completion") as work, ExitStack() as stack:
        before = module_at(args.before, Path(stack.enter_context(tempfile.TemporaryDirectory())))
        manifest = generate(work / "files", args.nodes, args.seed)
        data = work / "data"
        data.mkdir()
        settings = Settings(data_dir=data, auth="off", snapshot=False)
        with Runtime.open(settings) as runtime:
            with (work / "files" / "events.ndjson").open() as f:
                accept_many(runtime.log, enumerate(json.loads(line) for line in f))
            load_sources(work / "files", runtime.log)
        app = stack.enter_context(TestClient(create_app(settings))).app
        capture = stack.enter_context(Capture())
        questions = {q.name: q for q in overhead.questions(app, manifest, args.starts, args.seed)}
        for name in args.questions:
            q = questions[name]
            took: dict[str, list[float]] = {"before": [], "after": []}
            pairs = 0
            for _ in range(args.rounds + 1):  # the first round compiles and warms
                for start in q.starts:
                    plan, mine = capture.result(app, q, start)
                    _, theirs = capture.result(app, q, start)
                    contenders = {
                        "before": (completer(before, plan), theirs),
                        "after": (completer(execution, plan), mine),
                    }
                    order = ["before", "after"] if pairs % 2 else ["after", "before"]
                    replies = {}
                    for who in order:
                        complete, result = contenders[who]
                        began = time.perf_counter()
                        replies[who] = complete(result)
                        took[who].append(time.perf_counter() - began)
                    assert json.dumps(replies["before"]) == json.dumps(replies["after"]), name
                    pairs += 1
            warm = len(q.starts)
            times = {k: v[warm:] for k, v in took.items()}
            ratios = [a / b for a, b in zip(times["after"], times["before"], strict=True)]
            found = {
                "before_p50_ms": 1000 * statistics.median(times["before"]),
                "after_p50_ms": 1000 * statistics.median(times["after"]),
                "after_over_before_median_pair": statistics.median(ratios),
                "pairs": len(ratios),
            }
            out["questions"][name] = found
            print(name, {k: round(v, 3) for k, v in found.items()}, flush=True)
    tag = f"{args.nodes}" + (f"_{args.tag}" if args.tag else "")
    print("saved", save("graphql_completion_pair", out, tag=tag, out=RESULTS))


if __name__ == "__main__":
    sys.exit(main())
