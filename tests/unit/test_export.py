"""Exports (cli/export.py): the demo graph's impact answer and accountability map, written in
every format and read back with the tool that format is for."""

from __future__ import annotations

import csv
import io
import json
import re
import struct
from pathlib import Path

import networkx as nx
import pytest

from lineage_kg.cli.export import (
    CSV_COLUMNS,
    DOWNSTREAM_OF,
    ExportFormat,
    accountability_dict,
    accountability_graph,
    impact_dict,
    impact_graph,
    render,
    to_csv,
    to_dot,
    to_graphml,
    to_json,
    to_png,
)
from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import NodeKey, NodeKind
from lineage_kg.ingest.demo import PG, demo_batch
from lineage_kg.queries.accountability import accountability
from lineage_kg.queries.impact import impact

ORDERS = NodeKey.of(NodeKind.DATASET, namespace=PG, name="shop.public.orders")
AMOUNT = NodeKey.of(NodeKind.COLUMN, namespace=PG, name="shop.public.orders", field="amount")
REVENUE = NodeKey.of(
    NodeKind.COLUMN, namespace=PG, name="analytics.marts.daily_revenue", field="revenue"
)
DAILY_REVENUE_KPI = NodeKey.of(NodeKind.KPI, name="daily-revenue")
VERSION = NodeKey.of(NodeKind.MODEL_VERSION, registry="mlflow", name="credit-risk", version="3")
PLATFORM = NodeKey.of(NodeKind.OWNER, owner_id="team:data-platform")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def store() -> EmbeddedStore:
    s = EmbeddedStore()
    s.apply(demo_batch())
    return s


@pytest.fixture(scope="module")
def impact_answer(store: EmbeddedStore):
    return impact(store, ORDERS.id)


@pytest.fixture(scope="module")
def graph(impact_answer) -> nx.MultiDiGraph:
    return impact_graph(impact_answer)


def test_impact_graph_holds_the_answer_and_its_paths(impact_answer, graph) -> None:
    assert graph.nodes[ORDERS.id]["role"] == "start"
    impacted = {i.node.id for i in impact_answer.items}
    assert impacted <= set(graph)
    assert graph.nodes[DAILY_REVENUE_KPI.id]["certainty"] == "exact"
    assert graph.nodes[DAILY_REVENUE_KPI.id]["kind"] == "KPI"
    # every hop of every explaining path is an edge, in its stored direction
    for item in impact_answer.items:
        for hop in item.path:
            k = hop.edge.key
            assert graph.has_edge(k.src.id, k.dst.id, f"{k.kind}|{k.disc}")
    # the start's columns began the walk: drawn under the start dataset
    assert graph.nodes[AMOUNT.id]["role"] == "start_column"
    assert graph.has_edge(ORDERS.id, AMOUNT.id, "HAS_COLUMN|")


def test_graphml_reads_back_with_networkx(graph) -> None:
    back = nx.read_graphml(io.BytesIO(to_graphml(graph)))
    assert set(back) == set(graph)
    assert back.number_of_edges() == graph.number_of_edges()
    assert back.nodes[REVENUE.id]["display"] == REVENUE.display
    assert back.nodes[REVENUE.id]["certainty"] == "exact"
    assert back.nodes[VERSION.id]["kind"] == "ModelVersion"
    kinds = {d["kind"] for _, _, d in back.edges(data=True)}
    assert {"FEEDS", "HAS_COLUMN", "INPUT_TO"} <= kinds
    assert back.graph["question"] == "impact"


def test_json_shape(graph, impact_answer) -> None:
    doc = json.loads(to_json(graph))
    assert (doc["question"], doc["start"], doc["truncated"]) == ("impact", ORDERS.id, False)
    ids = [n["id"] for n in doc["nodes"]]
    assert ids == sorted(ids)
    assert set(ids) == set(graph)
    for node in doc["nodes"]:
        assert {"id", "kind", "display", "role", "distance"} <= set(node)
    for edge in doc["edges"]:
        assert {"source", "target", "kind", "disc"} <= set(edge)
        assert edge["source"] in ids and edge["target"] in ids
    # the answer's own JSON (what `--json` prints) is JSON through and through
    answer = json.loads(json.dumps(impact_dict(impact_answer)))
    assert answer["summary"]["total"] == len(impact_answer.items)
    assert answer["summary"]["kpis"] == ["approval-rate", "daily-revenue"]
    item = next(i for i in answer["items"] if i["node"]["id"] == REVENUE.id)
    assert (item["certainty"], item["path"][0]["kind"]) == ("exact", "FEEDS")


def test_csv_is_one_row_per_node(graph) -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(graph))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert {r["id"] for r in rows} == set(graph)
    assert rows[0]["id"] == ORDERS.id  # distance 0 first
    by_id = {r["id"]: r for r in rows}
    assert by_id[DAILY_REVENUE_KPI.id]["kind"] == "KPI"
    assert (
        by_id[NodeKey.of(NodeKind.FEATURE_VIEW, project="risk", name="customer_spend").id]["owners"]
        == "team:ml-risk"
    )


def test_dot_names_every_node_and_edge(graph) -> None:
    dot = to_dot(graph)
    assert dot.startswith('digraph "impact" {') and dot.rstrip().endswith("}")

    def quoted(node_id: str) -> str:
        return '"' + node_id.replace("\\", "\\\\").replace('"', '\\"') + '"'

    for node_id in graph:
        assert f"{quoted(node_id)} [label=" in dot
    assert dot.count(" -> ") == graph.number_of_edges()
    assert f'{quoted(AMOUNT.id)} -> {quoted(REVENUE.id)} [label="FEEDS", style=solid]' in dot
    assert re.search(r'label="INPUT_TO", style=dashed', dot)  # dataset-level: possible


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize(("width", "height"), [(1600, 1000), (640, 480)])
def test_png_has_the_size_asked_for(graph, width: int, height: int) -> None:
    assert png_size(to_png(graph, width=width, height=height)) == (width, height)


def test_render_dispatches_every_format(graph) -> None:
    for fmt in ExportFormat:
        data = render(graph, fmt)
        assert data, fmt
    assert render(graph, ExportFormat.PNG).startswith(PNG_SIGNATURE)
    assert ExportFormat.of_path(Path("a/b.GraphML")) is ExportFormat.GRAPHML
    assert ExportFormat.of_path(Path("a/b.txt")) is None


def test_accountability_map_as_a_graph(store: EmbeddedStore) -> None:
    answer = accountability(store, "team:data-platform")
    g = accountability_graph(answer)
    assert g.nodes[PLATFORM.id]["role"] == "owner"
    alice = NodeKey.of(NodeKind.OWNER, owner_id="alice@example.com").id
    assert g.nodes[alice]["role"] == "member"
    assert g.has_edge(alice, PLATFORM.id, "MEMBER_OF|")
    assert g.has_edge(PLATFORM.id, ORDERS.id, "OWNS|technical")
    # the KPI fed by the revenue mart is downstream of the team
    assert g.nodes[DAILY_REVENUE_KPI.id]["role"] == "kpi"
    assert g.has_edge(PLATFORM.id, DAILY_REVENUE_KPI.id, f"{DOWNSTREAM_OF}|")
    # the team owning the feature view downstream is a downstream owner, linked by OWNS
    ml = NodeKey.of(NodeKind.OWNER, owner_id="team:ml-risk").id
    assert g.nodes[ml]["role"] == "downstream_owner"
    assert any(k.startswith("OWNS|") for _, _, k in g.out_edges(ml, keys=True))
    # unowned chain assets are marked
    assert any("unowned" in d.get("gaps", "") for _, d in g.nodes(data=True))
    back = nx.read_graphml(io.BytesIO(to_graphml(g)))
    assert set(back) == set(g)
    assert png_size(to_png(g)) == (1600, 1000)
    doc = json.loads(json.dumps(accountability_dict(answer)))
    assert doc["owner"]["id"] == PLATFORM.id
    assert doc["members"] == ["alice@example.com"]
    assert {"owned", "kpis", "upstream", "downstream", "gaps", "truncated"} <= set(doc)
