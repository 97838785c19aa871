"""The store contract through a routing URI (issue 21 §3): a representative part of it — writes,
reads, the walk, the checkpoint and the fenced write — run on a store opened with `neo4j://` on
the tests' single Neo4j. A single instance answers the routing request with itself as router,
reader and writer, so these hold the routed driver, the READ/WRITE sessions and the shared
bookmarks to the same answers as `bolt://`; a cluster's followers are docs/neo4j-cluster.md's.

The tests are the contract's own, imported: collected here, they take this module's `store`.
"""

from __future__ import annotations

from collections.abc import Iterator

import neo4j
import pytest
from test_store_contract import (  # noqa: F401  (collected here, on the routed store)
    test_a_fenced_write_lands_only_on_the_checkpoint_it_expects,
    test_apply_creates_nodes_edges_and_provenance,
    test_checkpoint_is_written_with_the_batch,
    test_later_event_wins_per_property_whatever_the_arrival_order,
    test_neighbors_filters_kinds_and_direction,
    test_of_two_racing_fenced_writers_exactly_one_lands,
    test_retired_edge_is_kept_and_visible_as_of_before,
    test_search_is_case_insensitive_and_sorted,
)
from test_traversal import test_depth_and_size_bounds  # noqa: F401

from lineage_kg.graph.neo4j_store import Neo4jStore

pytestmark = pytest.mark.neo4j


def routed(uri: str) -> str:
    """The same server's URI with the routing scheme (`bolt+s://` -> `neo4j+s://`)."""
    scheme, sep, rest = uri.partition("://")
    return "neo4j" + scheme.removeprefix("bolt").removeprefix("neo4j") + sep + rest


@pytest.fixture(scope="module")
def routed_store(neo4j_server) -> Iterator[Neo4jStore]:  # type: ignore[no-untyped-def]
    store = Neo4jStore(
        routed(neo4j_server.uri), user=neo4j_server.user, password=neo4j_server.password
    )
    yield store
    store.close()


@pytest.fixture
def store(routed_store: Neo4jStore) -> Neo4jStore:
    routed_store.clear()
    return routed_store


def test_the_store_routes(store: Neo4jStore) -> None:
    assert store.uri.startswith("neo4j")
    assert isinstance(store._driver, neo4j.Neo4jDriver)  # the routing driver, not BoltDriver
    assert store.stats().node_count == 0


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("bolt://127.0.0.1:7687", "neo4j://127.0.0.1:7687"),
        ("bolt+s://db.example:7687", "neo4j+s://db.example:7687"),
        ("neo4j+ssc://db.example", "neo4j+ssc://db.example"),
    ],
)
def test_routed_uri(uri: str, expected: str) -> None:
    assert routed(uri) == expected
