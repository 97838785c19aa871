"""intake writes the canonical JSON with orjson (`_sorted_text`) and leaves to `json` only the
texts where the two may spell a value otherwise: whatever the JSON value, its text is either
None or exactly `canonical_json`'s (the log's ids and the chain hash it), and the corpus takes
the fast road. `_nesting_within` (now over bytes) says exactly whether the nesting is within
the limit, strings full of quotes, brackets and escapes included."""

from __future__ import annotations

import json
import math
import struct
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.openlineage_corpus import valid_events
from lineage_kg.graph.canonical import canonical_json
from lineage_kg.ingest import strict_json
from lineage_kg.ingest.intake import _nesting_within, _sorted_text, _stored_text

# strings that look like the float forms the check looks for, inside strings (not floats)
LOOKALIKES = ["0.00001", "1e-7", "1e-7,", "x:1e-7]", "3f1e-4a52", "12:00:00.000000Z", "e-", ""]
keys = st.text(st.characters(codec=None), max_size=4) | st.sampled_from(LOOKALIKES)
floats = st.floats(allow_nan=False, allow_infinity=False) | st.builds(
    lambda mantissa, exponent: float(f"{mantissa}e{exponent}"),
    st.integers(1, 10**17),
    st.integers(-30, 30),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    floats,
    st.text(st.characters(codec=None), max_size=8),
    st.sampled_from(LOOKALIKES),
    st.builds(strict_json.Unfit, st.just("marked")),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=30,
)


def _slow(value: Any) -> bytes | None:
    try:
        return canonical_json(value).encode()
    except (TypeError, ValueError, RecursionError):
        return None


@settings(max_examples=1500, deadline=None)
@given(values)
def test_the_fast_text_is_canonical_json_or_none(value: Any) -> None:
    fast = _sorted_text(value)
    if fast is not None:
        assert fast == _slow(value)


def _every_float_form() -> list[float]:
    """Floats across every decimal exponent, short and long mantissas, both signs, and the
    doubles at the edges of each power of ten (where the shortest spelling changes length)."""
    found = [0.0, -0.0, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308]
    for exponent in range(-324, 309):
        for mantissa in ("1", "2.5", "9.999999999999999", "1.2345678901234567"):
            value = float(f"{mantissa}e{exponent}")
            if math.isfinite(value) and value:
                bits = struct.unpack("<q", struct.pack("<d", value))[0]
                for near in (bits - 1, bits, bits + 1):
                    found.append(struct.unpack("<d", struct.pack("<q", near))[0])
    return [f for f in found if math.isfinite(f)] + [-f for f in found if math.isfinite(f)]


def test_every_float_spelled_otherwise_is_left_to_json() -> None:
    """Each float alone, last in a list, and before a comma: the text orjson gives is json's
    or it is refused; and the forms do differ somewhere (else the check would be idle)."""
    differ = 0
    for number in _every_float_form():
        for value in (number, [number], [number, 1], {"a": number}, {"a": number, "b": 1}):
            fast = _sorted_text(value)
            assert fast is None or fast == _slow(value), value
            differ += fast is None
    assert differ > 0


def test_the_corpus_takes_the_fast_road() -> None:
    """The speed claim, not the answer: every corpus event is written by orjson."""
    events = valid_events()
    assert events
    assert all(_sorted_text(e) == _slow(e) for e in events)


# ---- the depth on the text ----------------------------------------------------------------------
wide = st.recursive(
    st.one_of(
        st.text(st.sampled_from('ab"\\[]{}'), max_size=4),
        st.sampled_from(['"', "\\", '\\"', "[", "]{", '"}"', "\\\\", '""']),
        st.integers(),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text('a"[]\\', max_size=3), inner)
    ),
    max_leaves=40,
)


def _depth(value: Any) -> int:
    """How many brackets open around the innermost point of `value` (a scalar: 0)."""
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


@settings(max_examples=800, deadline=None)
@given(wide, st.integers(0, 8))
def test_nesting_within_is_exact(value: Any, limit: int) -> None:
    text = canonical_json(value).encode()
    assert _nesting_within(text, limit) == (_depth(value) <= limit)


def test_the_stored_text_is_the_log_text() -> None:
    value = {"b": [1, 2.5, "x"], "a": {"c": None, "d": True}, "e": 1e-7, "f": "é\n"}
    assert _stored_text(value) == canonical_json(value)
    assert _stored_text({"a": 1e-5}) == canonical_json({"a": 1e-5})
    assert json.loads(_stored_text(value) or "") == value
