"""A producer's names reached the Slack message as Slack markup (session 34, helper 96's red
team). Owners come from events' ownership facets, dropped columns and types from their schema
facets: a column `<!channel>` or an owner `<https://evil.example|IT: sign in again>` became a
ping of the whole channel or a disguised link in the message the service posts. Now every
value is escaped as Slack asks (`&amp;`, `&lt;`, `&gt;`); the message is otherwise the one the
old code wrote (the old code kept below as the oracle)."""

from __future__ import annotations

import html
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lineage_kg.graph.sides.outbox import OutboxRow
from lineage_kg.notifications import _TITLES, _what, slack_body


def old_slack_body(row: OutboxRow) -> dict[str, Any]:
    """service/notifications.py `slack_body` before the escaping, verbatim."""
    a = row.audience or {}
    owners = ", ".join(a.get("owners", [])) or "nobody (unowned)"
    text = f"{_TITLES.get(row.kind, row.kind)}: {_what(row)}. Owners to tell: {owners}."
    lines = [f"*{_TITLES.get(row.kind, row.kind)}*: {_what(row)}", f"*Owners*: {owners}"]
    if a.get("exact"):
        named = ", ".join(f"`{i['name']}`" for i in a["exact"][:10])
        more = a["exact_count"] - min(10, len(a["exact"]))
        lines.append(
            f"*Exact impact* ({a['exact_count']}): {named}" + (f" +{more}" if more else "")
        )
    if a.get("possible_count"):
        whose = ", ".join(f"{o} ({n})" for o, n in a.get("possible_owners", {}).items())
        kinds = ", ".join(f"{k} {n}" for k, n in a.get("possible_by_kind", {}).items())
        tail = f"; {whose}" if whose else ""
        lines.append(f"*Possible impact*: {a['possible_count']} ({kinds}){tail}")
    if a.get("decision_points"):
        lines.append("*Decision points*: " + ", ".join(a["decision_points"]))
    if a.get("left"):
        lines.append("*Owners who left*: " + ", ".join(a["left"]))
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": f"change `{row.change_id}` · event `{row.event_id}`"}
            ],
        },
    ]
    return {"text": text, "blocks": blocks}


def row_of(kind: str, detail: dict[str, Any], audience: dict[str, Any] | None) -> OutboxRow:
    return OutboxRow("c-1", 1, "e-1", kind, "subject", [], detail, "2026-01-01T00:00:00Z",
                     "2026-01-01T00:00:00Z", "pending", 0, 0.0, None, None, audience)  # fmt: skip


def texts(body: dict[str, Any]) -> list[str]:
    """Every mrkdwn string of a message."""
    section, context = body["blocks"]
    return [body["text"], section["text"]["text"], context["elements"][0]["text"]]


def unescaped(value: Any) -> Any:
    if isinstance(value, str):
        return html.unescape(value) if "&" in value else value
    if isinstance(value, dict):
        return {k: unescaped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unescaped(v) for v in value]
    return value


def test_a_channel_ping_and_a_link_in_names_are_shown_as_text() -> None:
    link = "<https://evil.example|sign in>"
    detail = {"dataset": "ns/orders", "dropped": ["<!channel>"],
              "retyped": {"amount": {"from": "int", "to": link}}}  # fmt: skip
    audience = {"owners": ["<!here>", "alice@example.com"], "exact_count": 0}
    body = slack_body(row_of("schema_change", detail, audience))
    for text in texts(body):
        assert "<" not in text and ">" not in text, text
    assert "dropped &lt;!channel&gt;" in body["blocks"][0]["text"]["text"]
    assert "*Owners*: &lt;!here&gt;, alice@example.com" in body["blocks"][0]["text"]["text"]


names = st.text(st.sampled_from("ab<>&|!`*_ \n"), max_size=12) | st.text(max_size=8)
DETAILS = {
    "schema_change": st.fixed_dictionaries({
        "dataset": names, "dropped": st.lists(names, max_size=3),
        "retyped": st.dictionaries(names, st.fixed_dictionaries({"from": names, "to": names}),
                                   max_size=3)}),
    "run_failed": st.fixed_dictionaries({"run": names, "job": names, "state": names}),
    "quality_failed": st.fixed_dictionaries({"target": names, "failed": st.integers(0, 9)}),
    "check_failing": st.fixed_dictionaries({"check": names, "subject": names}),
    "alias_moved": st.fixed_dictionaries(
        {"model": names, "alias": names, "from": names, "to": names}),
    "deployment_started": st.fixed_dictionaries(
        {"version": names, "decision_point": names, "mode": names}),
    "<other>": st.just({}),
}  # fmt: skip
audiences = st.none() | st.fixed_dictionaries(
    {},
    optional={
        "owners": st.lists(names, max_size=3),
        "exact": st.lists(st.fixed_dictionaries({"name": names}), min_size=1, max_size=11),
        "possible_count": st.integers(0, 5),
        "possible_owners": st.dictionaries(names, st.integers(0, 5), max_size=3),
        "possible_by_kind": st.dictionaries(names, st.integers(0, 5), max_size=3),
        "decision_points": st.lists(names, max_size=3),
        "left": st.lists(names, max_size=3),
    },
).map(lambda a: a if a is None or "exact" not in a else {**a, "exact_count": len(a["exact"])})


@settings(max_examples=25, derandomize=True, deadline=None)
@given(st.sampled_from(sorted(DETAILS)).flatmap(lambda k: st.tuples(st.just(k), DETAILS[k])),
       audiences)  # fmt: skip
def test_the_message_is_the_old_one_escaped(kind_detail: tuple[str, Any], audience: Any) -> None:
    kind, detail = kind_detail
    row = row_of(kind, detail, audience)
    new = slack_body(row)
    for text in texts(new):
        assert "<" not in text and ">" not in text, text
    assert unescaped(new) == old_slack_body(row)
