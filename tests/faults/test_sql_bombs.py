"""A job's SQL facet that crashed or froze the service (session 34, helper 96's red team).

- `INSERT INTO o SELECT a+a+…+a FROM t` of 15,000 terms (30 KB) overflowed the stack of the
  thread parsing it in openlineage-sql: SIGSEGV, after the event had been answered 201 and
  logged, so every restart replayed it and crashed again.
- 20,000 CTEs each reading the one before (1 MB) held the GIL for minutes in the same parser
  (quadratic): nothing else in the process ran, /healthz included.

Now (ingest/sql_guard.py) text past the bounds is never handed to either parser, and the Rust
parser runs on a thread of its own with a deep stack. Conditions, never durations: a crash kills
this test process; a freeze is caught by the hang bound.
"""

from __future__ import annotations

import re
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage_kg.graph.naming import column_key, dataset_key
from lineage_kg.ingest import sql_lineage
from lineage_kg.ingest.sql_guard import (
    MAX_SQL_CHARS,
    MAX_SQL_SUBQUERIES,
    SHALLOW_SQL_CHARS,
    refusal,
    subqueries,
)
from tests.fuzz.conftest import app_client, projected

HANG = 120  # seconds: a bound on a hang, not a speed requirement


def chain(terms: int) -> str:
    return "INSERT INTO o SELECT " + "+".join(["a"] * terms) + " FROM t"


def ctes(count: int) -> str:
    body = ",".join(f"c{i} AS (SELECT * FROM c{i - 1})" for i in range(1, count))
    return f"WITH {body} INSERT INTO o SELECT * FROM c{count - 1}"


def parsed_on_a_small_stack(query: str) -> Any:
    """parse_sql(query) asked from a thread of 512 KiB of stack."""
    answers: list[Any] = []
    threading.stack_size(512 * 1024)
    try:
        asker = threading.Thread(target=lambda: answers.append(sql_lineage.parse_sql(query, None)))
        asker.start()
    finally:
        threading.stack_size(0)
    asker.join(HANG)
    (meta,) = answers
    return meta


@pytest.mark.parametrize(
    "terms",
    [32_000, (SHALLOW_SQL_CHARS - len(chain(1))) // 2 + 1],
    ids=["deep", "shallow-limit"],
)
def test_an_expression_deeper_than_a_threads_stack_is_parsed_not_a_crash(terms: int) -> None:
    # 32,000 terms: ~20 MiB of the Rust parser's stack, within the length bound: it must run on
    # the parser's own deep stack. At the most a text parsed where it is asked for may hold, the
    # asker's 512 KiB suffice.
    query = chain(terms)
    assert refusal(query) is None
    assert (len(query) <= SHALLOW_SQL_CHARS) == (terms < 1000)
    meta = parsed_on_a_small_stack(query)
    assert meta is not None and [t.qualified_name for t in meta.in_tables] == ["t"]


@pytest.mark.parametrize(
    "query",
    [chain(40_000), ctes(20_000), ctes(MAX_SQL_SUBQUERIES + 2)],
    ids=["80KB-chain", "20k-ctes", "bound+1-ctes"],
)
def test_sql_past_the_bounds_reaches_neither_parser(monkeypatch: Any, query: str) -> None:
    handed: list[str] = []
    monkeypatch.setattr(sql_lineage, "_parse", lambda q, **_: handed.append(q[0]))
    monkeypatch.setattr(sql_lineage, "find_select_list", handed.append)
    out = dataset_key("ns", "o")
    flows = sql_lineage.sql_column_flows(
        query, None, [(dataset_key("ns", "t"), ("t",))], [(out, ("o",))], {}
    )
    assert (flows, handed) == ([], [])
    assert sql_lineage.parse_sql(query, None) is None
    assert handed == []


def test_sql_within_the_bounds_still_gives_its_column_lineage() -> None:
    inp, out = dataset_key("ns", "t"), dataset_key("ns", "o")
    # as many CTEs as the bound allows (the parser follows lineage ~30 CTEs deep: side by side)
    body = ",".join(f"c{i} AS (SELECT a FROM t)" for i in range(MAX_SQL_SUBQUERIES))
    query = f"WITH {body} INSERT INTO o (b) SELECT a FROM c{MAX_SQL_SUBQUERIES - 1}"
    assert refusal(query) is None
    flows = sql_lineage.sql_column_flows(query, None, [(inp, ("t",))], [(out, ("o",))], {})
    assert flows == [(column_key(inp, "a"), column_key(out, "b"))]


def reference_count(query: str) -> int:
    """The `as (` in the text, spelled out: a word `as` (no word character before it), blanks,
    an opening bracket."""
    lower, count = query.lower(), 0
    for at in range(len(lower)):
        if lower.startswith("as", at) and not (at and re.match(r"\w", lower[at - 1])):
            rest = lower[at + 2 :].lstrip(" \t\n\r\f\v")
            count += rest.startswith("(")
    return count


@settings(max_examples=40, derandomize=True, deadline=None)
@given(
    st.lists(
        st.sampled_from(["AS (", "as(", "As\n (", "has(", "AS x", "(", "a+", " ", "_as ("]),
        max_size=400,
    ).map("".join)
    | st.integers(MAX_SQL_SUBQUERIES - 1, MAX_SQL_SUBQUERIES + 1).map(lambda n: "as (x)" * n)
    | st.integers(MAX_SQL_CHARS - 2, MAX_SQL_CHARS + 2).map(lambda n: "x" * n)
)
def test_the_bounds_are_the_reference(query: str) -> None:
    count = reference_count(query)
    assert subqueries(query) == count
    too_much = len(query) > MAX_SQL_CHARS or count > MAX_SQL_SUBQUERIES
    assert (refusal(query) is not None) == too_much


def test_a_served_event_with_a_huge_cte_chain_is_stored_and_projected(tmp_path: Path) -> None:
    event = {
        "eventType": "COMPLETE",
        "eventTime": "2026-03-01T10:00:00Z",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "ns", "name": "j", "facets": {"sql": {"query": ctes(20_000)}}},
        "inputs": [{"namespace": "ns", "name": "c0"}],
        "outputs": [{"namespace": "ns", "name": "o"}],
        "producer": "https://example.com/bomb",
    }
    with app_client(tmp_path) as client:
        response = client.post("/api/v1/lineage", json=event)
        assert response.status_code == 201, response.text
        assert projected(client, HANG) == {"logSeq": 1, "projectedSeq": 1, "parked": 0}
        node = '{ node(ref: {kind: Dataset, namespace: "ns", name: "o"}) { display } }'
        answer = client.post("/graphql", json={"query": node}).json()
        assert answer["data"]["node"]["display"] == "ns/o", answer
