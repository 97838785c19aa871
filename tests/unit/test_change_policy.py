"""The check_change: policy section: defaults, and one-line errors naming the field at fault."""

from __future__ import annotations

from typing import Any

import pytest

from lineage_kg.graph.errors import InvalidArgument
from lineage_kg.queries.change_check import Change, parse_change
from lineage_kg.queries.change_policy import Finding, load_policy


def test_absent_section_is_the_default_gate() -> None:
    for document in (None, {}, {"governance": {"rules": []}}):
        policy = load_policy(document)
        assert policy.fail_on == [Finding.EXACT_PRODUCTION_DECISION]
        assert Finding.POSSIBLE_PRODUCTION_DECISION in policy.warn_on
        assert policy.approvals == []


def test_a_single_finding_may_be_written_without_a_list() -> None:
    assert load_policy({"check_change": {"fail_on": "exact_kpi"}}).fail_on == [Finding.EXACT_KPI]


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ({"fail_on": ["nope"]}, "check_change.fail_on.0"),
        ({"warn_on": [1]}, "check_change.warn_on.0"),
        ({"approvals": [{"change": "x", "decision_point": "y"}]},
         "check_change.approvals.0.approved_by"),
        ({"approvals": [{"change": "", "decision_point": "y", "approved_by": "z"}]},
         "check_change.approvals.0.change"),
        ({"fail_onn": []}, "check_change.fail_onn"),
        ("fail everything", "check_change"),
    ],
)  # fmt: skip
def test_errors_name_the_field(section: Any, field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        load_policy({"check_change": section}, "p.yaml")
    message = str(caught.value)
    assert message.startswith(f"p.yaml: {field}"), message
    assert "\n" not in message


def test_not_a_mapping_is_refused() -> None:
    with pytest.raises(InvalidArgument, match=r"p\.yaml: expected a mapping"):
        load_policy(["check_change"], "p.yaml")


@pytest.mark.parametrize(
    ("text", "ref", "kind"),
    [
        ("a/b#c=drop", "a/b#c", "drop"),
        ("a/b#c = rename:d", "a/b#c", "rename:d"),
        ("x=y#z=type:varchar(10)", "x=y#z", "type:varchar(10)"),
        ("a/b=semantics", "a/b", "semantics"),
    ],
)
def test_parse_change(text: str, ref: str, kind: str) -> None:
    assert parse_change(text) == Change(ref, kind)


@pytest.mark.parametrize("text", ["a/b#c", "=drop", "a=explode", "a=rename:", "a=type: "])
def test_parse_change_refuses(text: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_change(text)
