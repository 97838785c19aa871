"""Session 34, item 2: Spark's JDBC datasets named the database in the namespace before
OpenLineage 1.1 — the JDBC URL itself before 0.22 (`jdbc:postgresql://host:5432/db?user=…`,
name `schema.table`), then `postgres://host:5432/db` — where the spec (and Airflow, dbt-ol, Spark
since) name `postgres://host:5432` + `db.schema.table`. `graph/naming.dataset_key` folds both
into the spec's form, so an old Spark job's read and an Airflow job's write of one table are one
Dataset node.

The oracle (`spec_key`) builds the spec's form from the parts, as the Java client's
JdbcUtils.getDatasetIdentifierFromJdbcUrl does (scheme folded, default port, credentials and
parameters dropped, the database leading the name); the spellings are generated.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage_kg.graph import naming
from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import NodeKey, NodeKind
from lineage_kg.graph.naming import dataset_key
from lineage_kg.ingest.openlineage.mapping import map_event
from lineage_kg.queries.impact import impact

_DEFAULT = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "openlineage"
CORPUS = Path(os.environ.get("LKG_OPENLINEAGE_CORPUS", _DEFAULT))
AIRFLOW = "OpenLineage/integration__airflow__tests__integration__requests__postgres.json"

# (how a JDBC URL spells the server, the spec's scheme, its default port, parts of a full name)
SERVERS = [
    ("postgresql", "postgres", 5432, 3),
    ("POSTGRESQL", "postgres", 5432, 3),
    ("mysql", "mysql", 3306, 2),
    ("mariadb", "mysql", 3306, 2),
    ("redshift", "redshift", 5439, 3),
]


def spec_key(scheme: str, host: str, port: int, database: str, path: list[str]) -> NodeKey:
    """The oracle: `scheme://host:port` + `database.<path>` (host lowercased)."""
    return NodeKey.of(
        NodeKind.DATASET,
        namespace=f"{scheme}://{host.lower()}:{port}",
        name=".".join([database, *path]),
    )


ident = st.from_regex(r"[a-z][a-z0-9_]{0,7}", fullmatch=True)
hosts = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,8}(\.[a-z]{2,5}){0,2}", fullmatch=True)


cases = st.tuples(
    st.sampled_from(SERVERS),
    hosts,
    st.one_of(st.none(), st.integers(1024, 65535)),
    ident,
    st.lists(ident, min_size=2, max_size=2),
    st.sampled_from(["", "?user=etl&password=secret", "?ssl=true", ";loginTimeout=5"]),
    st.sampled_from(["jdbc", "jdbc-upper", "path"]),
)


@settings(max_examples=100, deadline=None)
@given(cases)
def test_database_in_the_namespace_is_folded_into_the_name(case: tuple) -> None:
    server, host, port, database, names, params, form = case
    spelled, scheme, default_port, parts = server
    path = names[: parts - 1]  # mysql: table; postgres, redshift: schema.table
    authority = host if port is None else f"{host}:{port}"
    if form == "path":  # Spark 0.22-1.0: the spec's scheme, the database as the path
        namespace = f"{scheme}://{authority}/{database}"
    else:
        prefix = "JDBC:" if form == "jdbc-upper" else "jdbc:"
        namespace = f"{prefix}{spelled}://{authority}/{database}{params}"
    want = spec_key(scheme, host, port or default_port, database, path)
    assert dataset_key(namespace, ".".join(path)) == want
    # a name that already leads with the database is not prefixed twice
    assert dataset_key(namespace, ".".join([database, *path])) == want


def test_real_shapes() -> None:
    """The Java client's JdbcUtilsTest / JdbcDatasetUtilsTestForPostgres pairs, and what is
    left as it is."""
    pg = "postgres://localhost:5432"
    assert dataset_key("jdbc:postgresql://localhost:5432/db", "table").parts == (pg, "db.table")
    assert dataset_key("jdbc:postgresql://localhost:5432/", "table").parts == (pg, "table")
    assert dataset_key(
        "jdbc:postgresql://localhost:5432?user=postgres&password=postgres", "db.public.t"
    ).parts == (pg, "db.public.t")
    assert dataset_key("jdbc:postgresql://test-host.com", "schema.table1").parts == (
        "postgres://test-host.com:5432",
        "schema.table1",
    )
    assert dataset_key("postgres://localhost:5432/test", "public.t").parts == (
        pg,
        "test.public.t",
    )
    # credentials in the authority go with it, as normalise_namespace drops them
    assert dataset_key("jdbc:postgresql://etl:pw@DB:5432/shop", "public.t").parts == (
        "postgres://db:5432",
        "shop.public.t",
    )
    # not of this form: kept as written (normalise_namespace)
    for namespace in (
        "jdbc:sqlserver://h:1433;databaseName=db",
        "jdbc:oracle:thin:@h:1521:orcl",
        "jdbc:hive2://h:10000/default",
        "postgres://h:5432/a/b",
    ):
        assert dataset_key(namespace, "t").parts == (namespace, "t")
    assert dataset_key("s3://bucket", "a/b").parts == ("s3://bucket", "a/b")
    assert dataset_key("postgres://h", "d.s.t").parts == ("postgres://h:5432", "d.s.t")


def spark_jdbc_event() -> dict[str, object]:
    """Spark 0.20's JDBC read as it was emitted (the URL as the namespace, dbtable as name)."""
    return {
        "eventType": "COMPLETE",
        "eventTime": "2023-02-01T10:00:00Z",
        "producer": "https://github.com/OpenLineage/OpenLineage/tree/0.20.6/integration/spark",
        "schemaURL": "https://openlineage.io/spec/1-0-5/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": "0186a1b2-0000-7000-8000-000000000001"},
        "job": {"namespace": "spark", "name": "load_delivery_times.execute_save"},
        "inputs": [
            {
                "namespace": "jdbc:postgresql://postgres:5432/food_delivery?user=spark&password=x",
                "name": "public.top_delivery_times",
            }
        ],
        "outputs": [{"namespace": "s3://lake", "name": "delivery/times"}],
    }


def airflow_event() -> dict[str, object]:
    """The corpus' Airflow postgres_insert COMPLETE: it reads top_delivery_times as the spec
    names it (postgres://postgres:5432 + food_delivery.public.top_delivery_times)."""
    events = json.loads((CORPUS / AIRFLOW).read_text())
    done = [e for e in events if e["eventType"] == "COMPLETE" and e.get("inputs")]
    event = copy.deepcopy(done[0])  # a matcher: its time and run id are the test's
    event.update(
        eventTime="2024-05-01T10:05:00Z", run={"runId": "018f3a1b-0000-7000-8000-00000000000a"}
    )
    return event


def one_node(store: EmbeddedStore) -> None:
    table = NodeKey.of(
        NodeKind.DATASET,
        namespace="postgres://postgres:5432",
        name="food_delivery.public.top_delivery_times",
    )
    assert store.get_node(table.id) is not None
    reached = {item.node.key.display for item in impact(store, table.id, depth=2).items}
    assert "spark/load_delivery_times.execute_save" in reached
    assert "s3://lake/delivery/times" in reached
    assert any("popular_orders_day_of_week" in name for name in reached)
    assert not any(
        n.key.kind is NodeKind.DATASET and n.key.parts[0].startswith("jdbc:")
        for n in store.iter_nodes()
    )


def load_both() -> EmbeddedStore:
    store = EmbeddedStore()
    airflow = airflow_event()
    assert airflow["inputs"][0]["name"] == "food_delivery.public.top_delivery_times"
    store.apply(map_event(spark_jdbc_event(), "spark-0"))
    store.apply(map_event(airflow, "airflow-0"))
    return store


@pytest.mark.skipif(not (CORPUS / AIRFLOW).exists(), reason="shared corpus not present")
def test_an_old_spark_jdbc_read_joins_the_airflow_table() -> None:
    one_node(load_both())


@pytest.mark.skipif(not (CORPUS / AIRFLOW).exists(), reason="shared corpus not present")
def test_breakage_no_fold_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """In this process: the fold off (the namespace kept as written) — two nodes, no join."""
    monkeypatch.setattr(naming, "database_in_namespace", lambda namespace: None)
    naming._dataset.cache_clear()
    with pytest.raises(AssertionError):
        one_node(load_both())
    with pytest.raises(AssertionError):
        test_real_shapes()
