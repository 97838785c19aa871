"""unowned_on_production_chain and check_failing_too_long against independent oracles, over
generated estates on both stores.

An estate: datasets d0..d4, each either a source or produced by a job reading some earlier ones;
a training run reading some of them trains credit-risk@1, which serves loan-approval; each
dataset owned by nobody, by an active owner or by one who has left. All of it goes through the
real ingest path (OpenLineage events, MLflow and catalog records). The oracle is a networkx copy
of the same dependencies: the datasets the model depends on are its ancestors there, and those
without an active owner are the violations, each with a path whose every step is an edge of the
store.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import NodeKey
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.store import GraphStore
from lineage_kg.ingest.mlflow import mapping as mlflow
from lineage_kg.queries.governance import evaluate, parse_policy
from tests.contract.governance_world import (
    AS_OF,
    POINT,
    TRAIN_RUN,
    World,
    build,
    dataset,
    ms,
    mv,
)

POLICY = parse_policy(
    {"version": 1, "rules": [{"rule": "unowned_on_production_chain", "depth": 25}]}
)
NAMES = [f"d{i}" for i in range(5)]
MODEL = {"model": "credit-risk", "version": "1"}
OWNERSHIP = ["none", "ann@x.com", "bob@x.com"]  # bob has left


@st.composite
def estates(draw: st.DrawFn) -> dict[str, Any]:
    inputs = {}
    for i, name in enumerate(NAMES):
        if i and draw(st.integers(0, 3)) > 0:  # mostly produced: chains run deep
            inputs[name] = draw(st.sets(st.sampled_from(NAMES[:i]), min_size=1))
    read = draw(st.sets(st.sampled_from(NAMES), min_size=1))
    owners = {name: draw(st.sampled_from(OWNERSHIP)) for name in NAMES}
    return {"inputs": inputs, "read": read, "owners": owners}


def load(store: GraphStore, estate: dict[str, Any]) -> None:
    store.clear()
    w = World(store)
    w.person("ann@x.com")
    w.person("bob@x.com", left=True, left_at="2026-02-01T00:00:00Z")
    for i, (name, sources) in enumerate(sorted(estate["inputs"].items())):
        run = f"00000000-0000-4000-8000-{100 + i:012d}"
        ins = [{"namespace": "pg", "name": s} for s in sorted(sources)]
        w.ol(f"make_{name}", run, "2026-03-01T01:00:00Z", ins, [{"namespace": "pg", "name": name}])
    read = [{"namespace": "pg", "name": s} for s in sorted(estate["read"])]
    w.ol("train", TRAIN_RUN, "2026-03-01T02:00:00Z", read, [])
    at = "2026-03-01T03:00:00Z"
    body = {"name": "credit-risk", "version": "1", "run_id": TRAIN_RUN,
            "created_ms": ms(at), "updated_ms": ms(at)}  # fmt: skip
    store.apply(mlflow.map_entry(w._entry("mlflow", "model_version", at, body)))
    w.catalog("decision_point", {"name": "loan-approval", "owner": "ann@x.com"})
    for name, owner in estate["owners"].items():
        if owner != "none":
            w.owns(dataset(name), owner)
    w.deploy("1", "2026-03-01T08:00:00Z")


def oracle(estate: dict[str, Any]) -> set[str]:
    g = nx.DiGraph()
    g.add_node("model")
    for name, sources in estate["inputs"].items():
        g.add_edges_from((s, name) for s in sources)
    g.add_edges_from((s, "model") for s in estate["read"])
    upstream = nx.ancestors(g, "model")
    return {dataset(n).id for n in upstream if estate["owners"][n] != "ann@x.com"}


def linked(store: GraphStore, a: str, b: str) -> bool:
    return any(
        b in (e.key.dst.id, e.key.src.id)
        for way in Direction
        for e in store.neighbors([a], way, None, AS_OF)
    )


def test_unowned_chain_matches_the_oracle(store: GraphStore) -> None:
    examples = 25 if isinstance(store, EmbeddedStore) else 4

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(estates())
    def check(estate: dict[str, Any]) -> None:
        load(store, estate)
        found = evaluate(store, POLICY, AS_OF)
        assert {v.subject for v in found} == oracle(estate)
        for v in found:
            assert v.path[:2] == (POINT.id, mv("1").id) and v.path[-1] == v.subject
            assert all(linked(store, a, b) for a, b in zip(v.path, v.path[1:], strict=False))
            left = estate["owners"][NodeKey.from_id(v.subject).parts[1]] == "bob@x.com"
            assert ("have left" in v.detail) is left

    check()


@st.composite
def check_histories(draw: st.DrawFn) -> tuple[list[tuple[int, str]], float]:
    """A check's results on credit-risk@1: (day of March, status), days distinct, any order of
    arrival; and the policy's limit in days."""
    days = draw(st.lists(st.integers(1, 9), min_size=1, max_size=6, unique=True))
    results = [(d, draw(st.sampled_from(["pass", "warn", "fail"]))) for d in days]
    return results, draw(st.sampled_from([0.5, 2.0, 4.5]))


def failing_since(results: list[tuple[int, str]]) -> int | None:
    """The oracle, from the whole history: None unless the latest result fails; else the day of
    the last result that did not fail, or the first result's when none."""
    ordered = sorted(results)
    if ordered[-1][1] != "fail":
        return None
    ok = [day for day, status in ordered if status != "fail"]
    return ok[-1] if ok else ordered[0][0]


def test_check_failing_too_long_matches_the_history(store: GraphStore) -> None:
    examples = 30 if isinstance(store, EmbeddedStore) else 4

    @settings(max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(check_histories())
    def check(history: tuple[list[tuple[int, str]], float]) -> None:
        results, days = history
        store.clear()
        world = build(store)
        for day, status in results:  # in the drawn order: arrival order must not matter
            world.check(MODEL, "auc", status, f"2026-03-0{day}T00:00:00Z")
        policy = parse_policy(
            {"version": 1, "rules": [{"rule": "check_failing_too_long", "days": days}]}
        )
        found = evaluate(store, policy, AS_OF)  # AS_OF is March 10th
        since = failing_since(results)
        if since is None or 10 - since <= days:
            assert found == []
        else:
            (v,) = found
            assert v.since == f"2026-03-0{since}T00:00:00.000000Z"

    check()
