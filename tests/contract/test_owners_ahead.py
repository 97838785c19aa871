"""Impact's nodes and owners read with its walk (graph/walk_ahead.py; on Neo4j the walk
statement answers them, graph/neo4j_walk_ahead.py): on generated estates with owners and
aliases, `nodes_and_owners` handed the walk's path edges answers what the separate reads
(`GraphStore.nodes_and_owners`' default) answer — for the nodes asked, not the others met; at
another time or for a node the walk did not meet it reads, as before — and on Neo4j it answers
without a round trip. Impact's answers are their plain reading with or without the read-ahead,
and a request's budget is charged the same."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.api.graphql.traversal_budget import TraversalBudget, budgeted
from lineage_kg.graph import walk_ahead
from lineage_kg.graph.model import KEY_FIELDS, EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction, EdgeRetire, MutationBatch, Provenance
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.impact import IMPACT_STEPS, impact
from lineage_kg.queries.impact_steps import COVERS, WHOLE
from lineage_kg.queries.traversal import walk_visits
from tests.contract.test_closeness_property import NODES, Edge, graphs
from tests.contract.test_impact_answer_property import (
    Link,
    P,
    as_read,
    load,
    owned,
    plain_impact,
    trained,
)
from tests.contract.test_impact_reads_neo4j import _owned_estate

LATER = Provenance("test", "e2", "2026-02-01T00:00:00Z")
OWNS = EdgeKind.OWNS
TIMES = [None, "2026-01-15T00:00:00Z"]  # now, and before the retirements


def _retire(store: GraphStore, links: list[Link], which: list[int]) -> None:
    """Some owners' OWNS edges retired later: the two times answer differently."""
    owners = sorted({src for src, kind, _ in links if kind is EdgeKind.OWNS}, key=str)
    if owners:
        out = Direction.OUT
        store.apply(
            [EdgeRetire(owners[i % len(owners)], OWNS, out, frozenset(), LATER) for i in which]
        )


def _reads(store: GraphStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements `store` sends from now on (Neo4j; none counted on the embedded store)."""
    sent: list[str] = []
    if store.name == "neo4j":
        read = store._read  # type: ignore[attr-defined]

        def counted(query: str, **params: Any) -> Any:
            sent.append(query)
            return read(query, **params)

        monkeypatch.setattr(store, "_read", counted)
    return sent


def _same(got: Any, base: Any) -> None:
    nodes, owns, aliases = got
    assert nodes == base[0]
    assert sorted(owns) == sorted(base[1])  # one pair an OWNS edge
    assert aliases == base[2]  # by edge id


_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@_SETTINGS
@given(
    edges=graphs(),
    owns=st.tuples(owned(), trained()).map(lambda both: both[0] + both[1]),
    retired=st.lists(st.integers(0, 20), max_size=3),
    starts=st.lists(st.sampled_from(NODES), min_size=1, max_size=3),
    as_of=st.sampled_from(TIMES),
)
def test_the_owners_read_ahead_are_the_separate_reads(
    store: GraphStore,
    monkeypatch: pytest.MonkeyPatch,
    *,
    edges: list[Edge],
    owns: list[Link],
    retired: list[int],
    starts: list[NodeKey],
    as_of: str | None,
) -> None:
    load(store, edges, owns)
    _retire(store, owns, retired)
    with monkeypatch.context() as patched:
        sent = _reads(store, patched)
        for start in starts:
            walk = walk_visits(store, [start.id], IMPACT_STEPS, max_depth=6, as_of=as_of,
                               start_state=WHOLE, covers=COVERS, owners_next=True)  # fmt: skip
            met = list(dict.fromkeys(walk.node))
            # every other node met (owners of the rest, and their aliases, left out), the start
            ids = met[1::2]
            asked = [*ids, start.id]
            base = GraphStore.nodes_and_owners(store, asked, ids, as_of)
            sent.clear()
            got = store.nodes_and_owners(asked, ids, as_of, path_edges=walk.path_edges)
            _same(got, base)
            if store.name == "neo4j":
                assert sent == []  # read with the walk
            # at the other time, or of a node not met: read as before
            other = TIMES[1] if as_of is None else None
            again = store.nodes_and_owners(asked, ids, other, path_edges=walk.path_edges)
            _same(again, GraphStore.nodes_and_owners(store, asked, ids, other))
            unmet = [n.id for n in NODES if n.id not in met][:3]
            more = [*ids, *unmet]
            extra = store.nodes_and_owners(more, more, as_of, path_edges=walk.path_edges)
            _same(extra, GraphStore.nodes_and_owners(store, more, more, as_of))


# props a node may hold: its kind's key fields are not among them (`NodeUpsert` refuses those),
# a name that is one kind's key field is another's prop; every storable type
_PROP_NAMES = ["zeta", "Alpha", "name", "field", "version", "owner_id", "b_x", "a"]
_VALUES = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=5),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),
    st.booleans(),
    st.lists(st.text(max_size=3), max_size=3),
    st.lists(st.integers(0, 9), min_size=1, max_size=3),
)


@_SETTINGS
@given(
    edges=graphs(),
    props=st.lists(
        st.dictionaries(st.sampled_from(_PROP_NAMES), _VALUES),
        min_size=len(NODES),
        max_size=len(NODES),
    ),
    start=st.sampled_from(NODES),
)
def test_the_nodes_read_ahead_are_their_records(
    store: GraphStore,
    monkeypatch: pytest.MonkeyPatch,
    *,
    edges: list[Edge],
    props: list[dict[str, Any]],
    start: NodeKey,
) -> None:
    """Nodes with props of every type (the estates above have none): each node the walk read
    ahead is the node `get_nodes` reads, its props in the same order (by name), without a
    statement on Neo4j."""
    load(store, edges, [])
    batch = MutationBatch()
    for node, held in zip(NODES, props, strict=True):
        batch.node(node, P, **{k: v for k, v in held.items() if k not in KEY_FIELDS[node.kind]})
    store.apply(batch)
    walk = walk_visits(store, [start.id], IMPACT_STEPS, start_state=WHOLE, covers=COVERS,
                       owners_next=True)  # fmt: skip
    met = [start.id, *dict.fromkeys(walk.node)]
    with monkeypatch.context() as patched:
        sent = _reads(store, patched)
        nodes, _, _ = store.nodes_and_owners(met, [], None, path_edges=walk.path_edges)
        assert store.name != "neo4j" or sent == []
    base = store.get_nodes(met)
    assert nodes == base
    assert [list(n.props) for n in nodes] == [list(n.props) for n in base]


@pytest.mark.parametrize("as_of", TIMES)
def test_the_owners_at_another_time_are_read(
    store: GraphStore, monkeypatch: pytest.MonkeyPatch, as_of: str | None
) -> None:
    """An OWNS edge retired between the two times: the walk's read at one time never answers
    for the other."""
    ids, named = _owned_estate(store)
    walk = walk_visits(store, [named["c1"]], IMPACT_STEPS, max_depth=3, as_of=as_of,
                       start_state=WHOLE, covers=COVERS, owners_next=True)  # fmt: skip
    met = [named["c1"], *dict.fromkeys(walk.node)]
    assert ids[1] in met  # c2, owned by the person until later
    separate = {when: GraphStore.nodes_and_owners(store, met, met, when) for when in TIMES}
    assert separate[TIMES[0]][1] != separate[TIMES[1]][1]
    columns = [named["c1"], ids[1]]
    of_columns = GraphStore.nodes_and_owners(store, met, columns, as_of)
    with monkeypatch.context() as patched:
        sent = _reads(store, patched)
        for when in (as_of, *TIMES):  # the walk's time first: answered without a read
            got = store.nodes_and_owners(met, met, when, path_edges=walk.path_edges)
            _same(got, separate[when])
        assert store.name != "neo4j" or len(sent) == 1  # the other time alone
        # the columns alone asked: the datasets' owners met (aliases of others) left out
        got = store.nodes_and_owners(met, columns, as_of, path_edges=walk.path_edges)
        assert store.name != "neo4j" or len(sent) == 1
    _same(got, of_columns)


@_SETTINGS
@given(
    edges=graphs(),
    owns=st.tuples(owned(), trained()).map(lambda both: both[0] + both[1]),
    starts=st.lists(st.sampled_from(NODES), min_size=1, max_size=3),
    options=st.fixed_dictionaries(
        {
            "depth": st.integers(1, 11),
            "kinds": st.none(),
            "exact_only": st.booleans(),
            "include_indirect": st.booleans(),
        }
    ),
)
def test_impact_with_the_read_ahead_is_its_plain_reading(
    store: GraphStore,
    monkeypatch: pytest.MonkeyPatch,
    *,
    edges: list[Edge],
    owns: list[Link],
    starts: list[NodeKey],
    options: dict[str, Any],
) -> None:
    """On both stores (tests/contract/test_impact_answer_property.py: the embedded store alone),
    the same answer with the read-ahead and without; on Neo4j, to depth 10, one round trip
    (`kinds` left out: it filters the items after every read)."""
    load(store, edges, owns)
    with monkeypatch.context() as patched:
        sent = _reads(store, patched)
        for start in starts:
            sent.clear()
            got = impact(store, start.id, **options)
            # the store walks impact's policy itself (direct lineage only has a test in code:
            # level by level); a dataset's columns are read before the walk
            walks = options["include_indirect"] and options["depth"] <= 10
            if store.name == "neo4j" and walks and start.kind is not NodeKind.DATASET:
                assert len(sent) == 1, sent
            assert as_read(got) == plain_impact(store, start.id, options), start.id
            patched.setattr(walk_ahead, "READ_AHEAD", False)
            assert impact(store, start.id, **options) == got
            patched.setattr(walk_ahead, "READ_AHEAD", True)


@pytest.mark.parametrize("as_of", TIMES)
def test_a_request_is_charged_the_same_with_the_read_ahead(
    store: GraphStore, monkeypatch: pytest.MonkeyPatch, as_of: str | None
) -> None:
    """The budget view charges `nodes_and_owners` as the reads it stands for, read ahead or not
    (api/graphql/traversal_budget.py) — and hands the walk impact's `owners_next` on: on Neo4j
    each answer through it is one statement fewer with the read-ahead than without."""
    ids, _ = _owned_estate(store)
    spent = {}
    statements = {}
    for ahead in (True, False):
        monkeypatch.setattr(walk_ahead, "READ_AHEAD", ahead)
        budget = TraversalBudget(1_000_000)
        with monkeypatch.context() as patched:
            sent = _reads(store, patched)
            answers = [impact(budgeted(store, budget), i, as_of=as_of) for i in ids[:4]]
        spent[ahead] = (budget.spent, answers)
        statements[ahead] = len(sent)
    assert spent[True] == spent[False]
    assert spent[True][0] > 0
    if store.name == "neo4j":
        assert statements[False] - statements[True] == 4, statements
