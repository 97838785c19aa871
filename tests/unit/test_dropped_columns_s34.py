"""graph/dropped_columns.py's id arithmetic: a column id's dataset id is `dataset_of`'s, whatever
the names hold (quotes, commas, `","`, escapes, non-ASCII) — the oracle is NodeKey itself."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from lineage_kg.graph.dropped_columns import dataset_id_of
from lineage_kg.graph.model import NodeKey
from lineage_kg.graph.naming import column_key, dataset_of

names = st.text(alphabet=st.sampled_from('ab",\\/:#é\x01 []'), min_size=1, max_size=8)


@settings(max_examples=150)
@given(names, names, names)
@example("ns", "n", 'x",')  # `","` in the id where no part ends: a field ending in `",`
@example("ns", 'n",', "f")
@example("ns", "n", ",")  # the field's own string is `","`
@example("ns", "n", '","')
@example("ns", "n\\", 'x\\",')  # a name ending in a backslash: its closing quote is not escaped
def test_a_column_ids_dataset_is_its_keys(namespace: str, name: str, field: str) -> None:
    column = column_key(
        NodeKey.of("Dataset", namespace=namespace.strip() or "ns", name=name), field
    )
    assert dataset_id_of(column.id) == dataset_of(column).id
    assert dataset_id_of(column.id) == dataset_of(NodeKey.from_id(column.id)).id
