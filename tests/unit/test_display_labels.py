"""`NodeKey.display` (graph/model.py: a table of templates by the key's parts; a decision trace
sorts ~750 feature steps by it, an API page labels every node) is the label the model has always
made from the key's fields by name, kept here verbatim as the oracle, for keys of every kind with
any parts."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from lineage_kg.graph.model import KEY_FIELDS, NodeKey, NodeKind


def _by_fields(key: NodeKey) -> str:
    """The label as graph/model.py made it before (b544989), verbatim."""
    f = key.fields
    match key.kind:
        case NodeKind.DATASET | NodeKind.JOB | NodeKind.EXPOSURE:
            return f"{f['namespace']}/{f['name']}"
        case NodeKind.COLUMN:
            return f"{f['namespace']}/{f['name']}#{f['field']}"
        case NodeKind.DATASET_VERSION:
            return f"{f['namespace']}/{f['name']}@{f['version']}"
        case NodeKind.MODEL_VERSION:
            return f"{f['registry']}/{f['name']}@{f['version']}"
        case NodeKind.FEATURE:
            return f"{f['project']}/{f['view']}:{f['name']}"
        case _:
            return "/".join(key.parts)


# any non-empty text, the separators the labels use ("/", ":", "#", "@") and braces (a template's
# own syntax) more often than chance
_PART = st.text(alphabet=st.sampled_from("ab/:#@.é_ 0{}"), min_size=1, max_size=8) | st.text(
    min_size=1, max_size=6
)


@st.composite
def keys(draw: st.DrawFn) -> NodeKey:
    kind = draw(st.sampled_from(list(NodeKind)))
    parts = tuple(draw(_PART) for _ in KEY_FIELDS[kind])
    return NodeKey(kind, parts)


@settings(max_examples=400, deadline=None)
@given(keys())
def test_display_is_the_fields_label(key: NodeKey) -> None:
    assert key.display == _by_fields(key)


def test_every_kind_once() -> None:
    for kind, fields in KEY_FIELDS.items():
        key = NodeKey(kind, tuple(f"{name}-x" for name in fields))
        assert key.display == _by_fields(key), kind
