"""Rules about controlled rollouts: canaries within their traffic limit, shadows deciding nothing.

The deployments judged are those open at the evaluation time (queries/governance/production.py).
"""

from __future__ import annotations

from lineage_kg.graph.sides.decisions import Filter
from lineage_kg.queries.assets import events
from lineage_kg.queries.deployments import SHADOW, declared_time
from lineage_kg.queries.governance.model import Context, Severity, Violation
from lineage_kg.queries.governance.production import deployment_mode, deployment_start, production

CANARY = "canary"
# decisions read per shadow deployment: enough to date the first and show a few as evidence
SHADOW_SAMPLE = 20


def canary_over_traffic_limit(
    ctx: Context, severity: Severity, max_traffic: float
) -> list[Violation]:
    """An open canary deployment whose declared traffic share (`traffic`, 0..1) is above
    `max_traffic`; since its window's start."""
    found = []
    for edge in production(ctx).open:
        traffic = edge.props.get("traffic")
        if deployment_mode(edge) != CANARY or not isinstance(traffic, int | float):
            continue
        if isinstance(traffic, bool) or traffic <= max_traffic:
            continue
        version, point = edge.key.src, edge.key.dst
        found.append(
            Violation(
                "canary_over_traffic_limit",
                severity,
                version.id,
                (point.id, version.id),
                events(edge),
                deployment_start(edge),
                f"canary {version.display} takes {traffic:.0%} of {point.display}'s traffic "
                f"(limit {max_traffic:.0%})",
                point.id,
            )
        )
    return found


def shadow_made_decisions(ctx: Context, severity: Severity) -> list[Violation]:
    """An open shadow deployment whose version made decisions at its decision point within the
    window (from its start to the evaluation time): decisions of the side table that name that
    version (observed; a decision naming an alias or nothing is resolved to serving versions,
    never to a shadow). Since the first such decision; evidence: the first decisions' events.
    Without a decisions table there is nothing to judge: no violations."""
    table = ctx.decisions
    if table is None:
        return []
    found = []
    for edge in production(ctx).open:
        if deployment_mode(edge) != SHADOW:
            continue
        version, point = edge.key.src, edge.key.dst
        registry, model, number = version.parts
        until = declared_time(edge, "valid_until")
        window = Filter(
            registry=registry,
            model=model,
            version=number,
            decision_point=point.parts[0],
            since=deployment_start(edge),
            until=min(until, ctx.at) if until else ctx.at,
        )
        rows = table.page(window, SHADOW_SAMPLE)
        if not rows:
            continue
        more = "" if len(rows) < SHADOW_SAMPLE else " or more"
        found.append(
            Violation(
                "shadow_made_decisions",
                severity,
                version.id,
                (point.id, version.id),
                tuple(sorted({*events(edge), *(r.event_id for r in rows)})),
                rows[0].timestamp,
                f"shadow {version.display} made {len(rows)}{more} decision(s) at "
                f"{point.display} since {rows[0].timestamp} (first: {rows[0].decision_id})",
                point.id,
            )
        )
    return found
