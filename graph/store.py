"""The one store interface. `Neo4jStore` and `EmbeddedStore` implement it and must agree.

`apply` is written once, here: it loads the records a batch touches, merges the batch into them
with `graph.records` and writes back only what changed — all inside one unit of work. Backends
provide just the load/write primitives and the read operations, so the merge semantics cannot
drift between stores, and replaying a batch writes nothing at all.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Self

from lineage_kg.graph import merge
from lineage_kg.graph.confine import keep_confined, plan_confined
from lineage_kg.graph.dropped_columns import load_dropped_feeds, settle_dropped
from lineage_kg.graph.gc_pause import no_cyclic_gc
from lineage_kg.graph.merge import Mutation, datasets_named
from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import (
    DatasetLink,
    Direction,
    EdgeRetire,
    EdgeUpsert,
    MutationBatch,
    NodeUpsert,
)
from lineage_kg.graph.records import (
    EdgeEvents,
    EdgeId,
    Record,
    StoredEdge,
    StoredNode,
    merge_edge,
    merge_node,
    retire_edge,
)
from lineage_kg.graph.records import covers as covers_assertion
from lineage_kg.graph.run_owner import keep_runs_to_their_jobs
from lineage_kg.graph.validity import remember_all, settle_all

# (anchor node id, edge kind, direction): every edge of that kind at that node, that way
IncidentSpec = tuple[str, EdgeKind, Direction]


@dataclass(frozen=True, slots=True)
class EdgeTest:
    """A test of an edge that a store can also run inside a statement: the kind of its source,
    the kind of its target, a property it does not hold (missing or false). A walk step whose
    test is one of these lets `GraphStore.reach` read only the edges that step can follow."""

    src: frozenset[NodeKind] | None = None
    dst: frozenset[NodeKind] | None = None
    unset: str | None = None

    def __call__(self, edge: StoredEdge) -> bool:
        return (
            (self.src is None or edge.key.src.kind in self.src)
            and (self.dst is None or edge.key.dst.kind in self.dst)
            and (self.unset is None or not edge.props.get(self.unset))
        )


# A walk's moves, for `GraphStore.reach`: (walk state, direction, edge kind) -> the states the far
# node is reached in, each with the test an edge must pass (None: any edge). A policy's other
# tests (any code) can only narrow them, so what the moves reach is a superset of the walk's.
Moves = Mapping[tuple[str, Direction, EdgeKind], Collection[tuple[str, EdgeTest | None]]]


@dataclass(frozen=True, slots=True)
class Neighborhood:
    """Edges read ahead by `GraphStore.reach`: for every node in `covered`, each edge leaving it
    (each way, valid as the walk asked) that one of the walk's moves follows from a state the node
    can be reached in — so every edge the walk follows from it, as `neighbors_each_way` answers.
    (Edges no state of the node follows need not be there: the walk reads them, never follows.)"""

    covered: frozenset[str]
    # (origin node id, direction) -> kind -> the edges walked from it that way, by edge id
    edges: Mapping[tuple[str, Direction], Mapping[EdgeKind, Sequence[StoredEdge]]]

    @classmethod
    def of(
        cls, covered: Iterable[str], found: Iterable[tuple[StoredEdge, Direction]]
    ) -> Neighborhood:
        index: dict[tuple[str, Direction], dict[EdgeKind, dict[EdgeId, StoredEdge]]] = {}
        for edge, way in found:
            origin = edge.key.src.id if way is Direction.OUT else edge.key.dst.id
            index.setdefault((origin, way), {}).setdefault(edge.key.kind, {})[edge.key.id] = edge
        return cls(
            frozenset(covered),
            {
                at: {kind: [e[k] for k in sorted(e)] for kind, e in by_kind.items()}
                for at, by_kind in index.items()
            },
        )

    def neighbors_each_way(
        self, ids: Sequence[str], kinds: Mapping[Direction, Iterable[EdgeKind]]
    ) -> list[tuple[StoredEdge, Direction]]:
        """`GraphStore.neighbors_each_way` from memory, for covered nodes only: a node outside
        is a bug of the read-ahead (it must hold every node the walk expands), never guessed."""
        if outside := [i for i in ids if i not in self.covered]:
            raise LookupError(f"not read ahead: {outside[:3]} ({len(outside)} nodes)")
        found: list[tuple[StoredEdge, Direction]] = []
        for way in (Direction.OUT, Direction.IN):  # as Neo4j answers a level: out, then in
            of_kinds = [EdgeKind(k) for k in kinds.get(way, ())]
            for node in dict.fromkeys(ids):
                at = self.edges.get((node, way), {})
                for kind in of_kinds:
                    found.extend((edge, way) for edge in at.get(kind, ()))
        return found


@dataclass(frozen=True, slots=True)
class WalkStep:
    """One step of a walk the store runs itself (`GraphStore.walk`): follow `kind` edges in
    `direction`, from the states `only_from` (None: any), the edges `accepts` takes (None: every
    one; an `EdgeTest` the store runs on its own ids, any other callable gets the `StoredEdge`),
    to the far node in state `then` (None: the state it came in). `exact`: the exact pass
    follows it too (a step that is not merely possible)."""

    kind: EdgeKind
    direction: Direction
    exact: bool
    then: str | None = None
    only_from: frozenset[str] | None = None
    accepts: Callable[[StoredEdge], bool] | None = None


@dataclass(frozen=True, slots=True)
class PairedWalk:
    """What one of `GraphStore.walk_pair`'s two walks asks besides the starts and bounds they
    share: its steps, the state its starts are in, and which states cover which."""

    steps: Sequence[WalkStep]
    start_state: str
    covers: Mapping[str, frozenset[str]]


@dataclass(slots=True)
class WalkPass:
    """One pass's visits of (node, state), in the order reached, as parallel lists: the node,
    the state, the level (hops from the start), the visit it was reached from (-1: a start),
    the edge it was reached by (a key into `Walked.edges`; -1: a start) and the way walked —
    these three empty unless the walk was asked for its edges (paths)."""

    node: list[str] = field(default_factory=list)
    state: list[str] = field(default_factory=list)
    level: list[int] = field(default_factory=list)
    parent: list[int] = field(default_factory=list)
    edge: list[int] = field(default_factory=list)
    way: list[Direction | None] = field(default_factory=list)


@dataclass(slots=True)
class Walked:
    """`GraphStore.walk`'s answer: the exact pass (exact steps only) and the pass over every
    step, what the walk read and followed, and — when asked for — the edges of every visit."""

    exact: WalkPass
    every: WalkPass
    edges: dict[int, StoredEdge]  # by the visits' edge keys; empty unless `edges=True`
    led_on: set[str]  # nodes some step was followed from
    truncated: bool
    visited_edges: int


@dataclass(frozen=True, slots=True)
class ApplyResult:
    mutations: int
    nodes_written: int
    edges_written: int


@dataclass(frozen=True, slots=True)
class Prepared:
    """A batch loaded and merged, ready to write: only the records it changes."""

    nodes: dict[str, Record]
    edges: dict[EdgeId, Record]
    new_nodes: AbstractSet[str]  # absent from the store when loaded: created outright
    new_edges: AbstractSet[EdgeId]
    result: ApplyResult
    aliases: Mapping[str, str] = field(default_factory=dict)  # alias table rows to write
    deleted: AbstractSet[str] = frozenset()  # nodes re-homed onto another name, edges and all
    # prepared against a pending batch it needed landed first (a merge): prepare again then
    stale: bool = False


@dataclass(frozen=True, slots=True)
class GraphStats:
    nodes: dict[str, int] = field(default_factory=dict)
    edges: dict[str, int] = field(default_factory=dict)

    @property
    def node_count(self) -> int:
        return sum(self.nodes.values())

    @property
    def edge_count(self) -> int:
        return sum(self.edges.values())


class UnitOfWork(ABC):
    """Loads and writes of one batch, committed together."""

    @abstractmethod
    def load_nodes(self, ids: Sequence[str]) -> dict[str, Record]: ...

    @abstractmethod
    def load_edges(self, ids: Sequence[EdgeId]) -> dict[EdgeId, Record]: ...

    @abstractmethod
    def load_incident(self, specs: Sequence[IncidentSpec]) -> dict[EdgeId, Record]: ...

    @abstractmethod
    def load_around(self, ids: Sequence[str]) -> dict[EdgeId, Record]:
        """Every edge at these nodes, both ways, whatever its kind (a re-homing: rare)."""

    @abstractmethod
    def load_aliases(self, names: Sequence[str]) -> dict[str, str]:
        """The alias table's rows for these dataset ids: alias id -> canonical id."""

    @abstractmethod
    def load_aliases_to(self, canonicals: Sequence[str]) -> dict[str, str]:
        """The alias table's rows whose canonical id is one of these."""

    def load_nodes_and_aliases(
        self, ids: Sequence[str], names: Sequence[str]
    ) -> tuple[dict[str, Record], dict[str, str]]:
        """`load_nodes` and `load_aliases` at once: a store may answer both in one round trip,
        so that knowing the batch's names costs nothing when no new link appears."""
        return self.load_nodes(ids), self.load_aliases(names) if names else {}

    @abstractmethod
    def delete_nodes(self, ids: Sequence[str]) -> None:
        """Delete these nodes and every edge at them (their records live on under new ids)."""

    @abstractmethod
    def write_aliases(self, rows: Mapping[str, str]) -> None:
        """Set these alias table rows (alias id -> canonical id)."""

    @abstractmethod
    def write(
        self,
        nodes: dict[str, Record],
        edges: dict[EdgeId, Record],
        new_nodes: AbstractSet[str] = frozenset(),
        new_edges: AbstractSet[EdgeId] = frozenset(),
    ) -> None:
        """Write these records. `new_*` name those the loads found absent: a store may create
        them without looking first (this unit of work is the graph's only writer)."""

    @abstractmethod
    def set_checkpoint(self, seq: int) -> None:
        """Record, in the same transaction, that the event log is applied up to `seq`."""

    @abstractmethod
    def claim_checkpoint(self) -> int:
        """Lock the checkpoint until this transaction ends and return it as last committed: a
        second writer's claim waits for this one (the fence of `GraphStore.commit(after=…)`)."""


class StoreUnavailable(RuntimeError):
    """The store cannot be reached now; the caller may retry later."""


class CheckpointMoved(RuntimeError):
    """Another writer moved the store's checkpoint since this one read it: this writer is no
    longer the graph's projector (a standby took over, or two were started); nothing was
    written. It must read the checkpoint again before writing anything more."""

    def __init__(self, expected: int, found: int) -> None:
        super().__init__(f"the store's checkpoint is at {found}, this writer expected {expected}")
        self.expected, self.found = expected, found


class GraphStore(ABC):
    name: str
    _writes = 0  # see `write_count`

    # ---- writes -------------------------------------------------------------------------
    def apply(
        self,
        batch: MutationBatch | Iterable[Mutation],
        checkpoint: int | None = None,
        *,
        after: int | None = None,
    ) -> ApplyResult:
        """Apply a batch in one transaction; with `checkpoint`, record that log position too.
        With `after`: only if the store's checkpoint is still `after` (else `CheckpointMoved`,
        nothing written) — the fence that keeps two projectors from applying a batch twice."""
        with self._unit_of_work() as uow:
            self._fence(uow, after)
            prepared = self._prepare(uow, batch, None)
            self._write(uow, prepared, checkpoint)
        return prepared.result

    def prepare(
        self,
        batch: MutationBatch | Iterable[Mutation],
        pending: Prepared | None = None,
    ) -> Prepared:
        """The first half of `apply`, on its own: load and merge, write nothing.

        `pending` is a batch prepared before and still being committed (by `commit`, on another
        thread): its records stand in for what the store holds, so a projector can merge batch
        k+1 while Neo4j writes batch k. Any other write in that window makes the result stale: the
        caller checks `write_count` and prepares again. A batch that must re-home a name's nodes
        (graph/merge.py) needs the store to hold everything first: it comes back `stale`, to be
        prepared again once `pending` has landed; and one that re-homed makes the next re-prepare
        (it deleted nodes).

        The cyclic collector is paused meanwhile: the merge makes hundreds of thousands of dicts
        and no cyclic garbage (`benchmarks.projector_cpu --gc-ab`: the merge of 100k's first 500
        entries 2.86-4.43 s CPU with it, 2.53-2.80 s without, in 4 alternated pairs)."""
        with no_cyclic_gc(), self._unit_of_work() as uow:
            return self._prepare(uow, batch, pending)

    def commit(
        self, prepared: Prepared, checkpoint: int | None = None, *, after: int | None = None
    ) -> ApplyResult:
        """The second half of `apply`: write a prepared batch in one transaction (fenced by
        `after` as there)."""
        with self._unit_of_work() as uow:
            self._fence(uow, after)
            self._write(uow, prepared, checkpoint)
        return prepared.result

    @staticmethod
    def _fence(uow: UnitOfWork, after: int | None) -> None:
        # first in the transaction: a writer that lost the race writes nothing at all
        if after is not None and (found := uow.claim_checkpoint()) != after:
            raise CheckpointMoved(after, found)

    @property
    def write_count(self) -> int:
        """How many units of work have written something: a projector holding a batch prepared
        against a pending one can tell whether anything else wrote in between."""
        return self._writes

    def _prepare(
        self,
        uow: UnitOfWork,
        batch: MutationBatch | Iterable[Mutation],
        pending: Prepared | None,
    ) -> Prepared:
        mutations = batch.mutations if isinstance(batch, MutationBatch) else list(batch)
        confined = batch.confined if isinstance(batch, MutationBatch) else {}
        over_nodes = pending.nodes if pending is not None else {}
        over_edges = pending.edges if pending is not None else {}
        over_aliases = pending.aliases if pending is not None else {}
        # what the pending batch writes is read from it, not from the store (which may not
        # have it yet); its records are never mutated (merges copy), so sharing them is safe
        given = mutations
        touched = _Touched.of(mutations)
        mutations, linked, loaded_nodes, asked = _load_named(
            uow, mutations, over_nodes, over_aliases, confined, own_ids=touched.node_ids
        )
        # a restricted key's event writes only inside its namespaces, on canonical names too
        if (inside := keep_confined(mutations, confined)) is not mutations:
            mutations = list(inside)
        moves = [ds for ds in linked.moved if ds in loaded_nodes]
        if moves and pending is not None:
            # the moved names' edges may be in the pending batch alone: merge once it has landed
            return Prepared({}, {}, frozenset(), frozenset(), ApplyResult(0, 0, 0), stale=True)
        if mutations is not given:  # rewritten onto canonical names, or some left out: rare
            touched = _Touched.of(mutations)
        node_ids, edge_ids, incident = touched.node_ids, touched.edge_ids, touched.incident
        if missing := node_ids - asked:  # names the rewriting brought in: rare
            loaded_nodes.update(uow.load_nodes(sorted(missing - over_nodes.keys())))
            loaded_nodes.update((k, over_nodes[k]) for k in missing & over_nodes.keys())
        loaded_edges = uow.load_edges(sorted(edge_ids - over_edges.keys()))
        loaded_edges.update((k, over_edges[k]) for k in edge_ids & over_edges.keys())
        loaded_edges.update(uow.load_incident(sorted(incident)))
        if incident and over_edges:
            for eid, record in over_edges.items():
                src, kind, dst, _ = eid
                if (src, kind, Direction.OUT) in incident or (dst, kind, Direction.IN) in incident:
                    loaded_edges[eid] = record
        # the FEEDS into the columns a schema drops end with them (graph/dropped_columns.py)
        dropped_feeds = load_dropped_feeds(
            touched.retires,
            loaded_edges,
            over_edges,
            uow.load_incident,
            asserted=edge_ids,
            nodes=loaded_nodes,
        )
        new_ids: dict[str, str] = {}
        around: dict[EdgeId, Record] = {}
        if moves:  # rare: a link arrived after something was recorded under the other name
            new_ids, around = _load_moved(uow, moves, linked, loaded_nodes, loaded_edges)
        nodes, edges = dict(loaded_nodes), dict(loaded_edges)
        rehomed = merge.rehome(new_ids, nodes, edges, around) if moves else set()
        # a run stays the first job's that reported it: another job's event is kept away from it
        if (kept := keep_runs_to_their_jobs(mutations, loaded_nodes)) is not mutations:
            mutations = list(kept)
            touched = _Touched.of(mutations)
            edge_ids = touched.edge_ids
        _merge_upserts(mutations, nodes, edges)
        # retirements after all upserts, so an edge the same batch asserts is never closed
        retires = touched.retires
        shared: set[EdgeId] = set()
        if retires:
            shared = self._retire(retires, edges)
            remember_all(retires, nodes)
            if shared:  # rare: settled below from both ends' retirements, so both are read
                _load_ends(uow, shared, nodes, loaded_nodes, over_nodes)
        # an edge asserted late may be one a newer retirement already closed: time decides
        settle_all(edge_ids | rehomed | shared, edges, nodes)
        settle_dropped(
            edge_ids | rehomed | dropped_feeds,
            edges,
            nodes,
            lambda ids: _read_nodes(uow, ids, loaded_nodes, over_nodes),
            lambda ids: _read_edges(uow, ids, loaded_edges, over_edges),
        )
        changed_nodes = {k: r for k, r in nodes.items() if loaded_nodes.get(k) != r}
        changed_edges = {k: r for k, r in edges.items() if loaded_edges.get(k) != r}
        return Prepared(
            nodes=changed_nodes,
            edges=changed_edges,
            new_nodes=changed_nodes.keys() - loaded_nodes.keys(),
            new_edges=changed_edges.keys() - loaded_edges.keys(),
            result=ApplyResult(len(mutations), len(changed_nodes), len(changed_edges)),
            aliases=linked.entries,
            deleted=frozenset(new_ids),
        )

    def _write(self, uow: UnitOfWork, prepared: Prepared, checkpoint: int | None) -> None:
        if prepared.stale:
            raise RuntimeError("a batch prepared against one that had to land first")
        if prepared.deleted:
            uow.delete_nodes(sorted(prepared.deleted))  # first: their edges live on re-homed
        if prepared.aliases:
            uow.write_aliases(prepared.aliases)
        if prepared.nodes or prepared.edges or prepared.deleted or prepared.aliases:
            uow.write(prepared.nodes, prepared.edges, prepared.new_nodes, prepared.new_edges)
            self._writes += 1  # one writer at a time: the projector, then its side tables
        if checkpoint is not None:
            uow.set_checkpoint(checkpoint)

    @staticmethod
    def _retire(retires: list[EdgeRetire], edges: dict[EdgeId, Record]) -> set[EdgeId]:
        # only the anchors retired at are indexed, by (anchor id, the kind's string), one index a
        # direction (a key of two strings, not three with a Direction, looked up twice an edge:
        # 0.190 -> 0.169 s at 100k's first 500 entries, 91k edges, x10 alternated), the ids from
        # the keys' slots. The edges in the order `edges` holds them, as before. Returns the
        # edges a scoped retirement met that another source asserts too: the caller settles
        # them (graph/validity.py), as one retirement and the record cannot tell their end
        out, into = Direction.OUT, Direction.IN
        asked_out = {(r.anchor._id, r.kind._value_) for r in retires if r.direction is out}
        asked_in = {(r.anchor._id, r.kind._value_) for r in retires if r.direction is into}
        at_out: dict[tuple[str, str], list[EdgeId]] = {}
        at_in: dict[tuple[str, str], list[EdgeId]] = {}
        for eid in edges:
            if asked_out and (at := (eid[0], eid[1])) in asked_out:
                at_out.setdefault(at, []).append(eid)
            if asked_in and (at := (eid[2], eid[1])) in asked_in:
                at_in.setdefault(at, []).append(eid)
        shared: set[EdgeId] = set()
        for retire in retires:
            keep = {k._id for k in retire.keep}
            only = None if retire.only is None else {k._id for k in retire.only}
            outward = retire.direction is out
            at_anchor = at_out if outward else at_in
            scoped = retire.prov.source if retire.scoped else None
            for eid in at_anchor.get((retire.anchor._id, retire.kind._value_), ()):
                far = eid[2] if outward else eid[0]
                if (
                    far not in keep
                    and retire.disc in (None, eid[3])
                    and (only is None or far in only)
                ):
                    if scoped is not None and (sources := edges[eid]["sources"]) != [scoped]:
                        if scoped in sources:
                            shared.add(eid)
                        continue  # another source's assertion: not this retirement's to close
                    edges[eid] = retire_edge(edges[eid], retire)
        return shared

    @abstractmethod
    def _unit_of_work(self) -> AbstractContextManager[UnitOfWork]: ...

    @abstractmethod
    def checkpoint(self) -> int:
        """The event-log position this store has applied up to (0: nothing yet)."""

    @abstractmethod
    def mark(self, name: str) -> int:
        """A log position the processes sharing this store agree on, by name (0: never set):
        e.g. how far the graph's writer has settled its notifications (service/notifications.py).
        Cleared with the graph."""

    @abstractmethod
    def set_mark(self, name: str, seq: int) -> None: ...

    # ---- reads --------------------------------------------------------------------------
    @abstractmethod
    def get_nodes(self, ids: Sequence[str]) -> list[StoredNode]:
        """The nodes that exist among `ids`, in the order asked."""

    def get_node(self, node_id: str) -> StoredNode | None:
        found = self.get_nodes([node_id])
        return found[0] if found else None

    @abstractmethod
    def neighbors(
        self,
        ids: Sequence[str],
        direction: Direction,
        kinds: Iterable[EdgeKind] | None = None,
        as_of: str | None = None,
    ) -> list[StoredEdge]:
        """Edges leaving (OUT) or entering (IN) the given nodes — one frontier step of a BFS.

        Without `as_of`, only current edges; with it, the edges valid at that time. Sorted by
        edge id so that both stores answer in the same order.
        """

    def neighbors_now_and_at(
        self, ids: Sequence[str], direction: Direction, kinds: Iterable[EdgeKind], at: str
    ) -> tuple[list[StoredEdge], list[StoredEdge]]:
        """`neighbors(ids, direction, kinds)` and `neighbors(ids, direction, kinds, at)`: the
        edges valid now and those valid at `at`. Two reads here; Neo4j answers both in one round
        trip (a decision's point's deployments then and now: queries/decision_trace.py)."""
        wanted = list(kinds)
        return self.neighbors(ids, direction, wanted), self.neighbors(ids, direction, wanted, at)

    def neighbor_page(
        self,
        node_id: str,
        direction: Direction,
        kinds: Iterable[EdgeKind] | None = None,
        as_of: str | None = None,
        *,
        offset: int = 0,
        limit: int = 50,
    ) -> tuple[list[StoredEdge], int]:
        """`neighbors([node_id], …)[offset:offset + limit]` and how many there are in all: a
        page of a node's edges. A store may order the edges by id without building them all
        (a dataset with 100,000 versions, a team owning 100,000 assets: one page of 50 should
        not read 100,000 records)."""
        edges = self.neighbors([node_id], direction, kinds, as_of)
        return edges[offset : offset + limit], len(edges)

    def neighbor_ends(
        self,
        ids: Sequence[str],
        direction: Direction,
        kinds: Iterable[EdgeKind] | None = None,
        as_of: str | None = None,
    ) -> list[tuple[str, str]]:
        """`neighbors`' edges as their ends alone, (source id, target id), in the same order: for
        a question that needs only which node each edge links (a store may skip building edges)."""
        return [(e.key.src.id, e.key.dst.id) for e in self.neighbors(ids, direction, kinds, as_of)]

    def parts_and_assets(
        self, ids: Sequence[str], kinds: Iterable[EdgeKind], as_of: str | None = None
    ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """`neighbor_ends(ids, OUT, kinds)` — the parts of `ids` — and `neighbor_ends` of those
        parts IN along the same kinds (every such edge into them, by edge id: whose parts they
        are), in one call: a store may read both at once (Neo4j: one statement, the parts not
        sought again by key)."""
        kinds = list(kinds)
        parts = self.neighbor_ends(ids, Direction.OUT, kinds, as_of)
        into = list(dict.fromkeys(dst for _, dst in parts))
        return parts, self.neighbor_ends(into, Direction.IN, kinds, as_of)

    def neighbors_each_way(
        self,
        ids: Sequence[str],
        kinds: Mapping[Direction, Iterable[EdgeKind]],
        as_of: str | None = None,
    ) -> list[tuple[StoredEdge, Direction]]:
        """One BFS frontier step following some kinds out and others in, each edge with the way
        it was walked. A store may answer it in one round trip (Neo4j does)."""
        return [
            (edge, direction)
            for direction, of_kinds in kinds.items()
            for edge in self.neighbors(ids, direction, of_kinds, as_of)
        ]

    def nodes_and_neighbors(
        self,
        node_ids: Sequence[str],
        ids: Sequence[str],
        kinds: Mapping[Direction, Iterable[EdgeKind]],
        as_of: str | None = None,
    ) -> tuple[list[StoredNode], list[tuple[StoredEdge, Direction]]]:
        """`get_nodes(node_ids)` and `neighbors_each_way(ids, kinds, as_of)` at once: two reads a
        question needs together (the nodes a walk reached and their OWNS edges; a level's nodes
        and the next level's edges), in one round trip on a store that can (Neo4j)."""
        return self.get_nodes(node_ids), self.neighbors_each_way(ids, kinds, as_of)

    def nodes_and_owners(
        self,
        node_ids: Sequence[str],
        ids: Sequence[str],
        as_of: str | None = None,
        *,
        path_edges: Mapping[int, StoredEdge] | None = None,
    ) -> tuple[list[StoredNode], list[tuple[str, str]], list[tuple[str, str]]]:
        """`get_nodes(node_ids)`; the OWNS edges into `ids`, as (owner id, node id); and the
        ALIAS_OF edges leaving those owners, as (alias id, id it names), by edge id: what an
        impact answer reads after its walk, in one round trip on a store that can (Neo4j).
        `path_edges`: a walk's `Walked.edges`, whose records a store that reads them lazily
        (Neo4j) may fill in the same round trip."""
        kinds = {Direction.IN: [EdgeKind.OWNS]}
        nodes, owns = self.nodes_and_neighbors(node_ids, ids, kinds, as_of)
        ends = [(e.key.src.id, e.key.dst.id) for e, _ in owns]
        owners = sorted({src for src, _ in ends})
        aliases = self.neighbor_ends(owners, Direction.OUT, [EdgeKind.ALIAS_OF], as_of)
        return nodes, ends, aliases

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
        """`nodes_and_owners` with each of `parts`' asset found first and its owners read too:
        a part's asset is the far end of its first edge (by edge id) of `part_kinds[way]` walked
        `way` (queries/assets.py's model: a column's dataset, a run's job). Answers the nodes;
        part id -> asset id (a part with no such edge: absent); the OWNS edges into `ids` and
        those assets; their owners' ALIAS_OF edges. The decision trace's last read, in one round
        trip on a store that can (Neo4j)."""
        asset_of: dict[str, str] = {}
        for way, of_way in sorted(parts.items()):
            if of_way:
                keep_first_assets(
                    asset_of, way, self.neighbor_ends(of_way, way, part_kinds[way], as_of)
                )
        owned = list(dict.fromkeys([*ids, *asset_of.values()]))
        nodes, owns, aliases = self.nodes_and_owners(node_ids, owned, as_of, path_edges=path_edges)
        return nodes, asset_of, owns, aliases

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
        """`nodes_assets_and_owners`, and the events of those of `path_edges` (of `only`'s
        alone, when given) a store reads lazily, by edge id: what evidence shows of an edge,
        without its record (Neo4j). A store holding its path edges' records answers none: the
        caller reads the records it holds."""
        found = self.nodes_assets_and_owners(
            node_ids, ids, parts, part_kinds, as_of, path_edges=path_edges
        )
        return (*found, {})

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
        """A whole walk's reads at once: every node a walk from `start_ids` (in `start_state`)
        along `moves` reaches within `max_depth - 1` hops — the nodes it may expand — with every
        edge of the moves' kinds leaving them, each way (valid now, or at `as_of`, as
        `neighbors` reads). None when more than `limit` nodes would be covered, or when the store
        has no faster way than one read per level (the walk then reads level by level)."""
        return None

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
        """The whole walk of queries/traversal.py's `traverse`, run by the store itself: two
        breadth-first passes over (node, state) in lockstep (the exact one follows only exact
        steps), each level's edges taken by the frontier node they leave (in frontier order)
        then by edge id, each (node, state) visited once per pass — a state blocked where the
        node was reached in it or in a state covering it (`covers`) — stopping before the edge
        that would find a node past `max_nodes` beyond the starts. The same visits, in the same
        order, as `traverse` makes; with `edges`, the edge of every visit as a `StoredEdge`.
        None when the store has no faster way than its reads (the caller then walks them).
        `owners_next`: the caller reads `nodes_and_owners` of what the walk reaches next (impact);
        a store may read them with the walk and hand them over with `Walked.edges`, given back as
        `path_edges` (graph/walk_ahead.py), or ignore it."""
        return None

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
        """Two walks from the same starts (the accountability map's downstream and upstream
        ones), each answered exactly as `walk` answers it alone. Here one after the other; a
        store whose reads wait on a server may run them at once (Neo4j)."""

        def one(asked: PairedWalk) -> Walked | None:
            return self.walk(
                start_ids, asked.steps, start_state=asked.start_state, covers=asked.covers,
                max_depth=max_depth, as_of=as_of, max_nodes=max_nodes, edges=edges,
            )  # fmt: skip

        return one(first), one(second)

    @abstractmethod
    def search(
        self, text: str, kinds: Iterable[NodeKind] | None = None, limit: int = 20
    ) -> list[StoredNode]:
        """Nodes whose display name contains `text` (case-insensitive), by display name."""

    @abstractmethod
    def find_aliased(self, names: Sequence[str], limit: int = 10) -> list[StoredNode]:
        """Dataset nodes whose `aliases` prop holds one of `names` (exact, "namespace/name"), by
        id: how a name that is not a node's own finds the node it is another name of. Indexed."""

    @abstractmethod
    def linked_names(self, ids: Sequence[str]) -> dict[str, str]:
        """The alias table's rows for these dataset ids (alias id -> canonical id): names a link
        put onto another dataset node (graph/merge.py)."""

    @abstractmethod
    def names_linked_to(self, ids: Sequence[str]) -> dict[str, str]:
        """The alias table's rows whose canonical id is one of these."""

    def merged_names(self, node_id: str) -> list[str]:
        """The ids this node goes by under its dataset's other names (a Dataset, Column or
        DatasetVersion): what was recorded under them is its history too."""
        key = NodeKey.from_id(node_id)
        ds = merge.dataset_id(key)
        if ds is None:
            return []
        found = []
        for alias in sorted(self.names_linked_to([ds])):
            other = NodeKey.from_id(alias)
            found.append(NodeKey(key.kind, (*other.parts, *key.parts[2:])).id)
        return found

    @abstractmethod
    def stats(self) -> GraphStats: ...

    def is_empty(self) -> bool:
        """Whether the graph holds no node (a store may answer it cheaper than `stats`)."""
        return self.stats().node_count == 0

    @abstractmethod
    def iter_nodes(self) -> Iterator[StoredNode]:
        """Every node, sorted by id (for exports and the contract tests)."""

    @abstractmethod
    def iter_edges(self) -> Iterator[StoredEdge]:
        """Every edge, sorted by edge id."""

    # ---- lifecycle ----------------------------------------------------------------------
    @abstractmethod
    def ping(self) -> None:
        """Raise `StoreUnavailable` unless the store answers now."""

    @abstractmethod
    def describe(self) -> str:
        """One line for logs and /readyz: which store, where, which version."""

    @abstractmethod
    def clear(self) -> None: ...

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def keep_first_assets(
    asset_of: dict[str, str], way: Direction, ends: Iterable[tuple[str, str]]
) -> None:
    """Into `asset_of` (part id -> asset id), each part's asset from the (src, dst) ends of its
    part edges walked `way`, sorted by edge id: the far end of the first (a part with two assets,
    rare, gets the first on every store; a part already in `asset_of` keeps its own)."""
    for src, dst in ends:
        asset_of.setdefault(*((dst, src) if way is Direction.IN else (src, dst)))


def _merge_upserts(
    mutations: Iterable[Mutation], nodes: dict[str, Record], edges: dict[EdgeId, Record]
) -> None:
    """Merge the batch's node and edge upserts into `nodes` and `edges`, in the batch's order."""
    get_node, get_edge = nodes.get, edges.get
    for m in mutations:
        if isinstance(m, EdgeUpsert):  # most of a batch
            key, prov = m.key, m.prov
            # an edge's ends exist from the moment something says they are connected; an end
            # that already covers the assertion is left as it is (what merge_node would return),
            # without the call: ~445k of a large batch's 512k ends. The ids from the keys' slots
            # (`_id`, what `.id` returns, without a Python call per end)
            src, dst = key.src, key.dst
            held = get_node(end_id := src._id)
            if held is None or not covers_assertion(held, prov):
                nodes[end_id] = merge_node(held, src, {}, prov)
            held = get_node(end_id := dst._id)
            if held is None or not covers_assertion(held, prov):
                nodes[end_id] = merge_node(held, dst, {}, prov)
            eid = key._id
            edges[eid] = merge_edge(get_edge(eid), key, m.props, prov)
        elif isinstance(m, NodeUpsert):
            node_id = m.key._id
            nodes[node_id] = merge_node(get_node(node_id), m.key, m.props, m.prov)


def _read_nodes(
    uow: UnitOfWork, ids: list[str], loaded: dict[str, Record], pending: Mapping[str, Record]
) -> dict[str, Record]:
    """These nodes as the store (or the pending batch) holds them, among `loaded` too: read,
    not changed."""
    got = {k: pending[k] for k in ids if k in pending}
    got.update(uow.load_nodes(sorted(set(ids) - got.keys())))
    loaded.update(got)
    return got


def _read_edges(
    uow: UnitOfWork,
    ids: list[EdgeId],
    loaded: dict[EdgeId, Record],
    pending: Mapping[EdgeId, Record],
) -> dict[EdgeId, Record]:
    """These edges as the store (or the pending batch) holds them (those it has), among
    `loaded` too: read, not changed."""
    got = {k: pending[k] for k in ids if k in pending}
    got.update(uow.load_edges(sorted(set(ids) - got.keys())))
    loaded.update(got)
    return got


@dataclass(slots=True)
class _Touched:
    """What a batch touches, read in one pass (it was four, and the node ids twice)."""

    # the nodes it writes: upserted ones, edge ends, retirement anchors (which remember the
    # retirement: graph/validity.py)
    node_ids: set[str]
    edge_ids: set[EdgeId]  # the edges it upserts
    incident: set[IncidentSpec]  # where it retires edges
    retires: list[EdgeRetire]  # in the batch's order

    @classmethod
    def of(cls, mutations: Iterable[Mutation]) -> _Touched:
        ids: set[str] = set()
        edge_ids: set[EdgeId] = set()
        incident: set[IncidentSpec] = set()
        retires: list[EdgeRetire] = []
        add_id, add_edge = ids.add, edge_ids.add
        for m in mutations:
            if isinstance(m, EdgeUpsert):  # most of a batch; ids from the keys' slots
                key = m.key
                add_id(key.src._id)
                add_id(key.dst._id)
                add_edge(key._id)
            elif isinstance(m, NodeUpsert):
                add_id(m.key._id)
            elif isinstance(m, EdgeRetire):
                add_id(m.anchor._id)
                incident.add((m.anchor._id, m.kind, m.direction))
                retires.append(m)
        return cls(ids, edge_ids, incident, retires)


def _load_named(
    uow: UnitOfWork,
    mutations: list[Mutation],
    over_nodes: Mapping[str, Record],
    over_aliases: Mapping[str, str],
    confined: Mapping[str, frozenset[str]],
    *,
    own_ids: set[str],
) -> tuple[list[Mutation], merge.Plan, dict[str, Record], set[str]]:
    """Load the batch's nodes together with the alias rows of the datasets it names (one round
    trip on Neo4j), and put the batch on canonical names (graph/merge.py). Returns the batch so
    rewritten, the plan, the nodes loaded (the pending batch's in place of the store's) and the
    ids asked for. `own_ids`: the nodes the batch writes (`_Touched.node_ids`)."""
    named = datasets_named(mutations)
    node_ids = own_ids | named  # a link's names too: do they hold nodes?
    loaded, held = uow.load_nodes_and_aliases(
        sorted(node_ids - over_nodes.keys()), sorted(named - over_aliases.keys())
    )
    loaded.update((k, over_nodes[k]) for k in node_ids & over_nodes.keys())
    held.update((k, over_aliases[k]) for k in named & over_aliases.keys())
    links = [m for m in mutations if isinstance(m, DatasetLink)]
    linked = plan_confined(
        links, confined, lambda kept: merge.plan(held, kept, uow.load_aliases_to)
    )
    if unasked := linked.moved.keys() - node_ids:  # a held row's canonical, now an alias
        loaded.update(uow.load_nodes(sorted(unasked - over_nodes.keys())))
        loaded.update((k, over_nodes[k]) for k in unasked & over_nodes.keys())
        node_ids |= unasked
    return merge.rewrite(mutations, linked.canon), linked, loaded, node_ids


def _load_moved(
    uow: UnitOfWork,
    moves: list[str],
    linked: merge.Plan,
    loaded_nodes: dict[str, Record],
    loaded_edges: dict[EdgeId, Record],
) -> tuple[dict[str, str], dict[EdgeId, Record]]:
    """Load what the moved names hold (their nodes, columns and versions, every edge at them, the
    far ends, the records already at the new ids) into `loaded_*`; return (old id -> new id, the
    edges at the moved nodes)."""
    around = uow.load_around(moves)
    kids = sorted({kid for ds in moves for kid in merge.children(ds, around)})
    loaded_nodes.update(uow.load_nodes([k for k in kids if k not in loaded_nodes]))
    around.update(uow.load_around(kids))
    canon = {ds: linked.moved[ds] for ds in moves}
    new_ids = {
        old: merge.rekey(NodeKey.from_id(old), canon).id
        for old in [*moves, *kids]
        if old in loaded_nodes
    }
    far = {end for eid in around for end in (eid[0], eid[2])} - new_ids.keys()
    loaded_nodes.update(uow.load_nodes(sorted((far | set(new_ids.values())) - loaded_nodes.keys())))
    targets = {(new_ids.get(s, s), k, new_ids.get(d, d), disc) for s, k, d, disc in around}
    loaded_edges.update(uow.load_edges(sorted(targets - loaded_edges.keys())))
    loaded_edges.update(around)
    return new_ids, around


def _load_ends(
    uow: UnitOfWork,
    ids: set[EdgeId],
    nodes: dict[str, Record],
    loaded: dict[str, Record],
    pending: dict[str, Record],
) -> None:
    """The ends of these edges not yet among `nodes`, read (the pending batch's first), into
    `nodes` and `loaded` alike: read, not changed."""
    far = {end for eid in ids for end in (eid[0], eid[2])} - nodes.keys()
    if far:
        got = uow.load_nodes(sorted(far - pending.keys()))
        got.update((k, pending[k]) for k in far & pending.keys())
        loaded.update(got)
        nodes.update(got)
