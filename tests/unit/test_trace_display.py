"""The decision trace's `display` (queries/decision_trace.py: it sorts ~750 feature steps a trace
by it) is `NodeKey.display`, the model's own label, for keys of every kind with any parts."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from lineage_kg.graph.model import KEY_FIELDS, NodeKey, NodeKind
from lineage_kg.queries.decision_trace import display

# any non-empty text, the separators the labels use ("/", ":", "#", "@") more often than chance
_PART = st.text(alphabet=st.sampled_from("ab/:#@.é_ 0"), min_size=1, max_size=8) | st.text(
    min_size=1, max_size=6
)


@st.composite
def keys(draw: st.DrawFn) -> NodeKey:
    kind = draw(st.sampled_from(list(NodeKind)))
    parts = tuple(draw(_PART) for _ in KEY_FIELDS[kind])
    return NodeKey(kind, parts)


@settings(max_examples=400, deadline=None)
@given(keys())
def test_display_is_the_models_label(key: NodeKey) -> None:
    assert display(key) == key.display


def test_every_kind_once() -> None:
    for kind, fields in KEY_FIELDS.items():
        key = NodeKey(kind, tuple(f"{name}-x" for name in fields))
        assert display(key) == key.display, kind
