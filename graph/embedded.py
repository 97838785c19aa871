"""The zero-setup store: the graph in memory, in a networkx MultiDiGraph.

It holds exactly the records Neo4j holds (node id -> record, edge (kind, disc) keyed between two
node ids -> record), so the contract tests can demand identical answers. It is rebuilt from the
durable event log at start, which is why it needs no persistence of its own.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from dataclasses import dataclass

import networkx as nx

from lineage_kg.graph.model import EdgeKind, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.records import EdgeId, Record, StoredEdge, StoredNode
from lineage_kg.graph.store import GraphStats, GraphStore, IncidentSpec, UnitOfWork


def _valid(record: Record, as_of: str | None) -> bool:
    valid_to = record.get("valid_to")
    if as_of is None:
        return valid_to is None
    return record["first_seen"] <= as_of and (valid_to is None or as_of < valid_to)


class _EmbeddedUnitOfWork(UnitOfWork):
    def __init__(
        self,
        graph: nx.MultiDiGraph,
        aliases: dict[str, set[str]],
        links: dict[str, str],
        links_to: dict[str, set[str]],
    ) -> None:
        self._g = graph
        self._aliases = aliases
        self._links, self._links_to = links, links_to
        self._pending: tuple[dict[str, Record], dict[EdgeId, Record]] | None = None
        self._deleted: list[str] = []
        self._new_links: dict[str, str] = {}
        self.checkpoint: int | None = None

    def set_checkpoint(self, seq: int) -> None:
        self.checkpoint = seq

    def load_nodes(self, ids: Sequence[str]) -> dict[str, Record]:
        nodes = self._g.nodes
        return {i: dict(nodes[i]) for i in ids if i in nodes}

    def load_edges(self, ids: Sequence[EdgeId]) -> dict[EdgeId, Record]:
        found: dict[EdgeId, Record] = {}
        for eid in ids:
            src, kind, dst, disc = eid
            data = self._g.get_edge_data(src, dst, key=(kind, disc))
            if data is not None:
                found[eid] = dict(data)
        return found

    def load_incident(self, specs: Sequence[IncidentSpec]) -> dict[EdgeId, Record]:
        found: dict[EdgeId, Record] = {}
        for anchor, kind, direction in specs:
            if anchor not in self._g:
                continue
            edges = (
                self._g.out_edges(anchor, keys=True, data=True)
                if direction is Direction.OUT
                else self._g.in_edges(anchor, keys=True, data=True)
            )
            for src, dst, (ekind, disc), data in edges:
                if ekind == kind.value:
                    found[(src, ekind, dst, disc)] = dict(data)
        return found

    def load_around(self, ids: Sequence[str]) -> dict[EdgeId, Record]:
        found: dict[EdgeId, Record] = {}
        for node in ids:
            if node not in self._g:
                continue
            for src, dst, (kind, disc), data in [
                *self._g.out_edges(node, keys=True, data=True),
                *self._g.in_edges(node, keys=True, data=True),
            ]:
                found[(src, kind, dst, disc)] = dict(data)
        return found

    def load_aliases(self, names: Sequence[str]) -> dict[str, str]:
        return {n: self._links[n] for n in names if n in self._links}

    def load_aliases_to(self, canonicals: Sequence[str]) -> dict[str, str]:
        return {a: c for c in canonicals for a in self._links_to.get(c, ())}

    def delete_nodes(self, ids: Sequence[str]) -> None:
        self._deleted.extend(ids)  # staged, like the writes

    def write_aliases(self, rows: Mapping[str, str]) -> None:
        self._new_links.update(rows)

    def write(
        self,
        nodes: dict[str, Record],
        edges: dict[EdgeId, Record],
        new_nodes: AbstractSet[str] = frozenset(),
        new_edges: AbstractSet[EdgeId] = frozenset(),
    ) -> None:
        # staged until commit, so a batch that fails half-way leaves the graph untouched
        self._pending = (nodes, edges)

    def commit(self) -> None:
        for node_id in self._deleted:
            if node_id in self._g:
                self._index_aliases(node_id, self._g.nodes[node_id].get("aliases") or (), ())
                self._g.remove_node(node_id)
        for alias, canonical in self._new_links.items():
            if (before := self._links.get(alias)) is not None:
                self._links_to[before].discard(alias)
            self._links[alias] = canonical
            self._links_to.setdefault(canonical, set()).add(alias)
        if self._pending is None:
            return
        nodes, edges = self._pending
        for node_id, record in nodes.items():
            self._g.add_node(node_id)
            attrs = self._g.nodes[node_id]
            self._index_aliases(node_id, attrs.get("aliases") or (), record.get("aliases") or ())
            attrs.clear()
            attrs.update(record)
        for (src, kind, dst, disc), record in edges.items():
            self._g.add_edge(src, dst, key=(kind, disc))
            attrs = self._g.edges[src, dst, (kind, disc)]
            attrs.clear()
            attrs.update(record)

    def _index_aliases(self, node_id: str, old: Iterable[str], new: Iterable[str]) -> None:
        old_set, new_set = set(old), set(new)
        for alias in old_set - new_set:
            holders = self._aliases.get(alias, set())
            holders.discard(node_id)
            if not holders:
                self._aliases.pop(alias, None)
        for alias in new_set - old_set:
            self._aliases.setdefault(alias, set()).add(node_id)


class EmbeddedStore(GraphStore):
    name = "embedded"

    def __init__(self) -> None:
        self._g = nx.MultiDiGraph()
        # writers and readers take turns: a batch is committed whole before anyone reads it
        self._lock = threading.RLock()
        self._checkpoint = 0
        self._aliases: dict[str, set[str]] = {}  # a Dataset's other name -> the nodes it names
        self._links: dict[str, str] = {}  # the alias table (graph/merge.py): alias id -> canonical
        self._links_to: dict[str, set[str]] = {}  # and back: canonical id -> alias ids

    @contextmanager
    def _unit_of_work(self) -> Iterator[UnitOfWork]:
        with self._lock:
            uow = _EmbeddedUnitOfWork(self._g, self._aliases, self._links, self._links_to)
            yield uow
            uow.commit()
            if uow.checkpoint is not None:
                self._checkpoint = uow.checkpoint

    def checkpoint(self) -> int:
        return self._checkpoint

    def get_nodes(self, ids: Sequence[str]) -> list[StoredNode]:
        with self._lock:
            nodes = self._g.nodes
            return [StoredNode.from_record(nodes[i]) for i in ids if i in nodes]

    def neighbors(
        self,
        ids: Sequence[str],
        direction: Direction,
        kinds: Iterable[EdgeKind] | None = None,
        as_of: str | None = None,
    ) -> list[StoredEdge]:
        wanted = {k.value for k in kinds} if kinds is not None else None
        outgoing = direction is Direction.OUT
        out: list[StoredEdge] = []
        with self._lock:
            for node_id in dict.fromkeys(ids):
                if node_id not in self._g:
                    continue
                view = self._g.out_edges if outgoing else self._g.in_edges
                for src, dst, (kind, disc), data in view(node_id, keys=True, data=True):
                    if (wanted is None or kind in wanted) and _valid(data, as_of):
                        out.append(StoredEdge.from_record((src, kind, dst, disc), data))
        out.sort(key=lambda e: e.key.id)
        return out

    def search(
        self, text: str, kinds: Iterable[NodeKind] | None = None, limit: int = 20
    ) -> list[StoredNode]:
        needle = text.lower()
        wanted = {k.value for k in kinds} if kinds is not None else None
        with self._lock:
            hits = sorted(
                (data["display"], node_id)
                for node_id, data in self._g.nodes(data=True)
                if needle in data["display"].lower() and (wanted is None or data["kind"] in wanted)
            )
        return self.get_nodes([node_id for _, node_id in hits[:limit]])

    def find_aliased(self, names: Sequence[str], limit: int = 10) -> list[StoredNode]:
        with self._lock:
            ids = sorted({i for name in names for i in self._aliases.get(name, ())})
            found = [n for n in self.get_nodes(ids) if n.key.kind is NodeKind.DATASET]
        return found[:limit]

    def linked_names(self, ids: Sequence[str]) -> dict[str, str]:
        with self._lock:
            return {i: self._links[i] for i in ids if i in self._links}

    def names_linked_to(self, ids: Sequence[str]) -> dict[str, str]:
        with self._lock:
            return {a: c for c in ids for a in self._links_to.get(c, ())}

    def stats(self) -> GraphStats:
        with self._lock:
            nodes = Counter(kind for _, kind in self._g.nodes(data="kind"))
            edges = Counter(kind for _, _, (kind, _disc) in self._g.edges(keys=True))
        return GraphStats(dict(sorted(nodes.items())), dict(sorted(edges.items())))

    def iter_nodes(self) -> Iterator[StoredNode]:
        with self._lock:
            found = [StoredNode.from_record(self._g.nodes[n]) for n in sorted(self._g.nodes)]
        yield from found

    def iter_edges(self) -> Iterator[StoredEdge]:
        with self._lock:
            ids = sorted((s, k, d, disc) for s, d, (k, disc) in self._g.edges(keys=True))
            found = [
                StoredEdge.from_record((s, k, d, disc), self._g.edges[s, d, (k, disc)])
                for s, k, d, disc in ids
            ]
        yield from found

    def ping(self) -> None:
        return None

    def describe(self) -> str:
        return f"embedded (networkx {nx.__version__}, in memory)"

    def clear(self) -> None:
        with self._lock:
            self._g.clear()
            self._aliases.clear()
            self._links.clear()
            self._links_to.clear()
            self._checkpoint = 0

    # ---- the whole state, for a snapshot (service/runtime.py, graph/snapshot.py) ------------
    def export_state(self) -> EmbeddedState:
        """The store's whole state (graph, alias indexes, checkpoint) as one picklable object,
        copied under the lock so it is one committed state and shares nothing the store changes
        later: it can be written out while the projector goes on. Records are copied one level
        deep; their values are never changed in place (graph/records.py replaces them)."""
        with self._lock:
            return EmbeddedState(
                graph=self._g.copy(),
                aliases={alias: set(ids) for alias, ids in self._aliases.items()},
                links=dict(self._links),
                links_to={canonical: set(ids) for canonical, ids in self._links_to.items()},
                checkpoint=self._checkpoint,
            )

    @classmethod
    def from_state(cls, state: EmbeddedState) -> EmbeddedStore:
        """A store holding `state` (from `export_state`), taking it over without copying."""
        store = cls()
        store._g = state.graph
        store._aliases, store._links, store._links_to = state.aliases, state.links, state.links_to
        store._checkpoint = state.checkpoint
        return store


@dataclass(slots=True)
class EmbeddedState:
    """Everything an `EmbeddedStore` holds; `export_state` / `from_state`."""

    graph: nx.MultiDiGraph
    aliases: dict[str, set[str]]
    links: dict[str, str]
    links_to: dict[str, set[str]]
    checkpoint: int
