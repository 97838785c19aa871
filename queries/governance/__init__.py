"""Governance: declarative policies evaluated over the graph (issue 20, part 2).

A policy (queries/governance/policy.py, YAML) turns rules on with a severity and parameters; each
rule (queries/governance/rules.py lists them) reads the graph through `GraphStore` only, and
answers violations carrying their evidence: the path from the production end to the subject, the
events behind it and since when it holds. docs/governance.md describes every rule.
"""

from lineage_kg.queries.governance.evaluate import Evaluation, evaluate, evaluate_all, page
from lineage_kg.queries.governance.model import Severity, Violation
from lineage_kg.queries.governance.policy import (
    DEFAULT_POLICY,
    Policy,
    PolicyError,
    load_policy,
    parse_policy,
)
from lineage_kg.queries.governance.rules import RULES

__all__ = [
    "DEFAULT_POLICY",
    "RULES",
    "Evaluation",
    "Policy",
    "PolicyError",
    "Severity",
    "Violation",
    "evaluate",
    "evaluate_all",
    "load_policy",
    "page",
    "parse_policy",
]
