"""A node answered by a Cypher statement as a list of scalars (issue 19, session 28), read by the
decision trace's evidence statement (graph/neo4j_trace_evidence.py) and impact's read-ahead
(graph/neo4j_walk_statements.py, graph/neo4j_walk_ahead.py): its key, `StoredNode`'s fields and
its own props as [name, value] pairs (those `from_record` keeps: not the reserved names, nor its
kind's key fields). Maps cost the server its projection and the driver a dict each: the 15
traces' statements at 100k replayed (load 6), server 26 -> 22 ms median, client CPU of the read
7.2 -> 4.8 ms. The node's props are read once (`properties`) and its kind's names looked up in a
map, not a list (the nodes' read alone, replayed at load 10: server 6.8 -> 5.8 ms mean).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, LiteralString

from lineage_kg.graph.model import KEY_FIELDS, RESERVED_PROPS, NodeKey
from lineage_kg.graph.records import StoredNode

# `n` a node; then NODE_ROW is its row (the statement passes $not_props = NOT_PROPS)
NODE_WITH: LiteralString = "WITH properties(n) AS m, $not_props[n.kind] AS skip "
NODE_ROW: LiteralString = (
    "[m.key, m.sources, m.first_seen, m.first_event, m.last_seen, m.last_event, "
    "[k IN keys(m) WHERE skip[k] IS NULL | [k, m[k]]]]"
)
# a node's names that are not its props, by kind (every node holds its kind: `merge_node`)
NOT_PROPS = {
    kind.value: dict.fromkeys(sorted(RESERVED_PROPS.union(fields)), True)
    for kind, fields in KEY_FIELDS.items()
}


def stored_node(row: Sequence[Any]) -> StoredNode:
    """`StoredNode.from_record` of a node's `NODE_ROW` (its props sorted by name, as there)."""
    key, sources, first_seen, first_event, last_seen, last_event, props = row
    return StoredNode(
        NodeKey.from_id(key),
        dict(sorted(props)) if props else {},
        tuple(sources),
        first_seen,
        first_event,
        last_seen,
        last_event,
    )
