"""The policy file: which rules run, at which severity, with which parameters.

    version: 1
    rules:
      - rule: check_failing_too_long   # a rule id (queries/governance/rules.py)
        severity: error                # error | warning | info; default: the rule's own
        enabled: true                  # default true
        days: 3                        # the rule's parameters, each optional
    check_change: {…}                  # `lkg check-change`'s section, validated by its module

The file lists the rules it runs: a rule it does not name is off. Without a file, every rule runs
at its default severity and parameters (`DEFAULT_POLICY`). Any mistake — an unknown rule id or
key, a bad severity, a parameter of the wrong type, a rule named twice — is a `PolicyError` whose
message names the field (`rules[2].days: …`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lineage_kg.graph.errors import InvalidArgument
from lineage_kg.queries.governance.model import Severity
from lineage_kg.queries.governance.rules import RULES, Params


class PolicyError(InvalidArgument):
    """The policy file is wrong; the message names the field and the reason."""


class _Entry(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)  # extras: the rule's parameters

    rule: str
    severity: Severity | None = None
    enabled: bool = True


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1]
    rules: list[dict[str, Any]] = Field(default_factory=list)
    check_change: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class RuleConfig:
    rule: str
    severity: Severity
    params: Params
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class Policy:
    rules: tuple[RuleConfig, ...]
    check_change: dict[str, Any] = field(default_factory=dict)  # passed through as written
    source: str = "default policy"

    @property
    def enabled(self) -> tuple[RuleConfig, ...]:
        return tuple(r for r in self.rules if r.enabled)


def default_policy() -> Policy:
    return Policy(tuple(RuleConfig(r.id, r.severity, r.params()) for r in RULES.values()))


DEFAULT_POLICY = default_policy()


def _where(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "policy"


def _refusal(prefix: tuple[int | str, ...], exc: ValidationError) -> PolicyError:
    reasons = [f"{_where((*prefix, *e['loc']))}: {e['msg']}" for e in exc.errors()]
    return PolicyError("; ".join(reasons))


def parse_policy(data: Any, source: str = "policy") -> Policy:
    """A policy from its parsed YAML (a mapping)."""
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: a policy is a mapping with version and rules")
    try:
        top = _File.model_validate(data)
    except ValidationError as exc:
        raise _refusal((), exc) from None
    configs: list[RuleConfig] = []
    seen: set[str] = set()
    for i, raw in enumerate(top.rules):
        try:
            entry = _Entry.model_validate(raw)
        except ValidationError as exc:
            raise _refusal(("rules", i), exc) from None
        spec = RULES.get(entry.rule)
        if spec is None:
            known = ", ".join(RULES)
            raise PolicyError(f"rules[{i}].rule: unknown rule {entry.rule!r}; known: {known}")
        if entry.rule in seen:
            raise PolicyError(f"rules[{i}].rule: {entry.rule} is named twice")
        seen.add(entry.rule)
        try:
            params = spec.params.model_validate(entry.model_extra or {})
        except ValidationError as exc:
            raise _refusal(("rules", i), exc) from None
        configs.append(RuleConfig(spec.id, entry.severity or spec.severity, params, entry.enabled))
    return Policy(tuple(configs), dict(top.check_change or {}), source)


def load_policy(path: str | Path | None) -> Policy:
    """The policy in the YAML file at `path`; the default policy when `path` is None or empty
    (`LKG_POLICY_FILE=` unsets it)."""
    if path is None or not str(path).strip():
        return DEFAULT_POLICY
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"policy file {file}: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"policy file {file}: not YAML: {exc}") from None
    return parse_policy(data, str(file))
