"""The decision trace on Neo4j, session 30 (issue 19, target 1): contenders for
`trace_pair_s29 --variant` (a change behind a context manager, measured against today's trace
in the same run, answers compared whole every round).

`fold_decided`: a side-table decision that names its version (28 of the generator's first 50
root-cause decisions at 100k) reads that version's DECIDED edges before the read-ahead
(`queries.decisions.resolve_unread`), one round trip for one edge, which only the version's
step shows (its kind and its events). Here they are read with the read-ahead's covered nodes
(`nodes_and_neighbors`: one statement) instead: one round trip fewer. Not in the trace itself:
it moves the read pin of `tests/contract/test_trace_resolution.py` (sd-named: 3 reads -> 2).

    python -m benchmarks.trace_pair_s29 --keep /work/q30/estate --nodes 100000 --decisions 50 \
        --rounds 5 --warm 50 --before b544989 \
        --variant fold=benchmarks.trace_pair_s30:fold_decided \
        --uri bolt://127.0.0.1:27930 --out benchmarks/results/trace_s30_100000
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from lineage_kg.graph.model import EdgeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.records import StoredEdge
from lineage_kg.queries import decision_trace
from lineage_kg.queries.decisions import Resolution, Unread
from lineage_kg.queries.trace_ahead import (
    _STATE,
    AHEAD_LIMIT,
    CHAIN_MOVES,
    ReadAhead,
    chain_hops,
)
from lineage_kg.queries.traversal import answers_itself

_DECIDED = [EdgeKind.DECIDED]


def _fill(found: Unread, version: str, point: str, edges: Sequence[StoredEdge]) -> None:
    """`found`'s link given its version's DECIDED edges (by edge id): the first into the point,
    as `resolve_unread` takes it."""
    edge = next((e for e in edges if e.key.src.id == version and e.key.dst.id == point), None)
    found.links[0] = (version, edge)


@contextmanager
def fold_decided() -> Iterator[None]:
    """Today's trace, a named version's DECIDED edges read with the read-ahead's nodes."""
    real_resolve = decision_trace.resolve_unread
    waiting: list[tuple[Unread, str, str]] = []  # each named resolution, its version, its point

    def resolve_unread(store: Any, row: Any) -> Any:
        if (named := row.version_key) is None:
            return real_resolve(store, row)
        found = Unread(
            Resolution.OBSERVED,
            [(named.id, None)],
            "",
            absent=f"{named.display} is not in the graph",
        )
        waiting.append((found, named.id, row.point_key.id))
        return found

    def read_ahead(store: Any, start: Sequence[str], depth: int, as_of: str | None) -> Any:
        asked = waiting[:]
        waiting.clear()
        ahead = None
        if start and answers_itself(store, "reach"):
            ahead = store.reach(
                start, CHAIN_MOVES, start_state=_STATE, max_depth=chain_hops(depth),
                as_of=as_of, limit=AHEAD_LIMIT,
            )  # fmt: skip
        versions = [version for _, version, _ in asked]
        if ahead is None:
            edges = store.neighbors(versions, Direction.OUT, _DECIDED) if versions else []
            for found, version, point in asked:
                _fill(found, version, point, edges)
            return None
        covered = sorted(ahead.covered)
        if not versions:
            return ReadAhead(store, ahead, {n.id: n for n in store.get_nodes(covered)}, as_of)
        nodes, each = store.nodes_and_neighbors(covered, versions, {Direction.OUT: _DECIDED}, None)
        edges = sorted((e for e, _ in each), key=lambda e: e.key.id)
        for found, version, point in asked:
            _fill(found, version, point, edges)
        return ReadAhead(store, ahead, {n.id: n for n in nodes}, as_of)

    saved = decision_trace.read_ahead
    decision_trace.resolve_unread = resolve_unread  # type: ignore[assignment]
    decision_trace.read_ahead = read_ahead  # type: ignore[assignment]
    try:
        yield
    finally:
        decision_trace.resolve_unread = real_resolve  # type: ignore[assignment]
        decision_trace.read_ahead = saved
