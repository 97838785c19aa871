"""Marquez's own Python client (`marquez-python` from PyPI) and a script written for Marquez,
against a real `lkg serve` fed Marquez's demo events (`docker/metadata.json` of
MarquezProject/marquez, from the shared corpus) over `POST /api/v1/lineage/bulk` (issue 18 §7).
Every expected answer is worked out here from the events themselves, not from the service.

marquez-python cannot share the project's environment: its wheel installs a top-level `tests`
package, which shadows this repository's `tests` (every `from tests.conftest import …` then
fails). So the client runs in a virtualenv of its own, made once per session with pip
(`marquez-python` and `pytz`, which it imports without declaring), or the interpreter named by
LKG_MARQUEZ_PYTHON; without either (no package index), these tests are skipped, saying why.
"""

from __future__ import annotations

import json
import os
import subprocess
import venv
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import networkx as nx
import pytest

from lineage_kg.api.auth import KeyStore, Scope, keys_path
from tests.conftest import ServiceProcess

# runs in the client's own interpreter: calls from stdin, answers (or HTTP statuses) to stdout
CLIENT_SCRIPT = """
import json, sys
from marquez_client import MarquezClient
from marquez_client.errors import APIError
url, key = sys.argv[1], sys.argv[2] or None
client = MarquezClient(url, api_key=key)
answers = []
for name, args, kwargs in json.load(sys.stdin):
    try:
        answers.append({"ok": getattr(client, name)(*args, **kwargs)})
    except APIError as exc:
        response = exc.__cause__.response
        answers.append({"status": response.status_code, "body": response.json()})
print(json.dumps(answers))
"""


@pytest.fixture(scope="session")
def marquez_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An interpreter with marquez-python (see the module docstring)."""
    if given := os.environ.get("LKG_MARQUEZ_PYTHON"):
        return given
    home = tmp_path_factory.mktemp("marquez-python")
    venv.create(home, with_pip=True)
    python = str(home / "bin" / "python")
    done = subprocess.run(
        [python, "-m", "pip", "install", "-q", "marquez-python", "pytz"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"marquez-python does not install here: {done.stderr[-300:]}")
    return python


Call = tuple[str, list[Any], dict[str, Any]]


def ask(python: str, url: str, calls: list[Call], key: str | None = None) -> list[dict[str, Any]]:
    """marquez-python's answers to `calls`, in order: {"ok": json} or {"status", "body"}."""
    done = subprocess.run(
        [python, "-c", CLIENT_SCRIPT, url, key or ""],
        input=json.dumps(calls),
        capture_output=True,
        text=True,
        timeout=300,  # a hang, not a measurement
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def ok(python: str, url: str, name: str, *args: Any, **kwargs: Any) -> Any:
    (answer,) = ask(python, url, [(name, list(args), kwargs)])
    assert "ok" in answer, answer
    return answer["ok"]


CORPUS = Path("/work/shared/corpus/openlineage/marquez/docker__metadata.json")
NS = "food_delivery"
# one more event, named the way a SQLAlchemy URL names its database
PG_EVENT = {
    "eventType": "COMPLETE",
    "eventTime": "2026-01-05T06:00:00Z",
    "run": {"runId": "3f5e2d8a-1b1c-4d8e-9a55-0c2f8b7e6a10"},
    "job": {"namespace": "airflow", "name": "load.orders"},
    "inputs": [{"namespace": "postgresql://DB", "name": "raw.orders"}],
    "outputs": [{"namespace": "postgresql://DB", "name": "shop.orders"}],
    "producer": "https://example.com/test",
    "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json",
}
PG = "postgres://db:5432"


def demo_events() -> list[dict[str, Any]]:
    """The demo events without their jobs' `sql` facets: the lineage the service derives from
    SQL (ingest/sql_lineage.py) is more than Marquez shows, and more than this oracle reads."""
    if not CORPUS.exists():
        pytest.skip(f"the shared corpus is not here: {CORPUS}")
    events = json.loads(CORPUS.read_text())
    for event in events:
        event["job"].get("facets", {}).pop("sql", None)
    return events


def feed(service: ServiceProcess, events: list[dict[str, Any]], **headers: str) -> None:
    answer = httpx.post(
        f"{service.url}/api/v1/lineage/bulk", json=events, headers=headers, timeout=60
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == len(events)
    assert service.wait_projected(timeout=120)["lag"] == 0


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    service = ServiceProcess(tmp_path_factory.mktemp("mqz") / "data", {"NEO4J_URI": ""})
    service.start()
    try:
        feed(service, [*demo_events(), PG_EVENT])
        yield service
    finally:
        service.stop()


# ---- what the events say ------------------------------------------------------------------------
def io_of(events: list[dict[str, Any]]) -> dict[str, tuple[set[str], set[str]]]:
    """job name -> (input names, output names), over its events. An input is listed, or named by
    an output's column lineage (the seed's `public.menu_item_id` is one: a typo upstream that is
    still what the event says), but never one of the job's own outputs."""
    found: dict[str, tuple[set[str], set[str], set[str]]] = {}
    for e in events:
        ins, outs, named = found.setdefault(e["job"]["name"], (set(), set(), set()))
        ins.update(d["name"] for d in e.get("inputs") or [])
        outs.update(d["name"] for d in e.get("outputs") or [])
        for d in e.get("outputs") or []:
            lineage = d.get("facets", {}).get("columnLineage", {}).get("fields", {})
            named.update(i["name"] for f in lineage.values() for i in f.get("inputFields", []))
    return {job: (ins | (named - outs), outs) for job, (ins, outs, named) in found.items()}


def schema_of(events: list[dict[str, Any]], name: str) -> list[str]:
    for e in events:
        for d in e.get("outputs") or []:
            if d["name"] == name and "schema" in d.get("facets", {}):
                return [f["name"] for f in d["facets"]["schema"]["fields"]]
    raise AssertionError(f"no schema for {name}")


def lineage_oracle(events: list[dict[str, Any]], start: str, depth: int) -> set[str]:
    g = nx.Graph()
    for job, (ins, outs) in io_of(events).items():
        g.add_node(f"job:{NS}:{job}")
        g.add_edges_from((f"dataset:{NS}:{d}", f"job:{NS}:{job}") for d in ins | outs)
    reach = 2 * depth + (1 if start.startswith("dataset:") else 0)
    jobs = {n for n in nx.single_source_shortest_path_length(g, start, reach) if "job:" in n}
    return jobs | {d for j in jobs for d in g.neighbors(j)}


# ---- the tests ----------------------------------------------------------------------------------
def test_marquez_python_reads_namespaces_datasets_jobs_runs(
    served: ServiceProcess, marquez_python: str
) -> None:
    events, py, url = demo_events(), marquez_python, served.url
    listed = ok(py, url, "list_namespaces")["namespaces"]
    assert {n["name"] for n in listed} == {NS, "airflow", PG}
    assert ok(py, url, "get_namespace", NS)["name"] == NS

    io = io_of(events)
    datasets = {d for ins, outs in io.values() for d in ins | outs}
    pages: list[str] = []
    offset = 0
    while True:  # paging as a Marquez script pages: limit/offset until totalCount
        page = ok(py, url, "list_datasets", NS, limit=5, offset=offset)
        assert page["totalCount"] == len(datasets)
        pages += [d["name"] for d in page["datasets"]]
        offset += 5
        if offset >= page["totalCount"]:
            break
    assert pages == sorted(datasets)

    menus = ok(py, url, "get_dataset", NS, "public.menus")
    assert menus["id"] == {"namespace": NS, "name": "public.menus"}
    assert [f["name"] for f in menus["fields"]] == schema_of(events, "public.menus")
    versions = ok(py, url, "list_dataset_versions", NS, "public.menus")["versions"]
    writers = {
        e["run"]["runId"]
        for e in events
        if any(d["name"] == "public.menus" for d in e.get("outputs") or [])
    }
    assert {v["createdByRun"]["id"] for v in versions} == writers  # no version facet: one a run

    jobs = ok(py, url, "list_jobs", NS, limit=100)
    assert {j["name"] for j in jobs["jobs"]} == set(io) and jobs["totalCount"] == len(io)
    answers = ask(py, url, [("get_job", [NS, name], {}) for name in sorted(io)])
    for name, answer in zip(sorted(io), answers, strict=True):
        ins, outs = io[name]
        assert {d["name"] for d in answer["ok"]["inputs"]} == ins
        assert {d["name"] for d in answer["ok"]["outputs"]} == outs

    run_ids = sorted({e["run"]["runId"] for e in events if e["job"]["name"] == "etl_menus"})
    runs = ok(py, url, "list_job_runs", NS, "etl_menus")
    assert {r["id"] for r in runs["runs"]} == set(run_ids)
    answers = ask(py, url, [("get_job_run", [run_id], {}) for run_id in run_ids])
    for run_id, answer in zip(run_ids, answers, strict=True):
        types = {e["eventType"] for e in events if e["run"]["runId"] == run_id}
        assert answer["ok"]["state"] == ("COMPLETED" if "COMPLETE" in types else "RUNNING")


def test_names_with_slashes_and_producer_spellings(
    served: ServiceProcess, marquez_python: str
) -> None:
    # marquez-python quotes each name with safe='': `/namespaces/postgres:%2F%2Fdb:5432/…`
    spellings = [PG, "postgresql://DB", "postgres://db"]
    answers = ask(
        marquez_python, served.url, [("get_dataset", [s, "shop.orders"], {}) for s in spellings]
    )
    for answer in answers:
        assert answer["ok"]["id"] == {"namespace": PG, "name": "shop.orders"}
    jobs = ok(marquez_python, served.url, "list_jobs", "airflow")["jobs"]
    assert [j["name"] for j in jobs] == ["load.orders"]


def test_a_script_reads_the_lineage_graph(served: ServiceProcess) -> None:
    events = demo_events()
    for start in (f"dataset:{NS}:public.delivery_7_days", f"job:{NS}:etl_menus"):
        for depth in (0, 1, 3):
            answer = httpx.get(
                f"{served.url}/api/v1/lineage",
                params={"nodeId": start, "depth": depth},
                timeout=30,
            )
            assert answer.status_code == 200, answer.text
            graph = answer.json()["graph"]
            assert {n["id"] for n in graph} == lineage_oracle(events, start, depth)
            for node in graph:
                assert node["type"] in ("DATASET", "JOB")
                edges = [*node["inEdges"], *node["outEdges"]]
                assert all(node["id"] in (e["origin"], e["destination"]) for e in edges)


def test_column_lineage_through_the_client(served: ServiceProcess, marquez_python: str) -> None:
    answer = ok(marquez_python, served.url, "get_column_lineage_by_dataset", NS, "public.menus")
    graph = answer["graph"]
    fields = schema_of(demo_events(), "public.menus")
    assert {f"datasetField:{NS}:public.menus:{f}" for f in fields} <= {n["id"] for n in graph}
    assert all(n["type"] == "DATASET_FIELD" for n in graph)


def test_refusals_in_marquez_shape(served: ServiceProcess, marquez_python: str) -> None:
    (missing,) = ask(marquez_python, served.url, [("get_dataset", [NS, "public.nothing"], {})])
    assert missing == {
        "status": 404,
        "body": {"code": 404, "message": "Dataset 'public.nothing' not found."},
    }
    for params, names in [
        ({"nodeId": "table:x"}, "nodeId"),
        ({"nodeId": f"job:{NS}:etl_menus", "depth": "99"}, "depth"),
        ({"nodeId": f"job:{NS}:etl_menus", "depth": "two"}, "depth"),
    ]:
        answer = httpx.get(f"{served.url}/api/v1/lineage", params=params, timeout=30)
        assert answer.status_code == 400 and names in answer.json()["message"], answer.text
    too_many = httpx.get(f"{served.url}/api/v1/namespaces?limit=100000", timeout=30)
    assert too_many.status_code == 400 and "limit" in too_many.json()["message"]
    unknown = httpx.get(f"{served.url}/api/v1/namespaces/nowhere/jobs", timeout=30)
    assert unknown.json() == {"code": 404, "message": "Namespace 'nowhere' not found."}


def test_reads_need_the_read_scope(
    service_factory: Callable[..., ServiceProcess], marquez_python: str
) -> None:
    secured = service_factory(LKG_AUTH="required", LKG_RATE_LIMIT="1000/minute")
    secured.data_dir.mkdir(parents=True, exist_ok=True)
    keys = KeyStore(keys_path(secured.data_dir))
    try:
        reader = keys.create("reader", [Scope.READ])[1]
        writer = keys.create("writer", [Scope.INGEST])[1]
    finally:
        keys.close()
    secured.start()
    statuses = {}
    for who, key in (("nobody", None), ("writer", writer), ("reader", reader)):
        (answer,) = ask(marquez_python, secured.url, [("list_namespaces", [], {})], key)
        statuses[who] = answer.get("status", 200)
    assert statuses == {"nobody": 401, "writer": 403, "reader": 200}
