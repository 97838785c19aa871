"""Impact's paths as positions in one table of the page's steps (ImpactConnection.steps and
ImpactItem.pathIds, issue 19): on the demo graph, on both stores, every item's `pathIds` read
through `steps` is its `path`, step for step and field for field; the table holds each step
of the page once and only the page's steps; and the answer is the same whichever of the two
fields the document names first, page by page."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineage_kg.api.app import create_app
from lineage_kg.graph.store import GraphStore
from lineage_kg.settings import Settings
from tests.integration.test_graphql_impact import AMOUNT_REF, gql

STEP = "kind fromId fromDisplay toId toDisplay props lastEvent"
ITEMS = f"edges {{ node {{ node {{ id }} path {{ {STEP} }} pathIds }} }} pageInfo {{ endCursor }}"
TABLE = f"steps {{ {STEP} }}"
QUERY = """query ($ref: NodeRef!, $first: Int!, $after: String) {
  impact(ref: $ref, first: $first, after: $after) { %s }
}"""


@pytest.fixture
def client(store: GraphStore, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(demo=True, data_dir=tmp_path), store=store)) as c:
        deadline = time.monotonic() + 300  # on Neo4j the projector writes the demo after start
        while gql(c, "{ ingestStatus { lag } }")["data"]["ingestStatus"]["lag"]:
            assert time.monotonic() < deadline, "the demo was not projected"
            time.sleep(0.1)
        yield c


def _page(client: TestClient, fields: str, first: int, after: str | None) -> dict[str, Any]:
    body = gql(client, QUERY % fields, ref=AMOUNT_REF, first=first, after=after)
    assert "errors" not in body, body
    return body["data"]["impact"]


@pytest.mark.parametrize("first", [1, 4, 100])
def test_path_ids_point_into_the_pages_steps(client: TestClient, first: int) -> None:
    after = None
    seen_items = 0
    while True:
        page = _page(client, f"{TABLE} {ITEMS}", first, after)
        other = _page(client, f"{ITEMS} {TABLE}", first, after)  # the table asked last
        assert page == other
        table = page["steps"]
        used: set[int] = set()
        for edge in page["edges"]:
            item = edge["node"]
            assert [table[i] for i in item["pathIds"]] == item["path"]
            used.update(item["pathIds"])
        assert used == set(range(len(table)))  # only this page's steps
        keys = [json.dumps(s, sort_keys=True) for s in table]
        assert len(set(keys)) == len(keys)  # each once
        seen_items += len(page["edges"])
        after = page["pageInfo"]["endCursor"]
        if after is None or len(page["edges"]) < first:
            break
    assert seen_items == 14  # the demo's answer (test_graphql_impact.EXPECTED)


def test_path_ids_alone_and_the_table_alone(client: TestClient) -> None:
    both = _page(client, f"{TABLE} {ITEMS}", 100, None)
    ids = _page(client, "edges { node { pathIds } }", 100, None)
    table = _page(client, TABLE, 100, None)
    assert [e["node"]["pathIds"] for e in ids["edges"]] == [
        e["node"]["pathIds"] for e in both["edges"]
    ]
    assert table["steps"] == both["steps"]
    # a path shared by several items is sent once: fewer steps than path entries
    assert len(table["steps"]) < sum(len(e["node"]["pathIds"]) for e in ids["edges"])
