"""A node's direct neighbours (queries/neighbors.py, `Node.neighbors`) and its owners
(`Node.owners`), on both stores, against oracles that read the whole graph through another road
(`iter_edges`): every node of the value chain, each way, with and without an edge-kind filter,
paged at several sizes, and through GraphQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineage_kg.api.app import create_app
from lineage_kg.graph.errors import InvalidArgument
from lineage_kg.graph.model import EdgeKind as E
from lineage_kg.graph.model import NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction, EdgeRetire, MutationBatch, Provenance
from lineage_kg.graph.records import StoredEdge
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.neighbors import MAX_FIRST, Way, neighbors
from lineage_kg.settings import Settings

# (other end, edge id, "out" | "in")
Item = tuple[str, tuple[str, str, str, str], str]
KIND_FILTERS: list[list[E] | None] = [None, [E.HAS_COLUMN], [E.OWNS, E.FEEDS, E.INPUT_TO]]
# an alias of team:data-platform, owning fx under its own name
ALIAS = NodeKey.of(NodeKind.OWNER, owner_id="d.platform")


@pytest.fixture
def chain(store: GraphStore, value_chain: Any) -> Any:
    b = MutationBatch()
    p = Provenance("test", "ev-alias", "2026-02-02T00:00:00Z")
    b.edge(ALIAS, E.ALIAS_OF, value_chain.platform, p)
    b.edge(ALIAS, E.OWNS, value_chain.fx, p, disc="business")
    store.apply(b)
    return value_chain


def current_edges(store: GraphStore) -> list[StoredEdge]:
    return [e for e in store.iter_edges() if e.valid_to is None]


def oracle(edges: list[StoredEdge], node_id: str, way: Way, kinds: list[E] | None) -> list[Item]:
    """The rule: outgoing edges, then incoming ones, each sorted by edge id."""
    picked = [e for e in edges if kinds is None or e.key.kind in kinds]
    out = sorted((e for e in picked if e.key.src.id == node_id), key=lambda e: e.key.id)
    into = sorted((e for e in picked if e.key.dst.id == node_id), key=lambda e: e.key.id)
    found: list[Item] = []
    if way is not Way.IN:
        found += [(e.key.dst.id, e.key.id, "out") for e in out]
    if way is not Way.OUT:
        found += [(e.key.src.id, e.key.id, "in") for e in into]
    return found


def owners_oracle(edges: list[StoredEdge], node_id: str) -> list[str]:
    alias_of: dict[str, str] = {}
    for e in sorted((e for e in edges if e.key.kind is E.ALIAS_OF), key=lambda e: e.key.id):
        alias_of.setdefault(e.key.src.id, e.key.dst.id)  # the first by edge id wins
    owns = [e for e in edges if e.key.kind is E.OWNS and e.key.dst.id == node_id]
    ids = {alias_of.get(e.key.src.id, e.key.src.id) for e in owns}
    return sorted(NodeKey.from_id(i).parts[0] for i in ids)


def paged(store: GraphStore, node_id: str, way: Way, kinds: list[E] | None, first: int) -> list:
    found: list[Item] = []
    offset = 0
    while True:
        page = neighbors(store, node_id, way=way, kinds=kinds, first=first, offset=offset)
        assert page.offset == offset and len(page.items) <= first
        found += [(n.node.id, n.edge.key.id, n.direction.value.lower()) for n in page.items]
        if not page.has_next_page:
            assert page.total == len(found)
            return found
        offset += len(page.items)


def test_every_node_each_way_every_page_size(store: GraphStore, chain: Any) -> None:
    edges = current_edges(store)
    nodes = [n.id for n in store.iter_nodes()]
    assert len(nodes) > 30
    some_paged = False
    for node_id in nodes:
        for way in Way:
            for kinds in KIND_FILTERS:
                want = oracle(edges, node_id, way, kinds)
                for first in (1, 3, MAX_FIRST):
                    assert paged(store, node_id, way, kinds, first) == want, (node_id, way, kinds)
                some_paged |= len(want) > 3
    assert some_paged  # the chain has nodes with more neighbours than one small page


def test_a_dense_nodes_pages_across_kinds_retirements_and_the_turn_from_out_to_in(
    store: GraphStore,
) -> None:
    """A table with 90 columns, 60 readers (some reads retired) and 35 writers: every page
    size, each way, as the oracle orders it; a page is built from the store's page of edges
    (`neighbor_page`), not from all of them."""
    hub = NodeKey.of(NodeKind.DATASET, namespace="dense", name="hub")
    p = Provenance("test", "e1", "2026-01-01T00:00:00Z")
    later = Provenance("test", "e2", "2026-02-01T00:00:00Z")
    b = MutationBatch()
    for i in range(90):
        b.edge(hub, E.HAS_COLUMN, NodeKey.of(NodeKind.COLUMN, namespace="dense", name="hub",
                                             field=f"c{i:02d}"), p)  # fmt: skip
    for i in range(60):
        b.edge(hub, E.INPUT_TO, NodeKey.of(NodeKind.JOB, namespace="dense", name=f"r{i}"), p)
    for i in range(35):
        b.edge(NodeKey.of(NodeKind.JOB, namespace="dense", name=f"w{i}"), E.PRODUCES, hub, p)
    store.apply(b)
    retire = MutationBatch()
    for i in range(0, 60, 4):  # every fourth read ends
        job = NodeKey.of(NodeKind.JOB, namespace="dense", name=f"r{i}")
        retire.add(EdgeRetire(job, E.INPUT_TO, Direction.IN, frozenset(), later))
    store.apply(retire)
    edges = current_edges(store)
    for way in Way:
        for kinds in (None, [E.INPUT_TO, E.PRODUCES]):
            want = oracle(edges, hub.id, way, kinds)
            assert len(want) >= 35
            for first in (1, 7, 50, MAX_FIRST):
                assert paged(store, hub.id, way, kinds, first) == want, (way, kinds, first)
    # the store's page against its own full answer, at a time before the retirements too
    for direction in Direction:
        for as_of in (None, "2026-01-15T00:00:00Z"):
            full = store.neighbors([hub.id], direction, None, as_of)
            for offset, limit in ((0, 1), (5, 13), (80, 50), (len(full) - 1, 5), (len(full), 3)):
                page, total = store.neighbor_page(
                    hub.id, direction, None, as_of, offset=offset, limit=limit
                )
                assert total == len(full)
                assert [e.key.id for e in page] == [e.key.id for e in full[offset : offset + limit]]
                assert page == full[offset : offset + limit]  # whole records, not only ids


def test_page_size_is_bounded(store: GraphStore, chain: Any) -> None:
    for first in (0, MAX_FIRST + 1):
        with pytest.raises(InvalidArgument):
            neighbors(store, chain.mart.id, first=first)


@pytest.fixture
def client(store: GraphStore, chain: Any, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=tmp_path), store=store)) as c:
        yield c


def gql(client: TestClient, query: str, **variables: object) -> dict[str, Any]:
    return client.post("/graphql", json={"query": query, "variables": variables}).json()


NEIGHBORS = """query ($ref: NodeRef!, $dir: NeighborDirection!, $kinds: [EdgeKind!],
    $first: Int!, $after: String) {
  node(ref: $ref) { neighbors(direction: $dir, kinds: $kinds, first: $first, after: $after) {
    total edges { cursor node { id } edge direction }
    pageInfo { hasNextPage endCursor } } } }"""


@pytest.mark.parametrize("way", list(Way))
@pytest.mark.parametrize("kinds", KIND_FILTERS)
def test_graphql_neighbors_page_through(
    client: TestClient, store: GraphStore, chain: Any, way: Way, kinds: list[E] | None
) -> None:
    for start in (chain.mart, chain.raw, chain.etl):
        want = oracle(current_edges(store), start.id, way, kinds)
        got: list[tuple[str, str, str]] = []
        after = None
        while True:
            answer = gql(
                client,
                NEIGHBORS,
                ref={"id": start.id},
                dir=way.name,
                kinds=[k.value for k in kinds] if kinds is not None else None,
                first=2,
                after=after,
            )
            found = answer["data"]["node"]["neighbors"]
            assert found["total"] == len(want)
            got += [(e["node"]["id"], e["edge"], e["direction"].lower()) for e in found["edges"]]
            if not found["pageInfo"]["hasNextPage"]:
                break
            after = found["pageInfo"]["endCursor"]
        assert got == [(other, eid[1], d) for other, eid, d in want]


def test_graphql_neighbors_refuses_a_big_page(client: TestClient, chain: Any) -> None:
    answer = gql(
        client, NEIGHBORS, ref={"id": chain.mart.id}, dir="BOTH", first=MAX_FIRST + 1, after=None
    )
    error = answer["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "first" in error["message"]


OWNERS = """query ($ref: NodeRef!) { node(ref: $ref) { owners }
  impact(ref: $ref, first: 1000) { edges { node { node { id owners } owners } } } }"""


def test_graphql_owners_on_every_node(client: TestClient, store: GraphStore, chain: Any) -> None:
    edges = current_edges(store)
    assert owners_oracle(edges, chain.fx.id) == ["team:data-platform"]  # through the alias
    for start in (chain.raw, chain.fx):
        answer = gql(client, OWNERS, ref={"id": start.id})["data"]
        assert answer["node"]["owners"] == owners_oracle(edges, start.id)
        items = answer["impact"]["edges"]
        assert items and any(i["node"]["owners"] for i in items)
        for item in items:  # one batched read for all of them; each equal to the oracle
            node = item["node"]["node"]
            assert node["owners"] == owners_oracle(edges, node["id"]) == item["node"]["owners"]
