"""Impact's reads after its walk, read by the walk on Neo4j (graph/walk_ahead.py): the walk
statement (`reach_statement(ahead=True)`, `_REACH_END_AHEAD`) also answers each edge's record
and, for the nodes each chunk met, their records (as rows of scalars, `NODE_ROW`), the OWNS
edges into them and their owners' ALIAS_OF edges. `OwnersAhead` keeps them and answers
`Neo4jStore.nodes_and_owners` from them when it is handed the walk's path edges — the same
answer the separate read gives (tested on generated estates: tests/contract/
test_owners_ahead.py) — or says it cannot (None): another `as_of`, or an id the walk did not
meet; the store then reads as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from lineage_kg.graph.model import EdgeKind
from lineage_kg.graph.neo4j_node_rows import stored_node
from lineage_kg.graph.records import StoredNode

_ALIAS_OF = EdgeKind.ALIAS_OF.value


class OwnersAhead:
    """What a walk's statements read of the nodes they met, for `nodes_and_owners`."""

    __slots__ = ("aliases", "as_of", "met", "owners", "records")

    def __init__(self, as_of: str | None) -> None:
        self.as_of = as_of
        self.met: set[str] = set()  # every key the statements looked for, there or not
        self.records: dict[str, Sequence[Any]] = {}  # the nodes there, as their `NODE_ROW`
        self.owners: dict[str, list[str]] = {}  # node key -> its owners' keys, an OWNS edge each
        self.aliases: dict[str, set[tuple[str, str]]] = {}  # owner key -> (named, disc) each

    def add(self, looked_for: Iterable[str], row: Mapping[str, Any]) -> None:
        """One chunk's answer (`_REACH_END_AHEAD`); `looked_for`: its frontier's keys (the
        starts, for the first: a start the store lacks is met, and not there)."""
        owned: dict[str, list[str]] = {}
        for owner, node in row["owns"]:
            owned.setdefault(node, []).append(owner)
        records, owners = self.records, self.owners
        for record in row["records"]:
            if (key := record[0]) not in records:  # a node met by two chunks: the first's read
                records[key] = record
                owners[key] = owned.get(key, [])
        self.met.update(looked_for)
        self.met.update(records)
        for owner, named, disc in row["aliases"]:
            self.aliases.setdefault(owner, set()).add((named, disc))

    def answer(
        self, node_ids: Sequence[str], ids: Sequence[str], as_of: str | None
    ) -> tuple[list[StoredNode], list[tuple[str, str]], list[tuple[str, str]]] | None:
        """`nodes_and_owners(node_ids, ids, as_of)` from what was read, in its order; None if
        asked at another time or of a node the walk did not meet."""
        if as_of != self.as_of:
            return None
        met = self.met
        if not all(i in met for i in node_ids) or not all(i in met for i in ids):
            return None
        records, owners = self.records, self.owners
        nodes = [stored_node(records[i]) for i in node_ids if i in records]
        owns = [(o, i) for i in dict.fromkeys(ids) for o in owners.get(i, ())]
        aliases = self.aliases
        named = sorted(
            (o, _ALIAS_OF, dst, disc)
            for o in {o for o, _ in owns}
            for dst, disc in aliases.get(o, ())
        )
        return nodes, owns, [(src, dst) for src, _, dst, _ in named]
