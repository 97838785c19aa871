"""Which model versions were serving a decision point at a given time.

A deployment is a DEPLOYED_TO edge (ModelVersion → DecisionPoint, discriminated by its mode:
champion, canary, shadow) with the window the deployment system declared: `valid_from` and,
once it ended, `valid_until` (ingest/catalog). A version serves at `at` when
valid_from <= at < valid_until; without declared times the edge's own life in the graph (first
seen, retired) stands in. Shadow deployments see the traffic but decide nothing, so they never
serve.
"""

from __future__ import annotations

from datetime import datetime

from lineage_kg.graph.errors import InvalidArgument
from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.records import StoredEdge, StoredNode
from lineage_kg.graph.store import GraphStore
from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.queries.arguments import time_arg

SHADOW = "shadow"


def declared_time(edge: StoredEdge, name: str) -> str | None:
    value = edge.props.get(name)
    if not isinstance(value, str):
        return None
    try:
        return canonical_time(value)
    except ValueError:
        return None


def serves_at(deployment: StoredEdge, at: str) -> bool:
    begin = declared_time(deployment, "valid_from") or deployment.first_seen
    end = declared_time(deployment, "valid_until") or deployment.valid_to
    return begin <= at and (end is None or at < end)


def serving_versions(
    store: GraphStore,
    model: str,
    decision_point: str,
    at: str | datetime,
    registry: str = "mlflow",
) -> list[tuple[StoredNode, StoredEdge]]:
    """The versions of `model` deciding at `decision_point` at time `at`, each with its
    deployment edge; by version node id, then mode (three batched reads at most)."""
    serving = serving_deployments(store, model, decision_point, at, registry)
    nodes = {n.id: n for n in store.get_nodes(sorted({e.key.src.id for e in serving}))}
    return [(nodes[e.key.src.id], e) for e in serving]


def serving_deployments(
    store: GraphStore,
    model: str,
    decision_point: str,
    at: str | datetime,
    registry: str = "mlflow",
) -> list[StoredEdge]:
    """`serving_versions`' deployment edges, the versions' records not read (two reads): for a
    caller that reads them with others (the decision trace)."""
    when = time_arg("at", at)
    if when is None:
        raise InvalidArgument("at is required")
    point = NodeKey.of(NodeKind.DECISION_POINT, name=decision_point).id
    # current deployments, and those retired since that were valid at `at`
    edges = {
        e.key.id: e
        for as_of in (None, when)
        for e in store.neighbors([point], Direction.IN, [EdgeKind.DEPLOYED_TO], as_of)
    }
    serving = sorted(
        (
            e
            for e in edges.values()
            if e.key.src.parts[:2] == (registry, model)
            and e.key.disc != SHADOW
            and serves_at(e, when)
        ),
        key=lambda e: (e.key.src.id, e.key.disc),
    )
    return serving
