"""Which mapper turns a logged event of each source into graph mutations, and which side
projections (tables kept beside the graph) follow the log too.

Each source's package has a `mapping` module with `map_entry(entry: LogEntry) -> MutationBatch`,
imported on first use so a service that never sees a source never loads its code.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Protocol

from lineage_kg.graph.mutations import MutationBatch
from lineage_kg.graph.store import GraphStore
from lineage_kg.ingest.eventlog import EventLog, LogEntry
from lineage_kg.ingest.intake import OPENLINEAGE
from lineage_kg.ingest.projector import Mapper

MLFLOW = "mlflow"
FEAST = "feast"
DBT = "dbt"
CATALOG = "catalog"  # owners, teams, KPIs, decision points (YAML catalog files)
DEPLOYMENT = "deployment"  # which model version serves which decision point, from when
MONITORING = "monitoring"  # drift and performance check results
DECISIONS = "decisions"  # decision logs (batched)

# source → the module holding its map_entry
MAPPING_MODULES: dict[str, str] = {
    OPENLINEAGE: "lineage_kg.ingest.openlineage.mapping",
    MLFLOW: "lineage_kg.ingest.mlflow.mapping",
    FEAST: "lineage_kg.ingest.feast.mapping",
    DBT: "lineage_kg.ingest.dbt.mapping",
    CATALOG: "lineage_kg.ingest.catalog.mapping",
    DEPLOYMENT: "lineage_kg.ingest.catalog.mapping",
    MONITORING: "lineage_kg.ingest.catalog.mapping",
    DECISIONS: "lineage_kg.ingest.decisions.mapping",
}


def _lazy(module: str) -> Mapper:
    def mapper(entry: LogEntry) -> MutationBatch:
        return importlib.import_module(module).map_entry(entry)  # type: ignore[no-any-return]

    return mapper


def default_mappers() -> dict[str, Mapper]:
    return {source: _lazy(module) for source, module in MAPPING_MODULES.items()}


class SideProjection(Protocol):
    """A table kept beside the graph (e.g. the decisions), following the log on its own
    checkpoint: the projector calls `catch_up` after each batch it applied; it must be
    idempotent and read the log itself from where it stopped (it may be behind the graph)."""

    def catch_up(self, log: EventLog, store: GraphStore, upto: int) -> None: ...

    def close(self) -> None: ...


def side_projections(data_dir: Path) -> list[SideProjection]:
    """The side projections of a service keeping its files in `data_dir`."""
    from lineage_kg.ingest.decisions.projection import DecisionProjection
    from lineage_kg.ingest.notifications.projection import ChangeProjection

    # the changes to tell owners of (issue 20): decision logs bring none, not mapped twice
    changing = {s: m for s, m in default_mappers().items() if s != DECISIONS}
    return [DecisionProjection.at(data_dir), ChangeProjection.at(data_dir, changing)]
