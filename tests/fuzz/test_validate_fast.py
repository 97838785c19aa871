"""Validation answers most events without structuring them into openlineage-python's objects
(`_fits_models`); structuring still decides every doubt and words every refusal. Over the real
corpus, mutated at one to three places with the values that matter to the models (wrong types,
nulls, odd times, bad UUIDs, URLs urlparse refuses), the verdict and the errors are exactly those
of structuring alone, and `_fits_models` never says yes where structuring says no."""

from __future__ import annotations

import copy
from typing import Any

import cattrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.openlineage_corpus import all_events
from lineage_kg.ingest.openlineage import validate as v
from tests.fuzz.test_intake_fuzz import json_values, paths

EVENTS = all_events()
TIMES = ["2020-02-22T22:42:42.000Z", "2020-02-22T22:42:42", "2020-02-22 22:42:42Z",
         "2020-02-22t22:42:42Z", "2020-02-30T00:00:00Z", "2020-02-22T24:00:00Z",
         "2020-02-22T23:59:60Z", "2020-02-22T22:42:42.1234567891+05:30", "2020-02-22T22:42+01:00",
         "2020-02-22T22:42:42+00:60", "2020-02-22T22:42:42+24:00", "2020-02-22T22:42:42-0500",
         "2020-02-22", "٢٠٢٠-02-22T22:42:42Z", "0000-01-01T00:00:00Z", "2020-W08-6T00:00:00Z",
         " 2020-02-22T22:42:42Z", "2020-02-22T22:42:42,5Z"]  # fmt: skip
TRICKY = st.sampled_from(
    [None, "", " ", 0, 1.5, True, False, [], {}, [{}], {"a": 1}, "START", "DONE", "COMPLETE",
     "3f1f4a4e-3a6e-4a52-9f8e-4d9c8a1b2c3d", "{3f1f4a4e-3a6e-4a52-9f8e-4d9c8a1b2c3d}",
     "urn:uuid:3f1f4a4e3a6e4a529f8e4d9c8a1b2c3d", "not-a-uuid", "http://[::1", "https://x/y",
     "ns", [{"namespace": "n", "name": "m"}], {"namespace": "n", "name": "m"},
     {"namespace": "n", "name": "m", "facets": None}, *TIMES]
)  # fmt: skip
KEYS = ["eventTime", "eventType", "producer", "schemaURL", "run", "job", "inputs", "outputs",
        "dataset", "runId", "namespace", "name", "facets", "inputFacets",
        "outputFacets"]  # fmt: skip


@st.composite
def events(draw: st.DrawFn) -> Any:
    event = copy.deepcopy(draw(st.sampled_from(EVENTS)))
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.sampled_from(paths(event)))
        if not where:
            continue
        parent = event
        for step in where[:-1]:
            parent = parent[step]
        action = draw(st.integers(0, 3))
        if action == 0 and isinstance(parent, dict):
            del parent[where[-1]]
        elif action == 1 and isinstance(parent[where[-1]], dict):  # a field the models know
            parent[where[-1]][draw(st.sampled_from(KEYS))] = copy.deepcopy(draw(TRICKY))
        else:
            # a copy: a later step may change it, and TRICKY's values are shared
            parent[where[-1]] = copy.deepcopy(draw(TRICKY | json_values))
    return event


def structuring_alone(event: Any) -> Any:
    """`validate_event` as it was: the semantic checks, then structuring decides. The kind, or
    the errors."""
    if not isinstance(event, dict):
        return [v.FieldError("$", "an event must be a JSON object")]
    try:
        kind = v.event_kind(event)
    except v.InvalidEvent as exc:
        return exc.errors
    if errors := v._semantic_errors(event, kind):
        return errors
    try:
        v._converter().structure(event, v._MODELS[kind])
    except Exception as exc:
        lines = cattrs.transform_error(exc, path="$", format_exception=v._describe)
        return [v._field_error(line) for line in lines]
    return kind


def verdict(event: Any) -> Any:
    try:
        return v.validate_event(event)
    except v.InvalidEvent as exc:
        return exc.errors


@settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(events())
def test_the_same_verdict_and_errors_as_structuring_alone(event: Any) -> None:
    expected = structuring_alone(copy.deepcopy(event))
    assert verdict(event) == expected
    if not isinstance(expected, v.EventKind) and isinstance(event, dict):
        try:
            kind = v.event_kind(event)
        except v.InvalidEvent:
            return
        if not v._semantic_errors(event, kind):
            assert not v._fits_models(event, kind), expected


def test_the_valid_corpus_takes_the_short_road() -> None:
    """The speed claim, not the verdict: every corpus event structuring accepts is answered
    without it, but those whose eventTime has no `T`-form `_PLAIN_TIME` knows."""
    valid = [e for e in EVENTS if isinstance(structuring_alone(e), v.EventKind)]
    short = [e for e in valid if v._fits_models(e, v.event_kind(e))]
    assert valid and len(short) == len(valid), [e.get("eventTime") for e in valid if e not in short]
