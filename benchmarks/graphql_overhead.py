"""What GraphQL costs on top of the question: each question answered directly (the `queries/`
function the resolver calls), through FastAPI + Strawberry in-process (TestClient, no socket),
and over real HTTP (`lkg serve` on loopback), same starts, interleaved, every reply checked
against the direct answer.

    python -m benchmarks.graphql_overhead --nodes 10000 --starts 40 --rounds 3
        [--questions impact ...] [--no-http] [--profile FILE] [--compare-with DIR]

A generated estate goes into an event log; the in-process app rebuilds its embedded store from
it as `lkg serve` does, and the direct calls use that app's own store and decisions table (the
same objects). `lkg serve` runs on a copy of the data dir. Questions: impact (a full page of up
to 1,000 items, every field, paths included), impact_light (benchmarks/api_load.py's query: ids,
distances, certainty, the summary), the decision trace, the audit trail (its tiny answers show
the fixed cost of a request), and the accountability map of the largest team. The ratio is HTTP
(or in-process) p50 over direct p50; the issue's target (19, target 2) is HTTP <= 1.3x direct for
impact. `impact_table` is the full page with its paths as positions in one table of the page's
steps (`pathIds`, `steps`: the SDL's addition of session 24; not asked of `http_other`, whose
schema may not have them). `--profile FILE` writes a cProfile of the schema's execution of the
impact requests on this thread, as the router runs them (pstats), instead of timing.
`--stdlib-client` adds `http_stdlib`: the same service asked through http.client, a leaner
client than httpx. `--compare-with DIR` adds a contender, `http_other`: a second `lkg serve`
running the lineage_kg package found in DIR (e.g. `mkdir -p /tmp/base/lineage_kg &&
git archive HEAD | tar -x -C /tmp/base/lineage_kg`, then `--compare-with /tmp/base`) on its own
copy of the data, asked the same starts interleaved: a before/after under the same load.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import json
import random
import shutil
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from fastapi.testclient import TestClient
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from benchmarks.api_load import QUERY as IMPACT_LIGHT
from benchmarks.harness import RESULTS, Service, percentiles, save, scratch_dir
from benchmarks.synthetic.load import load_sources
from benchmarks.synthetic.write import generate
from lineage_kg.api.app import create_app
from lineage_kg.api.graphql.router import BoundedGraphQLRouter, run_apart
from lineage_kg.api.graphql.schema import Context, schema
from lineage_kg.api.graphql.traversal_budget import TraversalBudget, budgeted
from lineage_kg.graph.model import NodeKey, NodeKind
from lineage_kg.ingest.intake import accept_many
from lineage_kg.queries.accountability import accountability
from lineage_kg.queries.audit import audit_trail
from lineage_kg.queries.decision_trace import decision_lineage
from lineage_kg.queries.impact import impact
from lineage_kg.runtime import Runtime
from lineage_kg.settings import Settings

NODE = "id kind display key props aliases sources firstSeen lastSeen firstEvent lastEvent"
IMPACT = f"""query($id: ID!) {{
  impact(ref: {{id: $id}}, depth: 10, first: 1000) {{
    start {{ id }}
    summary {{ total truncated kpis unowned byKind {{ kind count }}
              byCertainty {{ kind count }} byOwner {{ kind count }} }}
    edges {{ cursor node {{ distance certainty owners node {{ {NODE} }}
             path {{ kind fromId fromDisplay toId toDisplay props lastEvent }} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}"""
# the same page with its paths as positions in one table of the page's steps (session 24)
IMPACT_TABLE = f"""query($id: ID!) {{
  impact(ref: {{id: $id}}, depth: 10, first: 1000) {{
    start {{ id }}
    summary {{ total truncated kpis unowned byKind {{ kind count }}
              byCertainty {{ kind count }} byOwner {{ kind count }} }}
    edges {{ cursor node {{ distance certainty owners node {{ {NODE} }} pathIds }} }}
    steps {{ kind fromId fromDisplay toId toDisplay props lastEvent }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}"""
STEP = "kind node { id display } distance via edge resolution time evidence owners detail"
TRACE = f"""query($id: String!) {{
  decisionLineage(ref: {{kind: Decision, decisionId: $id}}) {{
    start {{ id }} decision {{ {STEP} }} modelVersions {{ {STEP} }} data {{ {STEP} }}
    features {{ {STEP} }} sources truncated
  }}
}}"""
RELATED = "node { id display } distance certainty owners"
LINK = "owner left assets { id }"
ACCOUNTABILITY = f"""query($id: String!) {{
  accountability(ownerId: $id) {{
    owner {{ id }} teams members owned {{ node {{ id display }} ownershipType via }}
    kpis {{ {RELATED} }} upstream {{ {RELATED} }} downstream {{ {RELATED} }}
    upstreamOwners {{ {LINK} }} downstreamOwners {{ {LINK} }}
    gaps {{ kind asset {{ id }} related {{ id }} detail evidence }} truncated
  }}
}}"""
AUDIT = """query($id: ID!) {
  auditTrail(ref: {id: $id}, first: 200) {
    node { id } entries { time type summary eventId source otherNodeId edgeKind cursor }
    pageInfo { hasNextPage endCursor }
  }
}"""


# ---- what each question's reply must say, from the direct answer --------------------------
def impact_expected(a: Any) -> Any:
    return (
        len(a.items),
        [
            (i.node.id, i.distance, i.certainty.value, list(i.owners), len(i.path))
            for i in a.items[:1000]
        ],
    )


def impact_got(d: dict[str, Any]) -> Any:
    x = d["impact"]
    return (
        x["summary"]["total"],
        [
            (
                e["node"]["node"]["id"],
                e["node"]["distance"],
                e["node"]["certainty"],
                e["node"]["owners"],
                len(e["node"]["path"]),
            )
            for e in x["edges"]
        ],
    )


def table_got(d: dict[str, Any]) -> Any:
    x = d["impact"]
    steps = x["steps"]
    return (
        x["summary"]["total"],
        [
            (
                e["node"]["node"]["id"],
                e["node"]["distance"],
                e["node"]["certainty"],
                e["node"]["owners"],
                len([steps[i] for i in e["node"]["pathIds"]]),
            )
            for e in x["edges"]
        ],
    )


def light_expected(a: Any) -> Any:
    return len(a.items), [(i.node.id, i.distance, i.certainty.value) for i in a.items[:1000]]


def light_got(d: dict[str, Any]) -> Any:
    x = d["impact"]
    return x["summary"]["total"], [
        (e["node"]["node"]["id"], e["node"]["distance"], e["node"]["certainty"]) for e in x["edges"]
    ]


def _steps(t: Any) -> list[tuple[str, str, int]]:
    steps = ([t.decision] if t.decision else []) + t.model_versions + t.data + t.features
    return [(s.kind.value, s.node.id, s.distance) for s in steps]


def trace_expected(t: Any) -> Any:
    return _steps(t), list(t.sources)


def trace_got(d: dict[str, Any]) -> Any:
    x = d["decisionLineage"]
    steps = ([x["decision"]] if x["decision"] else []) + x["modelVersions"] + x["data"]
    steps += x["features"]
    return [(s["kind"], s["node"]["id"], s["distance"]) for s in steps], x["sources"]


def accountability_expected(m: Any) -> Any:
    return (
        [o.node.id for o in m.owned],
        [(r.node.id, r.distance) for r in m.downstream],
        [(r.node.id, r.distance) for r in m.upstream],
        len(m.gaps),
    )


def accountability_got(d: dict[str, Any]) -> Any:
    x = d["accountability"]
    return (
        [o["node"]["id"] for o in x["owned"]],
        [(r["node"]["id"], r["distance"]) for r in x["downstream"]],
        [(r["node"]["id"], r["distance"]) for r in x["upstream"]],
        len(x["gaps"]),
    )


def audit_expected(p: Any) -> Any:
    return [(e.event_id, e.entry_type.value, e.cursor) for e in p.entries]


def audit_got(d: dict[str, Any]) -> Any:
    return [(e["eventId"], e["type"], e["cursor"]) for e in d["auditTrail"]["entries"]]


ROUTER = BoundedGraphQLRouter(schema, deadline_seconds=60)  # its JSON encoder, for --profile
CONTENDERS = ("direct", "in_process", "in_process_ordinary", "http", "http_stdlib", "http_other")


class StdlibClient:
    """The same `lkg serve` asked through Python's http.client (one kept-alive connection):
    httpx's own work is ~0.6-0.8 ms a request here, part of every `http` figure (session 24)."""

    def __init__(self, url: str) -> None:
        parsed = urlsplit(url)
        self.connection = http.client.HTTPConnection(parsed.hostname or "", parsed.port)

    def post(self, path: str, json: Any) -> _StdlibReply:
        body = orjson.dumps(json)
        self.connection.request("POST", path, body, {"content-type": "application/json"})
        reply = self.connection.getresponse()
        return _StdlibReply(reply.status, reply.read())

    def close(self) -> None:
        self.connection.close()


@dataclass(frozen=True)
class _StdlibReply:
    status_code: int
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)


@dataclass(frozen=True)
class Question:
    name: str
    query: str
    starts: list[str]
    direct: Callable[[str], Any]
    expected: Callable[[Any], Any]
    got: Callable[[dict[str, Any]], Any]
    other: bool = True  # asked of http_other too (False: fields a base may not have)


def questions(app: Any, manifest: dict[str, Any], starts: int, seed: int) -> list[Question]:
    store, decisions, history = app.state.store, app.state.decisions, app.state.projector.log
    samples = manifest["samples"]
    rng = random.Random(seed)
    raw = samples["impact_raw_columns"]
    columns = rng.sample(raw, min(starts, len(raw)))
    return [
        Question(
            "impact",
            IMPACT,
            columns,
            lambda s: impact(store, s, depth=10),
            impact_expected,
            impact_got,
        ),
        Question(
            "impact_table",
            IMPACT_TABLE,
            columns,
            lambda s: impact(store, s, depth=10),
            impact_expected,
            table_got,
            other=False,
        ),
        Question(
            "impact_light",
            IMPACT_LIGHT,
            columns,
            lambda s: impact(store, s, depth=10),
            light_expected,
            light_got,
        ),
        Question(
            "decision_trace",
            TRACE,
            samples["root_cause_decisions"][: max(1, starts // 2)],
            lambda s: decision_lineage(
                store, NodeKey.of(NodeKind.DECISION, decision_id=s).id, decisions=decisions
            ),
            trace_expected,
            trace_got,
        ),
        Question(
            "audit_trail",
            AUDIT,
            columns[: max(1, starts // 2)],
            lambda s: audit_trail(history, store, s, first=200),
            audit_expected,
            audit_got,
        ),
        Question(
            "accountability",
            ACCOUNTABILITY,
            [samples["accountability_owner"]] * 2,
            lambda s: accountability(store, s),
            accountability_expected,
            accountability_got,
        ),
    ]


def ask(client: httpx.Client | TestClient | StdlibClient, q: Question, start: str) -> Any:
    r = client.post("/graphql", json={"query": q.query, "variables": {"id": start}})
    body = r.json()
    if r.status_code != 200 or body.get("errors"):
        raise AssertionError(f"{q.name} {start}: {r.status_code} {str(body)[:500]}")
    return body["data"]


def ordinary(call: Callable[[], Any]) -> Any:
    """`call` with the schema executed field by field by graphql-core, as before the plain-data
    completion (api/graphql/execution.py): the baseline, in the same run, on the same app."""
    fast = schema.execution_context_class
    schema.execution_context_class = StrawberryGraphQLCoreExecutionContext
    try:
        return call()
    finally:
        schema.execution_context_class = fast


def run(
    qs: list[Question],
    local: TestClient,
    http: httpx.Client | None,
    rounds: int,
    other: httpx.Client | None = None,
    *,
    stdlib: StdlibClient | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for q in qs:
        took: dict[str, list[float]] = {k: [] for k in CONTENDERS}
        sizes: list[int] = []
        for r in range(rounds + 1):  # round 0 warms up and checks every reply
            for start in q.starts:
                answers: dict[str, Any] = {}
                for name in CONTENDERS:
                    if (
                        (name == "http" and http is None)
                        or (name == "http_stdlib" and stdlib is None)
                        or (name == "http_other" and (other is None or not q.other))
                    ):
                        continue
                    began = time.perf_counter()
                    if name == "direct":
                        answers[name] = q.direct(start)
                    elif name == "in_process":
                        answers[name] = ask(local, q, start)
                    elif name == "in_process_ordinary":
                        answers[name] = ordinary(partial(ask, local, q, start))
                    elif name == "http":
                        answers[name] = ask(http, q, start)  # type: ignore[arg-type]
                    elif name == "http_stdlib":
                        answers[name] = ask(stdlib, q, start)  # type: ignore[arg-type]
                    else:
                        answers[name] = ask(other, q, start)  # type: ignore[arg-type]
                    took[name].append(time.perf_counter() - began)
                if r == 0:
                    want = q.expected(answers["direct"])
                    for name, got in answers.items():
                        if name != "direct":
                            assert q.got(got) == want, f"{q.name} {start}: {name} differs"
                    items = getattr(answers["direct"], "items", None)
                    sizes.append(len(items) if items is not None else 0)
                    for times in took.values():
                        times.clear()
        result: dict[str, Any] = {k: percentiles(v) for k, v in took.items() if v}
        for k in CONTENDERS[1:]:
            if k in result:
                result[f"{k}_over_direct_p50"] = result[k]["p50_ms"] / result["direct"]["p50_ms"]
                result[f"{k}_over_direct_mean"] = result[k]["mean_ms"] / result["direct"]["mean_ms"]
        if "http_other" in result:
            result["http_over_http_other_p50"] = (
                result["http"]["p50_ms"] / result["http_other"]["p50_ms"]
            )
        if q.name.startswith("impact"):
            result["answer_items_median"] = sorted(sizes)[len(sizes) // 2]
        out[q.name] = result
        print(q.name, _line(result), flush=True)
    return out


def _line(r: dict[str, Any]) -> str:
    parts = [
        f"{k} p50 {r[k]['p50_ms']:.1f} p95 {r[k]['p95_ms']:.1f} ms" for k in CONTENDERS if k in r
    ]
    ratios = [
        f"{k.split('_over')[0]}/direct p50 {r[k]:.2f}x"
        for k in (f"{c}_over_direct_p50" for c in CONTENDERS[1:])
        if k in r
    ]
    if "http_over_http_other_p50" in r:
        ratios.append(f"http/http_other p50 {r['http_over_http_other_p50']:.2f}x")
    return "; ".join(parts + ratios)


def execute(app: Any, q: Question, start: str) -> Any:
    """The schema's execution alone, on this thread (what the router runs in its worker), with
    the context the app builds, and the reply encoded as the router encodes it."""
    settings = app.state.settings
    budget = TraversalBudget(settings.request_node_budget)
    context = Context(
        budgeted(app.state.store, budget),
        app.state.projector,
        app.state.decisions,
        max_traversal_nodes=settings.max_traversal_nodes,
    )

    # as the router runs a request: on this thread's loop, with one blocking thread (router.py)
    result = run_apart(schema.execute(q.query, {"id": start}, context_value=context))
    assert not result.errors, result.errors
    return ROUTER.encode_json({"data": result.data})


def profile(q: Question, app: Any, path: Path, rounds: int) -> None:
    """cProfile of the schema's execution (the request's worker thread is out of a profiler's
    reach through TestClient)."""
    for start in q.starts:  # warm
        execute(app, q, start)
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(rounds):
        for start in q.starts:
            execute(app, q, start)
    prof.disable()
    prof.dump_stats(str(path))
    print("profile written to", path)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--starts", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--questions", nargs="+", help="only these (default: all)")
    parser.add_argument("--no-http", action="store_true", help="skip the lkg serve contender")
    parser.add_argument("--profile", type=Path, help="cProfile the in-process impact requests")
    parser.add_argument(
        "--compare-with",
        type=Path,
        metavar="DIR",
        help="also ask a second lkg serve running the lineage_kg package in DIR (http_other)",
    )
    parser.add_argument(
        "--stdlib-client",
        action="store_true",
        help="also ask the lkg serve through http.client (http_stdlib): the client's own cost",
    )
    parser.add_argument("--tag", default="", help="added to the results file's name")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON results go")
    args = parser.parse_args()

    with scratch_dir("graphql") as work, ExitStack() as stack:
        manifest = generate(work / "files", args.nodes, args.seed)
        data = work / "data"
        data.mkdir()
        settings = Settings(data_dir=data, auth="off", snapshot=False)
        with Runtime.open(settings) as runtime:  # the log where the service will find it
            with (work / "files" / "events.ndjson").open() as f:
                accept_many(runtime.log, enumerate(json.loads(line) for line in f))
            load_sources(work / "files", runtime.log)
        shutil.copytree(data, work / "data_http")
        local = stack.enter_context(TestClient(create_app(settings)))
        qs = questions(local.app, manifest, args.starts, args.seed)  # type: ignore[attr-defined]
        qs = [q for q in qs if not args.questions or q.name in args.questions]
        if args.profile:
            profile(qs[0], local.app, args.profile, args.rounds)  # type: ignore[attr-defined]
            return
        http = other = stdlib = None
        env = {"NEO4J_URI": "", "LKG_SNAPSHOT": "false"}
        if not args.no_http:
            service = stack.enter_context(Service(work / "data_http", env))
            http = stack.enter_context(httpx.Client(base_url=service.url, timeout=600))
            if args.stdlib_client:
                stdlib = StdlibClient(service.url)
                stack.callback(stdlib.close)
        if args.compare_with:
            shutil.copytree(data, work / "data_other")
            env_other = {**env, "PYTHONPATH": str(args.compare_with.resolve())}
            service = stack.enter_context(Service(work / "data_other", env_other))
            other = stack.enter_context(httpx.Client(base_url=service.url, timeout=600))
        result: dict[str, Any] = {"nodes_target": args.nodes, "starts": args.starts}
        if args.compare_with:
            result["http_other"] = str(args.compare_with)
        result["questions"] = run(qs, local, http, args.rounds, other, stdlib=stdlib)
    tag = f"{args.nodes}" + (f"_{args.tag}" if args.tag else "")
    print("saved", save("graphql_overhead", result, tag=tag, out=args.out))


if __name__ == "__main__":
    main()
