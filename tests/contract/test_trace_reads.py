"""The decision trace's reads, folded (issue 19, target 1), on both stores: its owners agree with
the asset-and-ownership model read the long way (queries/assets.py: `assets_of`, then
`ownerships`, an independent oracle), and it reads no node twice and no dataset's writes twice
in a level, on the hand-made value chain and on traces whose versions need resolving."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction, MutationBatch, Provenance
from lineage_kg.graph.records import StoredEdge, StoredNode
from lineage_kg.graph.store import GraphStore
from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.queries.assets import assets_of, ownerships
from lineage_kg.queries.decision_trace import DecisionTrace, decision_lineage

E = EdgeKind


class Reads:
    """The store, every read it answers written down: (what, how many ids)."""

    def __init__(self, inner: GraphStore) -> None:
        self._inner = inner
        self.log: list[tuple[str, tuple[str, ...]]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def get_nodes(self, ids: Sequence[str]) -> list[StoredNode]:
        self.log.append(("nodes", tuple(ids)))
        return self._inner.get_nodes(ids)

    def get_node(self, node_id: str) -> StoredNode | None:
        found = self.get_nodes([node_id])
        return found[0] if found else None

    def neighbors(
        self,
        ids: Sequence[str],
        direction: Direction,
        kinds: Iterable[EdgeKind] | None = None,
        as_of: str | None = None,
    ) -> list[StoredEdge]:
        kinds = None if kinds is None else list(kinds)
        self.log.append((f"{direction.value} {sorted(kinds or [])}", tuple(ids)))
        return self._inner.neighbors(ids, direction, kinds, as_of)

    def neighbor_ends(
        self,
        ids: Sequence[str],
        direction: Direction,
        kinds: Iterable[EdgeKind] | None = None,
        as_of: str | None = None,
    ) -> list[tuple[str, str]]:
        kinds = None if kinds is None else list(kinds)
        self.log.append((f"ends {direction.value} {sorted(kinds or [])}", tuple(ids)))
        return self._inner.neighbor_ends(ids, direction, kinds, as_of)

    def neighbors_each_way(
        self,
        ids: Sequence[str],
        kinds: Mapping[Direction, Iterable[EdgeKind]],
        as_of: str | None = None,
    ) -> list[tuple[StoredEdge, Direction]]:
        self.log.append(("each way", tuple(ids)))
        return self._inner.neighbors_each_way(ids, kinds, as_of)

    def nodes_and_neighbors(
        self,
        node_ids: Sequence[str],
        ids: Sequence[str],
        kinds: Mapping[Direction, Iterable[EdgeKind]],
        as_of: str | None = None,
    ) -> tuple[list[StoredNode], list[tuple[StoredEdge, Direction]]]:
        self.log += [("nodes", tuple(node_ids)), ("each way", tuple(ids))]
        return self._inner.nodes_and_neighbors(node_ids, ids, kinds, as_of)


def owners_the_long_way(store: GraphStore, trace: DecisionTrace) -> dict[str, tuple[str, ...]]:
    """Each step's owners as accountability and suspects read them (queries/assets.py)."""
    nodes = [s.node for s in trace.steps]
    asset_of = assets_of(store, nodes)
    owns = ownerships(store, [*(n.id for n in nodes), *asset_of.values()])
    return {
        n.id: tuple(
            sorted({o.owner_id for i in {n.id, asset_of.get(n.id, n.id)} for o in owns.get(i, [])})
        )
        for n in nodes
    }


def check(store: GraphStore, start: str) -> DecisionTrace:
    reads = Reads(store)
    trace = decision_lineage(reads, start)  # type: ignore[arg-type]
    assert trace.data, "a trace with a data chain to check"
    assert {s.node.id: s.owners for s in trace.steps} == owners_the_long_way(store, trace)
    # every node read once: a level's writers are its next steps, read with the writes
    asked = Counter(i for what, ids in reads.log if what == "nodes" for i in ids)
    read_twice = {i for i, n in asked.items() if n > 1}
    # the feature chain's walk reads the nodes it reached once more, apart from the data chain
    features = {s.node.id for s in trace.features}
    assert read_twice <= features, sorted(read_twice - features)
    # the versions of the datasets to resolve: at most one read per level of the data chain
    levels = len({s.distance for s in trace.data}) + 1  # and the last, finding nothing new
    versions = [ids for what, ids in reads.log if what == f"out {[E.HAS_VERSION]}"]
    assert len(versions) <= levels, reads.log
    assert not [what for what, _ in reads.log if what == f"in {[E.HAS_VERSION]}"], reads.log
    return trace


def test_owners_and_reads_of_the_value_chains_trace(store: GraphStore, value_chain: Any) -> None:
    trace = check(store, "d-1001")
    assert any(s.owners for s in trace.data) and any(not s.owners for s in trace.data)


def trained_on_a_digest_and_a_whole_read(
    store: GraphStore, v: Any
) -> tuple[NodeKey, NodeKey, NodeKey]:
    """credit-risk@7 (returned last, after the digest and its training run), trained on a version
    of the mart no run wrote (its writer resolved by time: an MLflow dataset digest) beside the
    raw loans read whole (resolved to a version): both resolutions in one level."""
    digest = NodeKey.of(
        NodeKind.DATASET_VERSION, namespace=v.mart.parts[0], name=v.mart.parts[1], version="9f2c"
    )
    train_2 = NodeKey.of(NodeKind.RUN, run_id="train-2")
    mv7 = NodeKey.of(NodeKind.MODEL_VERSION, registry="mlflow", name="credit-risk", version="7")
    b = MutationBatch()
    p = Provenance("mlflow", "ev-train-2", "2026-03-03T09:00:00Z")
    b.node(train_2, p, state="COMPLETE", started_at=canonical_time("2026-03-03T08:00:00Z"))
    b.edge(v.mart, E.HAS_VERSION, digest, p)
    b.edge(digest, E.READ_BY, train_2, p)
    b.edge(v.raw, E.READ_BY, train_2, p)  # the raw loans, whole: resolved to a version
    b.edge(train_2, E.TRAINED, mv7, p)
    b.edge(v.model, E.HAS_VERSION, mv7, p)
    store.apply(b)
    return digest, train_2, mv7


def test_owners_and_reads_when_a_writer_is_resolved_by_time(
    store: GraphStore, value_chain: Any
) -> None:
    """A version no run wrote (resolved to a writer by time) beside a whole-dataset read (resolved
    to a version) in one level: both resolutions read the writes of their datasets once."""
    digest, train_2, mv7 = trained_on_a_digest_and_a_whole_read(store, value_chain)
    trace = check(store, mv7.id)
    resolved = {(s.via, s.edge) for s in trace.data if s.resolution.value == "resolved"}
    assert (digest.id, E.WROTE) in resolved  # etl-1, the digest's writer by time
    assert (train_2.id, E.READ_BY) in resolved  # the raw loans' version written before the read
