"""`lkg sync feast` end to end: a real Feast repo, `feast apply`, the real CLI's registry dump,
the log, the projector, both stores. The repo is applied, synced, changed and synced again once
per module (Feast's CLI takes ~10 s per call); each store then replays the logs."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from sources.real_sources import source_tool
from typer.testing import CliRunner

from lineage_kg.cli.app import app
from lineage_kg.graph.model import NodeKey, NodeKind
from lineage_kg.graph.store import GraphStore
from lineage_kg.ingest.eventlog import EventLog
from lineage_kg.ingest.identity import table_dataset
from lineage_kg.ingest.projector import Projector
from lineage_kg.ingest.sources import default_mappers

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "feast_repo"


@dataclass(frozen=True)
class FeastRuns:
    repo: Path
    first_log: Path  # the log after the first sync
    log: Path  # after the unchanged re-sync and the sync of the changed repo
    appended: list[int]  # records each sync appended
    exit_codes: list[int]


def _feast_apply(repo: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    done = subprocess.run(
        [str(source_tool("feast")), "apply"],
        cwd=repo,
        env={**env, "FEAST_USAGE": "False"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]


def _sync(repo: Path, data_dir: Path) -> tuple[int, int]:
    """`lkg sync feast --repo … --feast …`; returns (exit code, records appended)."""
    log = EventLog(data_dir / "events.sqlite3")
    before = log.count()
    log.close()
    result = CliRunner().invoke(
        app,
        ["sync", "feast", "--repo", str(repo), "--feast", str(source_tool("feast"))],
        env={"LKG_DATA_DIR": str(data_dir)},
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    log = EventLog(data_dir / "events.sqlite3")
    appended = log.count() - before
    log.close()
    shown = re.search(r"records appended\s*│\s*(\d+)", result.output)
    assert shown is not None, result.output
    assert int(shown[1]) == appended
    return result.exit_code, appended


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> FeastRuns:
    work = tmp_path_factory.mktemp("feast")
    repo, data = work / "repo", work / "data"
    shutil.copytree(FIXTURE, repo)
    (repo / "data").mkdir(exist_ok=True)
    data.mkdir()
    _feast_apply(repo)
    results = [_sync(repo, data)]
    first_log = work / "first.sqlite3"
    with sqlite3.connect(data / "events.sqlite3") as src, sqlite3.connect(first_log) as dst:
        src.backup(dst)
    results.append(_sync(repo, data))  # nothing changed
    # drop the feature max_amount, add last_amount (the view, the service and the odfv change)
    features = repo / "features.py"
    features.write_text(features.read_text().replace("max_amount", "last_amount"))
    _feast_apply(repo)
    results.append(_sync(repo, data))
    return FeastRuns(
        repo.resolve(),
        first_log,
        data / "events.sqlite3",
        appended=[n for _, n in results],
        exit_codes=[code for code, _ in results],
    )


def _project(log_path: Path, store: GraphStore) -> EventLog:
    log = EventLog(log_path)
    status = Projector(log, store, default_mappers()).catch_up()
    assert status.parked == 0, log.parked()
    return log


def _edges(store: GraphStore, *, current: bool = True) -> set[tuple[str, str, str]]:
    return {
        (e.key.src.display, e.key.kind.value, e.key.dst.display)
        for e in store.iter_edges()
        if e.current is current
    }


ORDERS_PG = table_dataset(
    "postgres", host="db", database="analytics", schema="public", table="orders"
)


def test_syncs_append_only_what_changed(runs: FeastRuns) -> None:
    # entity, 3 views, 1 on-demand view, 1 service; then nothing; then the 3 that changed
    assert runs.appended == [6, 0, 3]
    assert runs.exit_codes == [0, 0, 0]
    log = EventLog(runs.log)
    changed = [(e.kind, e.body["name"]) for e in log.read(6, 100)]
    log.close()
    assert sorted(changed) == [
        ("feature_service", "scoring"),
        ("feature_view", "customer_stats"),
        ("on_demand_feature_view", "discounted"),
    ]


def test_first_sync_graph(runs: FeastRuns, store: GraphStore) -> None:
    _project(runs.first_log, store).close()
    orders_file = f"file/{runs.repo}/data/orders.parquet"
    pg = ORDERS_PG.display  # the same node OpenLineage and dbt name analytics.public.orders
    assert pg == "postgres://db:5432/analytics.public.orders"
    assert {
        # sources → views, columns → features (field_mapping: amount_avg is avg_amount)
        (orders_file, "SOURCES", "shop/customer_stats"),
        (pg, "SOURCES", "shop/order_amounts"),
        (pg, "SOURCES", "shop/customer_spend"),
        (orders_file, "HAS_COLUMN", f"{orders_file}#amount_avg"),
        (f"{orders_file}#amount_avg", "FEEDS", "shop/customer_stats:avg_amount"),
        (f"{orders_file}#total_orders", "FEEDS", "shop/customer_stats:total_orders"),
        (f"{pg}#amount", "FEEDS", "shop/order_amounts:amount"),
        (f"{pg}#amount", "FEEDS", "shop/customer_spend:spend"),  # through the query
        # views and their features
        ("shop/customer_stats", "HAS_FEATURE", "shop/customer_stats:total_orders"),
        ("shop/customer_stats", "HAS_FEATURE", "shop/customer_stats:avg_amount"),
        ("shop/customer_stats", "HAS_FEATURE", "shop/customer_stats:max_amount"),
        ("shop/discounted", "HAS_FEATURE", "shop/discounted:discounted_avg"),
        # the on-demand view reads every feature of its input view
        ("shop/customer_stats:avg_amount", "FEEDS", "shop/discounted:discounted_avg"),
        ("shop/customer_stats:max_amount", "FEEDS", "shop/discounted:discounted_avg"),
        # the service and what it selects
        ("shop/customer_stats", "SERVES_FEATURES", "shop/scoring"),
        ("shop/customer_stats:total_orders", "SERVES_FEATURES", "shop/scoring"),
        ("shop/customer_stats:max_amount", "SERVES_FEATURES", "shop/scoring"),
        ("shop/discounted:discounted_avg", "SERVES_FEATURES", "shop/scoring"),
        ("shop/customer_spend:spend", "SERVES_FEATURES", "shop/scoring"),
        # owners and team tags
        ("data-team@example.com", "OWNS", "shop/customer"),
        ("growth", "OWNS", "shop/customer"),
        ("alice@example.com", "OWNS", "shop/customer_stats"),
        ("growth", "OWNS", "shop/customer_stats"),
        ("bob@example.com", "OWNS", "shop/scoring"),
        ("risk", "OWNS", "shop/scoring"),
    } <= _edges(store)
    edges = _edges(store)
    assert ("shop/customer_stats:avg_amount", "SERVES_FEATURES", "shop/scoring") not in edges
    assert not {e for e in edges if "customer_id" in e[0] or "customer_id" in e[2]}

    def props(kind: NodeKind, **key: str) -> dict[str, object]:
        node = store.get_node(NodeKey.of(kind, **key).id)
        assert node is not None, key
        return node.props

    entity = props(NodeKind.ENTITY, project="shop", name="customer")
    assert (entity["join_keys"], entity["value_type"]) == (["customer_id"], "Int64")
    assert entity["description"] == "A shop customer"
    view = props(NodeKind.FEATURE_VIEW, project="shop", name="customer_stats")
    assert (view["ttl_seconds"], view["online"], view["entities"]) == (86400, True, ["customer"])
    assert (view["tags"], view["source_types"]) == (["team=growth"], ["file"])
    dtypes = {
        name: props(NodeKind.FEATURE, project="shop", view="customer_stats", name=name)["dtype"]
        for name in ("total_orders", "avg_amount", "max_amount")
    }
    assert dtypes == {"total_orders": "Int64", "avg_amount": "Float32", "max_amount": "Float64"}
    odfv = props(NodeKind.FEATURE_VIEW, project="shop", name="discounted")
    assert (odfv["on_demand"], odfv["request_sources"]) == (True, ["checkout"])
    spend = props(NodeKind.FEATURE_VIEW, project="shop", name="customer_spend")
    assert "sum(o.amount) AS spend" in spend["source_queries"][0]


def test_changed_repo_retires_the_dropped_feature(runs: FeastRuns, store: GraphStore) -> None:
    _project(runs.log, store).close()
    current, retired = _edges(store), _edges(store, current=False)
    assert retired == {
        ("shop/customer_stats", "HAS_FEATURE", "shop/customer_stats:max_amount"),
        ("shop/customer_stats:max_amount", "SERVES_FEATURES", "shop/scoring"),
        ("shop/customer_stats:max_amount", "FEEDS", "shop/discounted:discounted_avg"),
    }
    orders_file = f"file/{runs.repo}/data/orders.parquet"
    assert {
        ("shop/customer_stats", "HAS_FEATURE", "shop/customer_stats:last_amount"),
        (f"{orders_file}#last_amount", "FEEDS", "shop/customer_stats:last_amount"),
        ("shop/customer_stats:last_amount", "SERVES_FEATURES", "shop/scoring"),
        ("shop/customer_stats:last_amount", "FEEDS", "shop/discounted:discounted_avg"),
        ("shop/customer_stats", "HAS_FEATURE", "shop/customer_stats:total_orders"),
        ("shop/customer_stats:total_orders", "SERVES_FEATURES", "shop/scoring"),
    } <= current
