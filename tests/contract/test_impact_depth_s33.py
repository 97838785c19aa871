"""Impact on a long chain: every downstream dataset, or an answer that says it stopped short
(session 33 red team).

A dbt project of 15 models in a row, each with column lineage `a <- a` (a common shape: staging
→ intermediate → marts layers). The oracle is a plain BFS over the events' inputs → outputs.
`impact` with its default depth (10, as GraphQL's `impact(depth: Int! = 10)`) counts graph hops,
not layers: a column layer is one hop (FEEDS) plus one to its dataset (HAS_COLUMN), a
dataset-level layer two (INPUT_TO, PRODUCES). So from `t0` it answers 9 of the 15 datasets,
from `t0#a` 10 of the 15 columns, and from a chain without column lineage 5 of 15 — with
`truncated` false (it means "the size cap stopped the walk"), and until session 33 no other field
said the depth bound cut anything. GraphQL's MAX_DEPTH (25) caps it: a dataset-level chain longer
than 12 layers can never be answered whole. Since session 33 the answer says so:
`depth_reached` (GraphQL `summary.depthReached`) when some node lies at the depth asked.
"""

from __future__ import annotations

from typing import Any

import pytest

from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import NodeKind
from lineage_kg.graph.mutations import MutationBatch
from lineage_kg.graph.naming import column_key, dataset_key
from lineage_kg.ingest.eventlog import event_id_of
from lineage_kg.ingest.openlineage.mapping import map_event
from lineage_kg.queries.impact import impact

PG = "postgres://warehouse:5432"
LAYERS = 15


def chain(column_lineage: bool) -> list[dict[str, Any]]:
    schema = {"fields": [{"name": "a", "type": "integer"}]}
    events = []
    for i in range(LAYERS):
        source = {"namespace": PG, "name": f"shop.dbt.t{i}"}
        facets: dict[str, Any] = {"schema": schema}
        if column_lineage:
            facets["columnLineage"] = {"fields": {"a": {"inputFields": [{**source, "field": "a"}]}}}
        events.append(
            {
                "eventType": "COMPLETE",
                "eventTime": f"2026-06-01T10:{i:02d}:00.000Z",
                "run": {"runId": f"00000000-0000-4000-8000-{i:012d}"},
                "job": {"namespace": "dbt-shop", "name": f"shop.dbt.t{i + 1}"},
                "inputs": [{**source, "facets": {"schema": schema}}],
                "outputs": [{"namespace": PG, "name": f"shop.dbt.t{i + 1}", "facets": facets}],
            }
        )
    return events


def bfs(events: list[dict[str, Any]], start: str) -> set[str]:
    """Datasets downstream of `start` by the events' inputs -> outputs."""
    edges = {(i["name"], o["name"]) for e in events for i in e["inputs"] for o in e["outputs"]}
    seen, todo = set(), [start]
    while todo:
        here = todo.pop()
        for src, dst in edges:
            if src == here and dst not in seen:
                seen.add(dst)
                todo.append(dst)
    return seen


def answer(column_lineage: bool, field: str | None) -> tuple[set[str], bool]:
    events = chain(column_lineage)
    store = EmbeddedStore()
    for event in events:
        batch = MutationBatch()
        batch.extend(map_event(event, event_id_of("openlineage", event)).mutations)
        store.apply(batch)
    start = dataset_key(PG, "shop.dbt.t0")
    found = impact(store, (column_key(start, field) if field else start).id)
    datasets = {i.node.key.parts[1] for i in found.items if i.node.key.kind is NodeKind.DATASET} - {
        "shop.dbt.t0"
    }
    return datasets, found.truncated or found.depth_reached


@pytest.mark.parametrize(("column_lineage", "field"), [(True, None), (True, "a"), (False, None)])
def test_a_long_chain_is_answered_whole_or_said_to_be_cut(
    column_lineage: bool, field: str | None
) -> None:
    datasets, truncated = answer(column_lineage, field)
    want = bfs(chain(column_lineage), "shop.dbt.t0")
    assert len(want) == LAYERS
    assert datasets == want or truncated


def test_a_chain_within_the_depth_is_answered_whole() -> None:
    """The control: the first layers are all there, in order, with nothing cut before them."""
    datasets, _ = answer(True, "a")
    assert {f"shop.dbt.t{i}" for i in range(1, 10)} <= datasets
