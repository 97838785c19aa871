"""dbt artifacts → `SourceRecord`s (source "dbt"): one per model, seed, snapshot, source,
semantic model, metric, exposure and group of the manifest, plus one per tested dataset and run
with its test results.

Bodies are self-contained and deterministic: whatever the mapper needs of other nodes (the
upstream datasets of a model, the column a metric's measure reads) is resolved here, so the
mapper sees only its record. A manifest synced twice appends nothing the second time. Record
times are the manifest's `generated_at`; test results take their tests' completion time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from lineage_kg.graph.naming import normalise_namespace
from lineage_kg.ingest.dbt.records import (
    Exposure,
    Group,
    Manifest,
    Metric,
    OwnerInfo,
    RelationNode,
    RunResult,
    RunResults,
    SemanticModel,
    TestNode,
)
from lineage_kg.ingest.identity import unquote_identifier
from lineage_kg.ingest.source_sync import SourceRecord, SyncReport

NODE, TEST_RESULTS, SEMANTIC_MODEL, METRIC, EXPOSURE, GROUP = (
    "dbt_node",
    "dbt_test_results",
    "dbt_semantic_model",
    "dbt_metric",
    "dbt_exposure",
    "dbt_group",
)
RELATION_TYPES = frozenset({"model", "seed", "snapshot", "source"})
# a measure or dimension expression that is just a column name
_IDENTIFIER = re.compile(r'^\s*(?:"(?P<quoted>[^"]+)"|(?P<plain>[A-Za-z_][A-Za-z0-9_$]*))\s*$')

M = TypeVar("M", bound=BaseModel)


def column_of(expr: str | None, default: str) -> str | None:
    """The column an expression is, if it is a bare (maybe quoted) column name."""
    match = _IDENTIFIER.match(expr if expr is not None else default)
    return (match["quoted"] or match["plain"]) if match else None


def relation_name(database: str, schema: str, table: str) -> str:
    """`database.schema.table`, unquoted, case kept: OpenLineage's (and dbt-ol's) dataset name."""
    return ".".join(unquote_identifier(part) for part in (database, schema, table) if part)


def owner_names(value: Any) -> list[str]:
    """`meta.owner`: a string or a list of strings."""
    values = value if isinstance(value, list) else [value]
    return sorted({v.strip() for v in values if isinstance(v, str) and v.strip()})


def scalar_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """`meta_<key>` props for the scalar entries (owner is an edge, not a prop)."""
    return {
        f"meta_{k}": v
        for k, v in sorted(meta.items())
        if k != "owner" and isinstance(v, (str, int, float, bool))
    }


def owner_body(owner: OwnerInfo) -> dict[str, str] | None:
    found = {k: v.strip() for k, v in (("name", owner.name), ("email", owner.email)) if v}
    return found if any(found.values()) else None


def _error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


class ManifestReader:
    """Validates the manifest's entries one by one and resolves what records need of each other."""

    def __init__(self, manifest: Manifest, namespace: str, report: SyncReport) -> None:
        self.manifest = manifest
        self.namespace = normalise_namespace(namespace)
        self.report = report
        self.time = manifest.metadata.generated_at
        self.project = manifest.metadata.project_name or "dbt"
        self.dialect = manifest.metadata.adapter_type
        self.relations = self._valid(
            {**manifest.nodes, **manifest.sources},
            RelationNode,
            lambda raw: raw.get("resource_type") in RELATION_TYPES,
        )
        self.semantic_models = self._valid(manifest.semantic_models, SemanticModel)
        self.metrics = self._valid(manifest.metrics, Metric)
        self.exposures = self._valid(manifest.exposures, Exposure)
        self.groups = {g.name: g for g in self._valid(manifest.groups, Group).values()}
        # measure name → (semantic model, measure): dbt requires measure names unique
        self.measures = {
            m.name: (sm, m) for sm in self.semantic_models.values() for m in sm.measures
        }

    def _valid(
        self, raw: dict[str, dict[str, Any]], model: type[M], keep: Callable[[dict], bool] = bool
    ) -> dict[str, M]:
        valid: dict[str, M] = {}
        for unique_id, entry in sorted(raw.items()):
            if not isinstance(entry, dict) or not keep(entry):
                continue
            try:
                valid[unique_id] = model.model_validate(entry)
            except ValidationError as exc:
                self.report.skip(unique_id, _error(exc))
        return valid

    def dataset(self, node: RelationNode) -> dict[str, str]:
        return {
            "namespace": self.namespace,
            "name": relation_name(node.database, node.schema_, node.table),
        }

    def identity(self, item: Any) -> str:
        """Which object a record describes: a definition changed back is news again."""
        return f"{self.namespace}|{item.unique_id}"

    def records(self) -> Iterator[SourceRecord]:
        for node in self.relations.values():
            self.report.count(f"{node.resource_type}s")
            yield SourceRecord(NODE, self.time, self.node_body(node), self.identity(node))
        for group in self.groups.values():
            self.report.count("groups")
            yield SourceRecord(GROUP, self.time, self.group_body(group), self.identity(group))
        for sm in self.semantic_models.values():
            self.report.count("semantic models")
            yield SourceRecord(
                SEMANTIC_MODEL, self.time, self.semantic_model_body(sm), self.identity(sm)
            )
        for metric in self.metrics.values():
            if (body := self.metric_body(metric)) is not None:
                self.report.count("metrics")
                yield SourceRecord(METRIC, self.time, body, self.identity(metric))
        for exposure in self.exposures.values():
            self.report.count("exposures")
            yield SourceRecord(
                EXPOSURE, self.time, self.exposure_body(exposure), self.identity(exposure)
            )

    def node_body(self, node: RelationNode) -> dict[str, Any]:
        meta = {**node.meta, **node.config.meta}
        upstream = []
        for parent in sorted(set(node.depends_on.nodes)):
            if (up := self.relations.get(parent)) is not None:
                upstream.append(
                    {"unique_id": parent, **self.dataset(up), "columns": sorted(up.columns)}
                )
        group = self.groups.get(node.group or node.config.group or "")
        return {
            "unique_id": node.unique_id,
            "resource_type": node.resource_type,
            "project": self.project,
            "dataset": self.dataset(node),
            "description": node.description or "",
            "materialization": node.config.materialized or "",
            "tags": sorted(set(node.tags)),
            "meta": scalar_meta(meta),
            "owners": owner_names(meta.get("owner")),
            "group": {"name": group.name, "owner": owner_body(group.owner)} if group else None,
            "columns": [
                {"name": c.name, "description": c.description or "", "data_type": c.data_type or ""}
                for c in sorted(node.columns.values(), key=lambda c: c.name)
            ],
            "upstream": upstream,
            "compiled_code": node.compiled_code or "",
            "dialect": self.dialect or "",
        }

    def group_body(self, group: Group) -> dict[str, Any]:
        return {
            "unique_id": group.unique_id,
            "project": self.project,
            "name": group.name,
            "description": group.description or "",
            "owner": owner_body(group.owner),
        }

    def semantic_model_body(self, sm: SemanticModel) -> dict[str, Any]:
        rel = sm.node_relation
        columns = {
            col
            for item in [*sm.entities, *sm.dimensions]
            if (col := column_of(item.expr, item.name))
        } | {col for m in sm.measures if (col := column_of(m.expr, m.name))}
        return {
            "unique_id": sm.unique_id,
            "name": sm.name,
            "description": sm.description or "",
            "dataset": {
                "namespace": self.namespace,
                "name": relation_name(rel.database, rel.schema_name, rel.alias),
            },
            "columns": sorted(columns),
            "measures": [m.name for m in sm.measures],
        }

    def metric_body(self, metric: Metric) -> dict[str, Any] | None:
        params = metric.type_params
        conversion = params.conversion_type_params
        measure_refs = [
            ("type_params.measure", params.measure),
            (
                "type_params.conversion_type_params.base_measure",
                conversion and conversion.base_measure,
            ),
            (
                "type_params.conversion_type_params.conversion_measure",
                conversion and conversion.conversion_measure,
            ),
        ]
        measures = []
        for field, ref in measure_refs:
            if ref is None:
                continue
            if ref.name not in self.measures:
                self.report.skip(metric.unique_id, f"{field}: unknown measure {ref.name!r}")
                return None
            sm, measure = self.measures[ref.name]
            rel = sm.node_relation
            measures.append(
                {
                    "name": measure.name,
                    "agg": measure.agg or "",
                    "expr": measure.expr if measure.expr is not None else measure.name,
                    "column": column_of(measure.expr, measure.name) or "",
                    "dataset": {
                        "namespace": self.namespace,
                        "name": relation_name(rel.database, rel.schema_name, rel.alias),
                    },
                }
            )
        input_refs = [
            ("type_params.numerator", params.numerator),
            ("type_params.denominator", params.denominator),
            *(("type_params.metrics", m) for m in params.metrics or []),
        ]
        known = {m.name for m in self.metrics.values()}
        inputs = set()
        for field, ref in input_refs:
            if ref is None:
                continue
            if ref.name not in known:
                self.report.skip(metric.unique_id, f"{field}: unknown metric {ref.name!r}")
                return None
            inputs.add(ref.name)
        meta = {**metric.meta, **metric.config.meta}
        unit = meta.get("unit")
        return {
            "unique_id": metric.unique_id,
            "project": self.project,
            "name": metric.name,
            "label": metric.label or "",
            "description": metric.description or "",
            "type": metric.type,
            "unit": unit if isinstance(unit, str) else "",
            "expr": params.expr or "",
            "measures": measures,
            "input_metrics": sorted(inputs),
            "dialect": self.dialect or "",
        }

    def exposure_body(self, exposure: Exposure) -> dict[str, Any]:
        parents = sorted(set(exposure.depends_on.nodes))
        names = {m.unique_id: m.name for m in self.metrics.values()}
        return {
            "unique_id": exposure.unique_id,
            "project": self.project,
            "name": exposure.name,
            "label": exposure.label or "",
            "type": exposure.type,
            "url": exposure.url or "",
            "maturity": exposure.maturity or "",
            "description": exposure.description or "",
            "tags": sorted(set(exposure.tags)),
            "owner": owner_body(exposure.owner),
            "datasets": [self.dataset(self.relations[p]) for p in parents if p in self.relations],
            "metrics": sorted(names[p] for p in parents if p in names),
        }

    def test_records(self, run_results: RunResults) -> Iterator[SourceRecord]:
        """One record per tested dataset: its tests' outcomes in this run."""
        tests = self._valid(
            self.manifest.nodes, TestNode, lambda raw: raw.get("resource_type") == "test"
        )
        per_dataset: dict[str, list[dict[str, Any]]] = {}
        times: dict[str, list[str]] = {}
        for index, raw in enumerate(run_results.results):
            if not str(raw.get("unique_id", "")).startswith("test."):
                continue
            try:
                result = RunResult.model_validate(raw)
            except ValidationError as exc:
                self.report.skip(f"run_results results[{index}]", _error(exc))
                continue
            if result.status == "skipped":
                continue  # not run: says nothing about the data
            self.report.count("test results")
            if (test := tests.get(result.unique_id)) is None:
                self.report.skip(result.unique_id, "unique_id: test not in the manifest")
                continue
            if (tested := self._tested(test)) is None:
                self.report.skip(
                    result.unique_id,
                    "attached_node/depends_on.nodes: no tested model, seed or source",
                )
                continue
            per_dataset.setdefault(tested, []).append(self._assertion(test, result))
            times.setdefault(tested, []).extend(
                t.completed_at for t in result.timing if t.completed_at
            )
        for tested, assertions in sorted(per_dataset.items()):
            yield SourceRecord(
                TEST_RESULTS,
                max(times[tested], default=run_results.metadata.generated_at),
                {
                    "unique_id": tested,
                    # each run is its own observation: a test failing again after passing
                    # must not be taken for the first failure's record
                    "invocation_id": run_results.metadata.invocation_id or "",
                    "dataset": self.dataset(self.relations[tested]),
                    "assertions": sorted(assertions, key=lambda a: a["unique_id"]),
                },
            )

    def _tested(self, test: TestNode) -> str | None:
        if test.attached_node in self.relations:
            return test.attached_node
        parents = [p for p in test.depends_on.nodes if p in self.relations]
        return parents[0] if len(set(parents)) == 1 else None

    @staticmethod
    def _assertion(test: TestNode, result: RunResult) -> dict[str, Any]:
        """Shaped like an OpenLineage dataQualityAssertions assertion (what dbt-ol sends)."""
        column = (test.test_metadata.kwargs.get("column_name") if test.test_metadata else None) or (
            test.column_name
        )
        return {
            "unique_id": test.unique_id,
            "assertion": test.test_metadata.name if test.test_metadata else test.name,
            "name": test.name,
            "column": column or "",
            "severity": (test.config.severity or "").lower(),
            "status": result.status,
            "success": result.status == "pass",
            "actual": "" if result.failures is None else str(result.failures),
            "message": result.message or "",
        }


def load_json(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise TypeError(f"{path}: not a JSON object")
    return data


def dbt_records(
    manifest: dict[str, Any],
    run_results: dict[str, Any] | None,
    namespace: str,
    report: SyncReport,
) -> list[SourceRecord]:
    """The records of one manifest (and its run's results); ValidationError if the top level
    of either artifact is not dbt's."""
    reader = ManifestReader(Manifest.model_validate(manifest), namespace, report)
    records = list(reader.records())
    if run_results is not None:
        records.extend(reader.test_records(RunResults.model_validate(run_results)))
    return records
