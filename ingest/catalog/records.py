"""The shapes of catalog, deployment and monitoring data, validated once (pydantic).

The same models validate what a file says (at sync time) and what a logged record says (in the
mapper), so a record in the log is always in its canonical form: owner ids normalised, times in
the graph's one form, columns and datasets as {namespace, name[, field]}.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from lineage_kg.graph.model import NodeKey, NodeKind
from lineage_kg.graph.naming import column_key, dataset_key, owner_id
from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.ingest.identity import column_from_display, dataset_from_display
from lineage_kg.ingest.source_sync import SyncReport

Row = tuple[str, Any]  # (where: "deployments.csv line 3", the item as read)


def _time(value: Any) -> Any:
    # YAML reads unquoted timestamps as datetimes and plain dates as dates
    if isinstance(value, datetime):
        return canonical_time(value)
    if isinstance(value, date):
        return canonical_time(datetime.combine(value, time(), tzinfo=UTC))
    if isinstance(value, str):
        return canonical_time(value)
    return value


def _owner(value: Any) -> Any:
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("empty owner id")
        return owner_id(value)
    return value


def _owners(value: Any) -> Any:
    return [_owner(v) for v in value] if isinstance(value, list) else value


def _column(value: Any) -> Any:
    """`ns/name#field` or {namespace, name, field} → the canonical {namespace, name, field}."""
    if isinstance(value, str):
        key = column_from_display(value)
    elif isinstance(value, dict) and set(value) == {"namespace", "name", "field"}:
        key = column_key(dataset_key(value["namespace"], value["name"]), value["field"])
    else:
        raise ValueError("a column is `namespace/name#field` or {namespace, name, field}")
    return key.fields


def _dataset(value: Any) -> Any:
    """`ns/name` or {namespace, name} → the canonical {namespace, name}."""
    if isinstance(value, str):
        key = dataset_from_display(value)
    elif isinstance(value, dict) and set(value) == {"namespace", "name"}:
        key = dataset_key(value["namespace"], value["name"])
    else:
        raise ValueError("a dataset is `namespace/name` or {namespace, name}")
    return key.fields


def canonical_as_of(value: Any) -> str:
    """A time as a file may write it (ISO text, a YAML datetime or date) → canonical."""
    canonical = _time(value)
    if not isinstance(canonical, str):
        raise TypeError(f"not a time: {value!r}")
    return canonical


Time = Annotated[str, BeforeValidator(_time)]
OwnerId = Annotated[str, BeforeValidator(_owner)]
OwnerIds = Annotated[list[str], BeforeValidator(_owners)]
ColumnRef = Annotated[dict[str, str], BeforeValidator(_column)]
DatasetRef = Annotated[dict[str, str], BeforeValidator(_dataset)]
Name = Annotated[str, Field(min_length=1)]


class _Catalog(BaseModel):
    """Hand-written catalog entries: a misspelt field is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class _Feed(BaseModel):
    """Machine-written records (deployments, monitoring): extra fields are the tool's own."""

    model_config = ConfigDict(extra="ignore", frozen=True)


# ---- owners and teams -------------------------------------------------------------------------


class Person(_Catalog):
    id: OwnerId  # the person's email
    name: str | None = None
    aliases: OwnerIds = Field(default_factory=list)  # other emails, handles: "a.smith"
    teams: OwnerIds = Field(default_factory=list)
    on_call: bool = False
    left: bool = False  # gone from the organisation
    left_at: Time | None = None


class Team(_Catalog):
    id: OwnerId  # e.g. "team:ml-risk"
    name: str | None = None
    email: OwnerId | None = None  # an owner naming the team's email is the team
    aliases: OwnerIds = Field(default_factory=list)
    members: OwnerIds = Field(default_factory=list)
    parent: OwnerId | None = None
    on_call: str | None = None  # the on-call rotation, e.g. "pagerduty:ml-risk-primary"


# Kinds a pattern matches when it names none: the assets (things someone owns), as
# queries/accountability.py ASSET_KINDS has them.
ASSET_KINDS = [
    NodeKind.DATASET,
    NodeKind.JOB,
    NodeKind.FEATURE_VIEW,
    NodeKind.FEATURE_SERVICE,
    NodeKind.MODEL,
    NodeKind.DECISION_POINT,
    NodeKind.KPI,
    NodeKind.EXPOSURE,
]


class Assignment(_Catalog):
    """CODEOWNERS-style: who owns the nodes whose display name matches `pattern` (fnmatch)."""

    pattern: Name
    kinds: list[NodeKind] = Field(default_factory=lambda: list(ASSET_KINDS), min_length=1)
    owners: Annotated[OwnerIds, Field(min_length=1)]
    type: Name = "owner"  # the OWNS discriminator: technical, business, steward, …


# ---- KPIs and decision points -------------------------------------------------------------------


class Kpi(_Catalog):
    name: Name
    definition: str | None = None
    owner: OwnerId | None = None  # business owner
    unit: str | None = None
    direction: Literal["up", "down"] | None = None  # which way is good
    fed_by: list[ColumnRef] = Field(default_factory=list)  # columns computing it
    metrics: list[Name] = Field(default_factory=list)  # other KPIs (dbt metrics) it derives from
    datasets: list[DatasetRef] = Field(default_factory=list)  # datasets it is read from


class DecisionPointEntry(_Catalog):
    name: Name
    description: str | None = None
    owner: OwnerId | None = None  # business owner
    drives: list[Name] = Field(default_factory=list)  # KPI names


# ---- logged records of the catalog ------------------------------------------------------------


class OwnershipRecord(_Catalog):
    """Owners of one asset, found by an assignment pattern at sync time."""

    asset: Name  # the node id
    owners: OwnerIds
    type: Name
    pattern: Name  # the evidence: which assignment matched

    def asset_key(self) -> NodeKey:
        return NodeKey.from_id(self.asset)


# ---- deployments ------------------------------------------------------------------------------

Mode = Literal["champion", "canary", "shadow"]


class Deployment(_Feed):
    registry: Name = "mlflow"
    model: Name
    version: Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, int) else v)]
    decision_point: Name
    mode: Mode = "champion"
    traffic: float = Field(1.0, ge=0, le=1)  # share of the decisions it makes
    valid_from: Time
    valid_until: Time | None = None

    def model_version(self) -> NodeKey:
        return NodeKey.of(
            NodeKind.MODEL_VERSION, registry=self.registry, name=self.model, version=self.version
        )

    def decision_point_key(self) -> NodeKey:
        return NodeKey.of(NodeKind.DECISION_POINT, name=self.decision_point)

    @property
    def event_time(self) -> str:
        """A deployment speaks of its start; a record ending one, of its end."""
        return self.valid_until or self.valid_from


# ---- monitoring -------------------------------------------------------------------------------


class ModelSubject(_Catalog):
    registry: Name = "mlflow"
    model: Name
    version: Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, int) else v)]

    def key(self) -> NodeKey:
        return NodeKey.of(
            NodeKind.MODEL_VERSION, registry=self.registry, name=self.model, version=self.version
        )


class DecisionPointSubject(_Catalog):
    decision_point: Name

    def key(self) -> NodeKey:
        return NodeKey.of(NodeKind.DECISION_POINT, name=self.decision_point)


class DatasetSubject(_Catalog):
    dataset: DatasetRef

    def key(self) -> NodeKey:
        return NodeKey.of(NodeKind.DATASET, **self.dataset)


Status = Literal["pass", "warn", "fail"]


class CheckResult(_Feed):
    subject: ModelSubject | DecisionPointSubject | DatasetSubject
    check: Name  # psi_drift, auc, null_rate, …
    status: Annotated[Status, BeforeValidator(lambda v: v.lower() if isinstance(v, str) else v)]
    value: float | None = None
    threshold: float | None = None
    checked_at: Time


M = TypeVar("M", bound=BaseModel)


def parse_rows(model: type[M], rows: Iterable[Row], report: SyncReport) -> list[tuple[str, M]]:
    """The rows that are valid `model`s, with their places; the others skipped by name and
    field (a row read as an exception was unreadable)."""
    found: list[tuple[str, M]] = []
    for where, row in rows:
        if isinstance(row, Exception):
            report.skip(where, str(row))
            continue
        try:
            found.append((where, model.model_validate(row)))
        except ValidationError as exc:
            report.skip(where, describe(exc))
    return found


def validated(model: type[M], rows: Iterable[Row], report: SyncReport) -> list[M]:
    return [item for _, item in parse_rows(model, rows, report)]


def describe(error: ValidationError) -> str:
    """A pydantic error as one line naming each field: `traffic: Input should be ≤ 1; …`."""
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "record"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)
