"""One small GraphQL request must not freeze the service (issue 17, "High"), nor answer a 500.

Conditions, never durations: a request held in flight (a gate it cannot pass until the test
opens it) while /healthz answers; limits that answer errors naming themselves. Each hang bound
is generous and only turns a freeze into a failure instead of a stuck CI job.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import lineage_kg.api.graphql.schema
from lineage_kg.api.app import create_app
from lineage_kg.api.graphql.limits import MAX_EXPANDED_FIELDS
from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.store import StoredEdge
from lineage_kg.settings import Settings

PG = "postgres://warehouse:5432"
AMOUNT = f'{{kind: Column, namespace: "{PG}", name: "shop.public.orders", field: "amount"}}'
IMPACT = f"{{ impact(ref: {AMOUNT}, depth: 25, first: 1) {{ summary {{ total }} }} }}"
HANG = 120  # seconds: a bound on a hang, not a speed requirement


def fragment_chain(levels: int) -> str:
    """`fragment F{i} on Query { ...F{i+1} ...F{i+1} }`: text linear, expansion 2**levels."""
    chain = "".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}\n" for i in range(levels)
    )
    return f"query {{ ...F0 }}\n{chain}fragment F{levels} on Query {{ version }}\n"


class GatedStore(EmbeddedStore):
    """The embedded store whose walks wait at a gate: a request held in flight on purpose."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.gate = threading.Event()

    def neighbors_each_way(
        self,
        ids: Sequence[str],
        kinds: Mapping[Direction, Any],
        as_of: str | None = None,
    ) -> list[tuple[StoredEdge, Direction]]:
        self.entered.set()
        assert self.gate.wait(HANG), "the test never opened the gate"
        return super().neighbors_each_way(ids, kinds, as_of)


def client_for(tmp: Path, store: EmbeddedStore | None = None, **settings: Any) -> TestClient:
    app = create_app(Settings(data_dir=tmp, neo4j_uri=None, demo=True, **settings), store=store)
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    # one impact of IMPACT expands 26 nodes: the request budget fits one, not two
    with client_for(tmp_path_factory.mktemp("limits"), max_request_nodes=40) as client:
        yield client


def gql(client: TestClient, query: str, **variables: Any) -> dict[str, Any]:
    response = client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()


def in_background(call: Any) -> Future[Any]:
    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(call)
    pool.shutdown(wait=False)
    return future


@pytest.mark.parametrize("levels", [20, 150])
def test_nested_fragments_are_measured_once_and_refused_by_expanded_size(
    client: TestClient, levels: int
) -> None:
    # 20 levels took 12.6 s in the rules that re-walked every spread; 150 (under the token cap)
    # would never end. Measured once per fragment, both answer the limit at once.
    query = fragment_chain(levels)
    assert len(query) < 10_000
    messages = [e["message"] for e in gql(client, query)["errors"]]
    assert any(
        f"fields once its fragments are spread (limit {MAX_EXPANDED_FIELDS:,})" in m
        for m in messages
    ), messages


def test_a_fragment_within_the_limits_still_answers(client: TestClient) -> None:
    answer = gql(client, fragment_chain(5))
    assert answer == {"data": {"version": answer["data"]["version"]}}


def test_the_depth_and_alias_limits_see_through_fragments(client: TestClient) -> None:
    aliased = "fragment A on Query { " + " ".join(f"a{i}: version" for i in range(8)) + " }"
    (error,) = gql(client, f"query {{ ...A ...A }} {aliased}")["errors"]
    assert "16 aliases" in error["message"]


def test_healthz_answers_while_a_resolver_runs(tmp_path: Path, monkeypatch: Any) -> None:
    # `version` is a sync resolver: strawberry ran it on the event loop, so a slow one froze
    # /healthz. Held at a gate, it must leave the loop free.
    entered, gate = threading.Event(), threading.Event()

    def slow_version(_: str) -> str:
        entered.set()
        assert gate.wait(HANG)
        return "9.9.9"

    monkeypatch.setattr(lineage_kg.api.graphql.schema, "package_version", slow_version)
    with client_for(tmp_path) as client:
        heavy = in_background(lambda: client.post("/graphql", json={"query": "{ version }"}))
        try:
            assert entered.wait(HANG), "the request never reached its resolver"
            health = in_background(lambda: client.get("/healthz"))
            assert health.result(timeout=HANG).status_code == 200
            assert not heavy.done(), "the held request finished while held"
        finally:
            gate.set()
        assert heavy.result(timeout=HANG).json() == {"data": {"version": "9.9.9"}}


def test_a_request_past_its_deadline_answers_an_error_naming_it(tmp_path: Path) -> None:
    store = GatedStore()
    with client_for(tmp_path, store=store, graphql_deadline_seconds=1) as client:
        heavy = in_background(lambda: client.post("/graphql", json={"query": IMPACT}))
        try:
            assert store.entered.wait(HANG), "the walk never started"
            assert client.get("/healthz").status_code == 200
            # the walk is still held at the gate: only the deadline can have answered this
            (error,) = heavy.result(timeout=HANG).json()["errors"]
            assert not store.gate.is_set()
        finally:
            store.gate.set()
    assert error["extensions"]["code"] == "DEADLINE_EXCEEDED"
    assert "LKG_GRAPHQL_DEADLINE_SECONDS" in error["message"]


def test_aliases_share_one_traversal_budget(client: TestClient) -> None:
    # fifteen aliased walks took 75 s: each was capped, their sum was not. Here the request's
    # budget is 40 nodes expanded: the first walk fits, the others are refused by name.
    query = "{ " + " ".join(f"a{i}: {IMPACT[2:-2]}" for i in range(15)) + " }"
    body = gql(client, query)
    codes = {e["extensions"]["code"] for e in body["errors"]}
    assert codes == {"TRAVERSAL_BUDGET_EXCEEDED"}
    assert all("LKG_MAX_TRAVERSAL_NODES" in e["message"] for e in body["errors"])
    # the first walk answered; graphql-core stops the rest once one non-null field failed
    assert ["a0"] not in [e["path"] for e in body["errors"]]


def test_one_walk_within_the_budget_answers(client: TestClient) -> None:
    body = gql(client, IMPACT)
    assert "errors" not in body, body


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'"hello"', "JSON object"),
        (b"12", "JSON object"),
        (b'{"query": "{ version }"}\xff', "UTF-8"),
        (b'{"query": "{ version }", "variables": {"v": ' + b"[" * 10_000 + b"]" * 10_000 + b"}}",
         "nests deeper"),
        (b'{"query": "{ version }", "variables": {"v": ' + b"[" * 40 + b"]" * 40 + b"}}",
         "nests deeper"),
        (b"{nope", "not valid JSON"),
    ],
)  # fmt: skip
def test_bad_bodies_are_a_400_naming_the_problem(
    client: TestClient, body: bytes, says: str
) -> None:
    response = client.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert says in response.text


def test_a_body_over_the_limit_is_a_413_naming_it(tmp_path: Path) -> None:
    with client_for(tmp_path, graphql_max_body_bytes=4096) as client:
        refuses_big_bodies(client)


def refuses_big_bodies(client: TestClient) -> None:
    big = json.dumps({"query": "{ version }", "variables": {"v": "x" * 5000}})
    response = client.post("/graphql", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "LKG_GRAPHQL_MAX_BODY_BYTES" in response.json()["errors"][0]["message"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"query": "{ version }", "variables": {"v": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}}'

    response = client.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


@pytest.mark.parametrize(
    "query",
    [
        '{ node(ref: {id: "' + "[" * 3000 + '"}) { id } }',
        '{ search(text: "a", limit: ' + "9" * 5001 + ") { id } }",
        "{ impact(ref: " + AMOUNT + ", first: " + "9" * 5001 + ") { summary { total } } }",
    ],
)
def test_odd_arguments_are_errors_naming_the_argument_not_internal(
    client: TestClient, query: str
) -> None:
    response = client.post("/graphql", json={"query": query})
    assert response.status_code in (200, 400), response.text
    for error in response.json()["errors"]:
        assert error["message"] != "internal error"
