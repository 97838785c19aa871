"""Open the store the settings ask for: Neo4j when a URI is given, else the embedded one.

The URI goes to the driver as given: `bolt://` for one server, `neo4j://` to route across a
cluster (or Aura, `neo4j+s://`), `+s`/`+ssc` for TLS (docs/neo4j-cluster.md)."""

from __future__ import annotations

from lineage_kg.graph.embedded import EmbeddedState, EmbeddedStore
from lineage_kg.graph.store import GraphStore


def open_store(
    neo4j_uri: str | None,
    *,
    user: str = "neo4j",
    password: str = "",
    database: str = "neo4j",
    pool_size: int = 20,
    query_timeout: float | None = 30.0,
    first_contact_timeout: float | None = None,
    defer_first_contact: bool = False,
) -> GraphStore:
    if not neo4j_uri:
        return EmbeddedStore()
    from lineage_kg.graph.neo4j_store import Neo4jStore

    return Neo4jStore(
        neo4j_uri,
        user=user,
        password=password,
        database=database,
        max_pool_size=pool_size,
        query_timeout=query_timeout,
        first_contact_timeout=first_contact_timeout,
        defer_first_contact=defer_first_contact,
    )


def embedded_from_state(state: EmbeddedState) -> EmbeddedStore:
    """The embedded store holding a state read back from a start-up snapshot (graph/snapshot.py)."""
    return EmbeddedStore.from_state(state)
