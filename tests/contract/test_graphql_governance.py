"""GraphQL `governance` and the `lkg_governance_violations` gauge on both stores, on the value
chain of conftest.py (a failed quality check in credit-risk@4's training data, an unowned
source, a departed owner): the API answers exactly what queries/governance evaluates, pages it,
filters it by severity, names bad arguments in errors with a path; the service reads its policy
from LKG_POLICY_FILE; the gauge counts the same violations and is not re-evaluated per scrape."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineage_kg.api.app import create_app
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.governance import PolicyError, evaluate
from lineage_kg.settings import Settings

AS_OF = "2026-03-10T00:00:00Z"
QUERY = """query ($asOf: String, $severity: String, $first: Int!, $after: String) {
  governance(asOf: $asOf, severity: $severity, first: $first, after: $after) {
    violations { rule severity subject { id kind display } related { id } path { id }
                 evidence since detail }
    pageInfo { hasNextPage endCursor } total evaluatedAt policy rules truncated } }"""


@pytest.fixture
def client(store: GraphStore, value_chain: Any, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=tmp_path), store=store)) as c:
        yield c


def ask(client: TestClient, **variables: object) -> dict[str, Any]:
    variables.setdefault("first", 100)
    return client.post("/graphql", json={"query": QUERY, "variables": variables}).json()


def test_the_answer_is_the_evaluation(client: TestClient, store: GraphStore) -> None:
    got = ask(client, asOf=AS_OF)["data"]["governance"]
    want = evaluate(store, None, AS_OF)
    assert want, "the value chain breaks some rules"
    assert [
        (v["rule"], v["severity"], v["subject"]["id"], (v["related"] or {}).get("id"),
         [p["id"] for p in v["path"]], v["evidence"], v["since"], v["detail"])
        for v in got["violations"]
    ] == [
        (v.rule, v.severity.value, v.subject, v.related, list(v.path), list(v.evidence),
         v.since, v.detail)
        for v in want
    ]  # fmt: skip
    assert got["total"] == len(want) and got["policy"] == "default policy"
    assert got["evaluatedAt"] == "2026-03-10T00:00:00.000000Z"
    assert got["violations"][0]["subject"]["kind"] == "ModelVersion"
    assert got["violations"][0]["subject"]["display"] == "mlflow/credit-risk@4"


def test_pages_and_severity(client: TestClient) -> None:
    everything = ask(client, asOf=AS_OF)["data"]["governance"]["violations"]
    seen, after = [], None
    while True:
        got = ask(client, asOf=AS_OF, first=1, after=after)["data"]["governance"]
        seen += got["violations"]
        if not got["pageInfo"]["hasNextPage"]:
            break
        after = got["pageInfo"]["endCursor"]
    assert seen == everything
    errors = ask(client, asOf=AS_OF, severity="ERROR")["data"]["governance"]
    assert errors["violations"] == [v for v in everything if v["severity"] == "error"]
    assert errors["total"] == len(errors["violations"]) < len(everything)


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"asOf": "yesterday"}, "asOf"),
        ({"severity": "fatal"}, "severity"),
        ({"first": 0}, "first"),
        ({"after": "bm90LWEtY3Vyc29y"}, "after"),
    ],
)
def test_bad_arguments_are_named_with_a_path(
    client: TestClient, variables: dict[str, object], named: str
) -> None:
    (error,) = ask(client, **variables)["errors"]
    assert error["path"] == ["governance"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert named in error["message"].replace("as_of", "asOf")


def test_the_service_reads_its_policy_file(
    store: GraphStore, value_chain: Any, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yaml"
    rule = "version: 1\nrules:\n  - rule: unowned_on_production_chain\n"
    policy.write_text(rule + "    severity: info\n")
    settings = Settings(data_dir=tmp_path, policy_file=str(policy))
    with TestClient(create_app(settings, store=store)) as client:
        got = ask(client, asOf=AS_OF)["data"]["governance"]
    assert got["policy"] == str(policy) and got["rules"] == ["unowned_on_production_chain"]
    assert {(v["rule"], v["severity"]) for v in got["violations"]} == {
        ("unowned_on_production_chain", "info")
    }
    policy.write_text(rule + "    depth: 0\n")
    with pytest.raises(PolicyError, match=r"rules\[0\]\.depth"):
        create_app(settings, store=store)


def _gauge(client: TestClient) -> dict[tuple[str, str], float]:
    found = {}
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("lkg_governance_violations{"):
            labels, value = line.rsplit(" ", 1)
            pairs = dict(
                p.split("=") for p in labels[len("lkg_governance_violations{") : -1].split(",")
            )
            found[pairs["rule"].strip('"'), pairs["severity"].strip('"')] = float(value)
    return found


def test_the_gauge_counts_the_violations_once_per_graph(
    client: TestClient, store: GraphStore
) -> None:
    counts = Counter((v.rule, v.severity.value) for v in evaluate(store))
    gauge = _gauge(client)
    assert {k: v for k, v in gauge.items() if v} == {k: float(n) for k, n in counts.items()}
    assert ("shadow_made_decisions", "error") in gauge  # every rule of the policy, 0 included
    collector = client.app.state.governance_gauge  # type: ignore[attr-defined]
    evaluations = collector.evaluations
    assert _gauge(client) == gauge
    assert collector.evaluations == evaluations  # the graph has not moved: no new evaluation


def test_lkg_check_over_url_reads_the_same_report(
    client: TestClient, store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`lkg check --url`'s query, asked of this service: every page, the local report's form."""
    from lineage_kg.cli import governance
    from lineage_kg.cli.remote import Remote

    def ask(self: Remote, query: str, **variables: Any) -> dict[str, Any]:
        reply = client.post("/graphql", json={"query": query, "variables": variables}).json()
        assert "errors" not in reply, reply
        return reply["data"]

    monkeypatch.setattr(Remote, "ask", ask)
    monkeypatch.setattr(governance, "PAGE", 2)  # several pages
    report = governance.remote_report("http://service", AS_OF)
    want = evaluate(store, None, AS_OF)
    assert len(want) > 2
    assert [(v["rule"], v["subject"]["id"], [p["id"] for p in v["path"]]) for v in
            report["violations"]] == [(v.rule, v.subject, list(v.path)) for v in want]  # fmt: skip
    assert report["evaluated_at"] == "2026-03-10T00:00:00.000000Z"
