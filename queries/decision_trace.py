"""Decision trace, the auditor's question: what data did this decision come from?

`decision_lineage`: Decision → the model
  version that made it → its training run(s) → the exact dataset versions they read → the runs
  that wrote those → their inputs → … up to sources; and the features the model version uses →
  feature views → source datasets and columns. Each step with its time, owners and evidence (the
  ids of the events that asserted the node and the edge that led to it).

It walks breadth-first, each node once per pass, within a depth bound; it never enumerates paths.
(The on-call's question, which upstream events could explain a symptom, is queries/suspects.py.)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from functools import partial
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from lineage_kg.graph.errors import InvalidArgument
from lineage_kg.graph.gc_pause import no_cyclic_gc
from lineage_kg.graph.model import Certainty, EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction, EdgeKey
from lineage_kg.graph.records import EdgeEvents, EdgeId, StoredEdge, StoredNode
from lineage_kg.graph.store import GraphStore, keep_first_assets
from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.queries.arguments import MAX_DEPTH, check_depth, time_arg
from lineage_kg.queries.assets import (
    ASSET_KINDS,
    FAILED_STATES,
    PART_KINDS,
    PART_OF,
    events,
    node_ref,
    run_ended,
    run_started,
)
from lineage_kg.queries.decisions import Resolution, Resolved, Unread, resolve_unread
from lineage_kg.queries.deployments import serves_at
from lineage_kg.queries.trace_ahead import ChainReads, ReadAhead, read_ahead
from lineage_kg.queries.traversal import Hop, Step, Visits, answers_itself, walk_visits

if TYPE_CHECKING:
    from lineage_kg.graph.sides.decisions import DecisionRow, DecisionTable

K, E = NodeKind, EdgeKind

# ---- decision lineage ---------------------------------------------------------------------------


class StepKind(StrEnum):
    DECISION = "decision"
    MODEL_VERSION = "model_version"
    TRAINING_RUN = "training_run"  # a run that TRAINED the model version
    DATASET_VERSION = "dataset_version"  # a version a run read
    DATASET = "dataset"  # read without a version we could resolve; or a feature view's source
    RUN = "run"  # a run that WROTE a dataset version in the chain
    FEATURE = "feature"
    FEATURE_VIEW = "feature_view"
    FEATURE_SERVICE = "feature_service"  # the service a model version reads its features from
    COLUMN = "column"


@dataclass(frozen=True, slots=True)
class TraceStep:
    kind: StepKind
    node: StoredNode
    distance: int  # hops from the start of the trace
    via: str | None  # the (downstream) step this one explains
    edge: EdgeKind | None  # the edge between `via` and this node
    resolution: Resolution
    time: str | None  # decisions: decided_at; runs: started_at; else first seen
    evidence: tuple[str, ...]  # event ids, sorted
    owners: tuple[str, ...] = ()  # of the node and of the asset it belongs to
    detail: str = ""


@dataclass(slots=True)
class DecisionTrace:
    start: StoredNode
    decision: TraceStep | None  # None when the trace starts at a model version
    model_versions: list[TraceStep]  # normally one
    data: list[TraceStep]  # training runs → versions read → writing runs → … by distance
    features: list[TraceStep]  # features → views, columns → source datasets, by distance
    sources: list[str]  # data-chain node ids with nothing further upstream
    truncated: bool  # the depth (or node) bound cut a chain short

    @property
    def steps(self) -> list[TraceStep]:
        head = [self.decision] if self.decision is not None else []
        return [*head, *self.model_versions, *self.data, *self.features]


# edges walked backwards in the data chain: version ← run (WROTE), run ← version (READ_BY),
# model version ← run (TRAINED); each lands on one node kind, so one read per level serves all
_CHAIN_EDGES = (E.TRAINED, E.READ_BY, E.WROTE)
# what a level reads upstream: the chain edges, and its versions' datasets (HAS_VERSION)
_UPSTREAM = {Direction.IN: [*_CHAIN_EDGES, E.HAS_VERSION]}
_FEATURE_STEPS = [
    Step(E.FEEDS, Direction.IN, Certainty.EXACT),
    Step(E.SERVES_FEATURES, Direction.IN, Certainty.EXACT),
    Step(E.HAS_FEATURE, Direction.IN, Certainty.EXACT),
    Step(E.SOURCES, Direction.IN, Certainty.POSSIBLE),
]
_FEATURE_STEP_KIND = {
    K.FEATURE_SERVICE: StepKind.FEATURE_SERVICE,
    K.FEATURE: StepKind.FEATURE,
    K.FEATURE_VIEW: StepKind.FEATURE_VIEW,
    K.COLUMN: StepKind.COLUMN,
    K.DATASET: StepKind.DATASET,
}


def decision_lineage(
    store: GraphStore,
    decision: str,
    *,
    depth: int = 10,
    as_of: str | datetime | None = None,
    max_nodes: int = 100_000,
    decisions: DecisionTable | None = None,
    features: bool = True,
) -> DecisionTrace:
    """The trace of `decision`: a decision id, a Decision node id or a ModelVersion node id.
    `features=False` leaves out the features' chain (governance reads their sources itself).

    With `decisions` (the side table), a decision found there starts the trace: its row is the
    head (time: its timestamp, evidence: its batch event) and the model version(s) that made it
    are resolved at query time (queries/decisions.py); else the graph's Decision node."""
    check_depth(depth)
    when = time_arg("as_of", as_of)
    with no_cyclic_gc() if PAUSE_GC else nullcontext():
        return _lineage(
            store, decision, depth, when, max_nodes=max_nodes, decisions=decisions,
            features=features,
        )  # fmt: skip


# The cyclic collector paused while a trace is read and built (graph/gc_pause.py: off from the
# first paused block under way, in any thread, to the last one's end, and back after, exceptions
# too). A big trace keeps ~18,000 containers alive until it ends (the walk's rows, the records,
# the steps), none of them cyclic garbage, and each young collection inside it passed over those
# alive then, promoting them (session 30: 1-2 young collections a big trace, 3-24 ms at load 5;
# session 31: docs/bench-notes/target1-trace.md). Off: the collector as the process has it (the
# benchmarks' variant).
PAUSE_GC = True


def _lineage(
    store: GraphStore,
    decision: str,
    depth: int,
    when: str | None,
    *,
    max_nodes: int,
    decisions: DecisionTable | None,
    features: bool,
) -> DecisionTrace:
    row = _table_decision(decisions, decision)
    start = _row_node(row) if row is not None else node_ref(store, decision, K.DECISION, "decision")
    # the model versions: found from edges alone where they can be, their records read with
    # the data chain's read-ahead (its starts' nodes are read with it): a read or two fewer
    decided: list[str] = []  # a named version: its DECIDED edges read with the read-ahead
    if row is not None:
        head = TraceStep(
            StepKind.DECISION, start, 0, None, None, Resolution.OBSERVED, row.timestamp,
            (row.event_id,),
        )  # fmt: skip
        ids, unread, made = _table_versions(store, row, start, decided)
    elif start.key.kind is K.DECISION:
        head = TraceStep(
            StepKind.DECISION,
            start,
            0,
            None,
            None,
            Resolution.OBSERVED,
            decision_time(start),
            events(start),
        )
        ids, unread, made = _deciding_versions(store, start, when)
    elif start.key.kind is K.MODEL_VERSION:
        head = None
        ids, unread, made = [start.id], [], lambda _nodes, _ahead: [_version_step(start)]
    else:
        raise InvalidArgument(
            f"decision must name a Decision or a ModelVersion, not a {start.key.kind}"
        )
    # the data chain read ahead where the store can (a few statements, then memory)
    ahead = read_ahead(store, ids, depth, when, decided)
    reads: ChainReads = ahead or store
    versions = made({n.id: n for n in reads.get_nodes(unread)} if unread else {}, ahead)
    data, sources, data_cut = _data_chain(reads, versions, depth, when, max_nodes)
    walked = _feature_walk(store, versions, depth, when, max_nodes) if features else None
    # the asset edges of the trace's parts as their ends (one read: the data chain's are read
    # ahead), then the feature chain's nodes with the owners and the records of the feature
    # walk's edges (one read): then the feature steps are built
    trace = DecisionTrace(start, head, versions, data, [], sources, data_cut)
    feature_ids = _feature_ids(walked)
    every = [*(s.node.id for s in trace.steps), *feature_ids]
    asset_of, parts = _assets(reads, every, when, split=isinstance(store, GraphStore))
    owned = {s.node.id for s in trace.steps} | set(feature_ids) | set(asset_of.values())
    feature_nodes, held, evidence = _nodes_and_owners(
        store, feature_ids, sorted(owned), parts=parts, asset_of=asset_of, walked=walked, as_of=when
    )
    owners = _owners_of(asset_of, held)
    if walked is not None:  # built with their owners (hundreds: no copy each)
        trace.features, feature_cut = _feature_steps(walked, feature_nodes, owners, evidence)
        trace.truncated = trace.truncated or feature_cut
    return _with_owners(trace, owners)


def _table_decision(decisions: DecisionTable | None, ref: str) -> DecisionRow | None:
    """The side-table row `ref` names (a decision id or a Decision node id), if any."""
    if decisions is None or not isinstance(ref, str) or not ref.strip():
        return None
    decision_id = ref.strip()
    if decision_id.startswith("["):
        try:
            key = NodeKey.from_id(decision_id)
        except ValueError:
            return None
        if key.kind is not K.DECISION:
            return None
        decision_id = key.parts[0]
    return decisions.get(decision_id)


def _row_node(row: DecisionRow) -> StoredNode:
    """A side-table decision shaped as the Decision node it would be (it is not in the graph)."""
    props: dict[str, Any] = {
        "decided_at": row.timestamp,
        "decision_point": row.decision_point,
        "registry": row.registry,
        "model": row.model,
        "features": [f"{f['project']}/{f['view']}:{f['name']}" for f in row.features],
        "outcome": row.outcome
        if isinstance(row.outcome, (str, int, float, bool))
        else json.dumps(row.outcome, sort_keys=True),
    }
    for name in ("version", "alias", "request_id"):
        if (value := getattr(row, name)) is not None:
            props[name] = value
    t, e = row.timestamp, row.event_id
    return StoredNode(row.key, props, ("decisions",), t, e, t, e)


# the model versions' ids, those whose records are still to read, and their steps once these
# are read (id -> record; and the read-ahead, if any)
_Pending = tuple[
    list[str], list[str], Callable[[Mapping[str, StoredNode], "ReadAhead | None"], list[TraceStep]]
]


def _version_step(start: StoredNode) -> TraceStep:
    return TraceStep(
        StepKind.MODEL_VERSION, start, 0, None, None, Resolution.OBSERVED, start.first_seen,
        events(start),
    )  # fmt: skip


def _table_versions(
    store: GraphStore, row: DecisionRow, start: StoredNode, decided: list[str]
) -> _Pending:
    """The side-table decision's versions (queries/decisions.py `resolve_unread`). A decision
    naming its version, on a store that reads ahead: `resolve_unread`'s one read, the version's
    DECIDED edges valid now, is left to the read-ahead (its id put in `decided`), which reads
    them with the covered nodes' records in one statement (`ReadAhead.decided`: the same edges,
    by edge id, as `neighbors` answers); without a read-ahead they are read then. A decision
    naming neither version nor alias: its point's deployments now and at its time (and now
    again, none serving) in one read (`_PointDeployments`). The same resolution, one round trip
    fewer, or two (session 31)."""
    named = row.version_key
    if named is None or not answers_itself(store, "reach"):
        asked = store
        if named is None and row.alias is None and answers_itself(store, "neighbors_now_and_at"):
            asked = _PointDeployments(store, row)  # type: ignore[assignment]
        found: Resolved | Unread | None = resolve_unread(asked, row)
    else:
        found = None
        decided.append(named.id)

    def made(nodes: Mapping[str, StoredNode], ahead: ReadAhead | None) -> list[TraceStep]:
        nonlocal found
        if found is None:  # a named version: its DECIDED edges read ahead, or now
            assert named is not None
            edges = ahead.decided if isinstance(ahead, ReadAhead) else None
            if edges is None:
                edges = store.neighbors([named.id], Direction.OUT, _DECIDED)
            found = resolve_unread(_Decided(named.id, edges), row)  # type: ignore[arg-type]
        resolved = found.read(nodes) if isinstance(found, Unread) else found
        return [
            TraceStep(
                StepKind.MODEL_VERSION,
                link.node,
                1,
                start.id,
                link.edge.key.kind if link.edge is not None else E.DECIDED,
                resolved.resolution,
                link.node.first_seen,
                events(link.node, link.edge),
                detail=resolved.detail,
            )
            for link in resolved.versions
        ]

    if found is None:
        return [named.id], [named.id], made  # type: ignore[union-attr]
    if isinstance(found, Unread):
        return found.ids, found.ids, made
    return sorted({link.node.id for link in found.versions}), [], made


_DECIDED = (E.DECIDED,)


class _Decided:
    """`resolve_unread`'s store for a named version whose DECIDED edges are read already: it
    answers that one read (the version's DECIDED edges out, valid now) with them, and no other
    (the resolution is `resolve_unread`'s own, on the same edges in the same order)."""

    def __init__(self, version: str, edges: list[StoredEdge]) -> None:
        self._version, self._edges = version, edges

    def neighbors(
        self,
        ids: Sequence[str],
        direction: Direction,
        kinds: Iterable[EdgeKind] | None = None,
        as_of: str | None = None,
    ) -> list[StoredEdge]:
        wanted = (list(ids), direction, None if kinds is None else list(kinds), as_of)
        if wanted != ([self._version], Direction.OUT, [E.DECIDED], None):
            raise AssertionError(f"resolve_unread read {wanted}, not a named version's DECIDED")
        return self._edges


class _PointDeployments:
    """`resolve_unread`'s store for a decision resolved by its point's deployments
    (queries/deployments.py `serving_deployments`: the point's DEPLOYED_TO edges valid now and at
    the decision's time; none serving, valid now again): those reads answered by one
    (`neighbors_now_and_at`), made on the first of them; any other read is the store's."""

    def __init__(self, store: GraphStore, row: DecisionRow) -> None:
        self._store, self._point, self._at = store, row.point_key.id, time_arg("at", row.timestamp)
        self._read: tuple[list[StoredEdge], list[StoredEdge]] | None = None

    def neighbors(
        self,
        ids: Sequence[str],
        direction: Direction,
        kinds: Iterable[EdgeKind] | None = None,
        as_of: str | None = None,
    ) -> list[StoredEdge]:
        wanted = None if kinds is None else list(kinds)
        if (
            list(ids) != [self._point]
            or direction is not Direction.IN
            or wanted != [E.DEPLOYED_TO]
            or (as_of is not None and as_of != self._at)
            or self._at is None
        ):
            return self._store.neighbors(ids, direction, wanted, as_of)
        if self._read is None:
            self._read = self._store.neighbors_now_and_at(
                [self._point], Direction.IN, wanted, self._at
            )
        now, then = self._read
        return list(now if as_of is None else then)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def decision_time(decision: StoredNode) -> str:
    """When the decision was made: its `decided_at` (or `timestamp`) prop, else first seen."""
    for name in ("decided_at", "timestamp"):
        value = decision.props.get(name)
        if isinstance(value, str):
            try:
                return canonical_time(value)
            except ValueError:
                continue
    return decision.first_seen


def _deciding_versions(store: GraphStore, decision: StoredNode, as_of: str | None) -> _Pending:
    """The model version(s) behind a decision: its one DECIDED edge; if several, the version
    whose DEPLOYED_TO edge (to any decision point) was serving at the decision's time. The
    window is the edge's `valid_from` / `valid_until` props when the source declared them
    (`valid_to` is the store's own retirement time, a reserved name), else from when the graph
    first saw the edge to when it was retired. Several or none serving: all the candidates,
    marked unresolved."""
    decided = store.neighbors([decision.id], Direction.IN, [E.DECIDED], as_of)
    resolution, chosen = Resolution.OBSERVED, decided
    if len(decided) > 1:
        at = decision_time(decision)
        candidates = [e.key.src.id for e in decided]
        # current deployments, and retired ones that were valid at the decision's time
        deployments = {
            e.key.id: e
            for e in [
                *store.neighbors(candidates, Direction.OUT, [E.DEPLOYED_TO], None),
                *store.neighbors(candidates, Direction.OUT, [E.DEPLOYED_TO], at),
            ]
        }
        serving = {e.key.src.id for e in deployments.values() if serves_at(e, at)}
        if len(serving) == 1:
            resolution = Resolution.RESOLVED
            chosen = [e for e in decided if e.key.src.id in serving]
        else:
            resolution = Resolution.UNRESOLVED
            chosen = [e for e in decided if e.key.src.id in serving] or decided

    def made(nodes: Mapping[str, StoredNode], _ahead: ReadAhead | None) -> list[TraceStep]:
        steps = [
            TraceStep(
                StepKind.MODEL_VERSION,
                nodes[e.key.src.id],
                1,
                decision.id,
                E.DECIDED,
                resolution,
                nodes[e.key.src.id].first_seen,
                events(nodes[e.key.src.id], e),
            )
            for e in chosen
        ]
        return sorted(steps, key=lambda s: (s.node.key.display, s.node.id))

    ids = sorted({e.key.src.id for e in chosen})
    return ids, ids, made


@dataclass(frozen=True, slots=True)
class _Link:
    """One candidate step found from the frontier, before we know whether it is new."""

    node_id: str
    kind: StepKind
    via: str
    edge: StoredEdge
    resolution: Resolution = Resolution.OBSERVED
    more: tuple[StoredEdge, ...] = ()  # further evidence (the WROTE edge of a resolved version)
    detail: str = ""


def _data_chain(
    store: ChainReads, top: list[TraceStep], depth: int, as_of: str | None, max_nodes: int
) -> tuple[list[TraceStep], list[str], bool]:
    """Level by level upstream from the model versions, each node once (the first way found).

    Not `queries.traversal.traverse`: a run that read a whole dataset leads to the version
    current at the read, a choice made per read from times, not an edge to follow."""
    seen = {s.node.id for s in top}
    known = {s.node.id: s.node for s in top}  # every node of the trace: a read's reader
    # every node read so far (a level's writers are often its next steps): read once per trace
    fetched = dict(known)
    frontier, steps, sources = top, [], []
    ahead: list[StoredEdge] | None = None  # the frontier's upstream edges, read with its nodes
    while frontier:
        distance = frontier[0].distance + 1
        links = _upstream_links(store, frontier, known, fetched, as_of, ahead=ahead)
        fed = {link.via for link in links}
        # where the known chain ends: data-chain nodes with nothing upstream of them
        sources += [
            s.node.id
            for s in frontier
            if s.node.id not in fed and s.kind is not StepKind.MODEL_VERSION
        ]
        fresh: dict[str, _Link] = {}
        for link in links:
            if link.node_id not in seen:
                fresh.setdefault(link.node_id, link)
        if not fresh:
            break
        if distance > depth:
            return steps, sources, True
        room = max_nodes - len(steps)
        cut = len(fresh) > room
        if cut:  # keep a deterministic part of the level: by node id
            fresh = {k: fresh[k] for k in sorted(fresh)[:room]}
        seen.update(fresh)
        # the level's nodes and, in the same read, its upstream edges: the next level's first read
        unread = [k for k in sorted(fresh) if k not in fetched]
        got, read = store.nodes_and_neighbors(unread, sorted(fresh), _UPSTREAM, as_of)
        fetched.update((n.id, n) for n in got)
        ahead = [edge for edge, _ in read]
        nodes = fetched
        level = [
            TraceStep(
                link.kind,
                nodes[link.node_id],
                distance,
                link.via,
                link.edge.key.kind,
                link.resolution,
                _step_time(nodes[link.node_id]),
                events(nodes[link.node_id], link.edge, *link.more),
                detail=link.detail,
            )
            for link in fresh.values()
        ]
        level.sort(key=lambda s: (s.node.key.display, s.node.id))
        steps += level
        known.update((s.node.id, s.node) for s in level)
        if cut:
            return steps, sources, True
        frontier = level
    return steps, sources, False


def _step_time(node: StoredNode) -> str:
    return run_started(node) if node.key.kind is K.RUN else node.first_seen


def _upstream_links(
    store: ChainReads,
    frontier: list[TraceStep],
    known: dict[str, StoredNode],
    fetched: dict[str, StoredNode],
    as_of: str | None,
    *,
    ahead: list[StoredEdge] | None,
) -> list[_Link]:
    """The level's links upstream: the chain edges with the frontier versions' datasets
    (HAS_VERSION, for versions no known run wrote) — `ahead`, read with the frontier's nodes,
    or one read for the first level — then, when a read or a version needs resolving, the
    writes of every dataset either resolution needs, in one `_writes_of` (three reads)."""
    ids = [s.node.id for s in frontier]
    order = {node_id: i for i, node_id in enumerate(ids)}
    if ahead is None:
        read = store.neighbors(ids, Direction.IN, _UPSTREAM[Direction.IN], as_of)
    else:  # read with the frontier's nodes: in edge id order, as `neighbors` answers
        read = sorted(ahead, key=lambda e: e.key.id)
    edges = [e for e in read if e.key.kind is not E.HAS_VERSION]
    # sorted by edge id, the last wins (as a read of these versions alone answered)
    dataset_of = {e.key.dst.id: e.key.src.id for e in read if e.key.kind is E.HAS_VERSION}
    edges.sort(key=lambda e: (order[e.key.dst.id], e.key.id))
    whole = [e for e in edges if e.key.kind is E.READ_BY and e.key.src.kind is K.DATASET]
    written = {e.key.dst.id for e in edges if e.key.kind is E.WROTE}
    unwritten = [
        s
        for s in frontier
        if s.kind is StepKind.DATASET_VERSION and s.node.id not in written and s.via in known
    ]
    needed = {e.key.src.id for e in whole}
    needed.update(dataset_of[s.node.id] for s in unwritten if s.node.id in dataset_of)
    writes = _writes_of(store, sorted(needed), as_of, fetched) if needed else {}
    resolved = _resolve_reads(whole, known, writes)
    links: list[_Link] = []
    for edge in edges:
        src, via = edge.key.src, edge.key.dst.id
        if edge.key.kind is E.TRAINED:
            links.append(_Link(src.id, StepKind.TRAINING_RUN, via, edge))
        elif edge.key.kind is E.WROTE:
            links.append(_Link(src.id, StepKind.RUN, via, edge))
        elif src.kind is K.DATASET_VERSION:
            links.append(_Link(src.id, StepKind.DATASET_VERSION, via, edge))
        else:
            links.append(resolved[edge.key.id])
    return links + _resolve_writers(unwritten, known, dataset_of, writes)


@dataclass(frozen=True, slots=True)
class _Write:
    at: str  # when the data was there: the run's end, else its start, else the edge first seen
    version: str
    edge: StoredEdge
    writer: StoredNode


# a run's states before its end (OpenLineage START, RUNNING): its writes are not done
_UNDER_WAY = frozenset({"START", "RUNNING"})


def _writes_of(
    store: ChainReads, datasets: list[str], as_of: str | None, fetched: dict[str, StoredNode]
) -> dict[str, list[_Write]]:
    """dataset id -> the writes of its versions by runs that did not fail or abort and are not
    still under way (started, not ended: what they write is not there yet). (A version's
    key holds its dataset's: one dataset per version, whichever others are asked with it.) The
    writers read go into `fetched`."""
    versions: dict[str, str] = {}
    for edge in store.neighbors(datasets, Direction.OUT, [E.HAS_VERSION], as_of):
        versions[edge.key.dst.id] = edge.key.src.id
    wrote = store.neighbors(sorted(versions), Direction.IN, [E.WROTE], as_of)
    if unread := sorted({e.key.src.id for e in wrote} - fetched.keys()):
        fetched.update((n.id, n) for n in store.get_nodes(unread))
    writers = fetched
    writes: dict[str, list[_Write]] = {}
    for edge in wrote:
        writer = writers[edge.key.src.id]
        state, ended = writer.props.get("state"), run_ended(writer)
        if state in FAILED_STATES or (ended is None and state in _UNDER_WAY):
            continue  # a run still writing has not written yet: its data is not there to read
        at = ended or writer.props.get("started_at") or edge.first_seen
        dataset = versions[edge.key.dst.id]
        writes.setdefault(dataset, []).append(_Write(at, edge.key.dst.id, edge, writer))
    return writes


def _latest_before(writes: list[_Write], read_at: str) -> _Write | None:
    """The last write at or before `read_at` (ties: by version id, then edge id)."""
    done = [w for w in writes if w.at <= read_at]
    return max(done, key=lambda w: (w.at, w.version, w.edge.key.id)) if done else None


def _resolve_reads(
    reads: list[StoredEdge],
    readers: dict[str, StoredNode],
    writes: dict[str, list[_Write]],
) -> dict[tuple[str, str, str, str], _Link]:
    """A run read a Dataset with no version named: take the version of that dataset written
    last at or before the run started. A write's time is its run's end (the data is there once
    the run has finished), else its start, else when the WROTE edge was first seen; runs that
    failed or aborted are not taken as having written what others read."""
    found: dict[tuple[str, str, str, str], _Link] = {}
    for read in reads:
        reader, dataset = readers[read.key.dst.id], read.key.src  # its key: id and display
        read_at = run_started(reader)
        latest = _latest_before(writes.get(dataset.id, []), read_at)
        what = f"read {dataset.display} without a version"
        if latest is not None:
            detail = (
                f"{what}: resolved to the version written by run {latest.writer.key.parts[0]} "
                f"at {latest.at}, the latest written at or before the read at {read_at}"
            )
            found[read.key.id] = _Link(
                latest.version,
                StepKind.DATASET_VERSION,
                reader.id,
                read,
                Resolution.RESOLVED,
                (latest.edge,),
                detail,
            )
        else:
            detail = f"{what}; no version written at or before the read at {read_at} is known"
            found[read.key.id] = _Link(
                dataset.id, StepKind.DATASET, reader.id, read, Resolution.UNRESOLVED, (), detail
            )
    return found


def _resolve_writers(
    unwritten: list[TraceStep],
    known: dict[str, StoredNode],
    dataset_of: dict[str, str],
    writes: dict[str, list[_Write]],
) -> list[_Link]:
    """A version read by a run but written by no run the graph knows (named by another system:
    an MLflow dataset digest, a Delta version the producer did not report): its writer is taken
    by time — the newest successful run that wrote the same dataset at or before the reader
    started — so the trace goes on upstream through that run's inputs instead of ending at a
    "source" that a known job wrote."""
    links = []
    for step in unwritten:
        dataset = dataset_of.get(step.node.id)
        reader = known[step.via] if step.via is not None else None
        if dataset is None or reader is None or reader.key.kind is not K.RUN:
            continue
        read_at = run_started(reader)
        latest = _latest_before(writes.get(dataset, []), read_at)
        if latest is None:
            continue
        links.append(
            _Link(
                latest.writer.id,
                StepKind.RUN,
                step.node.id,
                latest.edge,
                Resolution.RESOLVED,
                (),
                f"{step.node.key.display} was written by no known run: resolved by time to run "
                f"{latest.writer.key.parts[0]}, the newest successful run that wrote "
                f"{NodeKey.from_id(dataset).display} at or before the read at {read_at} "
                f"(it wrote {NodeKey.from_id(latest.version).display} at {latest.at})",
            )
        )
    return links


@dataclass(slots=True)
class _FeatureWalk:
    """The feature chain's walk, its steps not built yet (their nodes and edges not read)."""

    visits: Visits | None  # None: the depth leaves no room (`cut` says whether it cut anything)
    base: int  # the distance of the model versions
    room: int
    kept: list[int]  # the visits within `room`
    cut: bool = False
    paths: list[tuple[Hop, ...]] = field(default_factory=list)  # the explaining path of each kept
    # the kept visits of a step's kind (not a KPI's), each with its step kind, its path's last
    # hop and that hop's edge key: made once (`_shown`), read by the owners' read and the steps
    shown: list[tuple[int, StepKind, Hop, EdgeKey]] | None = None


def _feature_walk(
    store: GraphStore, top: list[TraceStep], depth: int, as_of: str | None, max_nodes: int
) -> _FeatureWalk | None:
    """Features feeding the model versions, their views, the columns feeding them and the
    datasets sourcing the views. One more level than allowed is walked, to tell whether the
    depth bound cut anything off."""
    if not top:
        return None
    base = top[0].distance
    room = depth - base
    ids = [s.node.id for s in top]
    if room < 1:
        return _FeatureWalk(
            None, base, room, [], bool(store.neighbors(ids, Direction.IN, [E.FEEDS], as_of))
        )
    visits = walk_visits(
        store,
        ids,
        _FEATURE_STEPS,
        max_depth=min(room + 1, MAX_DEPTH),
        as_of=as_of,
        max_nodes=max_nodes,
    )
    kept = [i for i, d in enumerate(visits.distance) if d <= room]
    return _FeatureWalk(visits, base, room, kept, paths=visits.paths([visits.ref[i] for i in kept]))


def _shown(walked: _FeatureWalk) -> list[tuple[int, StepKind, Hop, EdgeKey]]:
    """`walked.shown`, made on first use: each kept visit of a step's kind (a KPI feeding the
    model is no step), its step kind, the last hop of its path and that hop's edge key (a
    pending path edge answers each attribute in Python: its key read once a trace)."""
    if walked.shown is None:
        visits = walked.visits
        node = visits.node if visits is not None else []
        kinds, from_id = _FEATURE_STEP_KIND, NodeKey.from_id
        shown = []
        for i, path in zip(walked.kept, walked.paths, strict=True):
            if (step_kind := kinds.get(from_id(node[i]).kind)) is not None:
                last = path[-1]
                shown.append((i, step_kind, last, last.edge.key))
        walked.shown = shown
    return walked.shown


def _feature_steps(
    walked: _FeatureWalk,
    nodes: dict[str, StoredNode],
    owners: Callable[[str], tuple[str, ...]],
    evidence: Mapping[EdgeId, EdgeEvents],
) -> tuple[list[TraceStep], bool]:
    """The feature chain's steps from its walk, its nodes' records, their owners, and the events
    of the path edges read alone (`evidence`; an edge not there is read whole). (Hundreds a
    trace: the owners an asset's sorted once.)"""
    visits = walked.visits
    if visits is None:
        return [], walked.cut
    ordered = []
    base, out, observed = walked.base, Direction.OUT, Resolution.OBSERVED
    node_of, distance = visits.node, visits.distance
    for i, step_kind, last, key in _shown(walked):
        node_id = node_of[i]
        node = nodes[node_id]
        via = key.src.id if last.direction is out else key.dst.id
        at = base + distance[i]
        step = TraceStep(
            step_kind, node, at, via, key.kind, observed, node.first_seen,
            events(node, evidence.get(key.id, last.edge)), owners(node_id),
        )  # fmt: skip
        ordered.append(((at, node.key.display, node_id), step))
    ordered.sort(key=_FIRST)
    steps = [step for _, step in ordered]
    return steps, visits.truncated or len(walked.kept) < len(visits.node)


_FIRST = itemgetter(0)


def _edges_shown(walked: _FeatureWalk | None) -> list[EdgeId]:
    """The path edges whose events the feature steps show: the last hop of each kept visit of a
    step's kind (not those of the level walked past the depth, nor of a KPI's)."""
    if walked is None or walked.visits is None:
        return []
    return [key.id for _, _, _, key in _shown(walked)]


def _feature_ids(walked: _FeatureWalk | None) -> list[str]:
    """The nodes of the feature chain's steps: those the walk kept, of a step's kind (a KPI
    feeding the model is no step: not read)."""
    if walked is None or walked.visits is None:
        return []
    node = walked.visits.node
    return sorted({node[i] for i, _, _, _ in _shown(walked)})


def _assets(
    reads: ChainReads, ids: list[str], as_of: str | None, *, split: bool
) -> tuple[dict[str, str], dict[Direction, list[str]]]:
    """The asset of each of `ids` the read-ahead can tell (queries/assets.py's model: an asset is
    its own; a part's is the one its edge leads to, by edge id: a part with two assets (rare) gets
    the first, as `assets_of` does): the assets and the data chain's parts (read ahead: from
    memory); and the other parts by way, whose assets come with the owners' read. Not `split`
    (a view of a store, which charges what memory answers): a way's parts come from memory only
    when it holds all of them, as the reads were charged before they were split."""
    asset_of: dict[str, str] = {}
    parts: dict[Direction, list[str]] = {}
    for node_id in dict.fromkeys(ids):
        kind = NodeKey.from_id(node_id).kind
        if kind in ASSET_KINDS:
            asset_of[node_id] = node_id
        elif kind in PART_OF:
            parts.setdefault(PART_OF[kind][1], []).append(node_id)
    unread: dict[Direction, list[str]] = {}
    ahead = isinstance(reads, ReadAhead)
    for way, of_way in sorted(parts.items()):
        held = reads.holding(of_way, way, PART_KINDS[way], as_of) if ahead else []
        if not split and len(held) < len(of_way):
            held = []
        if held:
            ends = reads.neighbor_ends(sorted(held), way, PART_KINDS[way], as_of)
            keep_first_assets(asset_of, way, ends)
        if rest := sorted(set(of_way).difference(held)):
            unread[way] = rest
    return asset_of, unread


def _nodes_and_owners(
    store: GraphStore,
    node_ids: list[str],
    ids: list[str],
    *,
    parts: dict[Direction, list[str]],
    asset_of: dict[str, str],
    walked: _FeatureWalk | None,
    as_of: str | None,
) -> tuple[dict[str, StoredNode], dict[str, set[str]], Mapping[EdgeId, EdgeEvents]]:
    """The nodes of `node_ids`; `parts`' assets (into `asset_of`); node id -> the names of its
    owners, an alias counted as the owner it is an alias of: the OWNS edges into `ids` (the
    trace's nodes and their assets) and into `parts`' assets, and the owners' ALIAS_OF edges;
    and the events of the feature walk's path edges where a store reads them lazily (Neo4j: the
    steps show those alone, not the edges' records). In one read (`nodes_assets_and_owners`, or
    `nodes_assets_owners_and_evidence`). A view of a store (a request's budget) that has no such
    read of its own makes the reads it stands for, each charged as before."""
    visits = walked.visits if walked is not None else None
    path_edges = visits.path_edges if visits is not None else None
    ask = (
        store.nodes_assets_owners_and_evidence
        if answers_itself(store, "nodes_assets_owners_and_evidence")
        else partial(GraphStore.nodes_assets_owners_and_evidence, store)
    )
    nodes, found, owns, aliases, evidence = ask(
        node_ids, ids, parts, PART_KINDS, as_of, path_edges=path_edges, only=_edges_shown(walked)
    )
    asset_of.update(found)
    # sorted by edge id, the first wins: an alias of two owners resolves alike on every store
    canonical = {owner: owner for owner, _ in owns}
    for alias, named in reversed(aliases):
        canonical[alias] = named
    names = {owner: NodeKey.from_id(canonical[owner]).parts[0] for owner in canonical}
    held: dict[str, set[str]] = {}
    for owner, node_id in owns:
        held.setdefault(node_id, set()).add(names[owner])
    return {n.id: n for n in nodes}, held, evidence


def _owners_of(
    asset_of: dict[str, str], held: dict[str, set[str]]
) -> Callable[[str], tuple[str, ...]]:
    """Owners of a node and of the asset it belongs to (queries/assets.py's model: a part is its
    asset's, an alias counts as the owner it is an alias of), sorted. (Most parts hold no owner
    of their own: their asset's owners, sorted once an asset.)"""
    of_asset: dict[str, tuple[str, ...]] = {}

    def owners(node_id: str) -> tuple[str, ...]:
        asset = asset_of.get(node_id, node_id)
        own = held.get(node_id) if asset != node_id else None
        if (sorted_ := of_asset.get(asset)) is None:
            sorted_ = of_asset[asset] = tuple(sorted(held.get(asset, ())))
        return tuple(sorted(own.union(sorted_))) if own else sorted_

    return owners


def _with_owners(trace: DecisionTrace, owners: Callable[[str], tuple[str, ...]]) -> DecisionTrace:
    """The head's, the model versions' and the data chain's steps with their owners."""

    def owned(step: TraceStep) -> TraceStep:
        return replace(step, owners=owners(step.node.id))

    trace.decision = owned(trace.decision) if trace.decision is not None else None
    trace.model_versions = [owned(s) for s in trace.model_versions]
    trace.data = [owned(s) for s in trace.data]
    return trace
