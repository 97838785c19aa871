"""The catalog files of an estate (`lkg sync catalog owners.yaml kpis.yaml`, docs/sources/
catalogs.md): its teams and people (each person a member of one team); one KPI per pipeline fed
by two of its marts columns, owned by the pipeline's team; one decision point per model driving
its pipeline's KPI, owned by the model's owner."""

from __future__ import annotations

from typing import Any

from benchmarks.synthetic.src_models import Estate, iso


def owners_doc(estate: Estate) -> dict[str, Any]:
    plan = estate.plan
    return {
        "as_of": iso(estate.catalog_as_of),
        "teams": [
            {
                "id": team,
                "name": team.removeprefix("team:").replace("-", " ").title(),
                "email": f"{team.removeprefix('team:')}@example.com",
                "on_call": f"pagerduty:{team.removeprefix('team:')}-primary",
            }
            for team in plan.teams
        ],
        "people": [
            {
                "id": email,
                "name": email.split("@")[0].replace(".", " ").title(),
                "teams": [team],
                **({"on_call": True} if i == 0 else {}),
            }
            for team in plan.teams
            for i, email in enumerate(plan.people[team])
        ],
    }


def kpis_doc(estate: Estate) -> dict[str, Any]:
    plan = estate.plan
    marts: dict[int, list[Any]] = {}
    for table in plan.layer("marts"):
        marts.setdefault(table.pipeline, []).append(table)
    kpis = []
    for model in estate.models:
        fed_by = [f"{t.qualified}#{t.columns[0]}" for t in marts[model.pipeline][:2]]
        kpis.append(
            {
                "name": model.kpi,
                "definition": f"A business outcome computed from pipeline {model.prefix}'s marts.",
                "owner": model.team,
                "unit": "%",
                "direction": "up",
                "fed_by": fed_by,
                "datasets": sorted({c.rpartition("#")[0] for c in fed_by}),
            }
        )
    points = [
        {
            "name": model.decision_point,
            "description": f"Decided in real time by {model.name}.",
            "owner": model.owner,
            "drives": [model.kpi],
        }
        for model in estate.models
    ]
    return {"as_of": iso(estate.catalog_as_of), "kpis": kpis, "decision_points": points}
