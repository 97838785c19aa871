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
    # once (DISTINCT) before their edges in are read, and only those with more than one edge of
    # these kinds in, valid or not (its degree: `COUNT`): a part with one or none has at most one
    # valid, and is left out whatever its edge. Before session 33 every part's edges in were read
    # and listed, then the lists of one dropped: the largest team's 32,073 parts at 100k, server
    # CPU 0.21 -> 0.13 s (the statement alone, x8 interleaved, lower in 8 of 8, load 3.1-3.2).
    return cast(
        LiteralString,
        f"{SEEK}CALL (a) {{ MATCH (a)-[r{typed(kinds)}]->(p) WHERE {VALID_NOW_OR_AS_OF}"
        "RETURN r, p } "
        "WITH collect([a.key, p.key, type(r), r.disc]) AS parts, collect(DISTINCT p) AS ps "
        f"CALL (ps) {{ UNWIND ps AS p WITH p WHERE COUNT {{ (p)<-[{typed(kinds)}]-() }} > 1 "
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
    # parts' edges themselves
    parts = by_edge_id(row["parts"])
    ends = [parts[edge] for edge in sorted(parts)]
    if not row["more"]:
        return ends, ends.copy()
    more = by_edge_id(edge for ins in row["more"] for edge in ins)
    several = {dst for _, dst in more.values()}
    into = {edge: e for edge, e in parts.items() if e[1] not in several} | more
    return ends, [into[edge] for edge in sorted(into)]


def by_edge_id(rows: Iterable[Sequence[str]]) -> dict[str, tuple[str, str]]:
    """Each [src, dst, kind, disc] row's ends under one string that sorts as its edge id (the
    tuple (src, kind, dst, disc)) does: the parts joined by NUL, which neither key (JSON, which
    escapes control characters) nor kind holds, and disc, last, may. Sorting 32k such strings
    is ~3x cheaper than sorting the tuples (long keys sharing prefixes compared part by part)."""
    return {f"{s}\0{k}\0{d}\0{x}": (s, d) for s, d, k, x in rows}
