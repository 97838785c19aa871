"""ingest/eventlog.py `parse_stored`: a stored body read by orjson where it reads alike, held to
`json.loads` (what the log read before) over generated JSON — integers of any size, floats with
their infinities and NaN, strings with lone surrogates and escapes, deep and wide nesting — as the
intake's sorted orjson write and as `json.dumps` spell it."""

from __future__ import annotations

import contextlib
import json
import math
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage_kg.ingest.eventlog import parse_stored

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),  # any size: past 64 bits too
    st.integers(-(2**64) - 5, 2**64 + 5),  # around orjson's limits
    st.floats(),  # inf and NaN included (json writes them, only json reads them)
    st.text(),  # lone surrogates included (json escapes them)
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


def _same(a: Any, b: Any) -> bool:
    """Equal values of the same types all the way down (NaN equal to NaN, -0.0 not to 0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (
            a == b and math.copysign(1, a) == math.copysign(1, b)
        )
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _spellings(value: Any) -> list[str]:
    texts = [json.dumps(value), json.dumps(value, ensure_ascii=False, sort_keys=True)]
    # past 64 bits, a lone surrogate: orjson refuses to write them (the intake leaves them to json)
    with contextlib.suppress(orjson.JSONEncodeError, UnicodeEncodeError):
        texts.append(orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode())
    return texts


@settings(max_examples=600, deadline=None)
@given(value=_values)
def test_a_stored_body_reads_as_json_reads_it(value: Any) -> None:
    for text in _spellings(value):
        try:
            expected = json.loads(text)
        except RecursionError:  # pragma: no cover - not at these sizes
            continue
        assert _same(parse_stored(text), expected), text


@given(digits=st.integers(19, 40), sign=st.sampled_from(["", "-"]), where=st.integers(0, 2))
def test_long_integers_anywhere_stay_integers(digits: int, sign: str, where: int) -> None:
    number = sign + "9" * digits
    text = ['{"a": ' + number + "}", "[1, " + number + ", 2]", '{"x": {"y": [' + number + "]}}"][
        where
    ]
    assert _same(parse_stored(text), json.loads(text))


def test_what_only_json_reads_is_read_by_json() -> None:
    for text in ('"\\ud800"', "[1e400]", '{"a": NaN}', "-Infinity", "18446744073709551616"):
        assert _same(parse_stored(text), json.loads(text)), text
