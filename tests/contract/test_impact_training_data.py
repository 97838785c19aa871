"""Issue 16 §1 on both stores: impact follows training data. From a table or any of its columns,
impact reaches the training runs that read a version of it, the model versions they trained,
their decision points, KPIs and owners: table → version → training run → model version →
decision point. Exact where column lineage leads into the training table, possible where only
dataset-level lineage (or the whole table) does; with asOf only what was known then.

The value chain of tests/contract/conftest.py, plus a second model trained on a later version of
the mart with no features at all (only the training data joins it to the mart), and a reporting
run that read another version and trained nothing.
"""

from __future__ import annotations

from typing import Any

from lineage_kg.graph.model import EdgeKind as E
from lineage_kg.graph.model import NodeKey, NodeKind
from lineage_kg.graph.mutations import MutationBatch, Provenance
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.impact import ImpactAnswer, impact
from tests.contract.conftest import column, job, run, version

MV5 = NodeKey.of(NodeKind.MODEL_VERSION, registry="mlflow", name="fraud", version="5")
FRAUD = NodeKey.of(NodeKind.MODEL, registry="mlflow", name="fraud")
POINT = NodeKey.of(NodeKind.DECISION_POINT, name="fraud-check")
KPI = NodeKey.of(NodeKind.KPI, name="fraud-loss")
FRAUD_TEAM = NodeKey.of(NodeKind.OWNER, owner_id="team:fraud")
TRAIN_2, REPORT_1 = run("train-fraud-2"), run("report-1")
TRAINED_AT = "2026-03-03T06:00:00Z"


def add_fraud_model(store: GraphStore, v: Any) -> tuple[NodeKey, NodeKey]:
    """mart@v2 read by the fraud model's training run; mart@v3 read by a report."""
    mart_v2, mart_v3 = version(v.mart, "v2"), version(v.mart, "v3")
    b = MutationBatch()
    p = Provenance("test", "ev-etl-3-complete", "2026-03-03T02:10:00Z")
    b.edge(v.mart, E.HAS_VERSION, mart_v2, p)
    b.edge(v.mart, E.HAS_VERSION, mart_v3, p)
    p = Provenance("mlflow", "ev-train-fraud-2", TRAINED_AT)
    b.edge(TRAIN_2, E.RUN_OF, job("mlflow", "train.fraud"), p)
    b.edge(mart_v2, E.READ_BY, TRAIN_2, p)
    b.edge(TRAIN_2, E.TRAINED, MV5, p)
    b.edge(FRAUD, E.HAS_VERSION, MV5, p)
    p = Provenance("catalog", "ev-fraud-catalog", "2026-03-03T07:00:00Z")
    b.edge(MV5, E.DEPLOYED_TO, POINT, p)
    b.edge(POINT, E.DRIVES, KPI, p)
    b.edge(FRAUD_TEAM, E.OWNS, POINT, p, disc="business")
    p = Provenance("test", "ev-report-1", "2026-03-03T08:00:00Z")
    b.edge(REPORT_1, E.RUN_OF, job("airflow", "reports.weekly"), p)
    b.edge(mart_v3, E.READ_BY, REPORT_1, p)
    store.apply(b)
    return mart_v2, mart_v3


def reach(answer: ImpactAnswer) -> dict[str, tuple[str, int, list[E]]]:
    return {
        i.node.id: (i.certainty.value, i.distance, [h.edge.key.kind for h in i.path])
        for i in answer.items
    }


def test_a_source_column_reaches_the_models_trained_on_its_table(
    store: GraphStore, value_chain: Any
) -> None:
    v = value_chain
    mart_v2, mart_v3 = add_fraud_model(store, v)
    # loans.income feeds mart.debt_ratio (column lineage into the training table): exact
    answer = impact(store, column(v.raw, "income").id)
    found = reach(answer)
    to_table = [E.FEEDS, E.HAS_COLUMN]
    assert found[mart_v2.id] == ("exact", 3, [*to_table, E.HAS_VERSION])
    assert found[TRAIN_2.id] == ("exact", 4, [*to_table, E.HAS_VERSION, E.READ_BY])
    chain = [*to_table, E.HAS_VERSION, E.READ_BY, E.TRAINED]
    assert found[MV5.id] == ("exact", 5, chain)
    assert found[POINT.id] == ("exact", 6, [*chain, E.DEPLOYED_TO])
    assert found[KPI.id] == ("exact", 7, [*chain, E.DEPLOYED_TO, E.DRIVES])
    assert "fraud-loss" in answer.kpis
    owners = {i.node.id: i.owners for i in answer.items}
    assert owners[POINT.id] == ("team:fraud",)  # whom to warn
    # the first model's training run is reached too (its version had features: exact anyway)
    assert found[v.train_1.id][0] == "exact"
    # a run that read a version and trained nothing is history, not impact
    assert REPORT_1.id not in found and mart_v3.id not in found


def test_the_table_itself_reaches_them_as_possible(store: GraphStore, value_chain: Any) -> None:
    """From the whole table: every model trained on any version of it (it used to answer none
    of the fraud model's chain). Possible: the run read the table, no column detail."""
    v = value_chain
    mart_v2, _ = add_fraud_model(store, v)
    found = reach(impact(store, v.mart.id))
    assert found[mart_v2.id] == ("exact", 1, [E.HAS_VERSION])
    assert found[TRAIN_2.id] == ("possible", 2, [E.HAS_VERSION, E.READ_BY])
    path = [E.HAS_VERSION, E.READ_BY, E.TRAINED, E.DEPLOYED_TO]
    assert found[POINT.id] == ("possible", 4, path)
    assert found[KPI.id][0:2] == ("possible", 5)


def test_a_column_reaching_the_table_only_through_a_job_is_possible(
    store: GraphStore, value_chain: Any
) -> None:
    """fx.currency feeds no column: it reaches the mart through the ETL job only."""
    v = value_chain
    add_fraud_model(store, v)
    found = reach(impact(store, column(v.fx, "currency").id))
    assert found[MV5.id][0] == "possible"
    assert found[MV5.id][2][-3:] == [E.HAS_VERSION, E.READ_BY, E.TRAINED]


def test_as_of_sees_only_the_training_known_then(store: GraphStore, value_chain: Any) -> None:
    v = value_chain
    add_fraud_model(store, v)
    before = reach(impact(store, column(v.raw, "income").id, as_of="2026-03-03T03:00:00Z"))
    assert MV5.id not in before and TRAIN_2.id not in before
    assert v.train_1.id in before  # trained on mart@v1, known by then
    after = reach(impact(store, column(v.raw, "income").id, as_of="2026-03-03T06:30:00Z"))
    assert after[MV5.id][0] == "exact"
