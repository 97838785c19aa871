"""The demo as data in the log (issue 18 §3) and the CLI against the shared service (§4).

A real `lkg serve` with LKG_DEMO and auth required. The README's examples are asked three ways
and must agree: over GraphQL (with the key), by the CLI with `--url` (the key from LKG_API_KEY),
and by the CLI locally on the same data dir — the two CLI outputs byte for byte (tables, JSON and
exports: one renderer fed from either source). Every evidence id the answers cite resolves to its
event; appending the demo again writes nothing.
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from lineage_kg.api.auth import KeyStore, Scope, keys_path
from lineage_kg.cli.app import app
from lineage_kg.ingest.demo import demo_events, load_demo
from lineage_kg.runtime import Runtime
from lineage_kg.settings import Settings
from tests.conftest import ServiceProcess

README = Path(__file__).parents[2] / "README.md"
PATIENCE = 120  # seconds for the served demo to be projected, on a loaded machine


def readme_block(name: str, fence: str) -> str:
    text = README.read_text()
    return text.split(f"<!-- example: {name} -->", 1)[1].split(f"```{fence}", 1)[1].split("```")[0]


def readme_cli_examples() -> list[list[str]]:
    """The README's `lkg …` lines, as arguments, without their `--url URL`."""
    examples = []
    for line in readme_block("cli-demo", "bash").splitlines():
        if not line.startswith(".venv/bin/lkg "):
            continue
        args = shlex.split(line)[1:]
        if "--url" in args:
            at = args.index("--url")
            del args[at : at + 2]
        examples.append(args)
    return examples


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServiceProcess, str]]:
    data = tmp_path_factory.mktemp("demo") / "data"
    data.mkdir()
    keys = KeyStore(keys_path(data))
    _, secret = keys.create("cli", [Scope.READ])
    keys.close()
    service = ServiceProcess(data, {"NEO4J_URI": "", "LKG_DEMO": "true", "LKG_AUTH": "required"})
    service.start()
    try:
        deadline = time.monotonic() + PATIENCE
        while (status := gql(service, secret, "{ ingestStatus { lag logSeq } }")["ingestStatus"])[
            "lag"
        ] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert status["lag"] == 0 and status["logSeq"] == len(demo_events()), status
        yield service, secret
    finally:
        service.stop()


def gql(service: ServiceProcess, key: str, query: str) -> dict[str, Any]:
    response = httpx.post(
        f"{service.url}/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    return body["data"]


def lkg(served: tuple[ServiceProcess, str], args: list[str], *, remote: bool) -> tuple[int, str]:
    service, key = served
    env = {"LKG_DATA_DIR": str(service.data_dir), "NEO4J_URI": "", "LKG_DEMO": None}
    env |= {"LKG_URL": service.url, "LKG_API_KEY": key} if remote else {"LKG_URL": None}
    result = CliRunner().invoke(app, args, env=env)
    return result.exit_code, result.stdout


# ---- the README's examples, three ways ---------------------------------------------------------


@pytest.mark.parametrize("args", readme_cli_examples(), ids=lambda a: " ".join(a[:2]))
@pytest.mark.parametrize("form", ["table", "json"])
def test_readme_cli_examples_answer_the_same_locally_and_remotely(
    served: tuple[ServiceProcess, str], args: list[str], form: str
) -> None:
    args = [*args, "--json"] if form == "json" else args
    code, local = lkg(served, args, remote=False)
    assert code == 0, local
    remote_code, remote = lkg(served, args, remote=True)
    assert remote_code == 0, remote
    assert remote == local
    if form == "json":
        doc = json.loads(local)
        answered = doc.get("items") or doc.get("entries") or doc.get("owned") or doc.get("data")
        assert answered, doc  # not an empty answer: the demo is there for both


def test_readme_cli_examples_are_the_four_questions() -> None:
    assert [a[0] for a in readme_cli_examples()] == ["impact", "trace", "owner", "audit"]


@pytest.mark.parametrize(
    "args",
    [
        ["export", "impact", "postgres://warehouse:5432/shop.public.orders#amount"],
        ["export", "owner", "alice@example.com"],
    ],
)
@pytest.mark.parametrize("suffix", ["json", "csv", "dot", "graphml"])
def test_exports_are_the_same_locally_and_remotely(
    served: tuple[ServiceProcess, str], args: list[str], suffix: str, tmp_path: Path
) -> None:
    written = []
    for remote in (False, True):
        out = tmp_path / f"{remote}.{suffix}"
        code, output = lkg(served, [*args, "-o", str(out)], remote=remote)
        assert code == 0, output
        written.append(out.read_bytes())
    assert written[0] == written[1]
    assert len(written[0]) > 200


@pytest.mark.parametrize("form", ["json", "github", "markdown"])
def test_check_change_judges_the_same_locally_and_by_the_service(
    served: tuple[ServiceProcess, str], form: str, tmp_path: Path
) -> None:
    """`lkg check-change --url` has the service judge the changes on its graph (GraphQL
    `checkChange`): the same report, byte for byte, and the same exit code as the local check of
    the same log, with a policy file and a change naming nothing."""
    policy = tmp_path / "policy.yaml"
    policy.write_text("check_change:\n  warn_on: [exact_kpi, unresolved_change]\n")
    args = [
        "check-change", "--format", form, "--policy", str(policy), "--at", "2026-06-01T00:00:00Z",
        "--change", "postgres://warehouse:5432/shop.public.orders#amount=type:DECIMAL(12,2)",
        "--change", "postgres://nowhere:1/x.y#z=drop",
    ]  # fmt: skip
    code, local = lkg(served, args, remote=False)
    assert code == 1, local  # the column reaches loan-approval, served by a champion
    assert (code, local) == lkg(served, args, remote=True)
    if form == "json":
        doc = json.loads(local)
        assert doc["decision_points"] and doc["kpis"]
        assert {f["finding"] for f in doc["findings"]} == {
            "exact_production_decision", "exact_kpi", "unresolved_change",
        }  # fmt: skip
    # approved: both pass
    policy.write_text(
        "check_change:\n  approvals:\n"
        "    - {change: '*', decision_point: loan-approval, approved_by: jane}\n"
    )
    assert lkg(served, args, remote=False)[0] == 0
    assert lkg(served, args, remote=True)[0] == 0


def test_readme_graphql_examples_have_their_evidence(served: tuple[ServiceProcess, str]) -> None:
    service, key = served
    answer = gql(service, key, readme_block("auditor-trace", "graphql"))
    trail = answer["auditTrail"]["entries"]
    assert "OWNERSHIP" in {e["type"] for e in trail}  # the node page's ownership history
    lineage = answer["decisionLineage"]
    assert [d["node"]["display"] for d in lineage["data"]] == [
        "train-credit-risk-3",
        "postgres://warehouse:5432/shop.public.orders@2026-01-04",
    ]
    cited = {e["eventId"] for e in trail} | {
        e
        for step in [lineage["decision"], *lineage["modelVersions"], *lineage["data"]]
        for e in step["evidence"]
    }
    assert cited
    for event_id in sorted(cited):  # each links to the event it names (the page's links)
        response = httpx.get(
            f"{service.url}/api/v1/events/{event_id}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        assert response.status_code == 200, event_id
    impact = gql(service, key, readme_block("engineer-impact", "graphql"))["impact"]
    assert impact["summary"]["kpis"] == ["approval-rate", "daily-revenue"]
    owner = gql(service, key, readme_block("owner-map", "graphql"))["accountability"]
    assert owner["teams"] == ["team:data-platform"]
    # the CLI's trace of loan-42 cites the same evidence the API does
    _, local = lkg(served, ["trace", "loan-42", "--json"], remote=False)
    assert json.loads(local)["decision"]["evidence"] == lineage["decision"]["evidence"]


# ---- failures over --url, one line each ---------------------------------------------------------


def test_remote_failures_are_one_line_with_the_documented_codes(
    served: tuple[ServiceProcess, str],
) -> None:
    service, _ = served
    runner = CliRunner()
    base = {"LKG_DATA_DIR": str(service.data_dir), "LKG_DEMO": None}
    cases = [
        (["impact", "nope"], {"LKG_URL": service.url, "LKG_API_KEY": served[1]}, 3, "not found"),
        (["impact", "loan-approval", "--depth", "0"], {"LKG_URL": service.url,
                                              "LKG_API_KEY": served[1]}, 2, "depth"),
        (["owner", "alice@example.com"], {"LKG_URL": service.url, "LKG_API_KEY": None}, 1,
         "LKG_API_KEY"),
        (["trace", "loan-42"], {"LKG_URL": "http://127.0.0.1:9", "LKG_API_KEY": None}, 1,
         "cannot reach"),
    ]  # fmt: skip
    for args, env, code, words in cases:
        result = runner.invoke(app, args, env={**base, **env})
        assert result.exit_code == code, (args, result.output)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and words in lines[0], (args, result.stderr)
        assert "Traceback" not in result.output


# ---- the demo appended again ---------------------------------------------------------------------


def test_the_demo_appended_again_writes_nothing(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, demo=True)
    with Runtime.open(settings) as first:
        entries = first.log.last_seq()
        ids = [e.event_id for e in first.log.read(0, 100)]
    assert entries == len(demo_events())
    assert ids == [e.event_id for e in demo_events()]  # what load_demo appends, in order
    with Runtime.open(settings) as again:  # a restart with --demo
        assert again.log.last_seq() == entries
        loaded = load_demo(again.log)
        assert (loaded.appended, loaded.duplicates) == (0, entries)
        assert again.log.last_seq() == entries


@pytest.mark.parametrize("args", [["stats"], ["stats", "--json"]])
def test_stats_are_the_same_locally_and_remotely(
    served: tuple[ServiceProcess, str], args: list[str]
) -> None:
    (code, local), (remote_code, remote) = (lkg(served, args, remote=r) for r in (False, True))
    assert code == remote_code == 0
    assert remote == local
    if "--json" in args:
        assert json.loads(local)["nodes"]["KPI"] == 2  # the demo's, not an empty graph


def test_an_empty_local_log_says_where_else_to_ask(tmp_path: Path) -> None:
    """§3: "not found" with no hint — a local command on an empty data dir says why."""
    env = {"LKG_DATA_DIR": str(tmp_path), "NEO4J_URI": "", "LKG_DEMO": None, "LKG_URL": None}
    result = CliRunner().invoke(app, ["trace", "loan-42"], env=env)
    assert result.exit_code == 3
    assert "is empty" in result.stderr and "--url" in result.stderr
    assert "not found" in result.stderr.splitlines()[-1]
