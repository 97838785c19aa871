"""The GraphQL cost bound (api/graphql/cost.py, applied by api/graphql/limits.py), checked before
anything runs."""

from __future__ import annotations

import pytest
from graphql import parse, validate

from lineage_kg.api.graphql.cost import MAX_COST
from lineage_kg.api.graphql.limits import DocumentLimits as CostLimit
from lineage_kg.api.graphql.schema import schema

FIELDS = "edges { node { distance certainty owners node { id kind display props } } }"


def impact(alias: str, first: str) -> str:
    return f'{alias}: impact(ref: {{id: "x"}}, first: {first}) {{ {FIELDS} }}'


@pytest.mark.parametrize(
    "query",
    [
        "{ version }",
        "{ " + impact("a", "100") + " }",
        "{ " + impact("a", "1000") + impact("b", "1000") + " }",  # two full pages, largest size
    ],
)
def test_reasonable_requests_pass_validation(query: str) -> None:
    # validation only: executing would start the async resolvers on a sync path
    assert validate(schema._schema, parse(query), [CostLimit]) == []


def test_a_request_costing_too_much_is_refused_before_it_runs() -> None:
    query = "query Greedy { " + " ".join(impact(a, "1000") for a in "abcdefghij") + " }"
    result = schema.execute_sync(query)
    assert result.data is None
    (error,) = result.errors
    assert error.message.startswith("Greedy would cost about ")
    assert f"(limit {MAX_COST:,})" in error.message


def test_variables_count_as_the_largest_page() -> None:
    one = "query($n: Int!) { " + impact("a", "$n") + " }"
    three = "query($n: Int!) { " + " ".join(impact(a, "$n") for a in "abcdefghij") + " }"
    assert validate(schema._schema, parse(one), [CostLimit]) == []
    assert "would cost" in schema.execute_sync(three, variable_values={"n": 5}).errors[0].message


def test_fragments_are_counted_and_cycles_do_not_hang() -> None:
    query = (
        "query Frag { " + " ".join(f'{a}: impact(ref: {{id: "x"}}, first: 1000) {{ ...E }}'
                                   for a in "abcdefghij") + " } "
        "fragment E on ImpactConnection { " + FIELDS + " }"
    )  # fmt: skip
    assert "would cost" in schema.execute_sync(query).errors[0].message
    cyclic = "{ version ...A } fragment A on Query { version ...A }"
    assert schema.execute_sync(cyclic).errors  # refused by GraphQL's own rule, not a hang
