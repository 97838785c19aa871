"""accountability's upstreamOwners / downstreamOwners name the assets a link runs through as
nodes (id, kind, display), not as internal id strings — on both stores, against the question's
own answer (queries/accountability.py, whose ids the CLI reads) and the store's nodes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineage_kg.api.app import create_app
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.accountability import accountability
from lineage_kg.settings import Settings

LINKS = """query ($owner: String!) { accountability(ownerId: $owner) {
  upstreamOwners { owner left assets { id kind display } }
  downstreamOwners { owner left assets { id kind display } } } }"""


@pytest.fixture
def client(store: GraphStore, value_chain: Any, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=tmp_path), store=store)) as c:
        yield c


@pytest.mark.parametrize("owner", ["team:data-platform", "team:ml-risk", "alice@example.com"])
def test_owner_links_carry_nodes(client: TestClient, store: GraphStore, owner: str) -> None:
    body = client.post("/graphql", json={"query": LINKS, "variables": {"owner": owner}}).json()
    answer = body["data"]["accountability"]
    want = accountability(store, owner)
    some = 0
    for field, links in (
        ("upstreamOwners", want.upstream_owners),
        ("downstreamOwners", want.downstream_owners),
    ):
        got_links = [(x["owner"], x["left"]) for x in answer[field]]
        assert got_links == [(x.owner, x.left) for x in links]
        for got, link in zip(answer[field], links, strict=True):
            assert [a["id"] for a in got["assets"]] == list(link.assets)
            for asset in got["assets"]:
                node = store.get_node(asset["id"])
                assert node is not None
                assert (asset["kind"], asset["display"]) == (node.key.kind.value, node.key.display)
                some += 1
    if owner != "alice@example.com":
        assert some  # the teams' maps have links with assets
