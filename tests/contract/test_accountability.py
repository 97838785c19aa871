"""Accountability on both stores, against answers worked out by hand from the value chain in
conftest.py: a person through her team, a team on its own, and the gaps in their chains."""

from __future__ import annotations

from typing import Any

import pytest

from lineage_kg.graph.errors import InvalidArgument, NotFound
from lineage_kg.graph.model import Certainty, EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import MutationBatch, Provenance
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.accountability import AccountabilityMap, GapKind, accountability
from tests.contract.work import WORK_PER_NODE, counted, nodes_in

EXACT, POSSIBLE = Certainty.EXACT, Certainty.POSSIBLE
PLATFORM, ML, FINANCE, BOB = "team:data-platform", "team:ml-risk", "team:finance", "bob@example.com"


def related(items: list[Any]) -> list[tuple[Any, ...]]:
    return [(r.node.id, r.distance, r.certainty, r.owners) for r in items]


def links(items: list[Any]) -> list[tuple[Any, ...]]:
    return [(o.owner, o.left, o.assets) for o in items]


def gaps(answer: AccountabilityMap) -> list[tuple[Any, ...]]:
    return [
        (g.kind, g.asset.id, g.related.id if g.related else None, g.evidence) for g in answer.gaps
    ]


def ids(*keys: NodeKey) -> tuple[str, ...]:
    return tuple(sorted(k.id for k in keys))


def expected_gaps(v: Any) -> list[tuple[Any, ...]]:
    """The same four for both owners: the mart's latest version fails 1 of 4 checks, the ETL
    job's latest run failed, the loans table is owned only by bob who has left, nobody owns fx."""
    return [
        (GapKind.FAILING_QUALITY, v.mart.id, v.mart_v1.id,
         ("ev-etl-1-complete", "ev-train-1-start")),
        (GapKind.FAILING_RUN, v.etl.id, v.etl_2.id, ("ev-etl-2-fail", "ev-etl-2-start")),
        (GapKind.OWNER_LEFT, v.raw.id, v.bob.id,
         ("ev-catalog", "ev-etl-2-start", "ev-hr-bob-left")),
        (GapKind.UNOWNED, v.fx.id, None, ("ev-catalog", "ev-etl-2-start")),
    ]  # fmt: skip


def test_a_person_answers_for_her_teams_assets(store: GraphStore, value_chain: Any) -> None:
    v = value_chain
    answer = accountability(store, "alice@example.com")
    assert answer.owner.id == v.alice.id
    assert (answer.teams, answer.members) == ([PLATFORM], [])
    assert [(o.node.id, o.ownership_type, o.via) for o in answer.owned] == [
        (v.ingest.id, "technical", PLATFORM),  # airbyte/loans_sync
        (v.etl.id, "technical", PLATFORM),  # airflow/marts.loans_enriched
        (v.mart.id, "technical", PLATFORM),
    ]
    # the mart's amount column feeds approved-volume; its debt_ratio reaches approval-rate
    # through the feature, the model version and the decision point
    assert related(answer.kpis) == [
        (v.volume.id, 1, EXACT, (ML,)),
        (v.rate.id, 4, EXACT, (FINANCE,)),
    ]
    # the loans and fx tables feed the ETL job, and their columns the mart's (exact, 1 away)
    assert related(answer.upstream) == [(v.fx.id, 1, EXACT, ()), (v.raw.id, 1, EXACT, (BOB,))]
    assert links(answer.upstream_owners) == [(BOB, True, ids(v.raw))]
    assert related(answer.downstream) == [
        (v.volume.id, 1, EXACT, (ML,)),
        (v.train.id, 1, POSSIBLE, (ML,)),  # reads the mart (and trained on mart@v1)
        (v.raw.id, 1, POSSIBLE, (BOB,)),  # the team's ingest job produces it
        (v.view.id, 1, EXACT, (ML,)),  # its feature is computed from mart.debt_ratio
        (v.model.id, 2, EXACT, (ML,)),
        (v.point.id, 3, EXACT, (ML,)),
        (v.rate.id, 4, EXACT, (FINANCE,)),
    ]
    assert links(answer.downstream_owners) == [
        (BOB, True, ids(v.raw)),
        (FINANCE, False, ids(v.rate)),
        (ML, False, ids(v.volume, v.train, v.view, v.model, v.point)),
    ]
    assert gaps(answer) == expected_gaps(v)
    assert answer.truncated is False


def test_a_team_map(store: GraphStore, value_chain: Any) -> None:
    v = value_chain
    answer = accountability(store, v.ml.id)
    assert (answer.teams, answer.members) == ([], [])
    assert [(o.node.id, o.ownership_type, o.via) for o in answer.owned] == [
        (v.volume.id, "business", ML),  # approved-volume
        (v.point.id, "business", ML),  # loan-approval
        (v.model.id, "technical", ML),  # mlflow/credit-risk
        (v.train.id, "technical", ML),  # mlflow/train.credit-risk
        (v.view.id, "technical", ML),  # risk/loan_features
    ]
    # an owned KPI counts at distance 0; approval-rate hangs off their decision point
    assert related(answer.kpis) == [
        (v.volume.id, 0, EXACT, (ML,)),
        (v.rate.id, 1, EXACT, (FINANCE,)),
    ]
    assert related(answer.upstream) == [
        (v.mart.id, 1, EXACT, (PLATFORM,)),  # its columns feed the KPI and the feature
        (v.etl.id, 2, POSSIBLE, (PLATFORM,)),
        (v.fx.id, 2, EXACT, ()),
        (v.raw.id, 2, EXACT, (BOB,)),
        (v.ingest.id, 4, POSSIBLE, (PLATFORM,)),
    ]
    assert links(answer.upstream_owners) == [
        (BOB, True, ids(v.raw)),
        (PLATFORM, False, ids(v.etl, v.ingest, v.mart)),
    ]
    assert related(answer.downstream) == [(v.rate.id, 1, EXACT, (FINANCE,))]
    assert links(answer.downstream_owners) == [(FINANCE, False, ids(v.rate))]
    assert gaps(answer) == expected_gaps(v)
    details = {g.kind: g.detail for g in answer.gaps}
    assert "division by zero" in details[GapKind.FAILING_RUN]
    assert "1 quality check(s) failed, 3 passed" in details[GapKind.FAILING_QUALITY]
    assert "no remaining owner" in details[GapKind.OWNER_LEFT]


def test_a_team_lists_its_members(store: GraphStore, value_chain: Any) -> None:
    answer = accountability(store, PLATFORM)
    assert answer.members == ["alice@example.com", BOB]
    assert [o.via for o in answer.owned] == [PLATFORM] * 3


def test_unknown_owner_and_bad_arguments(store: GraphStore, value_chain: Any) -> None:
    v = value_chain
    with pytest.raises(NotFound):
        accountability(store, "nobody@example.com")
    with pytest.raises(InvalidArgument, match="owner_id"):
        accountability(store, v.mart.id)
    with pytest.raises(InvalidArgument, match="owner_id"):
        accountability(store, "")
    with pytest.raises(InvalidArgument, match="depth"):
        accountability(store, ML, depth=0)
    with pytest.raises(InvalidArgument, match="depth"):
        accountability(store, ML, depth=26)
    with pytest.raises(InvalidArgument, match="as_of"):
        accountability(store, ML, as_of="soon")


def test_diamond_lattice_upstream_of_an_owned_kpi(store: GraphStore) -> None:
    """20 layers of two-column tables, every column feeding both of the next layer's, the last
    feeding a KPI the team owns: 2**20 paths, each table reached once at its own distance."""
    p = Provenance("test", "lattice", "2026-01-01T00:00:00Z")
    b = MutationBatch()
    kpi = NodeKey.of(NodeKind.KPI, name="lattice-kpi")
    team = NodeKey.of(NodeKind.OWNER, owner_id="team:lat")
    tables = [NodeKey.of(NodeKind.DATASET, namespace="lat", name=f"t{i:02d}") for i in range(20)]

    def col(i: int, c: int) -> NodeKey:
        return NodeKey.of(NodeKind.COLUMN, namespace="lat", name=f"t{i:02d}", field=f"c{c}")

    for i, table in enumerate(tables):
        for c in range(2):
            b.edge(table, EdgeKind.HAS_COLUMN, col(i, c), p)
            for nxt in [col(i + 1, 0), col(i + 1, 1)] if i < 19 else [kpi]:
                b.edge(col(i, c), EdgeKind.FEEDS, nxt, p)
    b.edge(team, EdgeKind.OWNS, kpi, p, disc="business")
    store.apply(b)

    counting = counted(store)
    answer = accountability(counting.store, "team:lat", depth=25)
    assert related(answer.upstream) == [
        (tables[i].id, 20 - i, EXACT, ()) for i in reversed(range(20))
    ]
    assert [(g.kind, g.asset.id) for g in answer.gaps] == [
        (GapKind.UNOWNED, tables[i].id) for i in range(20)
    ]
    # work, not time: each node's neighbours read a few times at most (2**20 paths otherwise)
    print(f"lattice accountability read {counting.ids_read} ids for {nodes_in(store)} nodes")
    assert counting.ids_read <= WORK_PER_NODE * nodes_in(store)
