"""One logged decision, validated once at intake (HTTP or file), and the batch event it goes into.

A decision names the model that made it by version, by alias, or not at all (then the version
deployed at its decision point at its time made it); which version that was is worked out at
query time (queries/decisions.py), so late alias or deployment events still count.

The log keeps the normalised form (`Decision.stored()`): canonical time, features as
{project, view, name[, value]}. Readers downstream (mapping, projection) trust that form.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from lineage_kg.graph.model import NodeKey, NodeKind
from lineage_kg.ingest.eventlog import NewEvent
from lineage_kg.ingest.source_sync import record_time
from lineage_kg.ingest.strict_json import first_unfit

SOURCE = "decisions"  # ingest.sources.DECISIONS (not imported: sources imports the projector)
EVENT_KIND = "decision_batch"
MAX_BATCH = 10_000  # decisions per request / per logged event

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Scalar = str | int | float | bool


class FeatureUse(BaseModel):
    """A feature the decision used: `project/view:name`, or the three fields; value optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    project: Name
    view: Name
    name: Name
    value: Scalar | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_ref(cls, data: Any) -> Any:
        if isinstance(data, str):
            return parse_feature_ref(data)
        return data

    @property
    def key(self) -> NodeKey:
        return NodeKey.of(NodeKind.FEATURE, project=self.project, view=self.view, name=self.name)


def parse_feature_ref(ref: str) -> dict[str, str]:
    """`project/view:feature` → its fields; ValueError naming the expected form."""
    head, sep, name = ref.strip().rpartition(":")
    project, slash, view = head.partition("/")
    if not (sep and slash and project and view and name):
        raise ValueError(f"feature ref {ref!r} is not of the form project/view:feature")
    return {"project": project, "view": view, "name": name}


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    decision_id: Name
    timestamp: str = Field(description="ISO-8601 (naive = UTC) or epoch milliseconds")
    decision_point: Name
    model: Name
    version: Name | None = None
    alias: Name | None = None
    registry: Name = "mlflow"
    features: list[FeatureUse] = Field(default_factory=list, max_length=1000)
    outcome: JsonValue
    request_id: Name | None = None

    @field_validator("timestamp", mode="before")
    @classmethod
    def _canonical_time(cls, value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValueError("must be an ISO-8601 time or epoch milliseconds")  # noqa: TRY004
        return record_time(value)

    @field_validator("outcome")
    @classmethod
    def _has_outcome(cls, value: JsonValue) -> JsonValue:
        if value is None:
            raise ValueError("must not be null")
        return value

    @model_validator(mode="after")
    def _version_or_alias(self) -> Decision:
        if self.version is not None and self.alias is not None:
            raise ValueError("give version or alias, not both")
        return self

    def stored(self) -> dict[str, Any]:
        """The form kept in the log: no nulls, features without a value keep no value key."""
        return self.model_dump(exclude_none=True)


@dataclass(frozen=True, slots=True)
class ItemError:
    index: int  # position in the request or file (0-based)
    where: str  # "[3]" for a request, "decisions.csv:12" for a file
    errors: list[tuple[str, str]]  # (field path, message)

    def lines(self) -> list[str]:
        return [f"{self.where}.{path}: {message}" for path, message in self.errors]


@dataclass(slots=True)
class Validated:
    decisions: list[Decision] = field(default_factory=list)
    rejected: list[ItemError] = field(default_factory=list)


def _path(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".") or "$"


def validate_items(items: Iterable[tuple[int, str, Any]]) -> Validated:
    """Validate (index, where, item) triples; a decision id repeated in the batch is rejected
    after its first occurrence (one event must not contradict itself)."""
    out = Validated()
    first: dict[str, str] = {}
    for index, where, item in items:
        if isinstance(item, ItemError):
            out.rejected.append(item)
            continue
        if (unfit := first_unfit(item)) is not None:  # NaN, a 5,000-digit number, a key twice
            path, reason = unfit
            out.rejected.append(ItemError(index, where, [(path.removeprefix("$."), reason)]))
            continue
        try:
            decision = Decision.model_validate(item)
        except ValidationError as exc:
            errors = [
                (_path(tuple(e["loc"])), e["msg"].removeprefix("Value error, "))
                for e in exc.errors(include_url=False)
            ]
            out.rejected.append(ItemError(index, where, errors))
            continue
        if (seen := first.get(decision.decision_id)) is not None:
            out.rejected.append(
                ItemError(index, where, [("decision_id", f"repeats the one at {seen}")])
            )
            continue
        first[decision.decision_id] = where
        out.decisions.append(decision)
    return out


def decision_event(decisions: list[Decision]) -> NewEvent:
    """One log event for a batch; its time is the earliest decision's (what it speaks of)."""
    if not decisions:
        raise ValueError("a decision batch needs at least one decision")
    body = {"decisions": [d.stored() for d in decisions]}
    return NewEvent(SOURCE, EVENT_KIND, min(d.timestamp for d in decisions), body)
