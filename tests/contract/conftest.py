"""A hand-made value chain, event by event, for the root-cause and accountability contract tests.

    airbyte/loans_sync ─PRODUCES→ shop.public.loans (bob, who has left) ─┐
    shop.public.fx_rates (nobody) ─────────────────────────────────────┴INPUT_TO→
    airflow/marts.loans_enriched ─PRODUCES→ analytics.marts.loans_enriched (data-platform)
        ├─SOURCES→ risk/loan_features ─HAS_FEATURE→ debt_ratio ─FEEDS→ credit-risk@4 (ml-risk)
        ├─#amount ─FEEDS→ KPI approved-volume (ml-risk)
        └─INPUT_TO→ mlflow/train.credit-risk
    credit-risk@4 ─DEPLOYED_TO→ loan-approval ─DRIVES→ approved-volume, approval-rate (finance)
    credit-risk@4 ─DECIDED→ decision d-1001

Runs: ingest-0a (wrote loans@v7) and ingest-0b (loans@v8, after etl-1 started); etl-1 read the
loans and fx tables without versions and wrote loans_enriched@v1, whose checks failed 1 of 4;
etl-2, the latest, FAILED; train-1 read loans_enriched@v1 and trained credit-risk@4.
Each event has its own id, so evidence can be checked exactly.
"""

from __future__ import annotations

import pytest

from lineage_kg.graph.model import EdgeKind as E
from lineage_kg.graph.model import NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction, EdgeRetire, MutationBatch, Provenance
from lineage_kg.graph.store import GraphStore
from lineage_kg.graph.timefmt import canonical_time

PG = "postgres://warehouse:5432"


def dataset(name: str) -> NodeKey:
    return NodeKey.of(NodeKind.DATASET, namespace=PG, name=name)


def column(ds: NodeKey, field: str) -> NodeKey:
    ns, name = ds.parts
    return NodeKey.of(NodeKind.COLUMN, namespace=ns, name=name, field=field)


def version(ds: NodeKey, v: str) -> NodeKey:
    ns, name = ds.parts
    return NodeKey.of(NodeKind.DATASET_VERSION, namespace=ns, name=name, version=v)


def job(namespace: str, name: str) -> NodeKey:
    return NodeKey.of(NodeKind.JOB, namespace=namespace, name=name)


def run(run_id: str) -> NodeKey:
    return NodeKey.of(NodeKind.RUN, run_id=run_id)


def owner(owner_id: str) -> NodeKey:
    return NodeKey.of(NodeKind.OWNER, owner_id=owner_id)


def t(text: str) -> str:
    return canonical_time(text)


class ValueChain:
    """The keys of the value chain, by role."""

    raw: NodeKey = dataset("shop.public.loans")
    fx: NodeKey = dataset("shop.public.fx_rates")
    mart: NodeKey = dataset("analytics.marts.loans_enriched")
    raw_v7: NodeKey = version(dataset("shop.public.loans"), "v7")
    raw_v8: NodeKey = version(dataset("shop.public.loans"), "v8")
    mart_v1: NodeKey = version(dataset("analytics.marts.loans_enriched"), "v1")
    ingest: NodeKey = job("airbyte", "loans_sync")
    etl: NodeKey = job("airflow", "marts.loans_enriched")
    train: NodeKey = job("mlflow", "train.credit-risk")
    ingest_0a: NodeKey = run("ingest-0a")
    ingest_0b: NodeKey = run("ingest-0b")
    etl_1: NodeKey = run("etl-1")
    etl_2: NodeKey = run("etl-2")
    train_1: NodeKey = run("train-1")
    view: NodeKey = NodeKey.of(NodeKind.FEATURE_VIEW, project="risk", name="loan_features")
    feature: NodeKey = NodeKey.of(
        NodeKind.FEATURE, project="risk", view="loan_features", name="debt_ratio"
    )
    model: NodeKey = NodeKey.of(NodeKind.MODEL, registry="mlflow", name="credit-risk")
    mv4: NodeKey = NodeKey.of(
        NodeKind.MODEL_VERSION, registry="mlflow", name="credit-risk", version="4"
    )
    point: NodeKey = NodeKey.of(NodeKind.DECISION_POINT, name="loan-approval")
    volume: NodeKey = NodeKey.of(NodeKind.KPI, name="approved-volume")
    rate: NodeKey = NodeKey.of(NodeKind.KPI, name="approval-rate")
    decision: NodeKey = NodeKey.of(NodeKind.DECISION, decision_id="d-1001")
    platform: NodeKey = owner("team:data-platform")
    ml: NodeKey = owner("team:ml-risk")
    finance: NodeKey = owner("team:finance")
    alice: NodeKey = owner("alice@example.com")
    bob: NodeKey = owner("bob@example.com")

    def col(self, ds: NodeKey, field: str) -> NodeKey:
        return column(ds, field)


def value_chain_batches(v: ValueChain) -> list[MutationBatch]:
    """One batch per event, in event order (the store would not mind any other order)."""
    batches: list[MutationBatch] = []

    def event(event_id: str, time: str) -> tuple[MutationBatch, Provenance]:
        b = MutationBatch()
        batches.append(b)
        return b, Provenance("test", event_id, time)

    raw, fx, mart = v.raw, v.fx, v.mart
    b, p = event("ev-catalog", "2026-02-01T00:00:00Z")
    b.node(raw, p, description="loan applications")
    b.node(fx, p, description="daily exchange rates")
    b.node(mart, p, description="loans with derived ratios")
    for ds, fields in (
        (raw, ("loan_id", "amount", "income", "legacy_flag")),
        (fx, ("currency", "rate")),
        (mart, ("loan_id", "amount", "debt_ratio")),
    ):
        for field in fields:
            b.edge(ds, E.HAS_COLUMN, column(ds, field), p)
    b.edge(v.ingest, E.PRODUCES, raw, p)
    b.edge(raw, E.INPUT_TO, v.etl, p)
    b.edge(fx, E.INPUT_TO, v.etl, p)
    b.edge(v.etl, E.PRODUCES, mart, p)
    b.edge(mart, E.INPUT_TO, v.train, p)
    for src, dst in (
        (column(raw, "loan_id"), column(mart, "loan_id")),
        (column(raw, "amount"), column(mart, "amount")),
        (column(fx, "rate"), column(mart, "amount")),
        (column(raw, "amount"), column(mart, "debt_ratio")),
        (column(raw, "income"), column(mart, "debt_ratio")),
    ):
        b.edge(src, E.FEEDS, dst, p)
    b.edge(mart, E.SOURCES, v.view, p)
    b.edge(v.view, E.HAS_FEATURE, v.feature, p)
    b.edge(column(mart, "debt_ratio"), E.FEEDS, v.feature, p)
    b.edge(v.point, E.DRIVES, v.volume, p)
    b.edge(column(mart, "amount"), E.FEEDS, v.volume, p)
    b.edge(v.point, E.DRIVES, v.rate, p)
    b.edge(v.alice, E.MEMBER_OF, v.platform, p)
    b.edge(v.bob, E.MEMBER_OF, v.platform, p)
    for asset in (v.ingest, v.etl, mart):
        b.edge(v.platform, E.OWNS, asset, p, disc="technical")
    b.edge(v.bob, E.OWNS, raw, p, disc="technical")
    for asset in (v.view, v.model, v.train):
        b.edge(v.ml, E.OWNS, asset, p, disc="technical")
    for asset in (v.point, v.volume):
        b.edge(v.ml, E.OWNS, asset, p, disc="business")
    b.edge(v.finance, E.OWNS, v.rate, p, disc="business")

    b, p = event("ev-hr-bob-left", "2026-02-15T00:00:00Z")
    b.node(v.bob, p, status="left", left_at=t("2026-02-15T00:00:00Z"))

    def started(r: NodeKey, j: NodeKey, event_id: str, time: str) -> MutationBatch:
        b, p = event(event_id, time)
        b.node(r, p, state="START", started_at=t(time))
        b.edge(r, E.RUN_OF, j, p)
        return b

    def ended(r: NodeKey, j: NodeKey, event_id: str, time: str, state: str, **props: object):
        b, p = event(event_id, time)
        b.node(r, p, state=state, ended_at=t(time), **props)
        b.edge(r, E.RUN_OF, j, p)
        return b, p

    started(v.ingest_0a, v.ingest, "ev-ingest-0a-start", "2026-03-01T01:00:00Z")
    b, p = ended(v.ingest_0a, v.ingest, "ev-ingest-0a-complete", "2026-03-01T01:30:00Z", "COMPLETE")
    b.edge(raw, E.HAS_VERSION, v.raw_v7, p)
    b.edge(v.ingest_0a, E.WROTE, v.raw_v7, p)

    b = started(v.etl_1, v.etl, "ev-etl-1-start", "2026-03-01T02:00:00Z")
    p = b.mutations[0].prov
    b.edge(raw, E.READ_BY, v.etl_1, p)
    b.edge(fx, E.READ_BY, v.etl_1, p)
    b, p = ended(v.etl_1, v.etl, "ev-etl-1-complete", "2026-03-01T02:10:00Z", "COMPLETE")
    b.edge(mart, E.HAS_VERSION, v.mart_v1, p)
    b.edge(v.etl_1, E.WROTE, v.mart_v1, p)
    b.node(v.mart_v1, p, quality_passed=3, quality_failed=1)

    started(v.ingest_0b, v.ingest, "ev-ingest-0b-start", "2026-03-01T03:00:00Z")
    b, p = ended(v.ingest_0b, v.ingest, "ev-ingest-0b-complete", "2026-03-01T03:30:00Z", "COMPLETE")
    b.edge(raw, E.HAS_VERSION, v.raw_v8, p)
    b.edge(v.ingest_0b, E.WROTE, v.raw_v8, p)

    b = started(v.train_1, v.train, "ev-train-1-start", "2026-03-01T06:00:00Z")
    p = b.mutations[0].prov
    b.edge(mart, E.HAS_VERSION, v.mart_v1, p)
    b.edge(v.mart_v1, E.READ_BY, v.train_1, p)
    b, p = ended(v.train_1, v.train, "ev-train-1-complete", "2026-03-01T06:30:00Z", "COMPLETE")
    b.edge(v.train_1, E.TRAINED, v.mv4, p)

    b, p = event("ev-register-v4", "2026-03-01T07:00:00Z")
    b.edge(v.model, E.HAS_VERSION, v.mv4, p)
    b.edge(v.feature, E.FEEDS, v.mv4, p)

    b, p = event("ev-deploy-v4", "2026-03-01T08:00:00Z")
    b.edge(v.model, E.ALIAS, v.mv4, p, disc="champion")
    b.edge(v.mv4, E.DEPLOYED_TO, v.point, p)

    # the loans table's schema changes: segment added, legacy_flag gone
    b, p = event("ev-raw-schema", "2026-03-02T00:30:00Z")
    b.edge(raw, E.HAS_COLUMN, column(raw, "segment"), p)
    keep = frozenset(column(raw, f) for f in ("loan_id", "amount", "income", "segment"))
    b.add(EdgeRetire(raw, E.HAS_COLUMN, Direction.OUT, keep, p))

    b = started(v.etl_2, v.etl, "ev-etl-2-start", "2026-03-02T02:00:00Z")
    p = b.mutations[0].prov
    b.edge(raw, E.READ_BY, v.etl_2, p)
    b.edge(fx, E.READ_BY, v.etl_2, p)
    ended(
        v.etl_2,
        v.etl,
        "ev-etl-2-fail",
        "2026-03-02T02:05:00Z",
        "FAIL",
        error_message="division by zero",
    )

    b, p = event("ev-decision-1001", "2026-03-02T10:00:00Z")
    b.node(v.decision, p, decided_at=t("2026-03-02T10:00:00Z"), outcome="approved")
    b.edge(v.mv4, E.DECIDED, v.decision, p)
    return batches


@pytest.fixture
def value_chain(store: GraphStore) -> ValueChain:
    """The value chain, applied to `store` (so on both stores)."""
    v = ValueChain()
    for batch in value_chain_batches(v):
        store.apply(batch)
    return v
