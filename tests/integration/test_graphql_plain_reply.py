"""The impact reply as plain data (api/graphql/execution.py, issue 19): for a sizeable answer —
hundreds of nodes of several kinds, owners, aliases, paths — every field of every item over
HTTP GraphQL equals the direct `impact()` answer, shaped by a small converter written here, and
equals what graphql-core's ordinary field-by-field execution of the same schema returns."""

from __future__ import annotations

import asyncio
import base64
import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import strawberry
from fastapi.testclient import TestClient

from lineage_kg.api.app import create_app
from lineage_kg.api.graphql.execution import PlainDataExecutionContext
from lineage_kg.api.graphql.schema import NODE_TYPES, Context, Query, schema
from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import EdgeKind as E
from lineage_kg.graph.model import NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction, MutationBatch, Provenance
from lineage_kg.graph.records import StoredNode
from lineage_kg.queries.impact import ImpactAnswer, impact
from lineage_kg.settings import Settings

NODE = (
    "__typename id kind display key props aliases sources firstSeen lastSeen firstEvent lastEvent"
)
QUERY = f"""query($id: ID!, $first: Int!, $after: String) {{
  impact(ref: {{id: $id}}, first: $first, after: $after) {{
    start {{ {NODE} }}
    summary {{ total truncated kpis unowned byKind {{ kind count }}
              byCertainty {{ kind count }} byOwner {{ kind count }} }}
    edges {{ cursor node {{ distance certainty owners
                           node {{ {NODE} ... on Column {{ again: display }} }}
                           path {{ kind fromId fromDisplay toId toDisplay props lastEvent }} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}"""


def estate(seed: int) -> tuple[MutationBatch, NodeKey]:
    """A layered warehouse: 8 layers of 8 tables of 4 columns, random column lineage between
    layers, jobs between tables, a feature and a model version fed by the last layer, KPIs,
    owners on some tables (one through an alias) and storage-path aliases on others."""
    rng = random.Random(seed)
    p = Provenance("test", f"ev-{seed}", "2026-02-01T00:00:00Z")
    b = MutationBatch()
    layers: list[list[NodeKey]] = []
    teams = [NodeKey.of(NodeKind.OWNER, owner_id=f"team:{t}") for t in ("a", "b", "c")]
    b.edge(NodeKey.of(NodeKind.OWNER, owner_id="ann"), E.ALIAS_OF, teams[0], p)
    for layer in range(8):
        columns = []
        for t in range(8):
            table = NodeKey.of(NodeKind.DATASET, namespace="pg://db", name=f"l{layer}.t{t}")
            extra: dict[str, Any] = {"rows": rng.randrange(1000), "tags": ["x", f"t{t}"]}
            if rng.random() < 0.3:
                extra["aliases"] = [f"s3://bucket/l{layer}/t{t}"]
            b.node(table, p, **extra)
            if rng.random() < 0.5:
                b.edge(rng.choice(teams), E.OWNS, table, p, disc="technical")
            for c in range(4):
                column = NodeKey.of(
                    NodeKind.COLUMN, namespace="pg://db", name=f"l{layer}.t{t}", field=f"c{c}"
                )
                b.edge(table, E.HAS_COLUMN, column, p, type="string")
                columns.append(column)
            if layer:
                job = NodeKey.of(NodeKind.JOB, namespace="airflow", name=f"l{layer}.t{t}")
                source = NodeKey.of(
                    NodeKind.DATASET, namespace="pg://db", name=f"l{layer - 1}.t{rng.randrange(8)}"
                )
                b.edge(source, E.INPUT_TO, job, p)
                b.edge(job, E.PRODUCES, table, p)
        if layers:
            for column in columns:
                for source in rng.sample(layers[-1], 3):
                    b.edge(
                        source, E.FEEDS, column, p, transformation=rng.choice(["IDENTITY", "AGG"])
                    )
        layers.append(columns)
    feature = NodeKey.of(NodeKind.FEATURE, project="risk", view="v", name="f")
    version = NodeKey.of(NodeKind.MODEL_VERSION, registry="mlflow", name="m", version="1")
    kpi = NodeKey.of(NodeKind.KPI, name="revenue")
    for column in rng.sample(layers[-1], 5):
        b.edge(column, E.FEEDS, feature, p)
        b.edge(column, E.FEEDS, kpi, p)
    b.edge(feature, E.FEEDS, version, p)
    # a raw column that reaches far: it feeds many of the next layer
    start = layers[0][0]
    for column in rng.sample(layers[1], 12):
        b.edge(start, E.FEEDS, column, p)
    return b, start


# ---- the oracle: the direct answer, shaped here ------------------------------------------------
def node_json(n: StoredNode) -> dict[str, Any]:
    aliases = n.props.get("aliases")
    return {
        "__typename": n.key.kind.value,
        "id": n.id,
        "kind": n.key.kind.value,
        "display": n.key.display,
        "key": dict(zip(_key_names(n.key), n.key.parts, strict=True)),
        "props": n.props,
        "aliases": [str(a) for a in aliases] if isinstance(aliases, list) else [],
        "sources": list(n.sources),
        "firstSeen": n.first_seen,
        "lastSeen": n.last_seen,
        "firstEvent": n.first_event,
        "lastEvent": n.last_event,
    }


def _key_names(key: NodeKey) -> list[str]:
    return list(key.fields)


def _cursor(i: int) -> str:
    return base64.urlsafe_b64encode(f"o:{i}".encode()).decode()


def expected(answer: ImpactAnswer, first: int) -> dict[str, Any]:
    def counts(m: dict[str, int]) -> list[dict[str, Any]]:
        return [{"kind": k, "count": n} for k, n in m.items()]

    edges = []
    for i, item in enumerate(answer.items[:first]):
        node = node_json(item.node)
        if item.node.key.kind is NodeKind.COLUMN:
            node["again"] = item.node.key.display
        path = []
        for hop in item.path:
            a, b = hop.edge.key.src, hop.edge.key.dst
            if hop.direction is not Direction.OUT:
                a, b = b, a
            path.append(
                {
                    "kind": hop.edge.key.kind.value,
                    "fromId": a.id,
                    "fromDisplay": a.display,
                    "toId": b.id,
                    "toDisplay": b.display,
                    "props": hop.edge.props,
                    "lastEvent": hop.edge.last_event,
                }
            )
        edges.append(
            {
                "cursor": _cursor(i),
                "node": {
                    "distance": item.distance,
                    "certainty": item.certainty.value,
                    "owners": list(item.owners),
                    "node": node,
                    "path": path,
                },
            }
        )
    return {
        "impact": {
            "start": node_json(answer.start),
            "summary": {
                "total": len(answer.items),
                "truncated": answer.truncated,
                "kpis": answer.kpis,
                "unowned": answer.unowned,
                "byKind": counts(answer.by_kind),
                "byCertainty": counts(answer.by_certainty),
                "byOwner": counts(answer.by_owner),
            },
            "edges": edges,
            "pageInfo": {
                "hasNextPage": first < len(answer.items),
                "endCursor": edges[-1]["cursor"] if edges else None,
            },
        }
    }


@pytest.fixture(scope="module")
def graph() -> tuple[EmbeddedStore, NodeKey]:
    store = EmbeddedStore()
    batch, start = estate(seed=19)
    store.apply(batch)
    return store, start


@pytest.fixture(scope="module")
def client(
    graph: tuple[EmbeddedStore, NodeKey], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"), auth="off", snapshot=False)
    with TestClient(create_app(settings, store=graph[0])) as c:
        yield c


def ask(client: TestClient, variables: dict[str, Any]) -> dict[str, Any]:
    body = client.post("/graphql", json={"query": QUERY, "variables": variables}).json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def test_a_sizeable_reply_equals_the_direct_answer_field_by_field(
    graph: tuple[EmbeddedStore, NodeKey], client: TestClient
) -> None:
    store, start = graph
    answer = impact(store, start.id)
    assert len(answer.items) >= 200, "the estate should give a sizeable answer"
    assert len({i.node.key.kind for i in answer.items}) >= 5
    assert any(i.owners for i in answer.items) and any(not i.owners for i in answer.items)
    assert any(node_json(i.node)["aliases"] for i in answer.items)

    got = ask(client, {"id": start.id, "first": 1000})

    want = expected(answer, 1000)
    assert got["impact"]["summary"] == want["impact"]["summary"]
    assert len(got["impact"]["edges"]) == len(want["impact"]["edges"])
    for mine, theirs in zip(got["impact"]["edges"], want["impact"]["edges"], strict=True):
        assert mine == theirs  # one item at a time: a failure names the item
    assert got == want


def test_a_later_page_equals_the_same_slice_of_the_direct_answer(
    graph: tuple[EmbeddedStore, NodeKey], client: TestClient
) -> None:
    store, start = graph
    answer = impact(store, start.id)
    first_page = ask(client, {"id": start.id, "first": 50})
    after = first_page["impact"]["pageInfo"]["endCursor"]
    got = ask(client, {"id": start.id, "first": 50, "after": after})
    items = [e["node"]["node"]["id"] for e in got["impact"]["edges"]]
    assert items == [i.node.id for i in answer.items[50:100]]
    assert got["impact"]["edges"][0]["cursor"] == _cursor(50)


def test_the_reply_equals_graphql_cores_field_by_field_execution(
    graph: tuple[EmbeddedStore, NodeKey],
) -> None:
    store, start = graph
    ordinary = strawberry.Schema(query=Query, types=list(NODE_TYPES.values()))

    class Projector:
        log = None

    def run(s: strawberry.Schema) -> Any:
        # on a thread of its own: after the browser tests the worker's main thread has a
        # running event loop (a session-wide sync_playwright), and asyncio.run refuses it
        query = s.execute(
            QUERY, {"id": start.id, "first": 1000}, context_value=Context(store, Projector())
        )
        with ThreadPoolExecutor(1) as pool:
            result = pool.submit(asyncio.run, query).result()
        assert result.errors is None, result.errors
        return result.data

    assert schema.execution_context_class is PlainDataExecutionContext
    assert ordinary.execution_context_class is not PlainDataExecutionContext
    assert run(schema) == run(ordinary)
