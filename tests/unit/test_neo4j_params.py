"""`neo4j_params.quiet`: the parameters pack to the same bytes as given, by both of the driver's
packers, and their text (what the driver builds for its debug log) stays short."""

from __future__ import annotations

import io
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from neo4j._codec.packstream import Structure
from neo4j._codec.packstream.v1 import Packer

from lineage_kg.graph.neo4j_params import QuietDict, QuietList, quiet

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=8),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=30,
)
_params = st.dictionaries(st.text(min_size=1, max_size=6), _values, max_size=6)


def _rust_packed(params: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    Packer(out).pack(Structure(b"\x10", "RETURN $x", params, {}))  # a RUN message
    return out.getvalue()


def _python_packed(params: dict[str, Any]) -> bytes:
    # the pure-Python packer on the parameters themselves (a Structure's fields go to `_pack`,
    # which is the Rust one when the extension is installed)
    out = io.BytesIO()
    packer = Packer(out)
    packer._py_pack(params, packer._inject_hooks())
    return out.getvalue()


def _rust_params(params: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    Packer(out).pack(params)
    return out.getvalue()


@settings(max_examples=300)
@given(_params)
def test_quiet_params_pack_to_the_same_bytes(params: dict[str, Any]) -> None:
    sent = quiet(params)
    assert sent == params
    assert _rust_packed(sent) == _rust_packed(params)
    assert _python_packed(sent) == _python_packed(params)
    assert _python_packed(params) == _rust_params(params)  # the two packers agree: a real check


@given(_params)
def test_each_top_level_list_and_map_is_quiet(params: dict[str, Any]) -> None:
    sent = quiet(params)
    for name, value in sent.items():
        if isinstance(value, list):
            assert type(value) is QuietList and value is not params[name]
        elif isinstance(value, dict):
            assert type(value) is QuietDict and value is not params[name]
        else:
            assert value is params[name]


def test_the_text_of_large_parameters_is_short() -> None:
    keys = [f"column:db.table_{i}#c" for i in range(50_000)]
    sent = quiet({"starts": keys, "state": 3, "marks": {k: [k, 1, True] for k in keys[:1000]}})
    text = " ".join(map(repr, ("MATCH (n) RETURN n", sent, {})))
    assert len(text) < 200, text
    assert "<list of 50000>" in text and "<map of 1000>" in text
    # what the driver would have built without it
    assert len(repr({"starts": keys})) > 1_000_000


def test_quiet_is_idempotent() -> None:
    once = quiet({"a": [1, 2], "b": {"c": 1}})
    twice = quiet(once)
    assert twice["a"] is once["a"] and twice["b"] is once["b"]
