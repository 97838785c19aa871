"""What a governance rule answers (a `Violation`) and what every rule reads (a `Context`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from lineage_kg.graph.model import NodeKey
from lineage_kg.graph.store import GraphStore

if TYPE_CHECKING:
    from lineage_kg.graph.sides.decisions import DecisionTable


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 is the most severe: violations are listed most severe first."""
        return _RANK[self]

    def at_least(self, floor: Severity) -> bool:
        return self.rank <= floor.rank


_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass(frozen=True, slots=True)
class Violation:
    """One rule broken by one subject.

    `path`: node ids from the production end (a decision point) to the subject and, when there
    is one, the node that makes it a violation (`related`: the failing dataset version or check,
    the owner who left, the decision point a canary serves). `evidence`: the ids of the events
    that asserted the nodes and edges involved, sorted. `since`: when the violation began, from
    the graph's own times (a deployment window's start, a version first seen, an owner's
    `left_at`, a check's last passing result), canonical; None when the graph cannot say."""

    rule: str
    severity: Severity
    subject: str
    path: tuple[str, ...]
    evidence: tuple[str, ...]
    since: str | None
    detail: str
    related: str | None = None

    @property
    def subject_display(self) -> str:
        return NodeKey.from_id(self.subject).display

    @property
    def sort_key(self) -> tuple[int, str, str, str]:
        """Most severe first, then by rule, subject and related node: unique per violation."""
        return (self.severity.rank, self.rule, self.subject, self.related or "")


@dataclass(slots=True)
class Context:
    """What one evaluation reads, shared by its rules: the store, the time it is judged at
    (`as_of`, or now: `at`), the decisions side table when there is one, the walks' node bound,
    and reads several rules need, made once (queries/governance/production.py)."""

    store: GraphStore
    as_of: str | None
    at: str
    decisions: DecisionTable | None = None
    max_nodes: int = 100_000
    cache: dict[Any, Any] = field(default_factory=dict)
    truncated: bool = False  # a walk stopped at max_nodes, a trace at its depth (evaluate.py)


def later(*times: str | None) -> str | None:
    """The latest of the times given (canonical strings compare as times), ignoring None."""
    known = [t for t in times if t]
    return max(known) if known else None


def days_between(start: str, end: str) -> float:
    return (_parse(end) - _parse(start)).total_seconds() / 86400


def _parse(canonical: str) -> datetime:
    return datetime.fromisoformat(canonical.replace("Z", "+00:00"))
