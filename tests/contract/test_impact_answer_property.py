"""`impact`'s answer as its parts say it should be, on generated graphs with owners: the items,
their order, paths, owners and the summaries are those a plain reading of the walk gives — the
level loop's walk (traverse through a view of the store without `walk`), training data kept as
impact's docstring says it, each node read with `get_nodes`, owners with `neighbors` (an alias
counted as the owner it names, the first by edge id), items sorted by (distance, kind, display
name, id), the summaries counted from the items. The fast assembly in queries/impact.py (kinds
and sort keys from ids, records made through their slots, training data's path nodes only when
something is held) must give exactly that."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import Certainty, EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction, MutationBatch, Provenance
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.impact import ImpactAnswer, impact, walk_downstream
from lineage_kg.queries.traversal import Reached, Traversal, start_nodes
from tests.contract.test_closeness_property import NODES, POOL, Edge, graphs
from tests.contract.test_store_walk_property import LevelByLevel

P = Provenance("test", "e1", "2026-01-01T00:00:00Z")
OWNERS = [NodeKey(NodeKind.OWNER, (f"team:t{i}",)) for i in range(4)]
OWNABLE = [n for n in NODES if n.kind in EdgeKind.OWNS.spec.targets]
HISTORY = (NodeKind.DATASET_VERSION, NodeKind.RUN)
Link = tuple[NodeKey, EdgeKind, NodeKey]
CHAIN = (NodeKind.DATASET, NodeKind.DATASET_VERSION, NodeKind.RUN, NodeKind.MODEL_VERSION)


@st.composite
def owned(draw: st.DrawFn) -> list[Link]:
    links = [
        (draw(st.sampled_from(OWNERS)), EdgeKind.OWNS, draw(st.sampled_from(OWNABLE)))
        for _ in range(draw(st.integers(0, 12)))
    ]
    links += [
        (draw(st.sampled_from(OWNERS)), EdgeKind.ALIAS_OF, draw(st.sampled_from(OWNERS)))
        for _ in range(draw(st.integers(0, 2)))
    ]
    return [(a, k, b) for a, k, b in links if a != b]


@st.composite
def trained(draw: st.DrawFn) -> list[Link]:
    """Training chains (dataset -> version -> the run that read it -> the model version it
    trained): what training data keeps, or holds back, of a walk."""
    links = []
    for _ in range(draw(st.integers(0, 3))):
        ds, version, run, model = (draw(st.sampled_from(POOL[kind])) for kind in CHAIN)
        links += [(ds, EdgeKind.HAS_VERSION, version), (version, EdgeKind.READ_BY, run)]
        if draw(st.booleans()):
            links.append((run, EdgeKind.TRAINED, model))
    return links


def load(store: GraphStore, edges: list[Edge], owns: list[Link]) -> None:
    store.clear()
    batch = MutationBatch()
    for src, kind, dst, props in edges:
        batch.edge(src, kind, dst, P, **props)
    for src, kind, dst in owns:
        batch.edge(src, kind, dst, P)
    for node in NODES:
        batch.node(node, P)
    store.apply(batch)


def plain_training_data(walk: Traversal, depth: int) -> list[Reached]:
    """Dataset versions and runs found through a dataset's versions are kept only if a run
    trained something (or the depth bound stopped there) or a kept item's path passes them."""

    def kept(r: Reached) -> bool:
        kind = NodeKey.from_id(r.node_id).kind
        via_version = any(h.edge.key.kind is EdgeKind.HAS_VERSION for h in r.path)
        trained = kind is NodeKind.RUN and (r.node_id in walk.led_on or r.distance >= depth)
        return kind not in HISTORY or not via_version or trained

    first = [r for r in walk.reached.values() if kept(r)]
    passed = {h.to for r in first for h in r.path}
    return [*first, *(r for r in walk.reached.values() if not kept(r) and r.node_id in passed)]


def plain_impact(store: GraphStore, node_id: str, options: dict[str, Any]) -> dict[str, Any]:
    """The answer read plainly, through a view of the store that walks level by level."""
    view: Any = LevelByLevel(store)
    depth, kinds = options["depth"], options["kinds"]
    start, ids = start_nodes(view, node_id, None)
    walk = walk_downstream(
        view,
        ids,
        depth=depth,
        as_of=None,
        max_nodes=100_000,
        include_indirect=options["include_indirect"],
    )
    reached = [
        r
        for r in plain_training_data(walk, depth)
        if not options["exact_only"] or r.certainty is Certainty.EXACT
    ]
    nodes = {n.id: n for n in store.get_nodes([r.node_id for r in reached])}
    if kinds is not None:
        reached = [r for r in reached if nodes[r.node_id].key.kind in kinds]
    owners: dict[str, set[str]] = {}
    for e in store.neighbors([r.node_id for r in reached], Direction.IN, [EdgeKind.OWNS]):
        aliases = store.neighbors([e.key.src.id], Direction.OUT, [EdgeKind.ALIAS_OF])
        owner = aliases[0].key.dst if aliases else e.key.src  # the first by edge id
        owners.setdefault(e.key.dst.id, set()).add(owner.parts[0])
    items = sorted(
        (
            (r.distance, nodes[r.node_id].key.kind.value, nodes[r.node_id].key.display, r.node_id),
            r.certainty,
            [(h.edge.key.id, h.direction) for h in r.path],
            tuple(sorted(owners.get(r.node_id, ()))),
        )
        for r in reached
    )
    return {
        "start": start.id,
        "items": items,
        "truncated": walk.truncated,
        "by_kind": dict(sorted(Counter(i[0][1] for i in items).items())),
        "by_certainty": dict(sorted(Counter(i[1].value for i in items).items())),
        "by_owner": dict(sorted(Counter(o for i in items for o in i[3]).items())),
        "kpis": sorted(i[0][2] for i in items if i[0][1] == NodeKind.KPI.value),
        "unowned": sum(1 for i in items if not i[3]),
    }


def as_read(answer: ImpactAnswer) -> dict[str, Any]:
    return {
        "start": answer.start.id,
        "items": [
            (
                (i.distance, i.node.key.kind.value, i.node.key.display, i.node.id),
                i.certainty,
                [(h.edge.key.id, h.direction) for h in i.path],
                i.owners,
            )
            for i in answer.items
        ],
        "truncated": answer.truncated,
        "by_kind": answer.by_kind,
        "by_certainty": answer.by_certainty,
        "by_owner": answer.by_owner,
        "kpis": answer.kpis,
        "unowned": answer.unowned,
    }


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    graphs(),
    st.tuples(owned(), trained()).map(lambda both: both[0] + both[1]),
    st.lists(st.sampled_from(NODES), min_size=1, max_size=4),
    st.fixed_dictionaries(
        {
            "depth": st.integers(1, 6),
            "kinds": st.one_of(st.none(), st.sets(st.sampled_from(list(NodeKind)), min_size=1)),
            "exact_only": st.booleans(),
            "include_indirect": st.booleans(),
        }
    ),
)
def test_the_answer_is_its_plain_reading(
    edges: list[Edge], owns: list[Link], starts: list[NodeKey], options: dict[str, Any]
) -> None:
    store = EmbeddedStore()
    load(store, edges, owns)
    for start in starts:
        got = impact(store, start.id, **options)
        assert as_read(got) == plain_impact(store, start.id, options), start.id
