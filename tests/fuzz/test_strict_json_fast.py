"""ingest/strict_json.py reads most texts with one orjson call and asks the hooked `json` parse
only when it must: whatever the text, a value from the fast road is exactly (types included)
the hooked parse's value, and the ordinary event takes the fast road."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lineage_kg.ingest import strict_json
from tests.fuzz.test_intake_fuzz import VALID

keys = st.text(st.sampled_from('ab"\\é\x00\ud800/'), max_size=3)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),  # NaN and the infinities too
    st.text(st.characters(codec=None), max_size=8),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=25,
)


@st.composite
def texts(draw: st.DrawFn) -> str | bytes:
    """JSON text as producers write it, with room for what the fast road must not take: a key
    given twice, numbers past 64 bits, `NaN`, escapes, lone surrogates, other encodings."""
    text = json.dumps(draw(values), ensure_ascii=draw(st.booleans()))
    if draw(st.booleans()) and (at := text.find('{"')) >= 0:  # repeat the object's first key
        end = text.find(", ", at)
        if end > 0:
            text = text[: end + 2] + text[at + 1 : end] + ", " + text[end + 2 :]
    if draw(st.booleans()):
        text = text.replace(", ", draw(st.sampled_from([",", " ,\n", ",\t"])))
    encoding = draw(st.sampled_from(["str", "utf-8", "utf-8-sig", "utf-16"]))
    if encoding == "str":
        return text
    return text.encode(encoding, "surrogatepass")


def same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, float):
        return repr(a) == repr(b)
    return bool(a == b)


def hooked(text: str | bytes) -> Any:
    hooks: dict[str, Any] = {"parse_constant": strict_json._constant}
    return json.loads(
        text, parse_int=strict_json._int, parse_float=strict_json._float,
        object_pairs_hook=strict_json._object, **hooks,
    )  # fmt: skip


@settings(max_examples=600, deadline=None)
@given(texts())
def test_the_fast_road_gives_exactly_the_hooked_value(text: str | bytes) -> None:
    try:
        expected = hooked(text)
    except (ValueError, RecursionError):  # not JSON: the fast road must not take it either
        assert strict_json._plain(text) is strict_json._ASK_JSON
        return
    fast = strict_json._plain(text)
    if fast is not strict_json._ASK_JSON:
        assert same(fast, expected)
    assert same(strict_json.loads(text), expected)


def test_each_thing_the_fast_road_leaves_to_json_is_left() -> None:
    ask = strict_json._ASK_JSON
    assert strict_json._plain(b'{"a": 1, "b": {"a": 2}}') == {"a": 1, "b": {"a": 2}}
    assert strict_json._plain(b'{"a": 1, "a": 2}') is ask
    assert strict_json._plain(b'{"a": "x\\\\", "a": "\\""}') is ask
    # the kept value's quotes written back as \" where the text spelled them \u0022: counted
    # as they stand, the two escaped quotes would make up for the key dropped
    assert strict_json._plain(b'{"a": 1, "a": "\\u0022\\u0022"}') is ask
    assert strict_json._plain(b"[18446744073709551616]") is ask
    assert strict_json._plain(b"[NaN]") is ask
    assert strict_json._plain(b"[1e400]") is ask
    assert strict_json._plain('["\\ud800"]') is ask
    assert strict_json._plain(b"[" * 300 + b"]" * 300) is ask
    assert strict_json._plain(json.dumps(VALID).encode()) == VALID
