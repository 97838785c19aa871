"""A real producer end to end: `dbt-ol build` on tests/fixtures/dbt_shop, file transport.

No skips: without dbt-ol (the `producers` / `test` extras) these tests fail.

What dbt-ol (openlineage-dbt 1.54, dbt-core 1.10 or 1.8, dbt-duckdb) really emits for this
project, in its default mode (events built from dbt's artifacts after the run), 14 events:

- a wrapper run, job `dbt-run-dbt_shop`: START first, COMPLETE last, no datasets;
- per model, job `shop.main.dbt_shop.<model>.build.run` (jobType MODEL), START and COMPLETE;
- per *tested model* (not per test), job `shop.main.dbt_shop.<model>.build.test` (jobType TEST),
  START and COMPLETE, the model as its only input with a `dataQualityAssertions` facet (both as
  dataset facet and input facet) listing each test's result, and the *model's* dbt_node facet;
- seeds: no event of their own; they show up only in the column lineage of the staging models.

Every node run has a `parent` run facet naming the wrapper run (and the same `root`). Job
namespace `dbt-shop` (OPENLINEAGE_NAMESPACE); dataset namespace `duckdb://target/shop.duckdb`
(the profile's duckdb `path`); dataset names `<database>.<schema>.<table>`, the database being
the duckdb file's stem: `shop.main.customer_revenue`.

tests/fixtures/dbt_shop_events.ndjson is one such run, captured on 2026-11-23 with
openlineage-dbt 1.54.0, dbt-core 1.10.23, dbt-duckdb 1.10.1 (duckdb 2.0.0), through
`run_dbt_ol(..., events_file=...)`: real producer output for unit tests of the mapper.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from dbt_producer import DATASET_NAMESPACE, JOB_NAMESPACE, read_events, run_dbt_ol

CAPTURED = Path(__file__).resolve().parents[1] / "fixtures" / "dbt_shop_events.ndjson"

WRAPPER_JOB = "dbt-run-dbt_shop"
MODELS = ("stg_customers", "stg_orders", "customer_revenue")


def model_job(model: str) -> str:
    return f"shop.main.dbt_shop.{model}.build.run"


def data_tests_job(model: str) -> str:
    return f"shop.main.dbt_shop.{model}.build.test"


def dataset(table: str) -> str:
    return f"shop.main.{table}"


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    base = tmp_path_factory.mktemp("dbt_ol_file")
    events_file = base / "events.ndjson"
    result = run_dbt_ol(base / "project", events_file=events_file)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Emitted 14 OpenLineage events" in result.stdout, result.stdout
    return read_events(events_file)


def only(events: list[dict], event_type: str, job: str) -> dict:
    found = [e for e in events if e["eventType"] == event_type and e["job"]["name"] == job]
    assert len(found) == 1, (event_type, job, len(found))
    return found[0]


def test_one_start_and_one_complete_per_run(events: list[dict]) -> None:
    assert len(events) == 14
    expected_jobs = [WRAPPER_JOB, *map(model_job, MODELS), *map(data_tests_job, MODELS)]
    assert Counter((e["eventType"], e["job"]["name"]) for e in events) == Counter(
        (t, j) for j in expected_jobs for t in ("START", "COMPLETE")
    )
    assert {e["job"]["namespace"] for e in events} == {JOB_NAMESPACE}
    # the wrapper run brackets everything
    assert (events[0]["eventType"], events[0]["job"]["name"]) == ("START", WRAPPER_JOB)
    assert (events[-1]["eventType"], events[-1]["job"]["name"]) == ("COMPLETE", WRAPPER_JOB)
    # one run id per job, START emitted before COMPLETE
    runs: dict[str, list[tuple[str, str]]] = {}
    for e in events:
        runs.setdefault(e["run"]["runId"], []).append((e["eventType"], e["job"]["name"]))
    assert len(runs) == 7
    for seen in runs.values():
        assert [t for t, _ in seen] == ["START", "COMPLETE"]
        assert seen[0][1] == seen[1][1]
    # client 1.54 makes UUIDv7 run ids
    assert {uuid.UUID(run_id).version for run_id in runs} == {7}


def test_seeds_have_no_events_of_their_own(events: list[dict]) -> None:
    names = {e["job"]["name"] for e in events}
    names |= {d["name"] for e in events for d in e["inputs"] + e["outputs"]}
    assert not [n for n in names if "raw_" in n]


def test_every_node_run_names_the_dbt_invocation_as_parent(events: list[dict]) -> None:
    wrapper = only(events, "START", WRAPPER_JOB)
    wrapper_run = wrapper["run"]["runId"]
    assert "parent" not in wrapper["run"]["facets"]
    assert only(events, "COMPLETE", WRAPPER_JOB)["run"]["runId"] == wrapper_run
    invocation = wrapper["run"]["facets"]["dbt_run"]["invocation_id"]
    for e in events:
        facets = e["run"]["facets"]
        assert facets["dbt_run"]["invocation_id"] == invocation
        assert facets["processing_engine"]["name"] == "dbt"
        if e["job"]["name"] == WRAPPER_JOB:
            continue
        parent = facets["parent"]
        assert parent["job"] == {"namespace": JOB_NAMESPACE, "name": WRAPPER_JOB}
        assert parent["run"] == {"runId": wrapper_run}
        assert parent["root"] == {
            "job": {"namespace": JOB_NAMESPACE, "name": WRAPPER_JOB},
            "run": {"runId": wrapper_run},
        }


def test_event_shapes(events: list[dict]) -> None:
    for e in events:
        assert e["producer"].endswith("/integration/dbt"), e["producer"]
        assert e["schemaURL"].endswith("OpenLineage.json#/$defs/RunEvent")
        # two spellings of UTC: "...Z" (model runs) and "...+00:00" (wrapper and test runs)
        assert datetime.fromisoformat(e["eventTime"]).utcoffset().total_seconds() == 0
        job_type = e["job"]["facets"]["jobType"]
        assert (job_type["integration"], job_type["processingType"]) == ("DBT", "BATCH")
        name = e["job"]["name"]
        if name == WRAPPER_JOB:
            assert job_type["jobType"] == "JOB"
            assert set(e["job"]["facets"]) == {"jobType"}
            assert (e["inputs"], e["outputs"]) == ([], [])
        elif name.endswith(".build.run"):
            assert job_type["jobType"] == "MODEL"
            assert set(e["job"]["facets"]) == {"jobType", "dbt_node", "sql"}
        else:
            assert job_type["jobType"] == "TEST"
            assert set(e["job"]["facets"]) == {"jobType", "dbt_node"}
        for d in e["inputs"] + e["outputs"]:
            assert d["namespace"] == DATASET_NAMESPACE


def test_customer_revenue_complete(events: list[dict]) -> None:
    e = only(events, "COMPLETE", model_job("customer_revenue"))
    assert [(d["namespace"], d["name"]) for d in e["outputs"]] == [
        ("duckdb://target/shop.duckdb", "shop.main.customer_revenue")
    ]
    assert sorted(d["name"] for d in e["inputs"]) == [
        "shop.main.stg_customers",
        "shop.main.stg_orders",
    ]
    out = e["outputs"][0]["facets"]
    assert set(out) == {
        "columnLineage",
        "dataSource",
        "dbt_model",
        "documentation",
        "ownership",
        "schema",
    }

    def col(table: str, field: str) -> dict:
        return {
            "namespace": DATASET_NAMESPACE,
            "name": dataset(table),
            "field": field,
            "transformations": [],  # dbt-ol gives no transformation types
        }

    lineage = out["columnLineage"]
    assert lineage["dataset"] == []
    assert {k: v["inputFields"] for k, v in lineage["fields"].items()} == {
        "customer_id": [col("stg_customers", "customer_id")],
        "customer_name": [col("stg_customers", "customer_name")],
        "total_amount": [col("stg_orders", "amount")],
        "order_count": [col("stg_orders", "order_id")],
    }
    assert [f["name"] for f in out["schema"]["fields"]] == [
        "customer_id",
        "customer_name",
        "total_amount",
        "order_count",
    ]
    assert "type" not in out["schema"]["fields"][0]  # no catalog: no column types
    assert out["ownership"]["owners"] == [{"name": "analytics@example.com"}]
    assert out["documentation"]["description"] == (
        "Revenue and number of completed orders per customer."
    )
    assert out["dataSource"] | {"_producer": None, "_schemaURL": None} == {
        "name": DATASET_NAMESPACE,
        "uri": DATASET_NAMESPACE,
        "_producer": None,
        "_schemaURL": None,
    }
    assert out["dbt_model"]["config"] == {"materialized": "table", "access": "protected"}

    sql = e["job"]["facets"]["sql"]
    assert sql["dialect"] == "duckdb"
    # compiled SQL: refs resolved to relations, no Jinja left
    assert '"shop"."main"."stg_orders"' in sql["query"]
    assert '"shop"."main"."stg_customers"' in sql["query"]
    assert "where o.status = 'completed'" in sql["query"]
    assert "{{" not in sql["query"]

    node = e["job"]["facets"]["dbt_node"]
    assert node["unique_id"] == "model.dbt_shop.customer_revenue"
    assert node["original_file_path"] == "models/marts/customer_revenue.sql"
    # the model's meta rides along as run tags
    tags = {(t["key"], t["value"], t["source"]) for t in e["run"]["facets"]["tags"]["tags"]}
    assert {("owner", "analytics@example.com", "DBT_META"), ("tier", "gold", "DBT_META")} <= tags


def test_models_on_seeds_have_no_inputs_but_column_lineage_names_the_seeds(
    events: list[dict],
) -> None:
    orders = only(events, "COMPLETE", model_job("stg_orders"))
    customers = only(events, "COMPLETE", model_job("stg_customers"))
    assert orders["inputs"] == [] and customers["inputs"] == []

    def sources(e: dict) -> dict[str, list[tuple[str, str]]]:
        fields = e["outputs"][0]["facets"]["columnLineage"]["fields"]
        return {k: [(f["name"], f["field"]) for f in v["inputFields"]] for k, v in fields.items()}

    assert sources(orders) == {
        "order_id": [("shop.main.raw_orders", "order_id")],
        "customer_id": [("shop.main.raw_orders", "customer_id")],
        "amount": [("shop.main.raw_orders", "amount")],
        "status": [("shop.main.raw_orders", "status")],
        "order_date": [("shop.main.raw_orders", "created_at")],
    }
    assert sources(customers) == {
        "customer_id": [("shop.main.raw_customers", "customer_id")],
        "customer_name": [("shop.main.raw_customers", "customer_name")],
        "email": [("shop.main.raw_customers", "email")],
        "country": [("shop.main.raw_customers", "country")],
    }
    # the schema facet lists documented columns only, the column lineage every column
    schema = [f["name"] for f in orders["outputs"][0]["facets"]["schema"]["fields"]]
    assert schema == ["order_id", "customer_id", "amount", "status"]
    schema = [f["name"] for f in customers["outputs"][0]["facets"]["schema"]["fields"]]
    assert schema == ["customer_id", "customer_name"]
    assert "ownership" not in orders["outputs"][0]["facets"]


def test_test_runs_carry_data_quality_assertions(events: list[dict]) -> None:
    for model, column in [
        ("stg_orders", "order_id"),
        ("stg_customers", "customer_id"),
        ("customer_revenue", "customer_id"),
    ]:
        e = only(events, "COMPLETE", data_tests_job(model))
        assert e["outputs"] == []
        assert [d["name"] for d in e["inputs"]] == [dataset(model)]
        (tested,) = e["inputs"]
        assert set(tested["facets"]) == {"dataQualityAssertions"}
        assert tested["inputFacets"] == tested["facets"]
        assertions = tested["facets"]["dataQualityAssertions"]["assertions"]
        assert sorted(
            (a["name"], a["assertion"], a["column"], a["success"]) for a in assertions
        ) == [
            (f"not_null_{model}_{column}", "not_null", column, True),
            (f"unique_{model}_{column}", "unique", column, True),
        ]
        # the test job carries the tested model's dbt_node facet
        assert e["job"]["facets"]["dbt_node"]["unique_id"] == f"model.dbt_shop.{model}"


def shape(e: dict) -> tuple:
    def ds(d: dict) -> tuple:
        return (d["namespace"], d["name"], tuple(sorted(d.get("facets", {}))))

    return (
        e["eventType"],
        e["job"]["namespace"],
        e["job"]["name"],
        tuple(sorted(e["job"].get("facets", {}))),
        tuple(sorted(e["run"].get("facets", {}))),
        tuple(sorted(map(ds, e["inputs"]))),
        tuple(sorted(map(ds, e["outputs"]))),
    )


def test_captured_fixture_matches_a_fresh_run(events: list[dict]) -> None:
    """The committed NDJSON is still what the installed producer emits (up to ids and times)."""
    with CAPTURED.open(encoding="utf-8") as f:
        captured = [json.loads(line) for line in f]
    assert sorted(map(shape, captured)) == sorted(map(shape, events))
