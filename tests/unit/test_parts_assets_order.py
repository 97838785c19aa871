"""graph/neo4j_parts_assets.py orders edges by one joined string per edge instead of the
(src, kind, dst, disc) tuple: on generated rows (keys as the model writes them, JSON of any text,
NUL included; discriminators of any text, NUL included; repeats; parts of several parents) its
answer is the tuple-sorting code's, kept here verbatim as the oracle."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lineage_kg.graph import neo4j_parts_assets
from lineage_kg.graph.model import EdgeKind

# ALIAS is a prefix of ALIAS_OF: the separator must sort before every character a kind holds
KINDS = [EdgeKind.HAS_COLUMN.value, EdgeKind.ALIAS.value, EdgeKind.ALIAS_OF.value]


def _before(row: dict[str, Any]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The post-processing as it was (b544989), verbatim."""
    parts = sorted({(s, k, d, x) for s, d, k, x in row["parts"]})
    ends = [(src, dst) for src, _, dst, _ in parts]
    if not row["more"]:
        return ends, ends.copy()
    more = {(s, k, d, x) for ins in row["more"] for s, d, k, x in ins}
    several = {d for _, _, d, _ in more}
    into = sorted(more.union(edge for edge in parts if edge[2] not in several))
    return ends, [(src, dst) for src, _, dst, _ in into]


# keys from a few texts, so that ends repeat and share prefixes; JSON as NodeKey.id writes it
_text = st.text(alphabet=st.sampled_from(["a", "b", "\0", "\x01", ":", '"', "é"]), max_size=4)
_id = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
keys = st.lists(_text, min_size=1, max_size=6, unique=True).map(
    lambda texts: [_id(["Column", t]) for t in texts]
)


@st.composite
def rows(draw: st.DrawFn) -> dict[str, Any]:
    pool = draw(keys)
    edge = st.tuples(
        st.sampled_from(pool), st.sampled_from(pool), st.sampled_from(KINDS), _text
    ).map(list)
    return {
        "parts": draw(st.lists(edge, max_size=12)),
        "more": draw(st.lists(st.lists(edge, min_size=2, max_size=4), max_size=3)),
    }


@settings(max_examples=300)
@given(rows())
def test_the_joined_order_is_the_edge_ids(row: dict[str, Any]) -> None:
    got = neo4j_parts_assets.parts_and_assets(
        lambda *_args, **_kw: [row], ["x"], [EdgeKind.HAS_COLUMN], None
    )
    assert got == _before(row)
