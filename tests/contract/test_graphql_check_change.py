"""GraphQL `checkChange` on both stores: the report is the local check's (queries/change_policy.py
`evaluate`, rendered by queries/change_report.py) for the same changes and gate, and bad
arguments are errors naming what is wrong, with the field's path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineage_kg.api.app import create_app
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.change_check import parse_change
from lineage_kg.queries.change_policy import evaluate, load_policy
from lineage_kg.queries.change_report import to_json
from lineage_kg.settings import Settings
from tests.contract.conftest import ValueChain, column

V = ValueChain()
INCOME = column(V.raw, "income").display
AT = "2026-03-10T00:00:00Z"
QUERY = """query ($changes: [String!]!, $policy: JSON, $at: String) {
  checkChange(changes: $changes, policy: $policy, at: $at) { passed exitCode report } }"""


@pytest.fixture
def client(store: GraphStore, value_chain: Any, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=tmp_path), store=store)) as c:
        yield c


def ask(client: TestClient, **variables: object) -> dict[str, Any]:
    return client.post("/graphql", json={"query": QUERY, "variables": variables}).json()


@pytest.mark.parametrize(
    "policy",
    [None, {"warn_on": ["exact_kpi", "owner_left"]}, {"fail_on": [], "warn_on": []}],
)
def test_the_report_is_the_local_check(
    client: TestClient, store: GraphStore, policy: dict[str, Any] | None
) -> None:
    changes = [f"{INCOME}=type:bigint", "postgres://nowhere:1/x.y#z=drop"]
    got = ask(client, changes=changes, policy=policy, at=AT)["data"]["checkChange"]
    gate = load_policy({"check_change": policy} if policy is not None else None)
    local = to_json(evaluate(store, [parse_change(c) for c in changes], gate, at=AT))
    assert got["report"] == local
    assert (got["passed"], got["exitCode"]) == (local["passed"], local["exit_code"])
    assert local["decision_points"]  # the income column reaches loan-approval: a real answer


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"changes": ["no-kind-here"]}, "expected REF=KIND"),
        ({"changes": [f"{INCOME}=explode"]}, "explode"),
        ({"changes": [f"{INCOME}=drop"], "policy": {"fail_on": ["nonsense"]}}, "fail_on"),
        ({"changes": [f"{INCOME}=drop"], "policy": {"approvals": [{"change": "x"}]}}, "approvals"),
    ],
)
def test_bad_arguments_are_named_with_a_path(
    client: TestClient, variables: dict[str, object], named: str
) -> None:
    (error,) = ask(client, **variables)["errors"]
    assert error["path"] == ["checkChange"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert named in error["message"]
