"""Validation answers most events without structuring them into openlineage-python's objects
(`_sure`, else `_fits_models`); structuring still decides every doubt and words every refusal.
Over the real corpus, mutated at one to three places with the values that matter to the models
(wrong types, nulls, odd times, bad UUIDs, URLs urlparse refuses, blank names), the verdict and
the errors are exactly those of structuring alone, and neither short road says yes where
structuring says no."""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import urlparse

import cattrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.openlineage_corpus import all_events
from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.ingest.openlineage import validate as v
from tests.fuzz.test_intake_fuzz import json_values, paths

EVENTS = all_events()
TIMES = ["2020-02-22T22:42:42.000Z", "2020-02-22T22:42:42", "2020-02-22 22:42:42Z",
         "2020-02-22t22:42:42Z", "2020-02-30T00:00:00Z", "2020-02-22T24:00:00Z",
         "2020-02-22T23:59:60Z", "2020-02-22T22:42:42.1234567891+05:30", "2020-02-22T22:42+01:00",
         "2020-02-22T22:42:42+00:60", "2020-02-22T22:42:42+24:00", "2020-02-22T22:42:42-0500",
         "2020-02-22", "٢٠٢٠-02-22T22:42:42Z", "0000-01-01T00:00:00Z", "2020-W08-6T00:00:00Z",
         " 2020-02-22T22:42:42Z", "2020-02-22T22:42:42,5Z", "2020-02-22T22:42:42.1234567Z",
         "2020-02-29T22:42:42-00:00", "2021-02-29T00:00:00Z", "9999-12-31T23:59:59-01:00",
         "0001-01-01T00:30:00+01:00", "2020-02-22T22:42:42.5+00:00"]  # fmt: skip
TRICKY = st.sampled_from(
    [None, "", " ", 0, 1.5, True, False, [], {}, [{}], {"a": 1}, "START", "DONE", "COMPLETE",
     "3f1f4a4e-3a6e-4a52-9f8e-4d9c8a1b2c3d", "{3f1f4a4e-3a6e-4a52-9f8e-4d9c8a1b2c3d}",
     "urn:uuid:3f1f4a4e3a6e4a529f8e4d9c8a1b2c3d", "not-a-uuid", "http://[::1", "https://x/y",
     "3F1F4A4E-3A6E-4A52-9F8E-4D9C8A1B2C3D", "3f1f4a4e3a6e4a529f8e4d9c8a1b2c3d",
     "3f1f4a4e_3a6e-4a52-9f8e-4d9c8a1b2c3d", "3f1f4a4e-3a6e-4a52-9f8e-4d9c8a1b2c3",
     "http://é.example/x", "http://[::1]/x", "http://x]/y", "\u2003", "\x1c", "\u3000n",
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
        everywhere = paths(event)
        # mostly the envelope (what the models and the checks read), not the facets' insides
        envelope = [p for p in everywhere if not any("acets" in str(step) for step in p[:-1])]
        where = draw(st.sampled_from(envelope if draw(st.integers(0, 3)) else everywhere))
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


@settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(events())
def test_the_one_pass_check_says_yes_only_where_both_checks_and_structuring_do(event: Any) -> None:
    """`_sure` against the two checks it stands for and against structuring: never a yes where
    they say no, and the time it gives is `canonical_time`'s."""
    if not isinstance(event, dict):
        return
    try:
        kind = v.event_kind(event)
    except v.InvalidEvent:
        return
    event_time = v._sure(event, kind)
    if event_time is None:
        return
    assert not v._semantic_errors(event, kind)
    assert v._fits_models(event, kind)
    assert structuring_alone(copy.deepcopy(event)) is kind
    assert event_time == canonical_time(event["eventTime"])
    assert v.checked_event(event) == (kind, event_time)


zero_offsets = st.sampled_from(["", "Z", "+00:00", "-00:00"])
offsets = zero_offsets | st.builds(
    "{}{:02d}:{:02d}".format,
    st.sampled_from("+-"),
    st.sampled_from([0, 1, 23, 24]),  # the edges: what the regex takes and what it does not
    st.sampled_from([0, 1, 59, 60]),
)


@st.composite
def times(draw: st.DrawFn) -> str:
    """`_PLAIN_TIME`'s shape with numbers in and out of range: day 28-32 of any month, hours,
    minutes and seconds past their ends, fractions of 0-10 digits, any offset."""
    when = draw(st.datetimes())
    day = draw(st.integers(when.day, when.day) | st.integers(28, 32))
    hour, minute, second = (draw(st.integers(0, top)) for top in (25, 61, 61))
    size = draw(st.integers(0, 10))
    fraction = draw(st.text("0123456789", min_size=size, max_size=size))
    text = f"{when.year:04d}-{when.month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}"
    return text + (f".{fraction}" if fraction else "") + draw(offsets)


@settings(max_examples=1000)
@given(times())
def test_the_time_spelled_directly_is_canonical_times(text: str) -> None:
    """Every time the short road converts (zero offsets without `datetime`) is exactly
    `canonical_time`'s; a day or hour that does not exist goes to the full path (None)."""
    fast = v._utc_time(text)
    try:
        slow: str | None = canonical_time(text)
    except ValueError:
        slow = None
    assert fast == slow or (fast is None and not v._PLAIN_TIME.fullmatch(text)), text


urls = st.builds(
    "{}{}".format,
    st.sampled_from(["", "http://", "https://", "s3://", "//", "x:"]),
    st.text(st.sampled_from("ab:/[]@.%1é\u2100\uff03\u0130"), max_size=12),
)


@settings(max_examples=1000)
@given(urls | st.text())
def test_the_producer_check_is_urlparse(url: str) -> None:
    """`_url_sure` says yes exactly where `urlparse` (the producer validator) takes the text."""
    try:
        urlparse(url)
    except ValueError:
        assert not v._url_sure(url), url
    else:
        assert v._url_sure(url), url


def test_the_valid_corpus_takes_the_short_road() -> None:
    """The speed claim, not the verdict: every corpus event structuring accepts is answered
    without it, but those whose eventTime has no `T`-form `_PLAIN_TIME` knows."""
    valid = [e for e in EVENTS if isinstance(structuring_alone(e), v.EventKind)]
    short = [e for e in valid if v._fits_models(e, v.event_kind(e))]
    assert valid and len(short) == len(valid), [e.get("eventTime") for e in valid if e not in short]
    shortest = [e for e in valid if v._sure(e, v.event_kind(e)) is not None]
    assert len(shortest) == len(valid), [e for e in valid if e not in shortest][:1]
