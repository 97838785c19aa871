"""`lkg check-change` on two real dbt manifests (issue 20 part 1), on both stores.

tests/fixtures/dbt_shop is copied and compiled (`dbt compile`, dbt-duckdb) twice: the base with
declared types on two columns, and the proposal, which drops customer_revenue.customer_name,
retypes customer_revenue.order_count (integer → bigint) and stg_orders.amount (decimal(10,2) →
decimal(12,2)) and so changes both models' SQL. The base manifest is synced into the store as
`lkg sync dbt` would (the dbt records through their mappers), with a small ML estate on top:

    customer_revenue#order_count ─FEEDS→ credit@1 ─DEPLOYED_TO(champion)→ credit-limit ─DRIVES→
        credit-losses (owned by c.doe, an alias of team:risk);  credit-limit owned by carol (left)
    customer_revenue#order_count ─FEEDS→ credit@2 ─DEPLOYED_TO(shadow)→ credit-limit, fraud-check
    customer_revenue#order_count ─FEEDS→ old@1 ─DEPLOYED_TO(champion, ended)→ legacy
    customer_revenue ─CONSUMED_BY→ churn@3 ─DEPLOYED_TO(champion)→ retention   (possible only)

The oracle of what is impacted is networkx reachability over the same graph's edges, read with
`iter_edges` (not the walk): exact over field-level edges, everything over all lineage edges;
the decision points at risk are those a reached, serving, non-shadow version is deployed on.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
import yaml
from typer.testing import CliRunner

from lineage_kg.cli.app import app
from lineage_kg.graph.model import COLUMN_LINEAGE, Certainty, EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import MutationBatch, Provenance
from lineage_kg.graph.naming import column_key, dataset_key
from lineage_kg.graph.store import GraphStore
from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.ingest.dbt.manifest_diff import diff_manifests
from lineage_kg.ingest.dbt.mapping import MAPPERS
from lineage_kg.ingest.dbt.sync import dbt_records
from lineage_kg.ingest.source_sync import SyncReport
from lineage_kg.queries.change_check import Change
from lineage_kg.queries.change_policy import CheckChangePolicy, evaluate, load_policy

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "dbt_shop"
WORKFLOW = Path(__file__).resolve().parents[2] / "examples" / "ci" / "check-change.yml"
HOOKS = Path(__file__).resolve().parents[2] / "examples" / "ci" / ".pre-commit-hooks.yaml"
NS = "duckdb://target/shop.duckdb"  # dbt-ol's and `lkg sync dbt --profiles-dir`'s namespace
E = EdgeKind


def ds(table: str) -> NodeKey:
    return dataset_key(NS, f"shop.main.{table}")


def col(table: str, field: str) -> NodeKey:
    return column_key(ds(table), field)


def mv(name: str, version: str) -> NodeKey:
    return NodeKey.of(NodeKind.MODEL_VERSION, registry="mlflow", name=name, version=version)


def point(name: str) -> NodeKey:
    return NodeKey.of(NodeKind.DECISION_POINT, name=name)


def owner(ident: str) -> NodeKey:
    return NodeKey.of(NodeKind.OWNER, owner_id=ident)


KPI = NodeKey.of(NodeKind.KPI, name="credit-losses")


# ---- two real manifests ------------------------------------------------------------------------


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new), encoding="utf-8")


def _declare_types(project: Path, order_count: str, amount: str) -> None:
    schema = project / "models" / "schema.yml"
    _edit(
        schema,
        "description: Number of the customer's completed orders.",
        "description: Number of the customer's completed orders.\n"
        f"        data_type: {order_count}",
    )
    _edit(
        schema,
        "description: Order amount in EUR.",
        f"description: Order amount in EUR.\n        data_type: {amount}",
    )


def _propose(project: Path) -> None:
    """Drop customer_name from the mart, retype order_count and stg_orders.amount."""
    _declare_types(project, "bigint", "decimal(12,2)")
    mart = project / "models" / "marts" / "customer_revenue.sql"
    _edit(mart, "    c.customer_name,\n", "")
    _edit(mart, "group by c.customer_id, c.customer_name", "group by c.customer_id")
    _edit(
        mart, "count(o.order_id) as order_count", "cast(count(o.order_id) as bigint) as order_count"
    )
    _edit(
        project / "models" / "staging" / "stg_orders.sql",
        "cast(amount as decimal(10, 2))",
        "cast(amount as decimal(12, 2))",
    )
    _edit(
        project / "models" / "schema.yml",
        "      - name: customer_name\n        description: Full name of the customer.\n"
        "      - name: total_amount",
        "      - name: total_amount",
    )


def _compile(project: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "OPENLINEAGE"))}
    env |= {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
    dbt = Path(sys.executable).parent / "dbt"
    return subprocess.Popen(
        [str(dbt), "compile", "--project-dir", str(project), "--profiles-dir", str(project)],
        cwd=project,  # the duckdb path in profiles.yml is relative to it
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture(scope="module")
def manifests(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(base, proposed) manifest.json, both compiled by dbt (the two runs at once)."""
    root = tmp_path_factory.mktemp("check_change")
    base, proposed = root / "base", root / "proposed"
    ignore = shutil.ignore_patterns("target", "logs", "*.duckdb", "dbt_packages")
    shutil.copytree(FIXTURE, base, ignore=ignore)
    _declare_types(base, "integer", "decimal(10,2)")
    shutil.copytree(FIXTURE, proposed, ignore=ignore)
    _propose(proposed)
    runs = [_compile(base), _compile(proposed)]
    for run in runs:
        out, _ = run.communicate(timeout=180)
        assert run.returncode == 0, out
    return base / "target" / "manifest.json", proposed / "target" / "manifest.json"


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


EXPECTED_CHANGES = {
    (col("customer_revenue", "customer_name"), "drop"),
    (col("customer_revenue", "order_count"), "type:bigint"),
    (col("customer_revenue", "customer_id"), "semantics"),
    (col("customer_revenue", "total_amount"), "semantics"),
    (col("stg_orders", "amount"), "type:decimal(12,2)"),
    (col("stg_orders", "order_id"), "semantics"),
    (col("stg_orders", "customer_id"), "semantics"),
    (col("stg_orders", "status"), "semantics"),
}


def test_the_diff_of_two_compiled_manifests(manifests: tuple[Path, Path]) -> None:
    diff = diff_manifests(load(manifests[0]), load(manifests[1]), NS)
    assert diff.skipped == []
    assert {(c.node, c.kind) for c in diff.changes} == EXPECTED_CHANGES
    files = {c.node.parts[1]: c.path for c in diff.changes}
    assert files["shop.main.customer_revenue"] == "models/marts/customer_revenue.sql"


# ---- the graph: the base project as synced, and an ML estate on it ------------------------------


def build_world(store: GraphStore, base_manifest: Path) -> None:
    report = SyncReport("dbt")
    for i, record in enumerate(dbt_records(load(base_manifest), None, NS, report)):
        prov = Provenance("dbt", f"dbt-{i}", canonical_time(str(record.event_time)))
        store.apply(MAPPERS[record.kind](record.body, prov))
    assert report.skipped == []
    b = MutationBatch()
    p = Provenance("catalog", "ev-ml", "2026-11-01T00:00:00Z")
    order_count = col("customer_revenue", "order_count")
    for version in (mv("credit", "1"), mv("credit", "2"), mv("old", "1")):
        b.edge(order_count, E.FEEDS, version, p)
    b.edge(mv("credit", "1"), E.DEPLOYED_TO, point("credit-limit"), p, disc="champion")
    b.edge(mv("credit", "2"), E.DEPLOYED_TO, point("credit-limit"), p, disc="shadow")
    b.edge(mv("credit", "2"), E.DEPLOYED_TO, point("fraud-check"), p, disc="shadow")
    b.edge(
        mv("old", "1"),
        E.DEPLOYED_TO,
        point("legacy"),
        p,
        disc="champion",
        valid_from="2026-01-01T00:00:00Z",
        valid_until="2026-06-01T00:00:00Z",
    )
    b.edge(ds("customer_revenue"), E.CONSUMED_BY, mv("churn", "3"), p)
    b.edge(mv("churn", "3"), E.DEPLOYED_TO, point("retention"), p, disc="champion")
    b.edge(point("credit-limit"), E.DRIVES, KPI, p)
    b.node(owner("carol@example.com"), p, status="left")
    b.edge(owner("carol@example.com"), E.OWNS, point("credit-limit"), p, disc="business")
    b.edge(owner("c.doe"), E.ALIAS_OF, owner("team:risk"), p)
    b.edge(owner("c.doe"), E.OWNS, KPI, p, disc="business")
    store.apply(b)


# ---- the oracle: networkx reachability -----------------------------------------------------------

_EXACT_KINDS = {E.FEEDS, E.HAS_FEATURE, E.SERVES_FEATURES, E.DEPLOYED_TO, E.DECIDED, E.DRIVES}
_POSSIBLE_KINDS = {E.INPUT_TO, E.PRODUCES, E.READ_BY, E.TRAINED, E.SOURCES, E.CONSUMED_BY}


def oracle_graphs(store: GraphStore) -> tuple[nx.DiGraph, nx.DiGraph]:
    """(field-level graph, every lineage edge), for a world without versions or authoritative
    column lineage (asserted): a column reaches its dataset; a column feeding a whole dataset
    (a filter, a join) reaches each of its columns."""
    edges = [e for e in store.iter_edges() if e.valid_to is None]
    columns: dict[str, list[str]] = {}
    for e in edges:
        assert e.key.kind is not E.HAS_VERSION
        assert not e.props.get(COLUMN_LINEAGE)
        if e.key.kind is E.HAS_COLUMN:
            columns.setdefault(e.key.src.id, []).append(e.key.dst.id)
    exact, every = nx.DiGraph(), nx.DiGraph()
    for e in edges:
        src, dst, kind = e.key.src.id, e.key.dst.id, e.key.kind
        if kind is E.HAS_COLUMN:
            pairs = [(dst, src)]
        elif kind is E.FEEDS and e.key.dst.kind is NodeKind.DATASET:
            pairs = [(src, dst), *((src, c) for c in columns.get(dst, []))]
        else:
            pairs = [(src, dst)]
        if kind is E.HAS_COLUMN or kind in _EXACT_KINDS:
            exact.add_edges_from(pairs)
        if kind is E.HAS_COLUMN or kind in _EXACT_KINDS | _POSSIBLE_KINDS:
            every.add_edges_from(pairs)
    return exact, every


def oracle(store: GraphStore, starts: set[str]) -> dict[str, str]:
    exact, every = oracle_graphs(store)

    def reach(g: nx.DiGraph) -> set[str]:
        return {n for s in starts if s in g for n in nx.descendants(g, s)} - starts

    sure = reach(exact)
    return {n: "exact" if n in sure else "possible" for n in reach(every)}


def oracle_decisions(store: GraphStore, reached: dict[str, str]) -> dict[str, str]:
    """decision point -> certainty: a reached version deployed there, not shadow, not ended."""
    found: dict[str, str] = {}
    for e in store.iter_edges():
        if e.key.kind is not E.DEPLOYED_TO or e.valid_to is not None:
            continue
        if e.key.disc == "shadow" or "valid_until" in e.props or e.key.src.id not in reached:
            continue
        best = found.get(e.key.dst.id)
        found[e.key.dst.id] = "exact" if "exact" in (best, reached[e.key.src.id]) else "possible"
    return found


# ---- the check on both stores --------------------------------------------------------------------


def changes_of(manifests: tuple[Path, Path]) -> list[Change]:
    diff = diff_manifests(load(manifests[0]), load(manifests[1]), NS)
    return [Change(c.ref, c.kind, c.detail, c.path) for c in diff.changes]


def test_gate_against_the_oracle(store: GraphStore, manifests: tuple[Path, Path]) -> None:
    build_world(store, manifests[0])
    changes = changes_of(manifests)
    result = evaluate(store, changes, CheckChangePolicy())
    report = result.report
    assert report.unresolved == [] and not report.truncated
    starts = {n.id for _, n in report.changes}
    expected = oracle(store, starts)
    assert {i.node.id: i.certainty.value for i in report.items} == expected
    assert {d.decision_point.id: d.certainty.value for d in report.decisions} == oracle_decisions(
        store, expected
    )
    # the expectations the world was built for, so the oracle is not vacuous
    assert expected[point("fraud-check").id] == "exact"  # reached, yet only by a shadow
    risks = {d.decision_point.key.display: d for d in report.decisions}
    assert set(risks) == {"credit-limit", "retention"}
    assert risks["credit-limit"].certainty is Certainty.EXACT
    assert risks["credit-limit"].model_version.key == mv("credit", "1")
    assert risks["retention"].certainty is Certainty.POSSIBLE
    assert [k.node.key for k in report.kpis] == [KPI]
    owners = {o.owner_id: o for o in report.owners}
    assert owners["carol@example.com"].left and owners["carol@example.com"].exact
    assert "team:risk" in owners and "c.doe" not in owners  # the alias is its owner
    assert not owners["analytics@example.com"].left
    assert result.exit_code == 1
    errors = [v for v in result.verdicts if v.level == "error"]
    assert [v.subject for v in errors] == ["credit-limit"]
    assert errors[0].change is not None and errors[0].change.file.endswith(".sql")
    warned = {(v.finding.value, v.subject) for v in result.verdicts if v.level == "warning"}
    assert ("possible_production_decision", "retention") in warned
    assert ("owner_left", "carol@example.com") in warned


def reaching(store: GraphStore, changes: list[Change], target: NodeKey) -> set[str]:
    """The changes (node ids) from which the oracle reaches `target`'s serving version."""
    found = set()
    for change in changes:
        node = NodeKey.from_id(change.ref)
        starts = {node.id}
        if node.kind is NodeKind.DATASET:
            starts |= {
                e.key.dst.id
                for e in store.iter_edges()
                if e.key.kind is E.HAS_COLUMN and e.key.src.id == node.id
            }
        if oracle(store, starts).get(target.id) == "exact":
            found.add(node.id)
    return found


def approvals(refs: set[str] | list[str]) -> CheckChangePolicy:
    return load_policy(
        {
            "check_change": {
                "approvals": [
                    {"change": r, "decision_point": "credit-limit", "approved_by": "jane"}
                    for r in sorted(refs)
                ]
            }
        }
    )


def test_approvals_waive_only_when_every_change_reaching_it_is_approved(
    store: GraphStore, manifests: tuple[Path, Path]
) -> None:
    build_world(store, manifests[0])
    changes = changes_of(manifests)
    needed = reaching(store, changes, mv("credit", "1"))
    assert len(needed) > 1  # order_count itself, and the staging columns it is computed from
    passed = evaluate(store, changes, approvals(needed))
    assert passed.exit_code == 0
    assert [d.decision_point.key for d, _ in passed.waived] == [point("credit-limit")]
    for left_out in sorted(needed):
        failed = evaluate(store, changes, approvals(needed - {left_out}))
        assert failed.exit_code == 1, left_out
    assert evaluate(store, changes, approvals(["*"])).exit_code == 0


# ---- the command -------------------------------------------------------------------------------


@contextlib.contextmanager
def _on(store: GraphStore) -> Iterator[Any]:
    from lineage_kg.cli.questions import Workspace

    yield Workspace(store, None, None)  # type: ignore[arg-type]


def workflow_command() -> list[str]:
    """The `lkg check-change` arguments of the example workflow's step."""
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    runs = [
        step["run"]
        for job in workflow["jobs"].values()
        for step in job["steps"]
        if "lkg check-change" in step.get("run", "")
    ]
    assert len(runs) == 1, runs
    line = " ".join(runs[0].replace("\\\n", " ").split())
    lexer = shlex.shlex(line[line.index("lkg check-change") :], posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    args = []
    for token in lexer:  # the command ends where the shell's pipe or list begins
        if token in ("|", "||", "&&", ";"):
            break
        args.append(token)
    assert args[:2] == ["lkg", "check-change"]
    return args[1:]


def test_the_example_workflow_and_hook_run_it(
    manifests: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workflow's own command line, in the layout the workflow makes (base manifest from the
    base branch, the PR's manifest, profiles.yml, the policy file), on the embedded store."""
    from lineage_kg.graph.embedded import EmbeddedStore

    store = EmbeddedStore()
    build_world(store, manifests[0])
    args = workflow_command()
    for flag, source in (("--base-manifest", manifests[0]), ("--manifest", manifests[1])):
        dest = tmp_path / args[args.index(flag) + 1]
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, dest)
    shutil.copy(FIXTURE / "profiles.yml", tmp_path / "profiles.yml")
    policy = args[args.index("--policy") + 1]
    shutil.copy(WORKFLOW.parent / "lkg-policy.yaml", tmp_path / policy)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("lineage_kg.cli.questions.workspace", lambda: _on(store))
    monkeypatch.delenv("DBT_DUCKDB_PATH", raising=False)
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("::error ")]
    assert len(errors) == 1 and "file=models/marts/customer_revenue.sql" in errors[0]
    assert "credit-limit" in errors[0]
    assert "::warning " in result.output and "retention" in result.output
    # the pre-commit hook runs the same command
    hooks = yaml.safe_load(HOOKS.read_text(encoding="utf-8"))
    assert [h["entry"].split()[:2] for h in hooks] == [["lkg", "check-change"]]


def test_json_and_markdown_of_one_answer(
    manifests: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from lineage_kg.graph.embedded import EmbeddedStore

    store = EmbeddedStore()
    build_world(store, manifests[0])
    monkeypatch.setattr("lineage_kg.cli.questions.workspace", lambda: _on(store))
    base = ["check-change", "--change", f"{col('customer_revenue', 'order_count').display}=drop"]
    as_json = CliRunner().invoke(app, [*base, "--format", "json"], catch_exceptions=False)
    assert as_json.exit_code == 1
    doc = json.loads(as_json.output)
    # the mart is consumed whole by churn@3: a possible impact on its decision point
    risks = [(d["decision_point"], d["certainty"]) for d in doc["decision_points"]]
    assert risks == [("credit-limit", "exact"), ("retention", "possible")]
    assert "-DEPLOYED_TO-> credit-limit" in doc["decision_points"][0]["path"]
    markdown = CliRunner().invoke(app, base, catch_exceptions=False)
    assert markdown.exit_code == 1
    assert "### Production decision points at risk" in markdown.output
    assert "carol@example.com (has left)" in markdown.output
    # an unknown column is a warning, not a failure; a bad kind is bad input
    unknown = CliRunner().invoke(app, ["check-change", "--change", f"{NS}/shop.main.x#y=drop"])
    assert unknown.exit_code == 0 and "unresolved_change" in unknown.output
    bad = CliRunner().invoke(app, ["check-change", "--change", "x=explode"])
    assert bad.exit_code == 2 and "change kind 'explode'" in bad.output


def test_proposed_schema_on_the_synced_project(
    manifests: tuple[Path, Path], tmp_path: Path
) -> None:
    """The local store as the command opens it (the event log `lkg sync dbt` wrote, projected):
    an OpenLineage event proposing stg_orders without order_id and with amount retyped."""
    env = {"LKG_DATA_DIR": str(tmp_path / "lkg")}
    runner = CliRunner()
    sync = runner.invoke(
        app, ["sync", "dbt", "--manifest", str(manifests[0]), "--namespace", NS], env=env
    )
    assert sync.exit_code == 0, sync.output
    fields = [
        {"name": "customer_id", "type": "INTEGER"},
        {"name": "amount", "type": "DECIMAL(12,2)"},
        {"name": "status", "type": "VARCHAR"},
    ]
    event = {
        "eventType": "START",
        "eventTime": "2026-12-01T00:00:00Z",
        "job": {"namespace": "dbt-shop", "name": "stg_orders"},
        "run": {"runId": "0193a9f0-0000-7000-8000-000000000001"},
        "outputs": [
            {
                "namespace": NS,
                "name": "shop.main.stg_orders",
                "facets": {"schema": {"fields": fields}},
            }
        ],
    }
    path = tmp_path / "proposed.json"
    path.write_text(json.dumps(event), encoding="utf-8")
    done = runner.invoke(
        app, ["check-change", "--proposed-schema", str(path), "--format", "json"], env=env
    )
    assert done.exit_code == 0, done.output  # no model serves a decision on this project
    doc = json.loads(done.output[done.output.index("{") :])
    changes = {(c["ref"].rsplit("#", 1)[1], c["kind"]) for c in doc["changes"]}
    assert ("order_id", "drop") in changes
    assert ("amount", "type:DECIMAL(12,2)") in changes
    assert not any(name in ("customer_id", "status") for name, _ in changes)
    impacted = {i["display"] for i in doc["impacted"]}
    # order_id is counted into order_count, amount summed into total_amount
    assert {str(col("customer_revenue", f).display) for f in ("order_count", "total_amount")} <= (
        impacted
    )
