"""The oracle itself, on small streams worked out by hand: if these fail, the oracle is wrong, not
the service. Real producers' shapes (Spark, Hive) come from the shared corpus."""

from __future__ import annotations

import random
from typing import Any

from tests.oracle.corpus import hive_events, needs_corpus, spark_events
from tests.oracle.reference import EXACT, POSSIBLE, Reference, normalise_namespace

PG = "postgres://db:5432"


def ds(name: str, ns: str = PG, **facets: Any) -> dict[str, Any]:
    return {"namespace": ns, "name": name, "facets": facets}


def schema(*fields: str) -> dict[str, Any]:
    return {"fields": [{"name": f, "type": "STRING"} for f in fields]}


def cll(mapping: dict[str, list[tuple[str, str, str]]], whole: list[tuple[str, str]] = ()) -> Any:
    """{out field: [(input name, input field, DIRECT|INDIRECT)]}, dataset-wide [(name, field)]."""
    fields = {
        out: {
            "inputFields": [
                {"namespace": PG, "name": n, "field": f, "transformations": [{"type": t}]}
                for n, f, t in ins
            ]
        }
        for out, ins in mapping.items()
    }
    return {
        "fields": fields,
        "dataset": [{"namespace": PG, "name": n, "field": f} for n, f in whole],
    }


def run(
    job: str, minute: int, inputs: list[Any], outputs: list[Any], kind: str = "COMPLETE"
) -> Any:
    return {
        "eventType": kind,
        "eventTime": f"2026-03-01T00:{minute:02d}:00Z",
        "run": {"runId": f"run-{job}-{minute}"},
        "job": {"namespace": "oracle", "name": job},
        "inputs": inputs,
        "outputs": outputs,
    }


def col(name: str, field: str) -> tuple[str, str, str, str]:
    return ("Column", PG, name, field)


def dset(name: str) -> tuple[str, str, str, str]:
    return ("Dataset", PG, name, "")


def test_names_fold_as_docs_identity_says() -> None:
    assert normalise_namespace("Postgresql://DB/") == PG
    assert normalise_namespace("postgres://db") == PG
    assert normalise_namespace("s3a://Lake/") == "s3://lake"
    assert normalise_namespace("hdfs://NameNode:8020") == "hdfs://namenode:8020"
    assert normalise_namespace("file") == "file"
    assert normalise_namespace("file:/tmp/cll_test") == "file:/tmp/cll_test"


def test_symlink_in_any_event_any_order_joins_the_names() -> None:
    table = {"identifiers": [{"namespace": "hive://ms:9083", "name": "default.t", "type": "TABLE"}]}
    events = [
        run("a", 1, [ds("src", schema=schema("x"))], [ds("/w/t", "file")]),
        run("b", 2, [ds("/w/t", "file")], [ds("out")]),
        run("c", 3, [ds("/w/t", "file", symlinks=table)], [ds("other")]),
    ]
    for order in (events, events[::-1], [events[1], events[2], events[0]]):
        oracle = Reference(order)
        assert oracle.names.canonical("file", "/w/t") == ("hive://ms:9083", "default.t")
        assert oracle.names.canonical("hive://ms:9083", "default.t") == (
            "hive://ms:9083",
            "default.t",
        )
        answer = oracle.impact("file", "/w/t")
        assert answer == oracle.impact("hive://ms:9083", "default.t")
        assert answer == {dset("out"): POSSIBLE, dset("other"): POSSIBLE}


def test_late_complete_of_an_older_run_is_history() -> None:
    old = run(
        "j",
        1,
        [ds("a", schema=schema("x"))],
        [ds("out", columnLineage=cll({"y": [("a", "x", "DIRECT")]}))],
    )
    new = run(
        "j",
        5,
        [ds("b", schema=schema("x"))],
        [ds("out", columnLineage=cll({"y": [("b", "x", "DIRECT")]}))],
    )
    for order in ([old, new], [new, old]):
        oracle = Reference(order)
        assert oracle.impact(PG, "a", "x") == {dset("a"): EXACT}
        assert oracle.impact(PG, "b", "x") == {
            dset("b"): EXACT,
            col("out", "y"): EXACT,
            dset("out"): EXACT,
        }


def test_indirect_and_dataset_wide_reach_every_output_column_exactly() -> None:
    facet = cll({"y": [("a", "x", "DIRECT"), ("a", "k", "INDIRECT")], "z": []}, whole=[("a", "w")])
    oracle = Reference(
        [run("j", 1, [ds("a")], [ds("out", schema=schema("y", "z"), columnLineage=facet)])]
    )
    every = {dset("a"): EXACT, dset("out"): EXACT, col("out", "y"): EXACT, col("out", "z"): EXACT}
    assert oracle.impact(PG, "a", "k") == every
    assert oracle.impact(PG, "a", "w") == every
    assert oracle.impact(PG, "a", "x") == {
        dset("a"): EXACT,
        dset("out"): EXACT,
        col("out", "y"): EXACT,
    }


def test_column_lineage_is_authoritative_and_dataset_level_is_possible() -> None:
    b = ds("b", schema=schema("y"), columnLineage=cll({"y": [("a", "x", "DIRECT")]}))
    d = ds("d", schema=schema("r"), columnLineage=cll({"r": [("c", "p", "DIRECT")]}))
    events = [
        run("j1", 1, [ds("a", schema=schema("x", "u"))], [b]),  # maps a.x only, not a.u
        run("j2", 2, [ds("b")], [ds("c", schema=schema("p", "q"))]),  # dataset-level only
        run("j3", 3, [ds("c")], [d]),  # column lineage from c.p only
    ]
    oracle = Reference(random.Random(7).sample(events, len(events)))
    assert oracle.impact(PG, "a", "u") == {dset("a"): EXACT}
    # dataset-level from b to c: c may change, which of its columns is not known; a whole c
    # may break every output of its readers, whatever their column lineage says
    assert oracle.impact(PG, "a", "x") == {
        dset("a"): EXACT,
        dset("b"): EXACT,
        col("b", "y"): EXACT,
        dset("c"): POSSIBLE,
        dset("d"): POSSIBLE,
    }
    # from the whole of c: its columns are the start; d through the facet, exactly
    assert oracle.impact(PG, "c") == {dset("d"): EXACT, col("d", "r"): EXACT}


# ---- the oracle itself on the real shapes, worked out by hand --------------------------------
@needs_corpus
def test_oracle_reads_spark_indirect_lineage_as_every_column() -> None:
    oracle = Reference(spark_events("file"))
    table = ("file:/tmp/cll_test", "default.tbl1")
    assert oracle.names.canonical("file", "/tmp/cll_test/tbl1") == table
    # cll_source2.a is only a JOIN and FILTER input: every column of the output depends on it
    answer = oracle.impact("file", "/tmp/cll_test/cll_source2", "a")
    assert {n[3] for n in answer if n[1:3] == table} == {"", "ident", "trans", "agg"}
    assert set(answer.values()) == {EXACT}
    # cll_source2.c is only aggregated into `agg` (DIRECT): that column, not the others
    assert oracle.impact("file", "/tmp/cll_test/cll_source2", "c") == {
        ("Dataset", "file", "/tmp/cll_test/cll_source2", ""): EXACT,
        ("Dataset", *table, ""): EXACT,
        ("Column", *table, "agg"): EXACT,
    }


@needs_corpus
def test_oracle_reads_hive_dataset_wide_lineage() -> None:
    oracle = Reference(hive_events())
    answer = oracle.impact("hive://localhost:9083", "test.t1", "b")  # WHERE b > 1
    assert answer == {
        ("Dataset", "hive://localhost:9083", "test.t1", ""): EXACT,
        ("Dataset", "hive://localhost:9083", "test.xxx", ""): EXACT,
        ("Column", "hive://localhost:9083", "test.xxx", "a"): EXACT,
    }
