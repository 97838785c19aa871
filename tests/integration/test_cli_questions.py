"""`lkg impact / owner / trace / audit / export` end to end, on a real durable log.

The log is built the way a user builds it: `lkg ingest` of a real dbt-ol run (the dbt_shop
fixture) and of an Airflow-style event (shop.public.orders.amount feeds the revenue mart), `lkg
sync catalog / deployments` of the example catalog files, and `lkg ingest-decisions` of one
decision. Each command then rebuilds the embedded store from that log, answers, and exits with
the documented code: 0 answered, 2 bad input (naming the argument), 3 not found.
"""

from __future__ import annotations

import csv
import io
import json
import struct
from pathlib import Path

import networkx as nx
import pytest
from typer.testing import CliRunner, Result

from lineage_kg.cli.app import app
from lineage_kg.graph.identity import keys_named
from lineage_kg.graph.model import NodeKey, NodeKind

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "catalog"
DBT_EVENTS = ROOT / "tests" / "fixtures" / "dbt_shop_events.ndjson"
PG = "postgres://warehouse:5432"
DUCK = "duckdb://target/shop.duckdb"
K = NodeKind

ORDERS = NodeKey.of(K.DATASET, namespace=PG, name="shop.public.orders")
AMOUNT = NodeKey.of(K.COLUMN, namespace=PG, name="shop.public.orders", field="amount")
REVENUE = NodeKey.of(K.COLUMN, namespace=PG, name="analytics.marts.daily_revenue", field="revenue")
STG_ORDERS = NodeKey.of(K.DATASET, namespace=DUCK, name="shop.main.stg_orders")
CUSTOMER_REVENUE = NodeKey.of(K.DATASET, namespace=DUCK, name="shop.main.customer_revenue")
VERSION_3 = NodeKey.of(K.MODEL_VERSION, registry="mlflow", name="credit-risk", version="3")

AIRFLOW_EVENT = {
    "eventType": "COMPLETE",
    "eventTime": "2026-01-04T23:00:00Z",
    "producer": "https://example.com/airflow",
    "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    "run": {"runId": "01941a2b-0000-7000-8000-000000000001"},
    "job": {"namespace": "airflow", "name": "analytics.marts.daily_revenue"},
    "inputs": [{"namespace": PG, "name": "shop.public.orders"}],
    "outputs": [
        {
            "namespace": PG,
            "name": "analytics.marts.daily_revenue",
            "facets": {
                "columnLineage": {
                    "_producer": "https://example.com/airflow",
                    "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
                    "fields": {
                        "revenue": {
                            "inputFields": [
                                {"namespace": PG, "name": "shop.public.orders", "field": "amount"}
                            ]
                        }
                    },
                }
            },
        }
    ],
}
DECISION = {
    "decision_id": "loan-7",
    "timestamp": "2026-01-06T10:00:00Z",
    "decision_point": "loan-approval",
    "model": "credit-risk",
    "version": "3",
    "outcome": "approved",
}


def lkg(data_dir: Path, *args: str | Path, code: int = 0) -> Result:
    env = {"LKG_DATA_DIR": str(data_dir), "NEO4J_URI": "", "COLUMNS": "250"}
    result = CliRunner().invoke(app, [str(a) for a in args], env=env, catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


def answer(data_dir: Path, *args: str | Path) -> dict:
    """The `--json` answer: stdout alone must be one JSON document (progress goes to stderr)."""
    return json.loads(lkg(data_dir, *args, "--json").stdout)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("lkg")
    files = tmp_path_factory.mktemp("files")
    (files / "airflow.ndjson").write_text(json.dumps(AIRFLOW_EVENT) + "\n")
    (files / "decisions.ndjson").write_text(json.dumps(DECISION) + "\n")
    lkg(data, "ingest", DBT_EVENTS, files / "airflow.ndjson")
    lkg(data, "sync", "catalog", EXAMPLES / "owners.yaml", EXAMPLES / "kpis.yaml")
    lkg(data, "sync", "deployments", EXAMPLES / "deployments.yaml")
    lkg(data, "ingest-decisions", files / "decisions.ndjson")
    return data


# ---- impact -----------------------------------------------------------------------------------


def test_impact_of_a_column_named_by_its_display_name(data_dir: Path) -> None:
    out = lkg(data_dir, "impact", AMOUNT.display).stdout
    assert f"Impact of Column {AMOUNT.display}" in out
    assert REVENUE.display in out
    assert "daily-revenue" in out and "loss-rate" in out  # the KPIs, in the summary
    assert "exact" in out


def test_impact_json_shape(data_dir: Path) -> None:
    doc = answer(data_dir, "impact", AMOUNT.display)
    assert set(doc) == {"question", "start", "truncated", "depth_reached", "summary", "items"}
    assert doc["question"] == "impact"
    assert doc["depth_reached"] is False  # the demo's deepest item is nearer than 10 hops
    assert doc["start"]["id"] == AMOUNT.id
    assert set(doc["start"]) >= {"id", "kind", "display", "key", "props"}
    summary = doc["summary"]
    assert set(summary) == {"total", "by_kind", "by_certainty", "by_owner", "kpis", "unowned"}
    assert summary["total"] == len(doc["items"]) > 0
    assert summary["kpis"] == ["daily-revenue", "loss-rate"]
    revenue = next(i for i in doc["items"] if i["node"]["id"] == REVENUE.id)
    assert revenue["distance"] == 1 and revenue["certainty"] == "exact"
    assert revenue["path"] == [
        {"source": AMOUNT.id, "kind": "FEEDS", "target": REVENUE.id, "disc": "",
         "direction": "forward"}
    ]  # fmt: skip
    assert {"alice.smith@example.com"} <= set(summary["by_owner"])


def test_every_way_of_naming_a_node_is_one_answer(data_dir: Path) -> None:
    by_display = answer(data_dir, "impact", f"{DUCK}/shop.main.stg_orders")
    by_id = answer(data_dir, "impact", STG_ORDERS.id)
    by_key = answer(
        data_dir, "impact", "--kind", "Dataset", "--namespace", DUCK, "--name",
        "shop.main.stg_orders",
    )  # fmt: skip
    assert by_display == by_id == by_key
    assert by_id["start"]["id"] == STG_ORDERS.id
    assert CUSTOMER_REVENUE.id in {i["node"]["id"] for i in by_id["items"]}
    # a URI in another spelling (scheme alias, default port) names the same column
    folded = answer(data_dir, "impact", "postgresql://warehouse/shop.public.orders#amount")
    assert folded["start"]["id"] == AMOUNT.id
    # a model version by its display name, and kinds filtered
    only = answer(data_dir, "impact", "mlflow/credit-risk@3", "--only", "KPI")
    assert only["start"]["id"] == VERSION_3.id
    assert {i["node"]["kind"] for i in only["items"]} <= {"KPI"}


def test_impact_exports(data_dir: Path, tmp_path: Path) -> None:
    lkg(data_dir, "impact", ORDERS.display, "--format", "graphml", "--output", tmp_path / "a.xml")
    graph = nx.read_graphml(tmp_path / "a.xml")
    assert graph.nodes[ORDERS.id]["role"] == "start"
    assert graph.nodes[REVENUE.id]["certainty"] == "exact"
    assert graph.has_edge(AMOUNT.id, REVENUE.id)

    # `lkg export impact`: the format from the file name
    lkg(data_dir, "export", "impact", ORDERS.display, "-o", tmp_path / "impact.png")
    png = (tmp_path / "impact.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (1600, 1000)
    lkg(data_dir, "export", "impact", ORDERS.display, "-o", tmp_path / "impact.dot")
    assert (
        f'-> "{REVENUE.id.replace(chr(34), chr(92) + chr(34))}"'
        in (tmp_path / "impact.dot").read_text()
    )

    # text formats go to stdout without --output
    text = lkg(data_dir, "impact", ORDERS.display, "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["id"] == ORDERS.id and rows[0]["role"] == "start"
    assert REVENUE.id in {r["id"] for r in rows}
    doc = json.loads(lkg(data_dir, "export", "impact", ORDERS.display, "-o", "-", "--format",
                         "json").stdout)  # fmt: skip
    assert doc["question"] == "impact" and doc["start"] == ORDERS.id


# ---- accountability ---------------------------------------------------------------------------


def test_owner_table_and_json(data_dir: Path, tmp_path: Path) -> None:
    out = lkg(data_dir, "owner", "team:ml-risk").stdout
    assert "Accountability of team:ml-risk" in out
    assert "loss-rate" in out and "bob.jones@example.com" in out

    doc = answer(data_dir, "owner", "team:ml-risk")
    assert doc["question"] == "accountability"
    assert doc["owner"]["id"] == NodeKey.of(K.OWNER, owner_id="team:ml-risk").id
    assert {"bob.jones@example.com", "carol.white@example.com"} <= set(doc["members"])
    assert "loss-rate" in {k["node"]["display"] for k in doc["kpis"]}
    assert set(doc) == {
        "question", "owner", "teams", "members", "owned", "kpis", "upstream", "downstream",
        "upstream_owners", "downstream_owners", "gaps", "truncated",
    }  # fmt: skip
    # an alias, spelled as another source spells it, is the person
    alias = answer(data_dir, "owner", "ASmith@Example.com")
    assert alias["owner"]["display"] in {"asmith@example.com", "alice.smith@example.com"}

    lkg(data_dir, "export", "owner", "alice.smith@example.com", "-o", tmp_path / "alice.graphml")
    graph = nx.read_graphml(tmp_path / "alice.graphml")
    assert graph.nodes[NodeKey.of(K.OWNER, owner_id="alice.smith@example.com").id]["role"] == (
        "owner"
    )
    assert NodeKey.of(K.KPI, name="daily-revenue").id in graph


# ---- decision trace and audit trail -----------------------------------------------------------


def test_trace_of_a_logged_decision(data_dir: Path) -> None:
    doc = answer(data_dir, "trace", "loan-7")
    assert doc["question"] == "decision_lineage"
    assert doc["decision"]["node"]["key"] == {"decision_id": "loan-7"}
    assert doc["decision"]["time"] == "2026-01-06T10:00:00.000000Z"
    assert [v["node"]["id"] for v in doc["model_versions"]] == [VERSION_3.id]
    assert set(doc) == {"question", "start", "decision", "model_versions", "data", "features",
                        "sources", "truncated"}  # fmt: skip
    out = lkg(data_dir, "trace", "loan-7").stdout
    assert "Trace of Decision loan-7" in out and "mlflow/credit-risk@3" in out
    # from a model version by its display name
    assert answer(data_dir, "trace", "mlflow/credit-risk@3")["start"]["id"] == VERSION_3.id


def test_audit_trail_pages(data_dir: Path) -> None:
    full = answer(data_dir, "audit", ORDERS.display)
    assert full["node"]["id"] == ORDERS.id
    types = {e["type"] for e in full["entries"]}
    assert {"LINEAGE", "OWNERSHIP"} <= types
    times = [e["time"] for e in full["entries"]]
    assert times == sorted(times)
    first = answer(data_dir, "audit", ORDERS.display, "--first", "1")
    assert len(first["entries"]) == 1 and first["next_cursor"]
    every = answer(data_dir, "audit", ORDERS.display, "--first", "1", "--all")
    assert every["entries"] == full["entries"] and every["next_cursor"] is None
    only = answer(data_dir, "audit", ORDERS.display, "--type", "OWNERSHIP")
    assert {e["type"] for e in only["entries"]} == {"OWNERSHIP"}
    assert "audit trail of" in lkg(data_dir, "audit", ORDERS.display).stdout


@pytest.mark.neo4j
def test_on_neo4j_the_same_answers(data_dir: Path, neo4j_server, neo4j_store) -> None:
    """With NEO4J_URI the commands ask Neo4j as it stands (here: projected from the same log)."""
    from lineage_kg.ingest.eventlog import EventLog
    from lineage_kg.ingest.projector import Projector
    from lineage_kg.ingest.sources import default_mappers

    log = EventLog(data_dir / "events.sqlite3")
    try:
        assert Projector(log, neo4j_store, default_mappers()).catch_up(timeout=60).parked == 0
    finally:
        log.close()
    env = {"NEO4J_URI": neo4j_server.uri, "NEO4J_USER": neo4j_server.user,
           "NEO4J_PASSWORD": neo4j_server.password, "LKG_DATA_DIR": str(data_dir)}  # fmt: skip
    for args in (["impact", AMOUNT.display], ["owner", "team:data-platform"],
                 ["audit", ORDERS.display]):  # fmt: skip
        on_neo4j = CliRunner().invoke(app, [*args, "--json"], env=env, catch_exceptions=False)
        assert on_neo4j.exit_code == 0, on_neo4j.output
        assert json.loads(on_neo4j.stdout) == answer(data_dir, *args), args


# ---- errors and exit codes --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["impact", AMOUNT.display, "--depth", "0"], "depth"),
        (["impact", AMOUNT.display, "--as-of", "yesterday"], "as_of"),
        (["impact", '["Column"'], "NODE"),
        (["impact"], "NODE"),
        (["impact", AMOUNT.display, "--namespace", PG], "NODE"),
        (["impact", "--kind", "Column", "--namespace", PG, "--name", "x"], "--field"),
        (["impact", "--namespace", PG, "--name", "x"], "--kind"),
        (["impact", AMOUNT.display, "--key", "version"], "--key"),
        (["impact", AMOUNT.display, "--format", "png"], "--output"),
        (["impact", AMOUNT.display, "--output", "x.txt"], "--format"),
        (["impact", AMOUNT.display, "--format", "svg"], "--format"),
        (["impact", AMOUNT.display, "--json", "--format", "csv"], "--output"),
        (["impact", "approval-rate", "--kind", "Dataset"], "NODE"),
        (["owner", " "], "OWNER"),
        (["audit", ORDERS.display, "--first", "0"], "first"),
        (["audit", ORDERS.display, "--after", "nonsense"], "after"),
        (["audit", ORDERS.display, "--type", "GOSSIP"], "--type"),
    ],
)
def test_bad_input_exits_2_naming_the_argument(data_dir: Path, args: list[str], names: str):
    result = lkg(data_dir, *args, code=2)
    assert names in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["impact", f"{PG}/shop.public.nope"],
        ["impact", "--kind", "Column", "--namespace", PG, "--name", "shop.public.orders",
         "--field", "nope"],
        ["owner", "nobody@example.com"],
        ["trace", "no-such-decision"],
        ["audit", "no-such-kpi", "--kind", "KPI"],
        ["export", "owner", "nobody", "-o", "x.json"],
    ],
)  # fmt: skip
def test_not_found_exits_3(data_dir: Path, args: list[str]) -> None:
    result = lkg(data_dir, *args, code=3)
    assert "not found" in result.output


def test_an_export_that_cannot_be_written_exits_1(data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    result = lkg(data_dir, "export", "impact", ORDERS.display, "-o", tmp_path / "a-file" / "x.png",
                 code=1)  # fmt: skip
    assert "cannot write" in result.output


def test_shell_completion_is_on() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert "--install-completion" in result.output
    assert "--show-completion" in result.output


# ---- naming nodes by their display names ------------------------------------------------------


def test_display_names_with_slashes_in_the_namespace() -> None:
    keys = keys_named(f"{DUCK}/shop.main.stg_orders#amount")
    assert NodeKey.of(K.COLUMN, namespace=DUCK, name="shop.main.stg_orders", field="amount") in keys
    assert STG_ORDERS in keys_named(f"{DUCK}/shop.main.stg_orders")
    file_ds = NodeKey.of(K.DATASET, namespace="file", name="/data/orders.parquet")
    assert file_ds in keys_named("file//data/orders.parquet")
    assert file_ds in keys_named("/data/orders.parquet")


def test_display_names_of_other_kinds() -> None:
    assert VERSION_3 in keys_named("mlflow/credit-risk@3")
    feature = NodeKey.of(K.FEATURE, project="risk", view="customer_spend", name="total_spend")
    assert feature in keys_named("risk/customer_spend:total_spend")
    assert NodeKey.of(K.KPI, name="approval-rate") in keys_named("approval-rate")
    assert NodeKey.of(K.OWNER, owner_id="a.smith@example.com") in keys_named("A.Smith@Example.com")
    assert NodeKey.of(K.JOB, namespace="airflow", name="marts.daily_revenue") in keys_named(
        "airflow/marts.daily_revenue"
    )
    assert AMOUNT in keys_named("postgresql://warehouse/shop.public.orders#amount")
