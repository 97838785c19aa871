"""Every store operation, on every store, against answers worked out by hand.

The `store` fixture runs each test once on the embedded store and once on a real Neo4j.
"""

from __future__ import annotations

import threading

import pytest

from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction, EdgeRetire, MutationBatch, Provenance
from lineage_kg.graph.store import CheckpointMoved, GraphStore

ORDERS = NodeKey.of(NodeKind.DATASET, namespace="postgres://db:5432", name="shop.public.orders")
DAILY = NodeKey.of(NodeKind.DATASET, namespace="postgres://db:5432", name="shop.public.daily")
CUSTOMERS = NodeKey.of(NodeKind.DATASET, namespace="postgres://db:5432", name="shop.public.cust")
JOB = NodeKey.of(NodeKind.JOB, namespace="airflow", name="etl.daily")
ORDERS_ID = NodeKey.of(NodeKind.COLUMN, namespace=ORDERS.parts[0], name=ORDERS.parts[1], field="id")
DAILY_N = NodeKey.of(NodeKind.COLUMN, namespace=DAILY.parts[0], name=DAILY.parts[1], field="n")


def prov(event_id: str, time: str, source: str = "openlineage") -> Provenance:
    return Provenance(source, event_id, time)


def pipeline_batch(event_id: str = "e1", time: str = "2024-05-01T10:00:00Z") -> MutationBatch:
    p = prov(event_id, time)
    b = MutationBatch()
    b.node(ORDERS, p, description="all orders", rows=1200)
    b.node(DAILY, p)
    b.edge(ORDERS, EdgeKind.INPUT_TO, JOB, p)
    b.edge(JOB, EdgeKind.PRODUCES, DAILY, p)
    b.edge(ORDERS, EdgeKind.HAS_COLUMN, ORDERS_ID, p)
    b.edge(DAILY, EdgeKind.HAS_COLUMN, DAILY_N, p)
    b.edge(ORDERS_ID, EdgeKind.FEEDS, DAILY_N, p, transformation="AGGREGATION")
    return b


def snapshot(store: GraphStore) -> tuple[list, list]:
    return list(store.iter_nodes()), list(store.iter_edges())


def test_apply_creates_nodes_edges_and_provenance(store: GraphStore) -> None:
    assert store.is_empty() and store.stats().node_count == 0
    result = store.apply(pipeline_batch())
    assert not store.is_empty()
    assert (result.mutations, result.nodes_written, result.edges_written) == (7, 5, 5)

    orders = store.get_node(ORDERS.id)
    assert orders is not None
    assert orders.key == ORDERS
    assert orders.props == {"description": "all orders", "rows": 1200}
    assert orders.sources == ("openlineage",)
    assert (orders.first_seen, orders.first_event) == ("2024-05-01T10:00:00.000000Z", "e1")
    assert (orders.last_seen, orders.last_event) == ("2024-05-01T10:00:00.000000Z", "e1")
    # an edge's ends exist with the edge's provenance even when nothing upserted them
    job = store.get_node(JOB.id)
    assert job is not None and job.props == {} and job.first_event == "e1"

    feeds = store.neighbors([ORDERS_ID.id], Direction.OUT)
    assert [(e.key.kind, e.key.dst, e.props) for e in feeds] == [
        (EdgeKind.FEEDS, DAILY_N, {"transformation": "AGGREGATION"})
    ]
    assert feeds[0].current and feeds[0].valid_to is None

    stats = store.stats()
    assert stats.nodes == {"Column": 2, "Dataset": 2, "Job": 1}
    assert stats.edges == {"FEEDS": 1, "HAS_COLUMN": 2, "INPUT_TO": 1, "PRODUCES": 1}


def test_same_batch_twice_changes_nothing(store: GraphStore) -> None:
    store.apply(pipeline_batch())
    before = snapshot(store)
    again = store.apply(pipeline_batch())
    assert (again.nodes_written, again.edges_written) == (0, 0)
    assert snapshot(store) == before


def test_get_nodes_keeps_order_and_skips_unknown(store: GraphStore) -> None:
    store.apply(pipeline_batch())
    unknown = NodeKey.of(NodeKind.DATASET, namespace="x", name="nope")
    found = store.get_nodes([DAILY.id, unknown.id, ORDERS.id])
    assert [n.key for n in found] == [DAILY, ORDERS]
    assert store.get_node(unknown.id) is None


def test_later_event_wins_per_property_whatever_the_arrival_order(store: GraphStore) -> None:
    old, new = prov("e-old", "2024-05-01T00:00:00Z"), prov("e-new", "2024-05-02T00:00:00Z")
    b = MutationBatch()
    b.node(ORDERS, new, description="new text")
    b.node(ORDERS, old, description="old text", owner_hint="team-a")  # arrives late
    store.apply(b)
    node = store.get_node(ORDERS.id)
    assert node is not None
    # the late, older event fills in what the newer never said, overwrites nothing
    assert node.props == {"description": "new text", "owner_hint": "team-a"}
    assert (node.first_event, node.last_event) == ("e-old", "e-new")


def test_sources_are_a_set(store: GraphStore) -> None:
    b = MutationBatch()
    b.node(ORDERS, prov("a", "2024-01-01T00:00:00Z", source="openlineage"))
    b.node(ORDERS, prov("b", "2024-01-02T00:00:00Z", source="dbt"))
    b.node(ORDERS, prov("c", "2024-01-03T00:00:00Z", source="openlineage"))
    store.apply(b)
    node = store.get_node(ORDERS.id)
    assert node is not None and node.sources == ("dbt", "openlineage")


def test_retired_edge_is_kept_and_visible_as_of_before(store: GraphStore) -> None:
    t1, t2, t3 = "2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z", "2024-05-03T00:00:00Z"
    b = MutationBatch()
    b.edge(ORDERS, EdgeKind.INPUT_TO, JOB, prov("run1", t1))
    b.edge(CUSTOMERS, EdgeKind.INPUT_TO, JOB, prov("run1", t1))
    store.apply(b)
    # run 2 reads only orders: the customers edge stops being current as of t2
    b2 = MutationBatch()
    b2.edge(ORDERS, EdgeKind.INPUT_TO, JOB, prov("run2", t2))
    b2.add(EdgeRetire(JOB, EdgeKind.INPUT_TO, Direction.IN, frozenset({ORDERS}), prov("run2", t2)))
    store.apply(b2)

    current = store.neighbors([JOB.id], Direction.IN)
    assert [e.key.src for e in current] == [ORDERS]
    at_t1 = store.neighbors([JOB.id], Direction.IN, as_of="2024-05-01T12:00:00.000000Z")
    assert sorted(e.key.src for e in at_t1) == sorted([ORDERS, CUSTOMERS])
    before_any = store.neighbors([JOB.id], Direction.IN, as_of="2024-04-01T00:00:00.000000Z")
    assert before_any == []
    stats = store.stats()
    assert stats.edges == {"INPUT_TO": 2}  # retired, not deleted
    (retired,) = [e for e in store.iter_edges() if e.key.src == CUSTOMERS]
    assert (retired.valid_to, retired.retired_by) == ("2024-05-02T00:00:00.000000Z", "run2")

    # run 3 reads customers again: current again
    b3 = MutationBatch()
    b3.edge(CUSTOMERS, EdgeKind.INPUT_TO, JOB, prov("run3", t3))
    store.apply(b3)
    assert sorted(e.key.src for e in store.neighbors([JOB.id], Direction.IN)) == sorted(
        [ORDERS, CUSTOMERS]
    )


def test_late_retirement_never_closes_a_newer_assertion(store: GraphStore) -> None:
    b = MutationBatch()
    b.edge(CUSTOMERS, EdgeKind.INPUT_TO, JOB, prov("run3", "2024-05-03T00:00:00Z"))
    store.apply(b)
    late = MutationBatch().add(
        EdgeRetire(
            JOB, EdgeKind.INPUT_TO, Direction.IN, frozenset(), prov("run2", "2024-05-02T00:00:00Z")
        )
    )
    result = store.apply(late)
    assert result.edges_written == 0
    assert [e.key.src for e in store.neighbors([JOB.id], Direction.IN)] == [CUSTOMERS]


def test_neighbors_filters_kinds_and_direction(store: GraphStore) -> None:
    store.apply(pipeline_batch())
    out = store.neighbors([ORDERS.id], Direction.OUT)
    assert sorted(e.key.kind for e in out) == [EdgeKind.HAS_COLUMN, EdgeKind.INPUT_TO]
    only = store.neighbors([ORDERS.id], Direction.OUT, kinds=[EdgeKind.INPUT_TO])
    assert [e.key.dst for e in only] == [JOB]
    into = store.neighbors([DAILY.id, DAILY_N.id], Direction.IN)
    assert sorted((e.key.kind, e.key.src) for e in into) == sorted(
        [
            (EdgeKind.PRODUCES, JOB),
            (EdgeKind.HAS_COLUMN, DAILY),
            (EdgeKind.FEEDS, ORDERS_ID),
        ]
    )
    # edges come sorted by id, the same on every store
    assert [e.key.id for e in into] == sorted(e.key.id for e in into)
    assert store.neighbors(["no such node"], Direction.OUT) == []


def test_search_is_case_insensitive_and_sorted(store: GraphStore) -> None:
    store.apply(pipeline_batch())
    hits = store.search("SHOP.PUBLIC")
    assert [n.key for n in hits] == [DAILY, DAILY_N, ORDERS, ORDERS_ID]
    hits = store.search("shop.public", kinds=[NodeKind.DATASET])
    assert [n.key for n in hits] == [DAILY, ORDERS]
    assert [n.key for n in store.search("shop", limit=1)] == [DAILY]
    assert store.search("nothing like this") == []


def test_hostile_names_are_stored_verbatim(store: GraphStore) -> None:
    names = [
        "x'}) DETACH DELETE n //",
        'a"b`c\\d',
        "}]->(m) MATCH (z) DELETE z RETURN 1 //",
        "ünïcødé 表 🚀",
        "$param {key: 1}",
    ]
    p = prov("evil", "2024-01-01T00:00:00Z")
    b = MutationBatch()
    keys = [NodeKey.of(NodeKind.DATASET, namespace=n, name=n) for n in names]
    for key in keys:
        b.node(key, p, description=key.parts[0])
    b.edge(keys[0], EdgeKind.INPUT_TO, NodeKey.of(NodeKind.JOB, namespace="j'", name="`j`"), p)
    store.apply(b)
    for key in keys:
        node = store.get_node(key.id)
        assert node is not None and node.key == key and node.props["description"] == key.parts[0]
    assert store.stats().nodes == {"Dataset": len(names), "Job": 1}


def test_large_batch_crosses_write_chunks(store: GraphStore) -> None:
    p = prov("bulk", "2024-01-01T00:00:00Z")
    b = MutationBatch()
    hub = NodeKey.of(NodeKind.DATASET, namespace="bulk", name="hub")
    for i in range(6_000):  # more than one UNWIND chunk (5,000) of nodes and of edges
        col = NodeKey.of(NodeKind.COLUMN, namespace="bulk", name="hub", field=f"c{i:05d}")
        b.edge(hub, EdgeKind.HAS_COLUMN, col, p, position=i)
    result = store.apply(b)
    assert (result.nodes_written, result.edges_written) == (6_001, 6_000)
    assert store.stats().edges == {"HAS_COLUMN": 6_000}
    edges = store.neighbors([hub.id], Direction.OUT)
    assert len(edges) == 6_000 and edges[1234].props == {"position": 1234}
    assert store.apply(b).nodes_written == 0


def test_clear_empties_the_store(store: GraphStore) -> None:
    store.apply(pipeline_batch())
    store.clear()
    assert store.stats().node_count == 0 and list(store.iter_edges()) == []
    assert store.is_empty()


def test_checkpoint_is_written_with_the_batch(store: GraphStore) -> None:
    assert store.checkpoint() == 0
    store.apply(pipeline_batch(), checkpoint=7)
    assert store.checkpoint() == 7
    # a replay writes no records but still moves the checkpoint
    result = store.apply(pipeline_batch(), checkpoint=9)
    assert (result.nodes_written, store.checkpoint()) == (0, 9)
    store.clear()
    assert store.checkpoint() == 0


def test_a_fenced_write_lands_only_on_the_checkpoint_it_expects(store: GraphStore) -> None:
    """`after=`: the fence between two projectors. A writer that read an older checkpoint
    writes nothing, and learns where the store stands."""
    store.apply(MutationBatch(), checkpoint=5, after=0)
    with pytest.raises(CheckpointMoved) as moved:
        store.apply(pipeline_batch(), checkpoint=9, after=3)
    assert (moved.value.expected, moved.value.found) == (3, 5)
    assert store.checkpoint() == 5 and store.stats().node_count == 0  # nothing written
    prepared = store.prepare(pipeline_batch())
    with pytest.raises(CheckpointMoved):
        store.commit(prepared, checkpoint=9, after=4)
    assert store.stats().node_count == 0
    store.commit(prepared, checkpoint=9, after=5)
    assert store.checkpoint() == 9 and store.stats().node_count > 0
    store.clear()


def test_marks_are_shared_by_name_apart_from_the_checkpoint_and_cleared_with_it(
    store: GraphStore,
) -> None:
    assert store.mark("notifications-settled") == 0
    store.set_mark("notifications-settled", 7)
    store.set_mark("notifications-settled", 9)
    store.set_mark("other", 3)
    store.apply(MutationBatch(), checkpoint=5)
    assert (store.mark("notifications-settled"), store.mark("other"), store.checkpoint()) == (
        9,
        3,
        5,
    )
    store.apply(MutationBatch(), checkpoint=6, after=5)  # the fence reads the checkpoint only
    store.clear()
    assert (store.mark("notifications-settled"), store.checkpoint()) == (0, 0)


def _race_job(seq: int) -> NodeKey:
    return NodeKey.of(NodeKind.JOB, namespace="race", name=f"writer-{seq}")


def test_of_two_racing_fenced_writers_exactly_one_lands(store: GraphStore) -> None:
    """Both read checkpoint 0 and write at once; the store's lock lets one through and the
    other sees the checkpoint it moved (on Neo4j: two transactions on two sessions)."""
    store.apply(MutationBatch(), checkpoint=0)
    start = threading.Barrier(2)
    outcomes: list[object] = []

    def write(seq: int) -> None:
        batch = MutationBatch()
        batch.node(_race_job(seq), prov(f"writer-{seq}", "2024-05-01T10:00:00Z"))
        start.wait(timeout=30)
        try:
            outcomes.append(store.apply(batch, checkpoint=seq, after=0))
        except CheckpointMoved as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=write, args=(seq,)) for seq in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    refused = [o for o in outcomes if isinstance(o, CheckpointMoved)]
    assert len(outcomes) == 2 and len(refused) == 1
    winner = store.checkpoint()
    assert winner in (1, 2) and refused[0].found == winner
    assert store.stats().node_count == 1  # only the winner's job
    assert store.get_node(_race_job(winner).id) is not None
    store.clear()


def test_retirement_scoped_by_discriminator_and_far_end(store: GraphStore) -> None:
    """An alias moves (disc-scoped) and one deployment ends (far-end-scoped); others stay."""
    p = Provenance("test", "e1", "2026-01-01T00:00:00Z")
    later = Provenance("test", "e2", "2026-02-01T00:00:00Z")
    model = NodeKey.of(NodeKind.MODEL, registry="mlflow", name="risk")
    v1, v2 = (
        NodeKey.of(NodeKind.MODEL_VERSION, registry="mlflow", name="risk", version=v)
        for v in ("1", "2")
    )
    loans, cards = (NodeKey.of(NodeKind.DECISION_POINT, name=n) for n in ("loans", "cards"))
    b = MutationBatch()
    b.edge(model, EdgeKind.ALIAS, v1, p, disc="champion")
    b.edge(model, EdgeKind.ALIAS, v1, p, disc="challenger")
    b.edge(v1, EdgeKind.DEPLOYED_TO, loans, p, disc="champion")
    b.edge(v1, EdgeKind.DEPLOYED_TO, cards, p, disc="champion")
    store.apply(b)
    moved = MutationBatch()
    moved.edge(model, EdgeKind.ALIAS, v2, later, disc="champion")
    moved.add(
        EdgeRetire(model, EdgeKind.ALIAS, Direction.OUT, frozenset({v2}), later, "champion"),
        EdgeRetire(
            v1,
            EdgeKind.DEPLOYED_TO,
            Direction.OUT,
            frozenset(),
            later,
            "champion",
            frozenset({loans}),
        ),
    )
    store.apply(moved)
    aliases = {
        (e.key.disc, e.key.dst.parts[2])
        for e in store.neighbors([model.id], Direction.OUT, [EdgeKind.ALIAS])
    }
    assert aliases == {("champion", "2"), ("challenger", "1")}
    deployed = store.neighbors([v1.id], Direction.OUT, [EdgeKind.DEPLOYED_TO])
    assert [e.key.dst for e in deployed] == [cards]
    before = store.neighbors([v1.id], Direction.OUT, [EdgeKind.DEPLOYED_TO], "2026-01-15T00:00:00Z")
    assert {e.key.dst for e in before} == {loans, cards}
