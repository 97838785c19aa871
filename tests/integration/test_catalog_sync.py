"""`lkg sync catalog / deployments / monitoring` end to end, on both stores.

The example files of examples/catalog (the ones docs/sources/catalogs.md shows) are synced with
the real CLI into a data dir that also holds an OpenLineage run (Airflow building
analytics.marts.daily_revenue from shop.public.orders, its output owned by `ASmith@Example.com`)
and a real dbt project's manifest (`dbt parse`) whose daily_revenue model is owned by `a.smith`;
the log is then projected into each store and the questions asked there.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from lineage_kg.cli.app import app
from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.store import GraphStore
from lineage_kg.ingest.eventlog import EventLog
from lineage_kg.ingest.projector import Projector
from lineage_kg.ingest.sources import default_mappers
from lineage_kg.queries.accountability import accountability
from lineage_kg.queries.audit import audit_trail
from lineage_kg.queries.deployments import serving_versions
from lineage_kg.queries.impact import impact
from lineage_kg.queries.suspects import SuspectReason, suspects

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "catalog"
PG = "postgres://warehouse:5432"
ALICE = "alice.smith@example.com"
E, K = EdgeKind, NodeKind


def dataset(name: str) -> NodeKey:
    return NodeKey.of(K.DATASET, namespace=PG, name=name)


def column(name: str, field: str) -> NodeKey:
    return NodeKey.of(K.COLUMN, namespace=PG, name=name, field=field)


def owner(ident: str) -> NodeKey:
    return NodeKey.of(K.OWNER, owner_id=ident)


ORDERS, REVENUE = dataset("shop.public.orders"), dataset("analytics.marts.daily_revenue")
LOAN = NodeKey.of(K.DECISION_POINT, name="loan-approval")
APPROVAL_RATE = NodeKey.of(K.KPI, name="approval-rate")


def version(v: str) -> NodeKey:
    return NodeKey.of(K.MODEL_VERSION, registry="mlflow", name="credit-risk", version=v)


def ol_run(run_id: str, output: str, at: str, owner_name: str | None = None) -> str:
    """An Airflow-style COMPLETE event: orders.amount feeds `output`.revenue."""
    facets: dict = {
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
    }
    if owner_name:
        facets["ownership"] = {
            "_producer": "https://example.com/airflow",
            "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/OwnershipDatasetFacet.json",
            "owners": [{"name": owner_name, "type": "technical"}],
        }
    return json.dumps(
        {
            "eventType": "COMPLETE",
            "eventTime": at,
            "producer": "https://example.com/airflow",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            "run": {"runId": run_id},
            "job": {"namespace": "airflow", "name": output},
            "inputs": [{"namespace": PG, "name": "shop.public.orders"}],
            "outputs": [{"namespace": PG, "name": output, "facets": facets}],
        }
    )


def lkg(data_dir: Path, *args: str | Path, code: int = 0) -> Result:
    env = {"LKG_DATA_DIR": str(data_dir), "NEO4J_URI": ""}
    result = CliRunner().invoke(app, [str(a) for a in args], env=env, catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


def count(output: str, what: str) -> int:
    """A count from the summary table `lkg sync` prints."""
    match = re.search(rf"│ {re.escape(what)}\s+│ (\d+)", output)
    assert match, output
    return int(match[1])


DBT_PROJECT = {
    "dbt_project.yml": 'name: analytics\nversion: "1.0.0"\nconfig-version: 2\n'
    "profile: analytics\nmodel-paths: [models]\n",
    "profiles.yml": "analytics:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
    "      path: analytics.duckdb\n      schema: marts\n      threads: 1\n",
    "models/daily_revenue.sql": "select current_date as day, 1.0 as revenue\n",
    "models/schema.yml": "version: 2\nmodels:\n  - name: daily_revenue\n    config:\n"
    "      meta:\n        owner: a.smith\n",
}


def dbt_manifest(project: Path) -> Path:
    """A real dbt manifest (`dbt parse`): daily_revenue in analytics.marts, owner `a.smith`."""
    for name, text in DBT_PROJECT.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "OPENLINEAGE"))}
    env |= {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
    dbt = Path(sys.executable).parent / "dbt"
    done = subprocess.run(
        [str(dbt), "parse", "--project-dir", str(project), "--profiles-dir", str(project)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,  # a hang, not a measurement: dbt starts slowly on a loaded machine
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return project / "target" / "manifest.json"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("lkg")
    events = data.parent / "airflow.ndjson"
    events.write_text(
        ol_run("01941a2b-0000-7000-8000-000000000001", "analytics.marts.daily_revenue",
               "2026-01-04T23:00:00Z", owner_name="ASmith@Example.com") + "\n"
    )  # fmt: skip
    lkg(data, "ingest", events)
    manifest = dbt_manifest(tmp_path_factory.mktemp("dbt"))
    lkg(data, "sync", "dbt", "--manifest", manifest, "--namespace", PG)
    lkg(data, "sync", "catalog", EXAMPLES / "owners.yaml", EXAMPLES / "kpis.yaml")
    lkg(data, "sync", "deployments", EXAMPLES / "deployments.yaml")
    lkg(data, "sync", "monitoring", EXAMPLES / "monitoring.ndjson")
    return data


def project(data_dir: Path, store: GraphStore) -> EventLog:
    log = EventLog(data_dir / "events.sqlite3")
    status = Projector(log, store, default_mappers()).catch_up(timeout=60)
    assert status.parked == 0
    return log


@pytest.fixture
def synced(data_dir: Path, store: GraphStore) -> tuple[GraphStore, EventLog]:
    log = project(data_dir, store)
    yield store, log
    log.close()


def ends(store: GraphStore, node: NodeKey, direction: Direction, kind: EdgeKind) -> set:
    found = store.neighbors([node.id], direction, [kind])
    return {(e.key.src if direction is Direction.IN else e.key.dst, e.key.disc) for e in found}


def test_aliases_from_openlineage_and_dbt_are_one_owner(synced) -> None:
    store, _ = synced
    # two sources, two names, two Owner nodes: both aliases of Alice
    assert ends(store, REVENUE, Direction.IN, E.OWNS) >= {
        (owner("asmith@example.com"), "technical"),
        (owner("a.smith"), "technical"),
    }
    assert ends(store, owner(ALICE), Direction.IN, E.ALIAS_OF) == {
        (owner("a.smith"), ""),
        (owner("asmith@example.com"), ""),
    }
    item = next(i for i in impact(store, ORDERS.id).items if i.node.id == REVENUE.id)
    assert item.owners == (ALICE,)
    mine = accountability(store, ALICE)
    owned = {(o.node.id, o.ownership_type) for o in mine.owned}
    assert (REVENUE.id, "technical") in owned
    assert (REVENUE.id, "business") in owned  # from the catalog's pattern, named by alias
    # asked by an alias: the same answer, for the owner it names
    assert accountability(store, "a.smith").owner.id == owner(ALICE).id
    # upstream owners of the orders' consumers name Alice once, not per alias
    platform = accountability(store, "team:data-platform")
    downstream = {link.owner for link in platform.downstream_owners}
    assert ALICE in downstream
    assert not downstream & {"a.smith", "asmith@example.com"}


def test_people_and_teams(synced) -> None:
    store, _ = synced
    alice = store.get_node(owner(ALICE).id)
    assert alice.props["name"] == "Alice Smith"
    assert alice.props["owner_kind"] == "person"
    assert alice.props["on_call"] is True
    carol = store.get_node(owner("carol.white@example.com").id)
    assert carol.props["status"] == "left"
    assert ends(store, owner("team:ml-risk"), Direction.IN, E.MEMBER_OF) == {
        (owner("bob.jones@example.com"), ""),
        (owner("carol.white@example.com"), ""),
        (owner("dan.brown@example.com"), ""),
    }
    assert ends(store, owner("team:data"), Direction.IN, E.MEMBER_OF) == {
        (owner("team:data-platform"), ""),
        (owner("team:ml-risk"), ""),
    }
    team = store.get_node(owner("team:ml-risk").id)
    assert team.props["on_call_rotation"] == "pagerduty:ml-risk-primary"
    # the team's email is the team
    assert (owner("ml-risk@example.com"), "") in ends(
        store, owner("team:ml-risk"), Direction.IN, E.ALIAS_OF
    )


def test_patterns_log_explicit_ownership_naming_the_pattern(synced) -> None:
    store, _ = synced
    owns = {
        (e.key.src, e.key.disc): e for e in store.neighbors([ORDERS.id], Direction.IN, [E.OWNS])
    }
    edge = owns[(owner("team:data-platform"), "technical")]
    assert edge.props["pattern"] == f"{PG}/shop.*"
    assert edge.sources == ("catalog",)


def test_kpis_and_decision_points(synced) -> None:
    store, _ = synced
    revenue_kpi = NodeKey.of(K.KPI, name="daily-revenue")
    loss = NodeKey.of(K.KPI, name="loss-rate")
    node = store.get_node(revenue_kpi.id)
    assert node.props["unit"] == "EUR"
    assert node.props["direction"] == "up"
    assert ends(store, revenue_kpi, Direction.IN, E.FEEDS) == {
        (column("analytics.marts.daily_revenue", "revenue"), "")
    }
    assert ends(store, revenue_kpi, Direction.IN, E.CONSUMED_BY) == {(REVENUE, "")}
    assert ends(store, loss, Direction.IN, E.FEEDS) == {
        (APPROVAL_RATE, ""),
        (column("shop.public.orders", "amount"), ""),
    }
    assert ends(store, LOAN, Direction.OUT, E.DRIVES) == {(APPROVAL_RATE, ""), (loss, "")}
    # business owners, named by alias in the catalog, under their canonical ids
    assert ends(store, APPROVAL_RATE, Direction.IN, E.OWNS) == {
        (owner("bob.jones@example.com"), "business")
    }
    # the KPI is in its owner's accountability map, and impact reaches it from the orders
    kpis = [r.node.id for r in accountability(store, "bob.jones@example.com").kpis]
    assert APPROVAL_RATE.id in kpis
    assert "daily-revenue" in impact(store, ORDERS.id).kpis


@pytest.mark.parametrize(
    ("at", "want"),
    [
        ("2026-01-03T00:00:00Z", {("2", "champion"), ("3", "canary")}),
        ("2026-01-05T06:00:00Z", {("3", "champion")}),  # valid_until is exclusive
        ("2026-01-06T00:00:00Z", {("3", "champion")}),  # version 4 is only in shadow
        ("2025-10-01T00:00:00Z", set()),
    ],
)
def test_serving_versions(synced, at: str, want: set) -> None:
    store, _ = synced
    found = serving_versions(store, "credit-risk", "loan-approval", at)
    assert {(n.key.parts[2], e.key.disc) for n, e in found} == want
    for node, edge in found:
        assert node.key.kind is K.MODEL_VERSION
        assert edge.props["mode"] == edge.key.disc
        assert 0 < edge.props["traffic"] <= 1
    assert serving_versions(store, "other-model", "loan-approval", at) == []


def test_check_holds_the_latest_result_and_the_trail_every_one(synced) -> None:
    store, log = synced
    check = NodeKey.of(K.CHECK, subject=version("3").display, name="psi_drift")
    node = store.get_node(check.id)
    assert node.props["status"] == "fail"
    assert node.props["value"] == pytest.approx(0.31)
    assert node.props["checked_at"] == "2026-01-07T12:00:00.000000Z"
    assert ends(store, check, Direction.OUT, E.CHECKS) == {(version("3"), "")}
    page = audit_trail(log, store, check.id, types=["MONITORING"])
    assert [e.event_time for e in page.entries] == [
        "2026-01-05T12:00:00.000000Z",
        "2026-01-06T12:00:00.000000Z",
        "2026-01-07T12:00:00.000000Z",
    ]
    assert {e.source for e in page.entries} == {"monitoring"}
    # and the model version's own trail shows the checks on it
    trail = audit_trail(log, store, version("3").id, types=["MONITORING"], first=50)
    assert len(trail.entries) == 4  # three psi_drift results and one auc


def test_monitor_alerts_are_root_cause_suspects(synced) -> None:
    store, _ = synced
    found = suspects(
        store, APPROVAL_RATE.id, since="2026-01-06T00:00:00Z", until="2026-01-08T00:00:00Z"
    )
    alerts = {s.node.id: s for s in found if s.reason is SuspectReason.MONITOR_ALERT}
    drift = NodeKey.of(K.CHECK, subject=version("3").display, name="psi_drift")
    band = NodeKey.of(K.CHECK, subject="loan-approval", name="approval_rate_band")
    assert set(alerts) == {drift.id, band.id}  # auc and freshness passed
    # KPI ← decision point (1) ← model version (2); a warning weighs half
    assert alerts[drift.id].distance == 2
    assert alerts[drift.id].score == pytest.approx(0.8 / 3, abs=1e-6)
    assert alerts[band.id].distance == 1
    assert alerts[band.id].score == pytest.approx(0.4 / 2, abs=1e-6)
    assert "psi_drift fail" in alerts[drift.id].detail
    assert alerts[drift.id].time == "2026-01-07T12:00:00.000000Z"
    # outside the window: no alert
    before = suspects(
        store, APPROVAL_RATE.id, since="2026-01-01T00:00:00Z", until="2026-01-02T00:00:00Z"
    )
    assert not [s for s in before if s.reason is SuspectReason.MONITOR_ALERT]


def test_second_sync_of_the_same_files_appends_nothing(data_dir: Path) -> None:
    out = lkg(data_dir, "sync", "catalog", EXAMPLES / "owners.yaml", EXAMPLES / "kpis.yaml")
    assert count(out.output, "records appended") == 0
    out = lkg(data_dir, "sync", "monitoring", EXAMPLES / "monitoring.ndjson")
    assert count(out.output, "records unchanged") == 6


def test_a_resync_picks_up_assets_that_appeared_since(tmp_path: Path, store: GraphStore) -> None:
    data = tmp_path / "data"
    first = lkg(data, "sync", "catalog", EXAMPLES / "owners.yaml")
    assert count(first.output, "assets matched by patterns") == 0
    events = tmp_path / "run.ndjson"
    events.write_text(
        ol_run("01941a2b-0000-7000-8000-000000000002", "analytics.marts.daily_revenue",
               "2026-01-04T23:00:00Z") + "\n"
    )  # fmt: skip
    lkg(data, "ingest", events)
    again = lkg(data, "sync", "catalog", EXAMPLES / "owners.yaml")
    assert count(again.output, "assets matched by patterns") == 2
    assert count(again.output, "records appended") == 2  # ownership only
    log = project(data, store)
    log.close()
    assert ends(store, REVENUE, Direction.IN, E.OWNS) == {
        (owner(ALICE), "business")  # `a.smith` in the catalog, logged under the canonical id
    }
    assert ends(store, ORDERS, Direction.IN, E.OWNS) == {(owner("team:data-platform"), "technical")}


def test_bad_rows_are_skipped_by_name_and_the_rest_synced(tmp_path: Path) -> None:
    data = tmp_path / "data"
    lkg(data, "sync", "catalog", EXAMPLES / "kpis.yaml")
    deployments = tmp_path / "deployments.csv"
    deployments.write_text(
        "model,version,decision_point,mode,traffic,valid_from,valid_until\n"
        "credit-risk,3,loan-approval,champion,1.0,2026-01-05T06:00:00Z,\n"
        "credit-risk,5,loan-aproval,canary,0.1,2026-01-06T00:00:00Z,\n"
        "credit-risk,6,loan-approval,canary,0.1,yesterday,\n"
        ",7,loan-approval,canary,0.1,2026-01-06T00:00:00Z,\n"
        "credit-risk,8,loan-approval,canary,1.5,2026-01-06T00:00:00Z,\n"
    )
    out = lkg(data, "sync", "deployments", deployments, code=2).output
    assert count(out, "records appended") == 1
    assert "deployments.csv line 3: decision_point: 'loan-aproval' is not defined" in out
    assert "deployments.csv line 4: valid_from:" in out
    assert "deployments.csv line 5: model:" in out
    assert "deployments.csv line 6: traffic:" in out

    checks = tmp_path / "checks.ndjson"
    checks.write_text(
        '{"subject": {"decision_point": "loan-approval"}, "check": "volume", "status": "pass",'
        ' "checked_at": "2026-01-07T00:00:00Z"}\n'
        "{not json\n"
        '{"subject": {"decision_point": "loan-approval"}, "check": "volume", "status": "broken",'
        ' "checked_at": "2026-01-07T00:00:00Z"}\n'
        '{"subject": {"model": "credit-risk"}, "check": "auc", "status": "pass",'
        ' "checked_at": "2026-01-07T00:00:00Z"}\n'
    )
    out = lkg(data, "sync", "monitoring", checks, code=2).output
    assert count(out, "records appended") == 1
    assert "checks.ndjson line 2: not JSON" in out
    assert "checks.ndjson line 3: status:" in out
    assert "checks.ndjson line 4: subject" in out

    catalog = tmp_path / "bad.yaml"
    catalog.write_text(
        "peeple: []\n"
        "people:\n  - {id: x@example.com, teams: [team:a]}\n  - {name: no id}\n"
        "kpis:\n  - {name: k, direction: sideways}\n  - {name: ok, fed_by: [no-field-here]}\n"
        "  - {name: fine, unit: EUR}\n"
    )
    out = lkg(data, "sync", "catalog", catalog, code=2).output
    assert "bad.yaml peeple: unknown section" in out
    assert "bad.yaml people[1]: id: Field required" in out
    assert "bad.yaml kpis[0]: direction:" in out
    assert "bad.yaml kpis[1]: fed_by.0:" in out
    assert count(out, "records appended") == 2  # the person and the good KPI
