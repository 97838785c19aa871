"""`lkg sync dbt` on a real dbt project: tests/fixtures/dbt_metrics, built with `dbt build`.

The fixture is dbt_shop (the same seeds and models, the same duckdb profile path) plus the
metrics layer: a semantic model on stg_orders with three measures, simple metrics (`revenue` on
the `amount` column, `order_count` on `1`, `completed_revenue` on a CASE expression), a derived
and a ratio metric, the MetricFlow time spine, an exposure with an owner, a group with an owner,
owners in meta, and two tests on customer_revenue that fail on purpose (a singular test and an
accepted_values test on customer_name), so run_results.json has failures. dbt runs once per
module; everything is then synced and projected into both stores.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lineage_kg.cli.app import app
from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.store import GraphStore
from lineage_kg.ingest.eventlog import EventLog
from lineage_kg.ingest.projector import Projector
from lineage_kg.ingest.sources import default_mappers
from lineage_kg.queries.accountability import GapKind, accountability

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PROJECT = FIXTURES / "dbt_metrics"
OL_EVENTS = FIXTURES / "dbt_shop_events.ndjson"  # what dbt-ol emits for the same warehouse
NAMESPACE = "duckdb://target/shop.duckdb"  # dbt-ol: `duckdb://<profile path>`
E = EdgeKind


def dataset(table: str) -> NodeKey:
    return NodeKey.of(NodeKind.DATASET, namespace=NAMESPACE, name=f"shop.main.{table}")


def column(table: str, field: str) -> NodeKey:
    return NodeKey.of(NodeKind.COLUMN, namespace=NAMESPACE, name=f"shop.main.{table}", field=field)


def kpi(name: str) -> NodeKey:
    return NodeKey.of(NodeKind.KPI, name=name)


def owner(ident: str) -> NodeKey:
    return NodeKey.of(NodeKind.OWNER, owner_id=ident)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project copied to a temporary directory and built (`dbt build`) there."""
    project = tmp_path_factory.mktemp("dbt_metrics") / "project"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("target", "logs", "*.duckdb"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "OPENLINEAGE"))}
    env |= {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
    dbt = Path(sys.executable).parent / "dbt"
    result = subprocess.run(
        [str(dbt), "build", "--project-dir", str(project), "--profiles-dir", str(project)],
        cwd=project,  # the duckdb path in profiles.yml is relative to it
        env=env,
        capture_output=True,
        text=True,
        timeout=300,  # a hang, not a measurement: dbt starts slowly on a loaded machine
        check=False,
    )
    # exit code 1: the two tests that fail on purpose; everything else must have passed
    assert result.returncode == 1, result.stdout + result.stderr
    assert "PASS=12 WARN=0 ERROR=2 SKIP=0" in result.stdout, result.stdout
    return project


def sync(data_dir: Path, *args: str) -> str:
    result = CliRunner().invoke(
        app, ["sync", "dbt", *args], env={"LKG_DATA_DIR": str(data_dir)}, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def data_dir(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`lkg sync dbt` of the built project, namespace derived from its profiles.yml."""
    data = tmp_path_factory.mktemp("lkg")
    target = built / "target"
    output = sync(
        data,
        "--manifest", str(target / "manifest.json"),
        "--run-results", str(target / "run_results.json"),
        "--profiles-dir", str(built),
    )  # fmt: skip
    assert f"dataset namespace: {NAMESPACE}" in output
    return data


def project(data_dir: Path, store: GraphStore) -> None:
    log = EventLog(data_dir / "events.sqlite3")
    try:
        status = Projector(log, store, default_mappers()).catch_up(timeout=60)
        assert status.parked == 0
    finally:
        log.close()


def edges(store: GraphStore, node: NodeKey, direction: Direction, kind: EdgeKind) -> set:
    found = store.neighbors([node.id], direction, [kind])
    return {(e.key.src if direction is Direction.IN else e.key.dst, e.key.disc) for e in found}


def ends(store: GraphStore, node: NodeKey, direction: Direction, kind: EdgeKind) -> set[NodeKey]:
    return {n for n, _ in edges(store, node, direction, kind)}


def test_second_sync_of_the_same_artifacts_appends_nothing(data_dir: Path, built: Path) -> None:
    target = built / "target"
    output = sync(
        data_dir,
        "--manifest", str(target / "manifest.json"),
        "--run-results", str(target / "run_results.json"),
        "--namespace", NAMESPACE,
    )  # fmt: skip
    assert "records appended   │ 0" in output, output
    assert "records unchanged  │ 17" in output, output


def test_datasets_are_the_nodes_dbt_ol_names(
    data_dir: Path, store: GraphStore, tmp_path: Path
) -> None:
    ol_names = set()
    for line in OL_EVENTS.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        for ds in [*event.get("inputs", []), *event.get("outputs", [])]:
            ol_names.add(NodeKey.of(NodeKind.DATASET, namespace=ds["namespace"], name=ds["name"]))
    models = {dataset(t) for t in ("stg_orders", "stg_customers", "customer_revenue")}
    assert models <= ol_names
    # and in one log, dbt-ol's events and the dbt sync meet on those nodes (in a copy of the
    # log: the other tests see the dbt sync alone)
    for part in data_dir.glob("events.sqlite3*"):
        shutil.copy(part, tmp_path / part.name)
    result = CliRunner().invoke(
        app, ["ingest", str(OL_EVENTS)], env={"LKG_DATA_DIR": str(tmp_path)}
    )
    assert result.exit_code == 0, result.output
    project(tmp_path, store)
    for node in store.get_nodes(sorted(k.id for k in models)):
        assert set(node.sources) == {"openlineage", "dbt"}, node


def test_models_seeds_columns_and_jobs(data_dir: Path, store: GraphStore) -> None:
    project(data_dir, store)
    revenue = store.get_node(dataset("customer_revenue").id)
    assert revenue is not None
    assert revenue.props["description"].startswith("Revenue and number")
    assert revenue.props["materialization"] == "table"
    assert revenue.props["tags"] == ["finance"]
    assert revenue.props["meta_tier"] == "gold"
    assert revenue.props["meta_sla_hours"] == 24
    assert revenue.props["dbt_unique_id"] == "model.shop_metrics.customer_revenue"
    assert store.get_node(dataset("raw_orders").id).props["dbt_resource_type"] == "seed"

    amount = store.get_node(column("stg_orders", "amount").id)
    assert amount.props == {
        "description": "Order amount in EUR.",
        "data_type": "decimal(10, 2)",
    }
    assert column("stg_orders", "amount") in ends(
        store, dataset("stg_orders"), Direction.OUT, E.HAS_COLUMN
    )

    job = NodeKey.of(
        NodeKind.JOB, namespace="shop_metrics", name="model.shop_metrics.customer_revenue"
    )
    assert ends(store, job, Direction.IN, E.INPUT_TO) == {
        dataset("stg_orders"),
        dataset("stg_customers"),
    }
    assert ends(store, job, Direction.OUT, E.PRODUCES) == {dataset("customer_revenue")}


def test_column_lineage_from_compiled_sql(data_dir: Path, store: GraphStore) -> None:
    project(data_dir, store)
    feeds = lambda c: ends(store, c, Direction.IN, E.FEEDS)  # noqa: E731
    assert feeds(column("customer_revenue", "total_amount")) == {column("stg_orders", "amount")}
    assert feeds(column("customer_revenue", "customer_name")) == {
        column("stg_customers", "customer_name")
    }
    # through the staging view down to the seed, including an undocumented column
    assert feeds(column("stg_orders", "order_date")) == {column("raw_orders", "created_at")}


def test_metrics_are_kpis_fed_by_columns_and_kpis(data_dir: Path, store: GraphStore) -> None:
    project(data_dir, store)
    revenue = store.get_node(kpi("revenue").id)
    assert revenue.props["label"] == "Revenue"
    assert revenue.props["type"] == "simple"
    assert revenue.props["unit"] == "EUR"
    assert ends(store, kpi("revenue"), Direction.IN, E.FEEDS) == {column("stg_orders", "amount")}
    # a measure expression over several columns: each of them feeds the KPI
    assert ends(store, kpi("completed_revenue"), Direction.IN, E.FEEDS) == {
        column("stg_orders", "amount"),
        column("stg_orders", "status"),
    }
    # `count(1)` reads no column: the dataset, possibly
    assert ends(store, kpi("order_count"), Direction.IN, E.FEEDS) == set()
    assert ends(store, kpi("order_count"), Direction.IN, E.CONSUMED_BY) == {dataset("stg_orders")}
    # derived and ratio metrics: fed by their input metrics
    assert ends(store, kpi("average_order_value"), Direction.IN, E.FEEDS) == {
        kpi("revenue"),
        kpi("order_count"),
    }
    assert store.get_node(kpi("average_order_value").id).props["type"] == "derived"
    assert ends(store, kpi("completed_share"), Direction.IN, E.FEEDS) == {
        kpi("completed_revenue"),
        kpi("revenue"),
    }


def test_exposure_consumes_the_mart_and_has_its_owner(data_dir: Path, store: GraphStore) -> None:
    project(data_dir, store)
    exposure = NodeKey.of(NodeKind.EXPOSURE, namespace="shop_metrics", name="weekly_revenue")
    node = store.get_node(exposure.id)
    assert node.props["type"] == "dashboard"
    assert node.props["maturity"] == "high"
    assert node.props["url"] == "https://bi.example.com/dashboards/weekly-revenue"
    assert ends(store, exposure, Direction.IN, E.CONSUMED_BY) == {
        dataset("customer_revenue"),
        kpi("revenue"),
    }
    assert edges(store, exposure, Direction.IN, E.OWNS) == {
        (owner("carol@example.com"), "business")
    }
    assert store.get_node(owner("carol@example.com").id).props["name"] == "Carol Finance"


def test_failed_tests_are_failed_quality(data_dir: Path, store: GraphStore) -> None:
    project(data_dir, store)
    revenue = store.get_node(dataset("customer_revenue").id)
    assert (revenue.props["quality_passed"], revenue.props["quality_failed"]) == (2, 2)
    failed = {
        a["name"] for a in json.loads(revenue.props["quality_assertions"]) if not a["success"]
    }
    assert failed == {
        "assert_no_customer_above_200",
        "accepted_values_customer_revenue_customer_name__Ada_Lovelace__Grace_Hopper__Alan_Turing__Edsger_Dijkstra",
    }
    name = store.get_node(column("customer_revenue", "customer_name").id)
    assert (name.props["quality_passed"], name.props["quality_failed"]) == (0, 1)
    orders = store.get_node(dataset("stg_orders").id)
    assert (orders.props["quality_passed"], orders.props["quality_failed"]) == (2, 0)
    # accountability sees it as the team's gap
    answer = accountability(store, "team:finance")
    gaps = [(g.kind, g.asset.key) for g in answer.gaps]
    assert (GapKind.FAILING_QUALITY, dataset("customer_revenue")) in gaps


def test_model_owners_and_groups(data_dir: Path, store: GraphStore) -> None:
    project(data_dir, store)
    assert edges(store, dataset("stg_orders"), Direction.IN, E.OWNS) == {
        (owner("data-eng@example.com"), "technical"),
        (owner("Bob Builder"), "technical"),
    }
    # config.meta.owner, the group (as a team) and the group's owner
    assert edges(store, dataset("customer_revenue"), Direction.IN, E.OWNS) == {
        (owner("analytics@example.com"), "technical"),
        (owner("team:finance"), "technical"),
        (owner("finance@example.com"), "technical"),
    }
    assert ends(store, owner("finance@example.com"), Direction.OUT, E.MEMBER_OF) == {
        owner("team:finance")
    }
