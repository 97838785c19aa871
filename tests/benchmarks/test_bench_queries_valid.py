"""The GraphQL documents the API benchmarks send are valid against today's schema.

The benchmarks run only by hand or in a smoke at one question; a schema change (a field that
became an object, say) would otherwise break them unnoticed until someone measures."""

from __future__ import annotations

import pytest
from graphql import parse, validate

from benchmarks.api_load import QUERY as LOAD_QUERY
from benchmarks.graphql_overhead import ACCOUNTABILITY, AUDIT, IMPACT, IMPACT_TABLE, TRACE
from lineage_kg.api.graphql.schema import schema

DOCUMENTS = {
    "api_load.QUERY": LOAD_QUERY,
    "graphql_overhead.IMPACT": IMPACT,
    "graphql_overhead.IMPACT_TABLE": IMPACT_TABLE,
    "graphql_overhead.TRACE": TRACE,
    "graphql_overhead.ACCOUNTABILITY": ACCOUNTABILITY,
    "graphql_overhead.AUDIT": AUDIT,
}


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_benchmark_document_is_valid(name: str) -> None:
    errors = validate(schema._schema, parse(DOCUMENTS[name]))
    assert errors == [], [e.message for e in errors]


def test_a_broken_document_is_caught() -> None:
    # the check itself can fail: the accountability document as it was before assets became nodes
    broken = ACCOUNTABILITY.replace("assets { id }", "assets")
    assert broken != ACCOUNTABILITY
    assert validate(schema._schema, parse(broken))
