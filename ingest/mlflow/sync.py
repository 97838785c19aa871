"""Incremental sync of an MLflow registry into SourceRecords (appended to the event log).

Every sync lists the registered models and the model versions (paged, cheap). Only a version
whose `last_updated_timestamp` is past its watermark costs more: its training run, the run's
experiment and (MLflow 3) its logged model are read. Watermarks and the last logged alias
snapshot of each model are kept in the log's sync state, written after the records they cover;
`full` ignores the watermarks. Bad data (a run that is gone, a dataset input with an unparseable
source) is skipped by name and its version left below the watermark, so it is tried again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from lineage_kg.ingest.eventlog import EventLog
from lineage_kg.ingest.mlflow.client import MlflowApiError, MlflowRestClient, NotFound
from lineage_kg.ingest.mlflow.mapping import place_input
from lineage_kg.ingest.mlflow.records import (
    AliasSnapshot,
    ApiModelVersion,
    ApiRegisteredModel,
    ApiRun,
    DatasetInputRecord,
    LoggedModel,
    ModelVersionRecord,
    RegisteredModelRecord,
    TrainingRunRecord,
    tag_map,
)
from lineage_kg.ingest.source_sync import SourceRecord, SourceState, SyncReport, run_source
from lineage_kg.ingest.sources import MLFLOW

CONTEXT_TAG = "mlflow.data.context"
# sync-state keys (per registry): {model: {version: last_updated_timestamp}}, {model: {alias: v}}
WATERMARKS = "version_watermarks:{registry}"
ALIASES = "aliases:{registry}"

Progress = Callable[[str], None]


@dataclass
class _Sync:
    client: MlflowRestClient
    registry: str
    report: SyncReport
    records: list[SourceRecord] = field(default_factory=list)
    runs: dict[str, ApiRun | None] = field(default_factory=dict)  # None: unreadable
    experiments: dict[str, str] = field(default_factory=dict)

    def add(self, kind: str, event_time: int, body: dict[str, object]) -> None:
        self.records.append(SourceRecord(kind, event_time, body))

    def version(self, v: ApiModelVersion) -> bool:
        """Records of one changed version (and its run, once per sync); False if bad data."""
        where = f"model {v.name} version {v.version}"
        ok, run = True, None
        if v.run_id:
            run, ok = self._run(v.run_id, where)
        logged = None
        if (model_id := v.logged_model_id) is not None:
            try:
                info = self.client.logged_model(model_id).info
                logged = LoggedModel(
                    model_id=info.model_id,
                    name=info.name,
                    status=info.status,
                    artifact_uri=info.artifact_uri,
                    model_type=info.model_type or None,
                    source_run_id=info.source_run_id,
                    created_ms=info.creation_timestamp_ms,
                )
            except MlflowApiError as exc:
                self.report.skip(where, f"model_id {model_id}: {exc}")
                ok = False
        record = ModelVersionRecord(
            registry=self.registry,
            name=v.name,
            version=v.version,
            status=v.status,
            stage=v.current_stage,
            description=v.description,
            tags=tag_map(v.tags),
            source=v.source,
            storage_location=v.storage_location,
            run_id=v.run_id,
            run_found=run is not None,
            logged_model=logged,
            created_ms=v.creation_timestamp,
            updated_ms=v.last_updated_timestamp,
        )
        self.add("model_version", v.last_updated_timestamp, record.body())
        return ok

    def _run(self, run_id: str, where: str) -> tuple[ApiRun | None, bool]:
        if run_id in self.runs:
            found = self.runs[run_id]
            return found, found is not None
        try:
            run = self.client.run(run_id)
        except NotFound:
            self.report.skip(where, f"run_id {run_id}: source run not found")
            self.runs[run_id] = None
            return None, False
        except MlflowApiError as exc:
            self.report.skip(where, f"run_id {run_id}: source run unreadable: {exc}")
            self.runs[run_id] = None
            return None, False
        self.runs[run_id] = run
        ok = self._training_run(run, where)
        return run, ok

    def _training_run(self, run: ApiRun, where: str) -> bool:
        info, ok = run.info, True
        inputs = []
        for item in run.inputs.dataset_inputs:
            ds = item.dataset
            try:
                place_input(ds.source_type, ds.source)
            except ValueError as exc:
                why = f"run {info.run_id} dataset input {ds.name!r} source: {exc}"
                self.report.skip(where, why)
                ok = False
                continue
            context = tag_map(item.tags).get(CONTEXT_TAG)
            inputs.append(
                DatasetInputRecord(
                    name=ds.name,
                    digest=ds.digest,
                    source_type=ds.source_type,
                    source=ds.source,
                    schema=ds.schema_,
                    context=context,
                )
            )
        inputs.sort(key=lambda i: (i.name, i.digest, i.context or "", i.source))
        if info.experiment_id not in self.experiments:
            self.experiments[info.experiment_id] = self.client.experiment(info.experiment_id).name
        record = TrainingRunRecord(
            run_id=info.run_id,
            run_name=info.run_name,
            experiment_id=info.experiment_id,
            experiment_name=self.experiments[info.experiment_id],
            status=info.status,
            lifecycle_stage=info.lifecycle_stage,
            start_ms=info.start_time,
            end_ms=info.end_time,
            params=tag_map(run.data.params),
            metrics={m.key: m.value for m in run.data.metrics if isinstance(m.value, float)},
            tags=tag_map(run.data.tags),
            inputs=inputs,
        )
        at = info.end_time or info.start_time or 0
        self.add("training_run", at, record.body())
        return ok

    def aliases(self, m: ApiRegisteredModel, previous: dict[str, str], observed_ms: int) -> None:
        current = {a.alias: a.version for a in m.aliases}
        snapshot = AliasSnapshot(
            registry=self.registry,
            model=m.name,
            aliases=dict(sorted(current.items())),
            removed=sorted(set(previous) - set(current)),
            observed_ms=observed_ms,
        )
        self.add("aliases", observed_ms, snapshot.body())


class MlflowSource:
    """The registry behind `client` as a source (ingest/source_sync.py): registered models,
    changed versions with their training runs, alias changes. Its watermarks and alias
    snapshots are kept in the log's state and moved only once the records are durable."""

    name, batch = MLFLOW, 500

    def __init__(
        self,
        client: MlflowRestClient,
        *,
        registry: str = "mlflow",
        full: bool = False,
        observed_ms: int | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.client, self.registry, self.full = client, registry, full
        self.observed_ms = observed_ms if observed_ms is not None else int(time.time() * 1000)
        self.say = progress or (lambda _: None)
        self.marks_key = WATERMARKS.format(registry=registry)
        self.aliases_key = ALIASES.format(registry=registry)
        self.marks: dict[str, dict[str, int]] = {}
        self.alias_state: dict[str, dict[str, str]] = {}
        self.start_requests = client.requests

    def records(self, report: SyncReport, state: SourceState) -> list[SourceRecord]:
        client, registry, say = self.client, self.registry, self.say
        sync = _Sync(client, registry, report)
        self.marks = {} if self.full else _state(state, self.marks_key)
        self.alias_state = _state(state, self.aliases_key)
        marks, alias_state = self.marks, self.alias_state

        say("listing registered models")
        models = list(client.registered_models())
        report.count("registered models", len(models))
        for m in models:
            record = RegisteredModelRecord(
                registry=registry,
                name=m.name,
                description=m.description,
                tags=tag_map(m.tags),
                created_ms=m.creation_timestamp,
                updated_ms=m.last_updated_timestamp,
            )
            sync.add("registered_model", m.last_updated_timestamp, record.body())
            current = {a.alias: a.version for a in m.aliases}
            if current != alias_state.get(m.name, {}):
                sync.aliases(m, alias_state.get(m.name, {}), self.observed_ms)
                alias_state[m.name] = current
                report.count("alias changes")

        say("listing model versions")
        versions = list(client.model_versions())
        report.count("model versions", len(versions))
        for v in versions:
            if v.last_updated_timestamp <= marks.get(v.name, {}).get(v.version, -1):
                continue
            say(f"reading {v.name} version {v.version}")
            report.count("model versions changed")
            if sync.version(v):
                marks.setdefault(v.name, {})[v.version] = v.last_updated_timestamp
        report.count("training runs read", sum(r is not None for r in sync.runs.values()))
        return sync.records

    def committed(self, report: SyncReport, state: SourceState) -> None:
        # only now: the records these cursors cover are durable
        state.set(self.marks_key, json.dumps(self.marks, sort_keys=True))
        state.set(self.aliases_key, json.dumps(self.alias_state, sort_keys=True))
        report.count("requests", self.client.requests - self.start_requests)


def sync_mlflow(
    client: MlflowRestClient,
    log: EventLog,
    *,
    registry: str = "mlflow",
    full: bool = False,
    observed_ms: int | None = None,
    progress: Progress | None = None,
) -> SyncReport:
    """Read the registry behind `client` into `log`; the report counts requests and objects."""
    source = MlflowSource(
        client, registry=registry, full=full, observed_ms=observed_ms, progress=progress
    )
    return run_source(log, source)


def _state(state: SourceState, key: str) -> dict[str, dict[str, object]]:
    value = state.get(key)
    return json.loads(value) if value else {}
