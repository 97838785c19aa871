"""Answers as data and as pictures: an impact answer or an accountability map, turned into a
graph (networkx) and written as GraphML, JSON, CSV, DOT (Graphviz text) or PNG (matplotlib).

The JSON answers (`impact_dict`, `accountability_dict`, `trace_dict`, `audit_dict`) are what
`lkg … --json` prints; their shape is stable (documented in docs/cli.md). The export graph keeps
the graph's vocabulary: nodes by id with kind and display name, edges as stored (source → target,
edge kind, discriminator). An accountability map has no paths, so it says how assets relate to
the owner with the derived edge kinds `UPSTREAM_OF` (an upstream asset → the owner) and
`DOWNSTREAM_OF` (the owner → a dependent asset); every other edge kind is the graph's own.
"""

from __future__ import annotations

import csv
import io
import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction

if TYPE_CHECKING:  # the CLI imports this module at start: keep that quick
    import networkx as nx

    from lineage_kg.graph.records import StoredEdge, StoredNode
    from lineage_kg.queries.accountability import AccountabilityMap
    from lineage_kg.queries.audit import AuditPage
    from lineage_kg.queries.decision_trace import DecisionTrace, TraceStep
    from lineage_kg.queries.impact import ImpactAnswer
    from lineage_kg.queries.traversal import Hop


class ExportFormat(StrEnum):
    GRAPHML = "graphml"
    JSON = "json"
    CSV = "csv"
    DOT = "dot"
    PNG = "png"

    @classmethod
    def of_path(cls, path: Path) -> ExportFormat | None:
        """The format a file name asks for (`impact.graphml` → GRAPHML), if any."""
        try:
            return cls(path.suffix.lstrip(".").lower())
        except ValueError:
            return None


UPSTREAM_OF, DOWNSTREAM_OF = "UPSTREAM_OF", "DOWNSTREAM_OF"
CSV_COLUMNS = ("id", "kind", "display", "role", "distance", "certainty", "owners", "gaps")

# ---- answers as JSON-ready dicts ----------------------------------------------------------------


def node_dict(node: StoredNode) -> dict[str, Any]:
    return {
        "id": node.id,
        "kind": node.key.kind.value,
        "display": node.key.display,
        "key": node.key.fields,
        "props": node.props,
        "sources": list(node.sources),
        "first_seen": node.first_seen,
        "last_seen": node.last_seen,
    }


def edge_dict(edge: StoredEdge) -> dict[str, Any]:
    return {
        "source": edge.key.src.id,
        "kind": edge.key.kind.value,
        "target": edge.key.dst.id,
        "disc": edge.key.disc,
    }


def _hop_dict(hop: Hop) -> dict[str, Any]:
    return {
        **edge_dict(hop.edge),
        "direction": "forward" if hop.direction is Direction.OUT else "backward",
    }


def impact_dict(answer: ImpactAnswer) -> dict[str, Any]:
    return {
        "question": "impact",
        "start": node_dict(answer.start),
        "truncated": answer.truncated,
        "depth_reached": answer.depth_reached,
        "summary": {
            "total": len(answer.items),
            "by_kind": answer.by_kind,
            "by_certainty": answer.by_certainty,
            "by_owner": answer.by_owner,
            "kpis": answer.kpis,
            "unowned": answer.unowned,
        },
        "items": [
            {
                "node": node_dict(item.node),
                "distance": item.distance,
                "certainty": item.certainty.value,
                "owners": list(item.owners),
                "path": [_hop_dict(h) for h in item.path],
            }
            for item in answer.items
        ],
    }


def accountability_dict(answer: AccountabilityMap) -> dict[str, Any]:
    def related(items: list[Any]) -> list[dict[str, Any]]:
        return [
            {
                "node": node_dict(r.node),
                "distance": r.distance,
                "certainty": r.certainty.value,
                "owners": list(r.owners),
            }
            for r in items
        ]

    def links(items: list[Any]) -> list[dict[str, Any]]:
        return [{"owner": x.owner, "left": x.left, "assets": list(x.assets)} for x in items]

    return {
        "question": "accountability",
        "owner": node_dict(answer.owner),
        "teams": answer.teams,
        "members": answer.members,
        "owned": [
            {"node": node_dict(o.node), "ownership_type": o.ownership_type, "via": o.via}
            for o in answer.owned
        ],
        "kpis": related(answer.kpis),
        "upstream": related(answer.upstream),
        "downstream": related(answer.downstream),
        "upstream_owners": links(answer.upstream_owners),
        "downstream_owners": links(answer.downstream_owners),
        "gaps": [
            {
                "kind": g.kind.value,
                "asset": node_dict(g.asset),
                "related": node_dict(g.related) if g.related is not None else None,
                "detail": g.detail,
                "evidence": list(g.evidence),
            }
            for g in answer.gaps
        ],
        "truncated": answer.truncated,
    }


def _step_dict(step: TraceStep) -> dict[str, Any]:
    return {
        "step": step.kind.value,
        "node": node_dict(step.node),
        "distance": step.distance,
        "via": step.via,
        "edge": step.edge.value if step.edge is not None else None,
        "resolution": step.resolution.value,
        "time": step.time,
        "evidence": list(step.evidence),
        "owners": list(step.owners),
        "detail": step.detail,
    }


def trace_dict(trace: DecisionTrace) -> dict[str, Any]:
    return {
        "question": "decision_lineage",
        "start": node_dict(trace.start),
        "decision": _step_dict(trace.decision) if trace.decision is not None else None,
        "model_versions": [_step_dict(s) for s in trace.model_versions],
        "data": [_step_dict(s) for s in trace.data],
        "features": [_step_dict(s) for s in trace.features],
        "sources": trace.sources,
        "truncated": trace.truncated,
    }


def audit_dict(page: AuditPage) -> dict[str, Any]:
    return {
        "question": "audit_trail",
        "node": node_dict(page.node),
        "entries": [
            {
                "time": e.event_time,
                "type": str(e.entry_type),
                "summary": e.summary,
                "event_id": e.event_id,
                "source": e.source,
                "other_node_id": e.other_node_id,
                "edge_kind": e.edge_kind,
                "cursor": e.cursor,
            }
            for e in page.entries
        ],
        "next_cursor": page.next_cursor,
    }


# ---- answers as graphs -------------------------------------------------------------------------


def _add_node(graph: nx.MultiDiGraph, node_id: str, **attrs: Any) -> None:
    """Add (or enrich) a node; attributes must be scalars for GraphML, so lists are joined."""
    key = NodeKey.from_id(node_id)
    flat = {k: ";".join(v) if isinstance(v, (list, tuple)) else v for k, v in attrs.items()}
    if node_id not in graph:
        graph.add_node(node_id, kind=key.kind.value, display=key.display)
    graph.nodes[node_id].update({k: v for k, v in flat.items() if v is not None})


def _add_edge(graph: nx.MultiDiGraph, src: str, kind: str, dst: str, disc: str = "", **attrs: Any):
    key = f"{kind}|{disc}"
    if not graph.has_edge(src, dst, key):
        graph.add_edge(src, dst, key=key, kind=kind, disc=disc, **attrs)


def _edge_certainty(kind: str) -> str:
    certainty = EdgeKind(kind).spec.certainty
    return certainty.value if certainty is not None else "structural"


def impact_graph(answer: ImpactAnswer | dict[str, Any]) -> nx.MultiDiGraph:
    """The start, everything impacted, and the edges of each one's explaining path; from the
    answer or its JSON form (`impact_dict`, or the same read from a service over GraphQL)."""
    import networkx as nx

    doc = answer if isinstance(answer, dict) else impact_dict(answer)
    start = doc["start"]
    graph = nx.MultiDiGraph(question="impact", start=start["id"], truncated=doc["truncated"])
    _add_node(graph, start["id"], role="start", distance=0, certainty="exact")
    for item in doc["items"]:
        _add_node(
            graph,
            item["node"]["id"],
            role="impacted",
            distance=item["distance"],
            certainty=item["certainty"],
            owners=list(item["owners"]),
        )
    for item in doc["items"]:
        for at, hop in enumerate(item["path"]):
            src, dst = hop["source"], hop["target"]
            ends = (src, dst) if hop["direction"] == "forward" else (dst, src)
            for distance, end in enumerate(ends, start=at):
                if end not in graph:  # a start column, or left out of the answer by a filter
                    _add_node(graph, end, role="via", distance=distance)
            _add_edge(
                graph, src, hop["kind"], dst, hop["disc"], certainty=_edge_certainty(hop["kind"])
            )
    if start["kind"] == NodeKind.DATASET.value:  # its columns started the walk with it
        for node_id, attrs in list(graph.nodes(data=True)):
            key = NodeKey.from_id(node_id)
            if attrs["role"] == "via" and key.kind is NodeKind.COLUMN and attrs["distance"] == 0:
                attrs["role"] = "start_column"
                _add_edge(graph, start["id"], "HAS_COLUMN", node_id, certainty="structural")
    return graph


def accountability_graph(answer: AccountabilityMap | dict[str, Any]) -> nx.MultiDiGraph:
    """The owner, their teams and members, what they own, what they depend on and what depends
    on them, the other owners of those, and the gaps (as a node attribute); from the map or its
    JSON form (`accountability_dict`, or the same read from a service over GraphQL)."""
    import networkx as nx

    doc = answer if isinstance(answer, dict) else accountability_dict(answer)
    me = doc["owner"]["id"]
    graph = nx.MultiDiGraph(question="accountability", start=me, truncated=doc["truncated"])
    _add_node(graph, me, role="owner", distance=0)

    def owner_id(name: str) -> str:
        return NodeKey.of(NodeKind.OWNER, owner_id=name).id

    for team in doc["teams"]:
        _add_node(graph, owner_id(team), role="team", distance=0)
        _add_edge(graph, me, "MEMBER_OF", owner_id(team))
    for member in doc["members"]:
        _add_node(graph, owner_id(member), role="member", distance=0)
        _add_edge(graph, owner_id(member), "MEMBER_OF", me)
    for owned in doc["owned"]:
        node_id = owned["node"]["id"]
        _add_node(graph, node_id, role="owned", distance=0, certainty="exact")
        via = owner_id(owned["via"])
        if via not in graph:
            _add_node(graph, via, role="team", distance=0)
        _add_edge(graph, via, "OWNS", node_id, owned["ownership_type"])
    for side, items, relation in (
        ("upstream", doc["upstream"], UPSTREAM_OF),
        ("downstream", doc["downstream"], DOWNSTREAM_OF),
        ("downstream", doc["kpis"], DOWNSTREAM_OF),
    ):
        for r in items:
            node_id = r["node"]["id"]
            if node_id in graph and graph.nodes[node_id]["role"] == "owned":
                continue  # an owned KPI is drawn as owned
            role = "kpi" if r["node"]["kind"] == NodeKind.KPI.value else side
            sign = -1 if side == "upstream" else 1
            _add_node(
                graph,
                node_id,
                role=role,
                distance=sign * r["distance"],
                certainty=r["certainty"],
                owners=list(r["owners"]),
            )
            src, dst = (node_id, me) if relation == UPSTREAM_OF else (me, node_id)
            _add_edge(graph, src, relation, dst, certainty=r["certainty"], derived=True)
    for role, links in (
        ("upstream_owner", doc["upstream_owners"]),
        ("downstream_owner", doc["downstream_owners"]),
    ):
        for link in links:
            other = owner_id(link["owner"])
            # drawn one column beyond the assets of theirs the chain runs through
            at = [graph.nodes[a].get("distance", 0) for a in link["assets"] if a in graph] or [0]
            beyond = min(at) - 1 if role == "upstream_owner" else max(at) + 1
            if other not in graph:
                _add_node(graph, other, role=role, left=link["left"], distance=beyond)
            for asset in link["assets"]:
                _add_edge(graph, other, "OWNS", asset)
    gaps: dict[str, list[str]] = {}
    for gap in doc["gaps"]:
        asset = gap["asset"]["id"]
        gaps.setdefault(asset, []).append(gap["kind"])
        if asset not in graph:
            _add_node(graph, asset, role="gap")
    for node_id, kinds in gaps.items():
        graph.nodes[node_id]["gaps"] = ";".join(sorted(set(kinds)))
    return graph


# ---- writers -----------------------------------------------------------------------------------


def to_graphml(graph: nx.MultiDiGraph) -> bytes:
    import networkx as nx

    out = io.BytesIO()
    nx.write_graphml(graph, out, named_key_ids=True)
    return out.getvalue()


def to_json(graph: nx.MultiDiGraph) -> str:
    """{question, start, truncated, nodes: [{id, kind, display, …}], edges: [{source, target,
    kind, disc, …}]}, nodes and edges sorted."""
    nodes = [{"id": n, **attrs} for n, attrs in sorted(graph.nodes(data=True))]
    edges = sorted(
        ({"source": s, "target": t, **attrs} for s, t, attrs in graph.edges(data=True)),
        key=lambda e: (e["source"], e["kind"], e["target"], e["disc"]),
    )
    doc = {**graph.graph, "nodes": nodes, "edges": edges}
    return json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def to_csv(graph: nx.MultiDiGraph) -> str:
    """One row per node (the list a report wants); the edges are in the other formats."""
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()

    def order(node: tuple[str, dict[str, Any]]) -> tuple[int, bool, str]:
        node_id, attrs = node
        return (attrs.get("distance", 0), attrs.get("role") not in ("start", "owner"), node_id)

    rows = sorted(graph.nodes(data=True), key=order)
    for node_id, attrs in rows:
        writer.writerow({"id": node_id, **{c: attrs.get(c, "") for c in CSV_COLUMNS[1:]}})
    return out.getvalue()


def _dot_quote(text: object) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


KIND_COLOURS: dict[str, str] = {
    "Dataset": "#4e79a7",
    "Column": "#a0cbe8",
    "DatasetVersion": "#86bcb6",
    "Job": "#f28e2b",
    "Run": "#ffbe7d",
    "FeatureView": "#59a14f",
    "Feature": "#8cd17d",
    "FeatureService": "#b6992d",
    "Model": "#e15759",
    "ModelVersion": "#ff9d9a",
    "DecisionPoint": "#79706e",
    "Decision": "#bab0ac",
    "KPI": "#d37295",
    "Exposure": "#fabfd2",
    "Owner": "#b07aa1",
    "Check": "#d4a6c8",
    "Entity": "#9d7660",
}


def to_dot(graph: nx.MultiDiGraph) -> str:
    """Graphviz text: nodes filled by kind, a possible reach dashed, the start drawn bold."""
    lines = [
        f"digraph {_dot_quote(graph.graph.get('question', 'lineage'))} {{",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica"];',
    ]
    for node_id, attrs in sorted(graph.nodes(data=True)):
        style = "rounded,filled" + (",dashed" if attrs.get("certainty") == "possible" else "")
        style += ",bold" if attrs.get("role") in ("start", "owner") else ""
        label = f"{attrs['kind']}\n{attrs['display']}"
        colour = "#ff4d4d" if attrs.get("gaps") else "black"
        lines.append(
            f"  {_dot_quote(node_id)} [label={_dot_quote(label)}, "
            f"fillcolor={_dot_quote(KIND_COLOURS.get(attrs['kind'], '#dddddd'))}, "
            f"style={_dot_quote(style)}, color={_dot_quote(colour)}];"
        )
    for src, dst, attrs in sorted(graph.edges(data=True), key=lambda e: (e[0], e[1], e[2]["kind"])):
        label = attrs["kind"] + (f" ({attrs['disc']})" if attrs.get("disc") else "")
        style = "dashed" if attrs.get("certainty") == "possible" else "solid"
        lines.append(
            f"  {_dot_quote(src)} -> {_dot_quote(dst)} [label={_dot_quote(label)}, style={style}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def drawn_edges(graph: nx.MultiDiGraph) -> list[tuple[str, str, bool]]:
    """(from, to, possible) of each arrow a picture draws. An impact picture draws the way the
    walk went, from the start outwards, so an edge walked against its stored direction (a
    column's HAS_COLUMN back to its table, a DatasetVersion's HAS_VERSION) points away from the
    start, not back at it; the other exports keep edges as stored."""
    impact = graph.graph.get("question") == "impact"
    drawn = []
    for src, dst, attrs in graph.edges(data=True):
        back = graph.nodes[src].get("distance", 0) > graph.nodes[dst].get("distance", 0)
        ends = (dst, src) if impact and back else (src, dst)
        drawn.append((*ends, attrs.get("certainty") == "possible"))
    return drawn


def to_png(
    graph: nx.MultiDiGraph, *, width: int = 1600, height: int = 1000, dpi: int = 100
) -> bytes:
    """A picture of `width` by `height` pixels: columns by distance (upstream left, downstream
    right), nodes coloured by kind, possible reach dashed, arrows as `drawn_edges` says."""
    import matplotlib

    matplotlib.use("Agg")  # no display: render to a buffer
    import matplotlib.pyplot as plt
    import networkx as nx

    simple = nx.DiGraph()
    for node_id, attrs in graph.nodes(data=True):
        simple.add_node(node_id, layer=int(attrs.get("distance", 0)))
    for src, dst, possible in drawn_edges(graph):
        simple.add_edge(src, dst, possible=possible)
    fig = plt.figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    try:
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        if simple.number_of_nodes():
            pos = nx.multipartite_layout(simple, subset_key="layer")
            colours = [KIND_COLOURS.get(graph.nodes[n]["kind"], "#dddddd") for n in simple]
            solid = [(s, t) for s, t, p in simple.edges(data="possible") if not p]
            dashed = [(s, t) for s, t, p in simple.edges(data="possible") if p]
            nx.draw_networkx_edges(simple, pos, edgelist=solid, ax=ax, arrows=True)
            nx.draw_networkx_edges(simple, pos, edgelist=dashed, ax=ax, arrows=True, style="dashed")
            nx.draw_networkx_nodes(simple, pos, ax=ax, node_color=colours, node_size=300)
            labels = {n: graph.nodes[n]["display"] for n in simple}
            nx.draw_networkx_labels(simple, pos, labels, ax=ax, font_size=7)
            ax.margins(0.15)
        out = io.BytesIO()
        fig.savefig(out, format="png", dpi=dpi)  # no tight bbox: the size asked for, exactly
        return out.getvalue()
    finally:
        plt.close(fig)


def render(graph: nx.MultiDiGraph, fmt: ExportFormat) -> bytes:
    match fmt:
        case ExportFormat.GRAPHML:
            return to_graphml(graph)
        case ExportFormat.JSON:
            return to_json(graph).encode()
        case ExportFormat.CSV:
            return to_csv(graph).encode()
        case ExportFormat.DOT:
            return to_dot(graph).encode()
        case ExportFormat.PNG:
            return to_png(graph)
