"""Neo4j's `parts_and_assets`: a set of assets' parts and every part edge into those parts, in one
statement.

The accountability map starts from a team's assets and their parts (32,073 parts of 1,825 assets
for the largest team at 100k), then needs each node's asset (queries/accountability.py
`_assets_of`): for a part, the far end of its first part edge by edge id. Read as two
`neighbor_ends`, the second seeks every part again by key (an index seek each) and sends every
part's edge in back, though most parts have one: the edge the first read found. Here the second
hop expands from the parts the first found, and sends the edges in of the parts with more than
one alone; the others' one edge in is their edge from the first hop (same kinds, same validity).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import Any, LiteralString, cast

from lineage_kg.graph.model import EdgeKind
from lineage_kg.graph.neo4j_cypher import SEEK, VALID_NOW_OR_AS_OF, typed

Ends = list[tuple[str, str]]


@lru_cache(maxsize=16)
def _statement(kinds: frozenset[EdgeKind]) -> LiteralString:
    # each hop's edges valid now or at $as_of, as `neighbor_ends` reads them; the parts found
    # once (DISTINCT) before their edges in are read
    return cast(
        LiteralString,
        f"{SEEK}CALL (a) {{ MATCH (a)-[r{typed(kinds)}]->(p) WHERE {VALID_NOW_OR_AS_OF}"
        "RETURN r, p } "
        "WITH collect([a.key, p.key, type(r), r.disc]) AS parts, collect(DISTINCT p) AS ps "
        "CALL (ps) { UNWIND ps AS p "
        f"CALL (p) {{ MATCH (p)<-[r{typed(kinds)}]-(b) WHERE {VALID_NOW_OR_AS_OF}"
        "RETURN collect([b.key, p.key, type(r), r.disc]) AS ins } "
        "WITH ins WHERE size(ins) > 1 RETURN collect(ins) AS more } "
        "RETURN parts, more",
    )


def parts_and_assets(
    read: Callable[..., list[Any]],
    ids: Sequence[str],
    kinds: Iterable[EdgeKind],
    as_of: str | None,
) -> tuple[Ends, Ends]:
    """`GraphStore.parts_and_assets` on Neo4j's `read` (the store's `_read`): each list of ends
    in edge id order, without repeats, as `neighbor_ends` answers."""
    wanted = frozenset(map(EdgeKind, kinds))
    if not ids or not wanted:
        return [], []
    (row,) = read(_statement(wanted), ids=list(dict.fromkeys(ids)), as_of=as_of)
    # by edge id, sorted once: without multi-parent parts (the usual case) the edges in are the
    # parts' edges themselves (sorting tens of thousands of string tuples twice was ~half the
    # client's time here)
    parts = sorted({(s, k, d, x) for s, d, k, x in row["parts"]})
    ends = [(src, dst) for src, _, dst, _ in parts]
    if not row["more"]:
        return ends, ends.copy()
    more = {(s, k, d, x) for ins in row["more"] for s, d, k, x in ins}
    several = {d for _, _, d, _ in more}
    into = sorted(more.union(edge for edge in parts if edge[2] not in several))
    return ends, [(src, dst) for src, _, dst, _ in into]
