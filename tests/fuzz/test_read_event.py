"""The NDJSON reader's fast road (`intake.read_event`: one orjson read, one sorted write, the
stored text made there) against the old road (`strict_json.loads`, then `to_new_event` working
the text out): the same value, types included, and the same event or the same refusal; the text
it hands on is `canonical_json`'s of a storable value. The depth comes from orjson refusing a
value wrapped in `_PAD` lists for texts from `_WRAP_FROM` bytes on: exact at MAX_DEPTH either
way. `ndjson_lines` cuts the lines as `splitlines` does. `accept_lines` checks the writes after
validating and before appending, and appends nothing when the check refuses."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.openlineage_corpus import all_events, valid_events
from lineage_kg.graph.canonical import canonical_json
from lineage_kg.ingest import chain, intake, strict_json
from lineage_kg.ingest.eventlog import EventLog, NewEvent
from lineage_kg.ingest.intake import (
    MAX_DEPTH,
    InvalidEvent,
    _unstorable,
    accept_lines,
    ndjson_lines,
    read_event,
    to_new_event,
)
from tests.fuzz.test_intake_fuzz import VALID
from tests.fuzz.test_strict_json_fast import same
from tests.fuzz.test_strict_json_fast import texts as producer_texts

# look-alikes of what the checks search for, as strings and keys (not numbers)
LOOKALIKES = ["0.00001", "1e-7", "1e-7,", "x:1e-7]", "e-5}", "e+5", '"', "\\", '\\"', "[", "]{"]
keys = st.text(st.sampled_from('ab"\\é\x00/[]{'), max_size=3) | st.sampled_from(LOOKALIKES)
floats = st.floats(allow_nan=False, allow_infinity=False) | st.builds(
    lambda mantissa, exponent: float(f"{mantissa}e{exponent}"),
    st.integers(1, 10**17),
    st.integers(-12, 20),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    floats,
    st.text(st.characters(codec=None), max_size=8),
    st.sampled_from(LOOKALIKES),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=30,
)


def _nested(depth: int, leaf: Any, as_dict: bool) -> Any:
    for _ in range(depth):
        leaf = {"k": leaf} if as_dict else [leaf]
    return leaf


def _outcome(event: Any, text: str | None = None) -> Any:
    """What `to_new_event` makes of it: the event with its text, or the refusal's errors."""
    try:
        made = to_new_event(event, text)
    except InvalidEvent as exc:
        return ("refused", exc.errors)
    return (made, made.text)


def _old_road(raw: bytes) -> tuple[Any, Any]:
    """The value and outcome as intake had them: strict_json.loads, then to_new_event."""
    value = strict_json.loads(raw)
    return value, _outcome(value)


def assert_same_roads(raw: bytes) -> None:
    try:
        old_value, old = _old_road(raw)
    except (ValueError, RecursionError) as exc:  # not JSON: the reader raises the same
        with pytest.raises(type(exc)):
            read_event(raw)
        return
    value, text = read_event(raw)
    assert same(value, old_value)
    if text is not None:
        assert text == canonical_json(value)
        assert _unstorable(value) is None
    assert _outcome(value, text) == old


@settings(max_examples=800, deadline=None)
@given(producer_texts())
def test_the_reader_is_the_old_road_on_producers_texts(text: str | bytes) -> None:
    """Keys given twice, integers past 64 bits, NaN, escapes, lone surrogates, BOMs, UTF-16."""
    raw = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    assert_same_roads(raw)


@settings(max_examples=800, deadline=None)
@given(values, st.booleans(), st.sampled_from([", ", ",", " ,\n  "]))
def test_the_reader_is_the_old_road_on_values(value: Any, ascii_only: bool, comma: str) -> None:
    """Floats of every short exponent, strings that look like them, quotes and brackets."""
    # a lone surrogate in a drawn string stays one with ensure_ascii off: its bytes as a producer
    # would send them (ci81 drew '\ud800': the test's own encode raised)
    raw = json.dumps(value, ensure_ascii=ascii_only, separators=(comma, ": ")).encode(
        "utf-8", "surrogatepass"
    )
    assert_same_roads(raw)


@settings(max_examples=300, deadline=None)
@given(values, st.integers(0, 3))
def test_the_reader_is_the_old_road_on_events(facet: Any, where: int) -> None:
    """A valid event carrying any value in a facet, at a few places, short and long (a long text
    is wrapped for the depth)."""
    event = json.loads(json.dumps(VALID))
    event["run"]["facets"] = {"x": facet} if where else {}
    if where >= 2:
        event["job"]["facets"] = {"y": [facet, "z" * intake._WRAP_FROM]}
    if where == 3:
        event["eventTime"] = facet if isinstance(facet, str) else event["eventTime"]
    assert_same_roads(json.dumps(event).encode())


@pytest.mark.parametrize("long", [False, True], ids=["short", "wrapped"])
@pytest.mark.parametrize("as_dict", [False, True])
@pytest.mark.parametrize("depth", range(MAX_DEPTH - 3, MAX_DEPTH + 4))
def test_the_depth_is_exact_at_the_limit(depth: int, as_dict: bool, long: bool) -> None:
    """A nesting of `depth` brackets, under a text long enough to be wrapped or not: the reader
    gives a text exactly when the brackets nest at most MAX_DEPTH deep, and the old road's
    outcome either way."""
    padding = "p" * (intake._WRAP_FROM if long else 1)
    value = {"pad": padding, "deep": _nested(depth - 1, 1, as_dict)}  # `depth` brackets in all
    raw = json.dumps(value).encode()
    assert (len(raw) >= intake._WRAP_FROM) == long
    _, text = read_event(raw)
    assert (text is not None) == (depth <= MAX_DEPTH)
    assert_same_roads(raw)


def test_the_wrapping_fits_this_orjson() -> None:
    """orjson writes exactly `_PAD + MAX_DEPTH` brackets deep: one more, and it refuses (if a
    new orjson moves its limit, `_PAD` follows it, measured at import)."""
    assert intake._PAD > 0
    assert intake._dump(_nested(MAX_DEPTH, 0, False), wrap=True) is not None
    assert intake._dump(_nested(MAX_DEPTH + 1, 0, False), wrap=True) is None
    assert intake._dump(_nested(MAX_DEPTH, 0, True), wrap=True) is not None
    assert intake._dump(_nested(MAX_DEPTH + 1, 0, True), wrap=True) is None


def test_each_thing_the_reader_leaves_to_the_old_road_is_left() -> None:
    """Each case the fast road must not decide alone (a deliberate breakage of its check fails
    here): a key twice, an integer past 64 bits, floats `json` spells otherwise, too deep."""
    assert read_event(b'{"a": 1, "a": 2}') == ({"a": strict_json.Unfit(
        "the key 'a' appears more than once in this object"
    )}, None)  # fmt: skip
    big, text = read_event(b"[18446744073709551616]")
    assert big == [18446744073709551616] and type(big[0]) is int and text is None
    assert read_event(b'{"a": 0.00001}') == ({"a": 1e-05}, None)
    assert read_event(b'{"a": 2.5e-7}') == ({"a": 2.5e-07}, None)
    assert read_event(b"[" * 101 + b"]" * 101) == (_nested(100, [], False), None)
    assert read_event(b'{"b": [1, 2.5], "a": "\\u0022"}') == (
        {"b": [1, 2.5], "a": '"'},
        '{"a":"\\"","b":[1,2.5]}',
    )


def test_the_corpus_takes_the_fast_road() -> None:
    """The speed claim: every valid corpus event gets its text from the reader, and every
    corpus event (invalid ones too) ends as on the old road."""
    for event in valid_events():
        raw = json.dumps(event).encode()
        _, text = read_event(raw)
        assert text == canonical_json(event)
    for event in all_events():
        assert_same_roads(json.dumps(event).encode())


@given(st.lists(st.sampled_from([b"", b" ", b"\t", b"[1]", b"{}", b"x", b"\r", b"\n", b"\r\n"])))
def test_lines_are_cut_as_splitlines_cuts_them(parts: list[bytes]) -> None:
    body = b"".join(parts)
    expected = [(i, line) for i, line in enumerate(body.splitlines()) if line.strip()]
    got = list(ndjson_lines(body))
    assert [i for i, _, _ in got] == [i for i, _ in expected]
    for (_, obj, _), (_, line) in zip(got, expected, strict=True):
        if isinstance(obj, InvalidEvent):
            with pytest.raises(ValueError):
                strict_json.loads(line)
        else:
            assert same(obj, strict_json.loads(line))


def test_the_writes_are_checked_after_validation_and_before_the_append(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "log.sqlite3")
    body = b"\n".join([json.dumps(VALID).encode(), b"not json", b'{"eventType": "START"}'])
    seen: list[list[tuple[int, Any]]] = []

    def refuse(items: list[tuple[int, Any]]) -> None:
        seen.append(items)
        raise PermissionError("outside the key's namespaces")

    with pytest.raises(PermissionError):
        accept_lines(log, ndjson_lines(body), check=refuse)
    assert log.count() == 0
    (items,) = seen
    assert [i for i, _ in items] == [0, 1, 2]
    assert items[0][1] == VALID and isinstance(items[1][1], InvalidEvent)
    summary = accept_lines(log, ndjson_lines(body), check=seen.append)
    assert (summary.accepted, [r.index for r in summary.rejected]) == (1, [1, 2])
    stored = log.get(to_new_event(VALID).event_id)
    assert stored is not None and stored.body == VALID
    assert isinstance(to_new_event(VALID), NewEvent)
    log.close()


def test_each_entry_keeps_its_own_namespaces_in_one_append(tmp_path: Path) -> None:
    """The confined namespaces are spelled once per set in a batch (and the tuple once per
    `accept_lines` call): entries of one append with different sets each keep theirs, hashed."""
    log = EventLog(tmp_path / "log.sqlite3")
    events = [
        json.loads(json.dumps(VALID).replace(VALID["run"]["runId"], run_id))
        for run_id in (
            "0176a8c2-fe01-7439-87e6-56a1a1b4029f",
            "0176a8c2-fe01-7439-87e6-56a1a1b4029e",
            "0176a8c2-fe01-7439-87e6-56a1a1b4029d",
        )
    ]
    sets = [("b", "a"), (), ("c",)]
    made = [to_new_event(e, None, s) for e, s in zip(events, sets, strict=True)]
    appended = log.append(made)
    with sqlite3.connect(tmp_path / "log.sqlite3") as db:
        rows = dict(db.execute("SELECT seq, namespaces FROM confined"))
        assert chain.verify(db).intact
    assert rows == {appended[0].seq: '["a", "b"]', appended[2].seq: '["c"]'}
    summary = accept_lines(log, [(0, VALID, None)], ("z", "y"))
    assert summary.accepted == 1
    stored = log.get(to_new_event(VALID).event_id)
    assert stored is not None and stored.namespaces == ("y", "z")
    log.close()
