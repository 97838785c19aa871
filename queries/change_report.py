"""The change check's report as JSON: what `lkg check-change --format json` prints, what its
Markdown and GitHub renderings are made from, and what GraphQL's `checkChange` answers — one
form for the local check and the service's."""

from __future__ import annotations

from typing import Any

from lineage_kg.graph.mutations import Direction
from lineage_kg.queries.change_check import Change, Impacted
from lineage_kg.queries.change_policy import GateResult
from lineage_kg.queries.traversal import Hop


def path_text(start: str, path: tuple[Hop, ...]) -> str:
    """`a#x -FEEDS-> b#y -DEPLOYED_TO-> point`."""
    parts = [start]
    for hop in path:
        far = hop.edge.key.dst if hop.direction is Direction.OUT else hop.edge.key.src
        arrow = (
            f"-{hop.edge.key.kind.value}->"
            if hop.direction is Direction.OUT
            else (f"<-{hop.edge.key.kind.value}-")
        )
        parts.append(f"{arrow} {far.display}")
    return " ".join(parts)


def _start(hop_path: tuple[Hop, ...]) -> str:
    first = hop_path[0]
    return (first.edge.key.src if first.direction is Direction.OUT else first.edge.key.dst).display


def to_json(result: GateResult) -> dict[str, Any]:
    r = result.report
    name = {c: n.key.display for c, n in r.changes}

    def change(c: Change) -> dict[str, Any]:
        return {"ref": name.get(c, c.ref), "kind": c.kind, "detail": c.detail, "file": c.file}

    def item(i: Impacted) -> dict[str, Any]:
        return {
            "id": i.node.id,
            "kind": i.node.key.kind.value,
            "display": i.node.key.display,
            "certainty": i.certainty.value,
            "distance": i.distance,
            "change": name[i.change],
            "path": path_text(_start(i.path), i.path),
        }

    return {
        "passed": not result.failed,
        "exit_code": result.exit_code,
        "at": r.at,
        "changes": [change(c) for c, _ in r.changes],
        "unresolved": [{**change(c), "why": why} for c, why in r.unresolved],
        "decision_points": [
            {
                "decision_point": d.decision_point.key.display,
                "model_version": d.model_version.key.display,
                "mode": d.mode,
                "certainty": d.certainty.value,
                "change": name[d.change],
                "path": path_text(_start(d.path), d.path),
            }
            for d in r.decisions
        ],
        "waived": [
            {
                "decision_point": d.decision_point.key.display,
                "change": name[d.change],
                "approved_by": a.approved_by,
                "reason": a.reason,
            }
            for d, a in result.waived
        ],
        "kpis": [item(k) for k in r.kpis],
        "model_versions": [{**item(m.item), "via": m.via} for m in r.models],
        "owners": [
            {"owner": o.owner_id, "left": o.left, "exact": o.exact, "assets": list(o.assets)}
            for o in r.owners
        ],
        "findings": [
            {
                "level": v.level,
                "finding": v.finding.value,
                "subject": v.subject,
                "message": v.message,
                "change": f"{v.change.ref}={v.change.kind}" if v.change is not None else None,
                "file": v.change.file if v.change is not None else "",
            }
            for v in result.verdicts
        ],
        "notes": result.notes,
        "impacted": [item(i) for i in r.items],
        "truncated": r.truncated,
    }
