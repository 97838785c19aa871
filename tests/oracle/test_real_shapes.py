"""Real producers' events against the oracle, on both stores: Spark's column lineage with a TABLE
symlink (its `file` storage, and the same job with the warehouse on `hdfs` and `gs`), Hive's
indirect lineage, Airflow's Postgres operator and a `dbt-ol` run. Impact from every dataset and
column the events name, by every name they give it, must be the oracle's answer
(the events: tests/oracle/corpus.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from lineage_kg.graph.store import GraphStore
from tests.oracle.corpus import (
    airflow_events,
    dbt_events,
    hive_events,
    needs_corpus,
    spark_events,
)
from tests.oracle.reference import Reference
from tests.oracle.service import service
from tests.oracle.streams import describe


def starts(events: list[dict[str, Any]], oracle: Reference) -> list[tuple[str, str, str | None]]:
    """Every dataset by every name the events give it, and each of its columns."""
    found: dict[tuple[str, str, str | None], None] = {}
    for event in events:
        for ds in [*event.get("inputs", []), *event.get("outputs", [])]:
            ns, name = ds["namespace"], ds["name"]
            found[(ns, name, None)] = None
            for field in sorted(oracle.columns[oracle.names.canonical(ns, name)]):
                found[(ns, name, field)] = None
    return list(found)


def check(store: GraphStore, events: list[dict[str, Any]]) -> None:
    oracle = Reference(events)
    with service(store, events) as running:
        for namespace, name, field in starts(events, oracle):
            start, reached = running.impact(namespace, name, field)
            kind = "Column" if field else "Dataset"
            want_start = (kind, *oracle.names.canonical(namespace, name), field or "")
            want = oracle.impact(namespace, name, field)
            assert (start, reached) == (want_start, want), (
                f"impact from {namespace}|{name}#{field} after:\n{describe(events)}"
            )


# ---- the service against the oracle ----------------------------------------------------------
@needs_corpus
@pytest.mark.parametrize("storage", ["file", "hdfs://namenode:8020", "gs://warehouse"])
def test_spark_column_lineage_with_symlinks(store: GraphStore, storage: str) -> None:
    check(store, spark_events(storage))


@needs_corpus
def test_hive_indirect_lineage(store: GraphStore) -> None:
    check(store, hive_events())


@needs_corpus
def test_airflow_postgres_operator(store: GraphStore) -> None:
    check(store, airflow_events())


def test_dbt_ol_run(store: GraphStore) -> None:
    check(store, dbt_events())
