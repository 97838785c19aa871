"""What one GraphQL request may walk: nodes expanded, summed over every walk it makes.

Each walk is already capped at LKG_MAX_TRAVERSAL_NODES (it stops, truncated); a request of many
aliased walks could still multiply that. The request's store is this view of the real one: every
BFS frontier step (`neighbors`, `neighbors_each_way`) counts the nodes it expands against the
request's budget (LKG_MAX_TRAVERSAL_NODES again), and a step past it refuses with an error naming
the limit. A walk whose reads came ahead in one statement (`reach`, on Neo4j) is charged the same,
level by level as it reads them from memory; the read-ahead itself covers no more nodes than the
budget has left (else the walk reads level by level, as before). When the request's deadline
passes the view is stopped, so a walk still running in a worker thread ends at its next step
instead of working on for nobody.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar, cast

from lineage_kg.graph.errors import LineageError
from lineage_kg.graph.model import EdgeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.records import EdgeEvents, EdgeId
from lineage_kg.graph.store import (
    GraphStore,
    Moves,
    Neighborhood,
    PairedWalk,
    StoredEdge,
    StoredNode,
    Walked,
    WalkStep,
)
from lineage_kg.queries.traversal import answers_itself

# the decision trace's last read's answers: nodes, assets, OWNS, ALIAS_OF (and evidence)
_Owners = TypeVar("_Owners", bound=tuple[Any, ...])


class RequestBudgetSpent(LineageError):
    """The request walked as many nodes as one request may (summed over its questions)."""

    code = "TRAVERSAL_BUDGET_EXCEEDED"


class DeadlineExceeded(LineageError):
    """The request ran past its deadline (LKG_GRAPHQL_DEADLINE_SECONDS)."""

    code = "DEADLINE_EXCEEDED"


class TraversalBudget:
    """A thread-safe count of nodes expanded by one request's walks."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.spent = 0
        self._stopped: str | None = None
        self._lock = threading.Lock()

    def charge(self, nodes: int) -> None:
        with self._lock:
            if self._stopped is not None:
                raise DeadlineExceeded(self._stopped)
            if self.spent + nodes > self.limit:
                raise RequestBudgetSpent(
                    f"this request's walks would visit more than {self.limit:,} nodes in all "
                    "(LKG_MAX_TRAVERSAL_NODES, summed over every question in one request): "
                    "ask fewer questions per request, or smaller ones (depth, kinds)"
                )
            self.spent += nodes

    def stop(self, reason: str) -> None:
        with self._lock:
            self._stopped = reason

    def left(self) -> int:
        with self._lock:
            return max(0, self.limit - self.spent)


class _ChargedNeighborhood:
    """A walk's read-ahead, each level still charged (and the deadline still checked) as the
    walk reads it."""

    def __init__(self, ahead: Neighborhood, budget: TraversalBudget) -> None:
        self._ahead = ahead
        self._budget = budget

    @property
    def covered(self) -> frozenset[str]:
        return self._ahead.covered

    def neighbors_each_way(
        self, ids: Sequence[str], kinds: Mapping[Direction, Iterable[EdgeKind]]
    ) -> list[tuple[StoredEdge, Direction]]:
        self._budget.charge(len(ids))
        return self._ahead.neighbors_each_way(ids, kinds)


class _BudgetedStore:
    def __init__(self, store: GraphStore, budget: TraversalBudget) -> None:
        self._store = store
        self._budget = budget

    def neighbors(
        self,
        ids: Sequence[str],
        direction: Direction,
        kinds: Iterable[EdgeKind] | None = None,
        as_of: str | None = None,
    ) -> list[StoredEdge]:
        self._budget.charge(len(ids))
        return self._store.neighbors(ids, direction, kinds, as_of)

    def neighbors_each_way(
        self,
        ids: Sequence[str],
        kinds: Mapping[Direction, Iterable[EdgeKind]],
        as_of: str | None = None,
    ) -> list[tuple[StoredEdge, Direction]]:
        self._budget.charge(len(ids))
        return self._store.neighbors_each_way(ids, kinds, as_of)

    def neighbors_now_and_at(
        self, ids: Sequence[str], direction: Direction, kinds: Iterable[EdgeKind], at: str
    ) -> tuple[list[StoredEdge], list[StoredEdge]]:
        """Charged as the two `neighbors` reads it stands for (GraphStore.neighbors_now_and_at)."""
        self._budget.charge(2 * len(ids))
        return self._store.neighbors_now_and_at(ids, direction, kinds, at)

    def parts_and_assets(
        self, ids: Sequence[str], kinds: Iterable[EdgeKind], as_of: str | None = None
    ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """Charged as the two `neighbors` reads it stands for (`GraphStore.parts_and_assets`):
        `ids` out, then the parts found, in; the second charged once the parts are known."""
        self._budget.charge(len(ids))
        found = self._store.parts_and_assets(ids, kinds, as_of)
        self._budget.charge(len({dst for _, dst in found[0]}))
        return found

    def nodes_and_neighbors(
        self,
        node_ids: Sequence[str],
        ids: Sequence[str],
        kinds: Mapping[Direction, Iterable[EdgeKind]],
        as_of: str | None = None,
    ) -> tuple[list[StoredNode], list[tuple[StoredEdge, Direction]]]:
        self._budget.charge(len(ids))  # the neighbour half, as `neighbors_each_way` is charged
        return self._store.nodes_and_neighbors(node_ids, ids, kinds, as_of)

    def nodes_and_owners(
        self,
        node_ids: Sequence[str],
        ids: Sequence[str],
        as_of: str | None = None,
        *,
        path_edges: Mapping[int, StoredEdge] | None = None,
    ) -> tuple[list[StoredNode], list[tuple[str, str]], list[tuple[str, str]]]:
        # charged as the two reads it stands for: the nodes' OWNS, then their owners' ALIAS_OF
        self._budget.charge(len(ids))
        found = self._store.nodes_and_owners(node_ids, ids, as_of, path_edges=path_edges)
        self._budget.charge(len({owner for owner, _ in found[1]}))
        return found

    def nodes_assets_and_owners(
        self,
        node_ids: Sequence[str],
        ids: Sequence[str],
        parts: Mapping[Direction, Sequence[str]],
        part_kinds: Mapping[Direction, Iterable[EdgeKind]],
        as_of: str | None = None,
        *,
        path_edges: Mapping[int, StoredEdge] | None = None,
    ) -> tuple[list[StoredNode], dict[str, str], list[tuple[str, str]], list[tuple[str, str]]]:
        return self._owners_read(
            ids,
            partial(
                self._store.nodes_assets_and_owners,
                node_ids,
                ids,
                parts,
                part_kinds,
                as_of,
                path_edges=path_edges,
            ),
        )

    def nodes_assets_owners_and_evidence(
        self,
        node_ids: Sequence[str],
        ids: Sequence[str],
        parts: Mapping[Direction, Sequence[str]],
        part_kinds: Mapping[Direction, Iterable[EdgeKind]],
        as_of: str | None = None,
        *,
        path_edges: Mapping[int, StoredEdge] | None = None,
        only: Collection[EdgeId] | None = None,
    ) -> tuple[
        list[StoredNode],
        dict[str, str],
        list[tuple[str, str]],
        list[tuple[str, str]],
        dict[EdgeId, EdgeEvents],
    ]:
        # the path edges' events uncharged, as their records are in `nodes_assets_and_owners`
        return self._owners_read(
            ids,
            partial(
                self._store.nodes_assets_owners_and_evidence,
                node_ids,
                ids,
                parts,
                part_kinds,
                as_of,
                path_edges=path_edges,
                only=only,
            ),
        )

    def _owners_read(self, ids: Sequence[str], read: Callable[[], _Owners]) -> _Owners:
        """The decision trace's last read, charged as the reads it stands for
        (`GraphStore.nodes_assets_and_owners`): the parts' ends uncharged, as `neighbor_ends`
        is; the OWNS into `ids` and the assets found; then their owners' ALIAS_OF."""
        self._budget.charge(len(set(ids)))
        found = read()
        _, asset_of, owns, *_ = found
        self._budget.charge(len(set(asset_of.values()).difference(ids)))
        self._budget.charge(len({owner for owner, _ in owns}))
        return found

    def reach(
        self,
        start_ids: Sequence[str],
        moves: Moves,
        *,
        start_state: str,
        max_depth: int,
        as_of: str | None,
        limit: int,
    ) -> Neighborhood | None:
        self._budget.charge(0)  # a stopped request reads nothing more
        ahead = self._store.reach(
            start_ids,
            moves,
            start_state=start_state,
            max_depth=max_depth,
            as_of=as_of,
            limit=min(limit, self._budget.left()),
        )
        if ahead is None:
            return None
        return cast(Neighborhood, _ChargedNeighborhood(ahead, self._budget))

    def walk(
        self,
        start_ids: Sequence[str],
        steps: Sequence[WalkStep],
        *,
        start_state: str,
        covers: Mapping[str, frozenset[str]],
        max_depth: int,
        as_of: str | None,
        max_nodes: int,
        edges: bool,
        owners_next: bool = False,
    ) -> Walked | None:
        """The store's own walk, charged what the level-by-level walk would have been charged at
        most (`expanded`). A walk that would cost more than the budget has left is answered None:
        the caller then walks level by level, charged step by step, and is refused at the very
        step past the budget, as before."""
        self._budget.charge(0)  # a stopped request walks no more
        walked = self._store.walk(
            start_ids,
            steps,
            start_state=start_state,
            covers=covers,
            max_depth=max_depth,
            as_of=as_of,
            max_nodes=max_nodes,
            edges=edges,
            owners_next=owners_next,
        )
        if walked is None:
            return None
        cost = expanded(start_ids, walked, max_depth)
        if cost > self._budget.left():
            return None
        self._budget.charge(cost)
        return walked

    def walk_pair(
        self,
        start_ids: Sequence[str],
        first: PairedWalk,
        second: PairedWalk,
        *,
        max_depth: int,
        as_of: str | None,
        max_nodes: int,
        edges: bool,
    ) -> tuple[Walked | None, Walked | None]:
        """The store's two walks (at once on Neo4j), charged as `walk` charges each, in turn:
        the first, then the second against what is left. When the first is answered None (the
        caller walks it level by level, charged step by step), so is the second, which the
        caller then asks of `walk` after the first: exactly the charges of the two alone."""
        self._budget.charge(0)  # a stopped request walks no more
        # a view under this one that walks but not in pairs (tests' `LevelByLevel`): its `walk`
        pair_of = self._store.walk_pair if answers_itself(self._store, "walk_pair") else None
        pair = (pair_of or partial(GraphStore.walk_pair, self._store))(
            start_ids, first, second, max_depth=max_depth, as_of=as_of, max_nodes=max_nodes,
            edges=edges,
        )  # fmt: skip
        answered: list[Walked | None] = []
        for walked in pair:
            cost = None if walked is None else expanded(start_ids, walked, max_depth)
            if cost is None or cost > self._budget.left():
                break
            self._budget.charge(cost)
            answered.append(walked)
        if not answered:
            return None, None
        return answered[0], answered[1] if len(answered) == 2 else None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def expanded(start_ids: Sequence[str], walked: Walked, max_depth: int) -> int:
    """The node ids a level-by-level walk reads to make these visits: its starts (known to the
    store or not), then at each level below `max_depth` the distinct nodes either pass reached
    there (the next read's frontier). Never less than that walk charges; more only when a walk
    stopped at its node bound, by the level it was filling when it stopped."""
    levels: dict[int, set[str]] = {0: set(start_ids)}
    for visits in (walked.exact, walked.every):
        for node, level in zip(visits.node, visits.level, strict=True):
            if level < max_depth:
                levels.setdefault(level, set()).add(node)
    return sum(len(nodes) for nodes in levels.values())


def budgeted(store: GraphStore, budget: TraversalBudget) -> GraphStore:
    """The store as one request sees it: walks charged to `budget` (the rest passes through)."""
    return cast(GraphStore, _BudgetedStore(store, budget))
