"""KPIs and decision points of a catalog → kpi and decision_point record bodies.

Owners are written under their canonical ids (an alias in `owner:` names the person it is an
alias of). A KPI or decision point defined twice keeps its first definition.
"""

from __future__ import annotations

from typing import Any, TypeVar

from lineage_kg.ingest.catalog.owners import Aliases
from lineage_kg.ingest.catalog.records import DecisionPointEntry, Kpi, Row, validated
from lineage_kg.ingest.source_sync import SyncReport

T = TypeVar("T", Kpi, DecisionPointEntry)


def _unique(items: list[T], what: str, report: SyncReport) -> list[T]:
    seen: dict[str, T] = {}
    for item in items:
        if item.name in seen:
            report.skip(f"{what} {item.name}", "name: defined twice (the first one is kept)")
        else:
            seen[item.name] = item
    return list(seen.values())


def catalog_kpis(
    kpi_rows: list[Row], decision_point_rows: list[Row], canon: Aliases, report: SyncReport
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The kpi and decision_point record bodies to log."""
    kpis = _unique(validated(Kpi, kpi_rows, report), "kpi", report)
    points = _unique(validated(DecisionPointEntry, decision_point_rows, report), "decision point",
                     report)  # fmt: skip
    report.count("KPIs", len(kpis))
    report.count("decision points", len(points))
    return (
        [_owned(k, canon) for k in kpis],
        [_owned(d, canon) for d in points],
    )


def _owned(item: Kpi | DecisionPointEntry, canon: Aliases) -> dict[str, Any]:
    if item.owner is not None:
        item = item.model_copy(update={"owner": canon(item.owner)})
    return item.model_dump(mode="json", exclude_none=True)
