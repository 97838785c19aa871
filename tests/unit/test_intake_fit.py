"""The fast pre-checks of intake (`_stored_text`, `_fit`) against the exact locator
(`_unstorable`), over generated JSON-like values — lone surrogates in strings and keys, values
`strict_json` marks unfit, nesting around MAX_DEPTH: `_fit` says True exactly when `_unstorable`
finds nothing, and `_stored_text` gives a text only then (the canonical JSON itself)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lineage_kg.graph.canonical import canonical_json
from lineage_kg.ingest import strict_json
from lineage_kg.ingest.intake import MAX_DEPTH, _fit, _stored_text, _unstorable

texts = st.text(st.characters(min_codepoint=0, max_codepoint=0xE000), max_size=6)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
    st.builds(strict_json.Unfit, st.just("marked")),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)),
    max_leaves=30,
)


def _nested(depth: int, leaf: Any, as_dict: bool) -> Any:
    for _ in range(depth):
        leaf = {"k": leaf} if as_dict else [leaf]
    return leaf


@settings(max_examples=400, deadline=None)
@given(values)
def test_fit_agrees_with_the_locator(value: Any) -> None:
    assert _fit(value) == (_unstorable(value) is None)


@given(
    st.integers(MAX_DEPTH - 2, MAX_DEPTH + 2),
    st.one_of(st.just(1), st.just({}), st.just([]), st.just({"\udc80": 1})),
    st.booleans(),
)
def test_fit_agrees_at_the_depth_limit(depth: int, leaf: Any, as_dict: bool) -> None:
    value = _nested(depth, leaf, as_dict)
    assert _fit(value) == (_unstorable(value) is None)


def test_each_kind_of_unfit_value_is_caught() -> None:
    assert _fit({"a": ["ok", 1, 2.5, None]})
    assert not _fit({"a": ["x\ud800"]})
    assert not _fit({"\udfff": 1})
    assert not _fit([strict_json.Unfit("NaN")])
    assert not _fit(_nested(MAX_DEPTH + 1, 1, as_dict=False))
    assert _fit(_nested(MAX_DEPTH, 1, as_dict=False))


@settings(max_examples=400, deadline=None)
@given(values)
def test_a_stored_text_is_only_given_for_what_the_locator_accepts(value: Any) -> None:
    text = _stored_text(value)
    if text is not None:
        assert _unstorable(value) is None
        assert text == canonical_json(value)


@given(st.integers(MAX_DEPTH - 2, MAX_DEPTH + 2), st.booleans())
def test_the_stored_text_shortcut_never_passes_a_deep_value(depth: int, as_dict: bool) -> None:
    value = _nested(depth, 1, as_dict)
    if _stored_text(value) is not None:
        assert _unstorable(value) is None


wide_values = st.recursive(
    st.one_of(texts, st.sampled_from(['"', "\\", '\\"', "[", "]{", '"}"', "\\\\"]), st.integers()),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=6), st.dictionaries(texts, inner, min_size=1)
    ),
    max_leaves=200,
)


@settings(max_examples=300, deadline=None)
@given(wide_values, st.integers(0, MAX_DEPTH))
def test_a_wide_value_within_the_depth_gets_its_text(value: Any, depth: int) -> None:
    """More brackets than MAX_DEPTH do not cost the slow checks when the nesting is within it:
    the depth is measured on the text (strings full of brackets, quotes and escapes skipped)."""
    value = _nested(depth, [value, "]]]", {"[": "{{"}], as_dict=False)
    nesting = _depth(value)
    if _unstorable(value) is None and nesting <= MAX_DEPTH:
        assert _stored_text(value) == canonical_json(value)
    elif _stored_text(value) is not None:
        assert _unstorable(value) is None


def _depth(value: Any) -> int:
    """How many brackets open around the innermost point of `value` (a scalar: 0)."""
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0
