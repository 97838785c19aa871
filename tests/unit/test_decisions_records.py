"""Decision validation (errors name the item and field), the batch event, and the pure mapping."""

from __future__ import annotations

from lineage_kg.ingest.decisions.mapping import map_entry
from lineage_kg.ingest.decisions.records import decision_event, validate_items
from lineage_kg.ingest.eventlog import LogEntry


def item(i: int = 1, **extra: object) -> dict[str, object]:
    return {
        "decision_id": f"d-{i}",
        "timestamp": "2026-03-02T10:00:00+01:00",
        "decision_point": "loan-approval",
        "model": "credit-risk",
        "outcome": "approved",
        **extra,
    }


def test_valid_decision_is_normalised() -> None:
    checked = validate_items(
        [(0, "[0]", item(version="4", features=["risk/loan_features:debt_ratio",
                                                {"project": "p", "view": "v", "name": "n",
                                                 "value": 0.4}]))]
    )  # fmt: skip
    assert not checked.rejected
    (d,) = checked.decisions
    assert d.timestamp == "2026-03-02T09:00:00.000000Z"
    assert d.registry == "mlflow"
    stored = d.stored()
    assert stored["features"] == [
        {"project": "risk", "view": "loan_features", "name": "debt_ratio"},
        {"project": "p", "view": "v", "name": "n", "value": 0.4},
    ]
    assert "alias" not in stored and "request_id" not in stored


def test_epoch_milliseconds_are_accepted() -> None:
    (d,) = validate_items([(0, "[0]", item(timestamp=1_772_445_600_000))]).decisions
    assert d.timestamp == "2026-03-02T10:00:00.000000Z"


def test_errors_name_the_item_and_the_field() -> None:
    bad_time = item(2, timestamp="yesterday")
    no_point = item(3)
    del no_point["decision_point"]
    both = item(4, version="1", alias="champion")
    bad_ref = item(5, features=["not-a-ref"])
    checked = validate_items(
        [(0, "[0]", item(1)), (1, "[1]", bad_time), (2, "[2]", no_point), (3, "[3]", both),
         (4, "[4]", bad_ref), (5, "[5]", item(1, outcome="other"))]
    )  # fmt: skip
    assert [d.decision_id for d in checked.decisions] == ["d-1"]
    lines = [line for r in checked.rejected for line in r.lines()]
    assert lines[0].startswith("[1].timestamp: not an ISO-8601 timestamp")
    assert lines[1] == "[2].decision_point: Field required"
    assert lines[2].startswith("[3].$: give version or alias, not both")
    assert lines[3].startswith("[4].features[0]: feature ref 'not-a-ref'")
    assert lines[4] == "[5].decision_id: repeats the one at [0]"


def test_null_outcome_and_unknown_field_are_rejected() -> None:
    checked = validate_items([(0, "[0]", item(outcome=None)), (1, "[1]", item(2, colour="red"))])
    assert [r.errors[0][0] for r in checked.rejected] == ["outcome", "colour"]


def test_one_event_per_batch_timed_by_its_earliest_decision() -> None:
    decisions = validate_items(
        [(0, "[0]", item(1)), (1, "[1]", item(2, timestamp="2026-03-01T00:00:00Z"))]
    ).decisions
    event = decision_event(decisions)
    assert event.source == "decisions"
    assert event.event_time == "2026-03-01T00:00:00.000000Z"
    assert [d["decision_id"] for d in event.body["decisions"]] == ["d-1", "d-2"]
    assert event.event_id == decision_event(decisions).event_id  # same batch, same id


def test_mapping_adds_nothing_to_the_graph() -> None:
    """Aggregated edges come from the projection, for stored decisions only (unknown decision
    points must not appear in the graph because a decision named them)."""
    decisions = validate_items([(0, "[0]", item(1, version="4"))]).decisions
    event = decision_event(decisions)
    entry = LogEntry(7, event.event_id, "decisions", event.kind, event.event_time, "", event.body)
    assert not map_entry(entry).mutations
