"""Evaluate a policy over the graph, and page through the violations."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from lineage_kg.graph.errors import InvalidArgument
from lineage_kg.graph.store import GraphStore
from lineage_kg.graph.timefmt import now
from lineage_kg.queries.arguments import time_arg
from lineage_kg.queries.governance.model import Context, Severity, Violation
from lineage_kg.queries.governance.policy import DEFAULT_POLICY, Policy
from lineage_kg.queries.governance.rules import RULES

if TYPE_CHECKING:
    from lineage_kg.graph.sides.decisions import DecisionTable

MAX_FIRST = 1000


@dataclass(frozen=True, slots=True)
class Evaluation:
    violations: list[Violation]  # most severe first, then by rule, subject, related
    at: str  # the time judged: as_of, or the time of the evaluation
    rules: tuple[str, ...]  # the rules evaluated
    # a walk stopped at max_nodes, or a decision trace at its depth: violations beyond may be
    # missing
    truncated: bool


def evaluate_all(
    store: GraphStore,
    policy: Policy | None = None,
    as_of: str | datetime | None = None,
    *,
    decisions: DecisionTable | None = None,
    max_nodes: int = 100_000,
) -> Evaluation:
    """Every enabled rule of `policy` (the default policy: all rules) over the graph as it is,
    or as it was at `as_of` (edges as of then; node props as they are, as in every question)."""
    if max_nodes < 1:
        raise InvalidArgument("max_nodes must be positive")
    policy = policy or DEFAULT_POLICY
    when = time_arg("as_of", as_of)
    ctx = Context(store, when, when or now(), decisions, max_nodes)
    found: dict[tuple[int, str, str, str], Violation] = {}
    for config in policy.enabled:
        for violation in RULES[config.rule].run(ctx, config.severity, config.params):
            found.setdefault(violation.sort_key, violation)  # one per (rule, subject, related)
    ordered = [found[k] for k in sorted(found)]
    return Evaluation(ordered, ctx.at, tuple(c.rule for c in policy.enabled), ctx.truncated)


def evaluate(
    store: GraphStore,
    policy: Policy | None = None,
    as_of: str | datetime | None = None,
    *,
    decisions: DecisionTable | None = None,
    max_nodes: int = 100_000,
) -> list[Violation]:
    """The violations of `policy` (see `evaluate_all`)."""
    return evaluate_all(store, policy, as_of, decisions=decisions, max_nodes=max_nodes).violations


# ---- paging -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ViolationPage:
    items: list[Violation]
    end_cursor: str | None
    has_next_page: bool
    total: int  # violations at or above the severity asked, over all pages


def encode_cursor(violation: Violation) -> str:
    raw = json.dumps(list(violation.sort_key), separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[int, str, str, str]:
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidArgument(f"after: not a governance cursor: {cursor!r}") from None
    if (
        not isinstance(key, list)
        or len(key) != 4
        or not isinstance(key[0], int)
        or not all(isinstance(k, str) for k in key[1:])
    ):
        raise InvalidArgument(f"after: not a governance cursor: {cursor!r}")
    return key[0], key[1], key[2], key[3]


def severity_arg(value: str | Severity | None) -> Severity | None:
    if value is None:
        return None
    try:
        return Severity(str(value).lower())
    except ValueError:
        known = ", ".join(s.value for s in Severity)
        raise InvalidArgument(f"severity: {value!r} is not one of {known}") from None


def page(
    violations: list[Violation],
    *,
    severity: str | Severity | None = None,
    first: int = 100,
    after: str | None = None,
) -> ViolationPage:
    """The violations at or above `severity` (error > warning > info), `first` after the cursor
    `after` (keyset: a cursor stays valid while the violations before it change)."""
    if not isinstance(first, int) or not 1 <= first <= MAX_FIRST:
        raise InvalidArgument(f"first must be between 1 and {MAX_FIRST}")
    floor = severity_arg(severity)
    kept = [v for v in violations if floor is None or v.severity.at_least(floor)]
    if after is not None:
        key = decode_cursor(after)
        kept_after = [v for v in kept if v.sort_key > key]
    else:
        kept_after = kept
    items = kept_after[:first]
    return ViolationPage(
        items,
        encode_cursor(items[-1]) if items else None,
        len(kept_after) > first,
        len(kept),
    )
