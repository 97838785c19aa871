"""The governance policy file: what it accepts, and a refusal naming the field for each mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from lineage_kg.queries.governance import (
    DEFAULT_POLICY,
    RULES,
    PolicyError,
    Severity,
    load_policy,
    parse_policy,
)
from lineage_kg.queries.governance.evaluate import page
from lineage_kg.queries.governance.model import Violation


def test_a_full_policy_file_is_read(tmp_path: Path) -> None:
    file = tmp_path / "policy.yaml"
    file.write_text(
        "version: 1\n"
        "rules:\n"
        "  - rule: check_failing_too_long\n"
        "    severity: warning\n"
        "    days: 7\n"
        "  - rule: canary_over_traffic_limit\n"
        "    max_traffic: 0.25\n"
        "  - rule: shadow_made_decisions\n"
        "    enabled: false\n"
        "check_change:\n"
        "  fail_on: exact\n"
    )
    policy = load_policy(file)
    by_rule = {r.rule: r for r in policy.rules}
    assert by_rule["check_failing_too_long"].severity is Severity.WARNING
    assert by_rule["check_failing_too_long"].params.days == 7  # type: ignore[attr-defined]
    assert by_rule["canary_over_traffic_limit"].severity is Severity.ERROR  # the rule's default
    assert by_rule["canary_over_traffic_limit"].params.max_traffic == 0.25  # type: ignore[attr-defined]
    assert [r.rule for r in policy.enabled] == [
        "check_failing_too_long",
        "canary_over_traffic_limit",
    ]
    assert policy.check_change == {"fail_on": "exact"}  # passed through as written
    assert policy.source == str(file)


def test_the_default_policy_runs_every_rule_at_its_default() -> None:
    assert [r.rule for r in DEFAULT_POLICY.enabled] == list(RULES)
    assert all(r.severity is RULES[r.rule].severity for r in DEFAULT_POLICY.rules)
    assert load_policy(None) is load_policy("") is DEFAULT_POLICY


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"rules": []}, "version: Field required"),
        ({"version": 2, "rules": []}, "version: Input should be 1"),
        ({"version": 1, "rulez": []}, "rulez: Extra inputs are not permitted"),
        ({"version": 1, "rules": [{"rule": "no_such_rule"}]}, "rules[0].rule: unknown rule"),
        ({"version": 1, "rules": [{"severity": "error"}]}, "rules[0].rule: Field required"),
        (
            {
                "version": 1,
                "rules": [{"rule": "decision_point_without_owner", "severity": "fatal"}],
            },
            "rules[0].severity: Input should be 'error', 'warning' or 'info'",
        ),
        (
            {"version": 1, "rules": [{"rule": "decision_point_without_owner", "days": 3}]},
            "rules[0].days: Extra inputs are not permitted",
        ),
        (
            {
                "version": 1,
                "rules": [
                    {"rule": "canary_over_traffic_limit"},
                    {"rule": "check_failing_too_long", "days": "soon"},
                ],
            },
            "rules[1].days: Input should be a valid number",
        ),
        (
            {"version": 1, "rules": [{"rule": "canary_over_traffic_limit", "max_traffic": 2}]},
            "rules[0].max_traffic: Input should be less than or equal to 1",
        ),
        (
            {"version": 1, "rules": [{"rule": "unowned_on_production_chain", "kinds": ["Job"]}]},
            "rules[0].kinds: Value error, Job not among Dataset",
        ),
        (
            {
                "version": 1,
                "rules": [
                    {"rule": "kpi_without_definition_owner"},
                    {"rule": "kpi_without_definition_owner"},
                ],
            },
            "rules[1].rule: kpi_without_definition_owner is named twice",
        ),
        (
            {"version": 1, "rules": [{"rule": "shadow_made_decisions", "enabled": "maybe"}]},
            "rules[0].enabled: Input should be a valid boolean",
        ),
        (["version", 1], "a policy is a mapping"),
    ],
)
def test_each_mistake_is_named(data: object, named: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(data)
    assert named in str(caught.value)


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"policy file .*missing\.yaml"):
        load_policy(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nrules: [\n")
    with pytest.raises(PolicyError, match="not YAML"):
        load_policy(bad)


def _violation(rule: str, severity: Severity, subject: str) -> Violation:
    return Violation(rule, severity, subject, (subject,), (), None, "")


def test_pages_cover_every_violation_once_in_order() -> None:
    everything = sorted(
        (
            _violation(rule, severity, f'["KPI","k{i}"]')
            for rule in ("a", "b")
            for severity in Severity
            for i in range(7)
        ),
        key=lambda v: v.sort_key,
    )
    for floor in (None, "warning", "ERROR"):
        kept = [
            v
            for v in everything
            if floor is None or v.severity.rank <= Severity(floor.lower()).rank
        ]
        seen, after = [], None
        while True:
            got = page(everything, severity=floor, first=4, after=after)
            assert got.total == len(kept)
            seen += got.items
            if not got.has_next_page:
                break
            after = got.end_cursor
        assert seen == kept


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"first": 0}, "first must be between 1 and"),
        ({"after": "not-a-cursor"}, "after: not a governance cursor"),
        ({"severity": "fatal"}, "severity: 'fatal' is not one of error, warning, info"),
    ],
)
def test_bad_page_arguments_are_named(kwargs: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        page([], **kwargs)  # type: ignore[arg-type]
