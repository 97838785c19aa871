"""A small demo graph spanning the value chain: a table, a job, a mart, a feature, a model
version, the decision point it serves, the KPIs they move and the owners of each step.

Used by `lkg serve --demo` so that a fresh install shows something real at once.
"""

from __future__ import annotations

from lineage_kg.graph.model import EdgeKind as E
from lineage_kg.graph.model import NodeKey, NodeKind
from lineage_kg.graph.mutations import MutationBatch, Provenance

PG = "postgres://warehouse:5432"


def _dataset(name: str) -> NodeKey:
    return NodeKey.of(NodeKind.DATASET, namespace=PG, name=name)


def _column(dataset: NodeKey, field: str) -> NodeKey:
    ns, name = dataset.parts
    return NodeKey.of(NodeKind.COLUMN, namespace=ns, name=name, field=field)


def demo_batch() -> MutationBatch:
    p = Provenance("demo", "demo-0001", "2026-01-05T06:00:00Z")
    b = MutationBatch()
    orders = b.node(_dataset("shop.public.orders"), p, description="Every order placed")
    revenue = b.node(_dataset("analytics.marts.daily_revenue"), p, description="Revenue per day")
    job = b.node(NodeKey.of(NodeKind.JOB, namespace="airflow", name="marts.daily_revenue"), p)
    b.edge(orders, E.INPUT_TO, job, p)
    b.edge(job, E.PRODUCES, revenue, p)
    for field in ("order_id", "customer_id", "amount", "created_at"):
        b.edge(orders, E.HAS_COLUMN, _column(orders, field), p, type="string")
    for field in ("day", "revenue"):
        b.edge(revenue, E.HAS_COLUMN, _column(revenue, field), p)
    b.edge(
        _column(orders, "amount"),
        E.FEEDS,
        _column(revenue, "revenue"),
        p,
        transformation="AGGREGATION",
    )
    b.edge(
        _column(orders, "created_at"),
        E.FEEDS,
        _column(revenue, "day"),
        p,
        transformation="TRANSFORMATION",
    )

    view = NodeKey.of(NodeKind.FEATURE_VIEW, project="risk", name="customer_spend")
    spend = NodeKey.of(NodeKind.FEATURE, project="risk", view="customer_spend", name="total_spend")
    b.edge(orders, E.SOURCES, view, p)
    b.edge(view, E.HAS_FEATURE, spend, p, dtype="FLOAT64")
    b.edge(_column(orders, "amount"), E.FEEDS, spend, p, transformation="AGGREGATION")

    model = NodeKey.of(NodeKind.MODEL, registry="mlflow", name="credit-risk")
    version = NodeKey.of(NodeKind.MODEL_VERSION, registry="mlflow", name="credit-risk", version="3")
    b.edge(model, E.HAS_VERSION, version, p)
    b.edge(model, E.ALIAS, version, p, disc="champion")
    b.edge(spend, E.FEEDS, version, p)
    # the training run read one exact version of the orders table
    snapshot = NodeKey.of(
        NodeKind.DATASET_VERSION, namespace=PG, name="shop.public.orders", version="2026-01-04"
    )
    training = b.node(
        NodeKey.of(NodeKind.RUN, run_id="train-credit-risk-3"),
        p,
        state="COMPLETE",
        started_at="2026-01-04T22:00:00.000000Z",
    )
    b.edge(orders, E.HAS_VERSION, snapshot, p)
    b.edge(snapshot, E.READ_BY, training, p)
    b.edge(training, E.TRAINED, version, p)

    approvals = b.node(NodeKey.of(NodeKind.DECISION_POINT, name="loan-approval"), p)
    approval_rate = b.node(NodeKey.of(NodeKind.KPI, name="approval-rate"), p, unit="%")
    daily_revenue = b.node(NodeKey.of(NodeKind.KPI, name="daily-revenue"), p, unit="EUR")
    b.edge(version, E.DEPLOYED_TO, approvals, p, mode="champion", traffic=1.0)
    b.edge(approvals, E.DRIVES, approval_rate, p)
    decision = b.node(
        NodeKey.of(NodeKind.DECISION, decision_id="loan-42"),
        p,
        decided_at="2026-01-05T09:30:00.000000Z",
        outcome="approved",
    )
    b.edge(version, E.DECIDED, decision, p)
    b.edge(_column(revenue, "revenue"), E.FEEDS, daily_revenue, p)

    platform = NodeKey.of(NodeKind.OWNER, owner_id="team:data-platform")
    ml = NodeKey.of(NodeKind.OWNER, owner_id="team:ml-risk")
    alice = NodeKey.of(NodeKind.OWNER, owner_id="alice@example.com")
    b.edge(alice, E.MEMBER_OF, platform, p)
    for asset in (orders, job, revenue):
        b.edge(platform, E.OWNS, asset, p, disc="technical")
    for asset in (view, model):
        b.edge(ml, E.OWNS, asset, p, disc="technical")
    b.edge(ml, E.OWNS, approval_rate, p, disc="business")
    return b
