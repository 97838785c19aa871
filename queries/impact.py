"""Impact: "what breaks if this changes?" — everything downstream of a node, with certainty.

From a column: the columns, features, model versions, KPIs it feeds (exact), the datasets holding
them, and — through dataset-level lineage — what may be affected beyond (possible), except the
outputs whose column lineage is authoritative and does not name it. From a dataset: the same from
the dataset and all its columns, and every output of the jobs reading it. The rules are in
queries/impact_steps.py and, for users, docs/openlineage-facets.md ("Certainty"). Each answer
item carries one shortest explaining path; the answer carries the owners to warn and a summary.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain
from operator import itemgetter

from lineage_kg.graph.errors import InvalidArgument, NotFound
from lineage_kg.graph.model import Certainty, EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.records import StoredEdge, StoredNode
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.arguments import time_arg
from lineage_kg.queries.impact_steps import COVERS, WHOLE, impact_steps
from lineage_kg.queries.traversal import (
    Hop,
    Reached,
    ReachedVisits,
    Step,
    Traversal,
    Visits,
    start_nodes,
    traverse,
    walk_visits,
)

# Downstream: every flow edge forwards, except run-level writes (a run's output versions are
# history, not impact); a column's change reaches the dataset that holds it; column lineage is
# authoritative for its output (queries/impact_steps.py has the rules).
IMPACT_STEPS: list[Step] = impact_steps(include_indirect=True)
DIRECT_STEPS: list[Step] = impact_steps(include_indirect=False)


def walk_downstream(
    store: GraphStore,
    start_ids: list[str],
    *,
    depth: int,
    as_of: str | None,
    max_nodes: int,
    include_indirect: bool = True,
) -> Traversal:
    """The impact walk from `start_ids` (all starting as whole nodes)."""
    steps = IMPACT_STEPS if include_indirect else DIRECT_STEPS
    return traverse(
        store,
        start_ids,
        steps,
        max_depth=depth,
        as_of=as_of,
        max_nodes=max_nodes,
        start_state=WHOLE,
        covers=COVERS,
    )


def _visits_downstream(
    store: GraphStore,
    start_ids: list[str],
    *,
    depth: int,
    as_of: str | None,
    max_nodes: int,
    include_indirect: bool,
) -> Visits:
    """`walk_downstream` with its paths not made yet (`walk_visits`), followed by the read of
    its nodes and owners (`owners_next`: Neo4j reads them with the walk, handed over as the
    walk's `path_edges`)."""
    steps = IMPACT_STEPS if include_indirect else DIRECT_STEPS
    return walk_visits(
        store,
        start_ids,
        steps,
        max_depth=depth,
        as_of=as_of,
        max_nodes=max_nodes,
        start_state=WHOLE,
        covers=COVERS,
        owners_next=True,
    )


@dataclass(frozen=True, slots=True)
class ImpactItem:
    node: StoredNode
    distance: int
    certainty: Certainty
    path: tuple[Hop, ...]
    owners: tuple[str, ...]


# the frozen item made through its slots' setters (see traversal.py `make_reached`): an answer
# builds one per node reached
_item_setters = tuple(getattr(ImpactItem, f).__set__ for f in ImpactItem.__slots__)


def _item(
    node: StoredNode,
    distance: int,
    certainty: Certainty,
    path: tuple[Hop, ...],
    owners: tuple[str, ...],
) -> ImpactItem:
    """`ImpactItem(node, distance, certainty, path, owners)`, faster."""
    return _items([node], [distance], [certainty], [path], [owners])[0]


def _items(
    nodes: Iterable[StoredNode],
    distances: Iterable[int],
    certainties: Iterable[Certainty],
    paths: Iterable[tuple[Hop, ...]],
    owners: Iterable[tuple[str, ...]],
) -> list[ImpactItem]:
    """`_item` of each, in one call (an answer makes one per node answered)."""
    s_node, s_distance, s_certainty, s_path, s_owners = _item_setters
    made = []
    for fields in zip(nodes, distances, certainties, paths, owners, strict=True):
        item = _new(ImpactItem)
        s_node(item, fields[0])
        s_distance(item, fields[1])
        s_certainty(item, fields[2])
        s_path(item, fields[3])
        s_owners(item, fields[4])
        made.append(item)
    return made


_new = object.__new__


@dataclass(slots=True)
class ImpactAnswer:
    start: StoredNode
    items: list[ImpactItem]
    truncated: bool
    # some node lies at the depth asked: the walk did not look past it, so what lies beyond (if
    # anything) is not in the answer — a dbt project's 15 layers are ~30 hops at dataset level
    depth_reached: bool = False
    by_kind: dict[str, int] = field(default_factory=dict)
    by_certainty: dict[str, int] = field(default_factory=dict)
    by_owner: dict[str, int] = field(default_factory=dict)
    kpis: list[str] = field(default_factory=list)
    unowned: int = 0


def canonical_owners(
    store: GraphStore, owner_ids: Iterable[str], as_of: str | None = None
) -> dict[str, str]:
    """owner node id -> the node id of the owner it is an alias of (`a.smith` -ALIAS_OF-> the
    person), in one batched read; owners that are nobody's alias map to themselves."""
    ids = sorted(set(owner_ids))
    found = {i: i for i in ids}
    # sorted by edge id, the first wins: an alias of two owners resolves alike on every store
    for edge in reversed(store.neighbors(ids, Direction.OUT, [EdgeKind.ALIAS_OF], as_of)):
        found[edge.key.src.id] = edge.key.dst.id
    return found


def owners_of(store: GraphStore, ids: list[str], as_of: str | None = None) -> dict[str, list[str]]:
    """Direct owners of each node, an alias counted as the owner it is an alias of (two batched
    reads: the OWNS edges, then the ALIAS_OF edges of their owners)."""
    return _owners_by(store, store.neighbors(ids, Direction.IN, [EdgeKind.OWNS], as_of), as_of)


def _owners_by(
    store: GraphStore, owns: list[StoredEdge], as_of: str | None
) -> dict[str, list[str]]:
    """`owners_of` from the OWNS edges read: one read more, their owners' ALIAS_OF edges."""
    canonical = canonical_owners(store, (e.key.src.id for e in owns), as_of)
    return _owner_names([(e.key.src.id, e.key.dst.id) for e in owns], canonical)


def _owner_names(owns: list[tuple[str, str]], canonical: dict[str, str]) -> dict[str, list[str]]:
    """Each node's owners' names, from the OWNS edges as (owner id, node id), an owner that is
    an alias (`canonical`: owner id -> the owner's id it is an alias of) counted as that one."""
    # an owner's name (its id's one part: `team:ml-risk`) parsed once per owner, not per edge
    name = {o: NodeKey.from_id(c).parts[0] for o, c in canonical.items()}
    owners: dict[str, set[str]] = {}
    for src, dst in owns:
        owners.setdefault(dst, set()).add(name[src])
    return {k: sorted(v) for k, v in owners.items()}


def _canonical(owns: list[tuple[str, str]], aliases: list[tuple[str, str]]) -> dict[str, str]:
    """`canonical_owners` of the owners of `owns`, from their ALIAS_OF edges as read (by edge
    id: the first wins)."""
    found = {src: src for src, _ in owns}
    for src, dst in reversed(aliases):
        found[src] = dst
    return found


_RUN, _VERSION = NodeKind.RUN, NodeKind.DATASET_VERSION


def training_data(walk: Traversal, depth: int) -> list[Reached]:
    """What the walk reached, less the dataset versions and runs it found through a dataset's
    versions (HAS_VERSION) that lead nowhere: a run is kept if it trained something (or the
    depth bound stopped the walk there), a version if a kept item's path passes through it.
    Every run that ever read a version of a table is history, not impact; a training run is
    impact (issue 16: table → version → training run → model version → decision point)."""
    reached = list(walk.reached.values())
    return [reached[i] for i in training_rows(ReachedVisits(walk), depth)]


def training_rows(visits: Visits, depth: int) -> list[int]:
    """`training_data` of `visits`: the rows kept (indices into its lists), in their order —
    read from the refs, so that no path is made for what is left out."""
    nodes, led_on = visits.node, visits.led_on
    kinds = list(map(node_kind, nodes))
    if _RUN not in kinds and _VERSION not in kinds:
        return list(range(len(nodes)))
    distance, ref = visits.distance, visits.ref
    held = []
    for i, kind in enumerate(kinds):
        if kind is not _RUN and kind is not _VERSION:
            continue
        if kind is _RUN and (nodes[i] in led_on or distance[i] >= depth):
            continue  # trained
        if visits.passes(ref[i], EdgeKind.HAS_VERSION):
            held.append(i)
    if not held:
        return list(range(len(nodes)))
    # a node inside a path leads on (the path's next step was followed from it): what is held
    # and led nowhere is on no path, and the paths need not be read for it
    left_out = set(held)
    kept = [i for i in range(len(nodes)) if i not in left_out]
    held = [i for i in held if nodes[i] in led_on]
    if not held:
        return kept
    on_paths = visits.inside(map(ref.__getitem__, kept))
    return [*kept, *(i for i in held if nodes[i] in on_paths)]


@lru_cache(maxsize=1 << 17)
def node_kind(node_id: str) -> NodeKind:
    """The kind of node an id names (parsed once per id: keys are immutable)."""
    return NodeKey.from_id(node_id).kind


def _kind_or_none(node_id: str) -> NodeKind | None:
    """The kind of node an id names, or None if it names none (then no node has it)."""
    try:
        return node_kind(node_id)
    except ValueError:
        return None


@lru_cache(maxsize=1 << 17)
def _order(node_id: str) -> tuple[str, str, str]:
    """An item's place after its distance — kind, display name, id — worked out once per id
    (a node's key is its id's: immutable)."""
    key = NodeKey.from_id(node_id)
    return (key.kind.value, key.display, node_id)


def impact(
    store: GraphStore,
    node_id: str,
    *,
    depth: int = 10,
    kinds: set[NodeKind] | None = None,
    exact_only: bool = False,
    as_of: str | None = None,
    max_nodes: int = 100_000,
    include_indirect: bool = True,
) -> ImpactAnswer:
    """`include_indirect` False leaves out indirect column lineage (filters, joins, groupings:
    FEEDS edges whose transformations are all INDIRECT, and the dataset-wide list)."""
    as_of = time_arg("as_of", as_of)
    # A dataset walks from its columns too: read first. Any other start walks from itself
    # alone, and its node is read after the walk with the answer's (one round trip less on
    # Neo4j); asked for a node that is not there, the walk finds nothing and NotFound follows.
    start: StoredNode | None = None
    if _kind_or_none(node_id) in (NodeKind.DATASET, None):
        start, start_ids = start_nodes(store, node_id, as_of)
    else:
        start_ids = [node_id]
    try:
        walk = _visits_downstream(
            store,
            start_ids,
            depth=depth,
            as_of=as_of,
            max_nodes=max_nodes,
            include_indirect=include_indirect,
        )
    except InvalidArgument:
        if start is None:  # a bad argument and no such node: NotFound first, as ever
            start_nodes(store, node_id, as_of)
        raise
    # rows of the walk's lists: a path is made only for the items answered
    nodes, distance, certainty = walk.node, walk.distance, walk.certainty
    rows = training_rows(walk, depth)
    if exact_only:
        rows = [i for i in rows if certainty[i] is Certainty.EXACT]
    # (kind, display name, id) of each, from its id: by kind, then in the answer's order
    order = {nodes[i]: _order(nodes[i]) for i in rows}
    if kinds is not None:
        wanted = {k.value for k in kinds}
        rows = [i for i in rows if order[nodes[i]][0] in wanted]
    # by (distance, kind, display name, id): the nested tuple compares as the flat one would
    # (ids differ: the rows themselves are never compared)
    keys = map(order.__getitem__, map(nodes.__getitem__, rows))
    keyed = sorted(zip(map(distance.__getitem__, rows), keys, rows, strict=True))
    rows = [k[2] for k in keyed]
    ids = [nodes[i] for i in rows]
    # the nodes (the start's too, unless read), their OWNS edges and their owners' aliases in
    # one read (one round trip on Neo4j)
    asked = ids if start is not None else [*ids, node_id]
    found, owns, aliases = store.nodes_and_owners(asked, ids, as_of, path_edges=walk.path_edges)
    if start is None:
        if not found or found[-1].id != node_id:
            raise NotFound(f"no node with id {node_id}")
        start = found.pop()
    owners = _owner_names(owns, _canonical(owns, aliases))  # of the nodes with any
    no_one: tuple[str, ...] = ()
    paths = walk.paths([walk.ref[r] for r in rows])
    items = _items(  # the nodes all there: just reached
        found,
        map(distance.__getitem__, rows),
        map(certainty.__getitem__, rows),
        paths,
        (tuple(owners.get(i, no_one)) for i in ids),
    )
    answer = ImpactAnswer(start, items, walk.truncated, max(distance, default=0) >= depth)
    orders = [order[i] for i in ids]
    answer.by_kind = dict(sorted(Counter(map(itemgetter(0), orders)).items()))
    certainties = Counter(map(certainty.__getitem__, rows))
    answer.by_certainty = dict(sorted((c.value, n) for c, n in certainties.items()))
    answer.by_owner = dict(sorted(Counter(chain.from_iterable(owners.values())).items()))
    answer.kpis = sorted(o[1] for o in orders if o[0] == _KPI)
    answer.unowned = len(items) - len(owners)
    return answer


_KPI = NodeKind.KPI.value
