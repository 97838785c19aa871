"""Session 34, item 1: an OpenLineage `ownership` facet lists the asset's owners as of its event's
time, so the owners OpenLineage named before and it does not list stop being owners then — in
the accountability map, impact's owners to warn and the OWNS edges the stores read — while an
OWNS edge another source asserts (dbt's `meta.owner`, here through dbt's real mapping) stays,
even when both sources assert that very edge. An event without the facet, or whose list names
nobody readable, retires nothing; `owners: []` retires every owner OpenLineage named.

The oracle (`expected`) says it from the events alone, by event time: an OWNS edge (owner,
type) OpenLineage asserted is current unless a facet that says something, newer than the edge's
newest assertion, omits the owner (the retirement is by owner; two facets at one time each
speak: one omitting the owner ends what was asserted before it); every OWNS edge dbt asserted
is current. Streams are generated (hypothesis) and applied in
time order and in shuffled arrival order, in batches, on both stores.
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.graph import store as store_module
from lineage_kg.graph import validity
from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction, EdgeRetire, MutationBatch, Provenance
from lineage_kg.graph.naming import dataset_key
from lineage_kg.graph.store import GraphStore
from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.ingest.dbt.mapping import map_node
from lineage_kg.ingest.openlineage.mapping import map_event
from lineage_kg.queries.accountability import accountability
from lineage_kg.queries.impact import owners_of

NS = "postgres://warehouse:5432"
DATASETS = ["shop.public.orders", "shop.public.customers"]
JOB = ("airflow", "orders_etl")
ASSETS = [*(f"ds:{n}" for n in DATASETS), "job"]
NAMES = ["alice", "bob", "team:data"]
TYPES = [None, "MAINTAINER", "technical"]  # "technical" is dbt's type too: one shared edge
TIMES = [f"2026-03-0{d}T10:00:00Z" for d in range(1, 5)]
PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.20.0/integration/airflow"


def asset_key(asset: str) -> NodeKey:
    if asset == "job":
        return NodeKey.of(NodeKind.JOB, namespace=JOB[0], name=JOB[1])
    return dataset_key(NS, asset.removeprefix("ds:"))


def owner_key(name: str) -> NodeKey:
    return NodeKey.of(NodeKind.OWNER, owner_id=name)


@dataclasses.dataclass(frozen=True)
class Ev:
    """One event: OpenLineage's ownership facet on an asset (`owners` None: no facet; entries
    (name, type), name "" for an entry without one), or a dbt model record naming owners."""

    source: str  # "openlineage" | "dbt"
    event_id: str
    time: str
    asset: str
    owners: tuple[tuple[str, str | None], ...] | None

    def mutations(self) -> MutationBatch:
        if self.source == "dbt":
            body = {
                "dataset": {"namespace": NS, "name": self.asset.removeprefix("ds:")},
                "description": None,
                "materialization": None,
                "tags": [],
                "unique_id": f"source.shop.{self.asset}",
                "resource_type": "source",
                "meta": {},
                "columns": [],
                "owners": [name for name, _ in self.owners or ()],
                "group": None,
            }
            return map_node(body, Provenance("dbt", self.event_id, self.time))
        return map_event(self.ol_event(), self.event_id)

    def ol_event(self) -> dict[str, Any]:
        facets: dict[str, Any] = {}
        if self.owners is not None:
            owners = [{"name": n} | ({"type": t} if t else {}) for n, t in self.owners]
            facets["ownership"] = {"_producer": PRODUCER, "owners": owners}
        event: dict[str, Any] = {
            "eventTime": self.time,
            "producer": PRODUCER,
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        }
        if self.asset == "job":  # a job's facet, on a COMPLETE of one of its runs
            event |= {
                "eventType": "COMPLETE",
                "run": {"runId": f"0190a1b2-0000-7000-8000-{self.event_id[-12:]:0>12}"},
                "job": {"namespace": JOB[0], "name": JOB[1], "facets": facets},
                "inputs": [],
                "outputs": [],
            }
        else:  # a DatasetEvent: the dataset's facets alone
            name = self.asset.removeprefix("ds:")
            event["dataset"] = {"namespace": NS, "name": name, "facets": facets}
        return event


def expected(events: list[Ev]) -> set[tuple[str, str, str]]:
    """The current OWNS edges as (owner id, asset, ownership type), from the events by time."""
    current: set[tuple[str, str, str]] = set()
    for asset in ASSETS:
        mine = [e for e in events if e.asset == asset]
        current |= {(n, asset, "technical") for e in mine if e.source == "dbt" for n, _ in e.owners}
        ol = [e for e in mine if e.source == "openlineage" and e.owners is not None]
        saying = [e for e in ol if not e.owners or any(n for n, _ in e.owners)]
        last: dict[tuple[str, str], str] = {}  # (owner, type) -> its newest assertion's time
        for e in ol:
            for n, t in e.owners:
                if n:
                    at = canonical_time(e.time)
                    last[n, t or "owner"] = max(last.get((n, t or "owner"), ""), at)
        for (n, t), at in last.items():
            if not any(
                canonical_time(e.time) > at and n not in {m for m, _ in e.owners} for e in saying
            ):
                current.add((n, asset, t))
    return current


def owns_now(store: GraphStore) -> set[tuple[str, str, str]]:
    keys = {asset_key(a).id: a for a in ASSETS}
    edges = store.neighbors(sorted(keys), Direction.IN, [EdgeKind.OWNS])
    return {(e.key.src.parts[0], keys[e.key.dst.id], e.key.disc) for e in edges}


def owns_records(store: GraphStore) -> set[tuple[Any, ...]]:
    """Every OWNS edge with its validity: the same whatever the arrival order."""
    return {
        (e.key.id, e.sources, e.first_seen, e.last_seen, e.valid_to)
        for e in store.iter_edges()
        if e.key.kind is EdgeKind.OWNS
    }


def check(store: GraphStore, events: list[Ev], *, maps: bool = True) -> None:
    """The OWNS edges, impact's owners to warn and (`maps`) each owner's accountability map
    agree with the oracle."""
    want = expected(events)
    assert owns_now(store) == want
    ids = {asset_key(a).id: a for a in ASSETS}
    warned = {(o, ids[n]) for n, names in owners_of(store, sorted(ids)).items() for o in names}
    assert warned == {(o, a) for o, a, _ in want}
    for name in NAMES if maps else ():
        if store.get_node(owner_key(name).id) is None:
            continue
        owned = accountability(store, name, depth=1).owned
        got = {(name, ids[o.node.key.id], o.ownership_type) for o in owned if o.via == name}
        assert got == {w for w in want if w[0] == name}


def load(store: GraphStore, events: list[Ev], batch_size: int) -> None:
    store.clear()
    for i in range(0, len(events), batch_size):
        batch = MutationBatch()
        for e in events[i : i + batch_size]:
            batch.extend(e.mutations().mutations)
        store.apply(batch)


# mostly a list naming someone; sometimes no facet, `owners: []`, or an entry with no name
named = st.lists(
    st.tuples(st.sampled_from([*NAMES, ""]), st.sampled_from(TYPES)), min_size=1, max_size=3
)
owner_lists = st.one_of(named, named, named, st.none(), st.just(())).map(
    lambda o: None if o is None else tuple(o)
)


@st.composite
def streams(draw: st.DrawFn) -> list[Ev]:
    n = draw(st.integers(2, 8))
    # times spread over the four days by a drawn order (some events at one time)
    days = draw(st.permutations(range(n)))
    events = []
    for i in range(n):
        source = draw(st.sampled_from(["openlineage", "openlineage", "dbt"]))
        # mostly the one dataset: facets on one asset meet
        asset = draw(
            st.sampled_from([ASSETS[0], *ASSETS] if source == "openlineage" else ASSETS[:1])
        )
        owners = draw(owner_lists)
        if source == "dbt":  # dbt's owners are names (meta.owner), always a list
            owners = tuple((n, None) for n, _ in owners or () if n)
        events.append(Ev(source, f"e{i:02d}", TIMES[days[i] * len(TIMES) // n], asset, owners))
    return sorted(events, key=lambda e: (canonical_time(e.time), e.event_id))


def test_ownership_follows_event_time_in_any_arrival_order() -> None:
    """Embedded: 25 streams, each in time order one event a batch, then shuffled in batches:
    the oracle's answers and the same OWNS records both ways."""
    store = EmbeddedStore()

    @settings(max_examples=25, deadline=None)
    @given(streams(), st.randoms(use_true_random=False), st.integers(1, 3))
    def inner(events: list[Ev], rnd: random.Random, batch_size: int) -> None:
        load(store, events, 1)  # in time order
        check(store, events)
        in_order = owns_records(store)
        shuffled = list(events)
        rnd.shuffle(shuffled)
        load(store, shuffled, batch_size)  # late arrivals, some in one batch
        check(store, events)
        assert owns_records(store) == in_order

    inner()


@pytest.mark.neo4j
def test_neo4j_ownership_in_shuffled_arrival(neo4j_store: GraphStore) -> None:
    """Neo4j: a few streams (each a Bolt round trip a batch), shuffled in batches: the oracle's
    OWNS edges and owners to warn, and the very OWNS records the embedded store keeps."""

    @settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(streams(), st.randoms(use_true_random=False), st.integers(2, 4))
    def inner(events: list[Ev], rnd: random.Random, batch_size: int) -> None:
        embedded = EmbeddedStore()
        load(embedded, events, 1)
        shuffled = list(events)
        rnd.shuffle(shuffled)
        load(neo4j_store, shuffled, batch_size)
        check(neo4j_store, events, maps=False)
        assert owns_records(neo4j_store) == owns_records(embedded)

    inner()


def ev(source: str, i: int, day: int, asset: str, *owners: str) -> Ev:
    return Ev(source, f"h{i:02d}", TIMES[day - 1], asset, tuple((o, None) for o in owners))


# by hand: alice then bob (facet), dbt names carol on the same dataset, alice also by dbt
BY_HAND = [
    ev("openlineage", 1, 1, "ds:shop.public.orders", "alice"),
    ev("dbt", 2, 2, "ds:shop.public.orders", "carol"),
    ev("openlineage", 3, 3, "ds:shop.public.orders", "bob"),
    ev("openlineage", 4, 1, "job", "alice"),
    ev("openlineage", 5, 2, "job"),  # owners: [] — the job has no owners any more
    Ev("openlineage", "h06", TIMES[3], "job", None),  # no facet: says nothing
    Ev("openlineage", "h07", TIMES[3], "ds:shop.public.orders", (("", "MAINTAINER"),)),
]


@pytest.mark.parametrize("order", ["time", "reversed"])
def test_newer_facet_retires_older_owners_by_hand(store: GraphStore, order: str) -> None:
    events = BY_HAND if order == "time" else BY_HAND[::-1]
    load(store, events, 1)
    orders = "ds:shop.public.orders"
    assert owns_now(store) == {("bob", orders, "owner"), ("carol", orders, "technical")}
    assert owners_of(store, [asset_key(orders).id]) == {asset_key(orders).id: ["bob", "carol"]}
    assert accountability(store, "alice", depth=1).owned == []
    # as of the 2nd, alice still owned both (the facet of the 3rd had not said otherwise yet)
    then = canonical_time("2026-03-02T12:00:00Z")
    assert owners_of(store, [asset_key(orders).id], then) == {
        asset_key(orders).id: ["alice", "carol"]
    }
    job = asset_key("job").id
    assert owners_of(store, [job], canonical_time("2026-03-01T12:00:00Z")) == {job: ["alice"]}
    assert owners_of(store, [job]) == {}


def test_an_edge_both_sources_assert_stays_while_one_does(store: GraphStore) -> None:
    """alice owns orders by dbt ("technical") and by the facet with type technical: one edge of
    two sources. The facet then names bob: the edge stays (dbt still says so), whichever of
    the three events arrives last."""
    orders = "ds:shop.public.orders"
    events = [
        Ev("openlineage", "s1", TIMES[0], orders, (("alice", "technical"),)),
        ev("dbt", 2, 2, orders, "alice"),
        Ev("openlineage", "s3", TIMES[2], orders, (("bob", None),)),
    ]
    want = {("alice", orders, "technical"), ("bob", orders, "owner")}
    for order in ([0, 1, 2], [2, 0, 1], [0, 2, 1], [1, 2, 0]):
        load(store, [events[i] for i in order], 1)
        assert owns_now(store) == want, order
    # without dbt's record, the facet's retirement closes it
    load(store, [events[2], events[0]], 1)
    assert owns_now(store) == {("bob", orders, "owner")}


def test_breakages_are_caught() -> None:
    """Made in this process: the old unscoped retirement (dbt's owners retired too), the
    scoped end ignored in settling (a late older assertion re-opened), no retirement at all."""
    orders = "ds:shop.public.orders"
    both = [
        ev("openlineage", 1, 1, orders, "alice"),
        ev("dbt", 2, 2, orders, "carol"),
        ev("openlineage", 3, 3, orders, "bob"),
    ]
    late = [both[2], both[0]]  # alice's facet arrives after bob's

    def answers(events: list[Ev]) -> set[tuple[str, str, str]]:
        store = EmbeddedStore()
        load(store, events, 1)
        return owns_now(store)

    assert answers(both) == expected(both)
    assert answers(late) == expected(late)
    mp = pytest.MonkeyPatch()
    try:  # 1: every retirement unscoped
        real = EdgeRetire.__init__

        def unscoped(self: EdgeRetire, *a: Any, **k: Any) -> None:
            real(self, *a, **{**k, "scoped": False})

        mp.setattr(EdgeRetire, "__init__", unscoped)
        assert answers(both) != expected(both)  # carol (dbt) retired by the facet
    finally:
        mp.undo()
    try:  # 2: settling ignores scoped retirements
        mp.setattr(validity, "_sources_end", lambda sources, at, by, scoped: (at, by))
        assert answers(late) != expected(late)  # alice's late assertion stays current
    finally:
        mp.undo()
    try:  # 3: the store retires nothing
        mp.setattr(store_module.GraphStore, "_retire", staticmethod(lambda r, e: set()))
        mp.setattr(store_module, "remember_all", lambda r, n: None)
        assert answers(both) != expected(both)
    finally:
        mp.undo()


OWNED = """query ($owner: String!) { accountability(ownerId: $owner, depth: 1) {
  owned { node { id } ownershipType via } } }"""


def test_graphql_answers_the_current_owners(tmp_path: Path) -> None:
    """GraphQL's accountability (the API the owner persona reads): alice, whose facet a newer
    one replaced, owns nothing; bob owns orders; carol (dbt) keeps hers."""
    from fastapi.testclient import TestClient

    from lineage_kg.api.app import create_app
    from lineage_kg.settings import Settings

    store = EmbeddedStore()
    load(store, BY_HAND[::-1], 1)
    orders = asset_key("ds:shop.public.orders").id
    with TestClient(create_app(Settings(data_dir=tmp_path), store=store)) as client:

        def owned(owner: str) -> list[tuple[str, str, str]]:
            body = {"query": OWNED, "variables": {"owner": owner}}
            answer = client.post("/graphql", json=body).json()["data"]["accountability"]
            return [(o["node"]["id"], o["ownershipType"], o["via"]) for o in answer["owned"]]

        assert owned("alice") == []
        assert owned("bob") == [(orders, "owner", "bob")]
        assert owned("carol") == [(orders, "technical", "carol")]
