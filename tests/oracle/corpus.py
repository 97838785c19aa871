"""Real producers' events for the oracle tests: Spark's column lineage with a TABLE symlink (its
`file` storage, or the same job with the warehouse on `hdfs` or `gs`), Hive's indirect lineage,
Airflow's Postgres operator, and a captured `dbt-ol` run.

The corpus files are integration-test matchers: what identifies an event (eventTime, runId, a job
name) is filled in; nothing else is changed but the storage namespace where asked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

CORPUS = Path("/work/shared/corpus/openlineage/OpenLineage")
DBT_EVENTS = Path(__file__).resolve().parents[1] / "fixtures" / "dbt_shop_events.ndjson"
SPARK_CLL = "integration__spark__app__integrations__container__pysparkCLLEnd.json"
HIVE_INDIRECT = (
    "integration__hive__hive-openlineage-hook__integrations__container__"
    "cllSimpleQueryIndirectComplete.json"
)
AIRFLOW_POSTGRES = "integration__airflow__tests__integration__requests__postgres.json"

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not on this machine")


def _identified(event: dict[str, Any], n: int, job: str | None = None) -> dict[str, Any]:
    """A matcher made a whole event: its time, run id and job name filled in if missing or
    templated."""
    event = json.loads(json.dumps(event))
    event["eventTime"] = f"2026-04-01T00:{n:02d}:00.000Z"
    event["run"] = {"runId": f"00000000-0000-4000-8000-{n:012d}"}
    if job is not None or "{{" in str(event["job"].get("name", "{{")):
        event["job"]["name"] = job or f"job_{n}"
    event.setdefault("producer", "https://github.com/OpenLineage/OpenLineage")
    event.setdefault("schemaURL", "https://openlineage.io/spec/2-0-2/OpenLineage.json")
    return event


def _moved(event: dict[str, Any], storage: str) -> dict[str, Any]:
    """The same Spark event with the warehouse on `storage` instead of the local file system."""
    text = json.dumps(event)
    text = text.replace('"namespace": "file"', f'"namespace": "{storage}"')
    return dict(json.loads(text))


def spark_events(storage: str) -> list[dict[str, Any]]:
    spark = _moved(json.loads((CORPUS / SPARK_CLL).read_text()), storage)
    return [_identified(spark, 1, "cll_test.execute_insert_into_hive_table")]


def hive_events() -> list[dict[str, Any]]:
    return [_identified(json.loads((CORPUS / HIVE_INDIRECT).read_text()), 1)]


def airflow_events() -> list[dict[str, Any]]:
    raw = json.loads((CORPUS / AIRFLOW_POSTGRES).read_text())
    return [_identified(e, n) for n, e in enumerate(raw, 1)]


def dbt_events() -> list[dict[str, Any]]:
    return [json.loads(line) for line in DBT_EVENTS.read_text().splitlines() if line.strip()]
