"""Root cause's ranking rule (queries/suspects.py RANKING) on generated value chains, on both
stores, against an oracle written from the rule's statement alone:

- a failed run (FAIL/ABORT, ended in the window) is a suspect; a column first seen in the
  window is one only if its dataset had a column before it (a schema's first sighting is not
  a change);
- failures rank before changes, whatever the distance; within each, weight / (1 + distance)
  descending, then node id; each suspect's rank_reason names its tier and that arithmetic.

A chain: D0 <-PRODUCES- J1 <-INPUT_TO- D1 <-PRODUCES- J2 ... (the symptom is D0); walking up,
J_i is 2i-1 hops away and D_i 2i. Every asset is owned, so no ownership gaps take part.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import cmp_to_key
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineage_kg.api.app import create_app
from lineage_kg.graph.model import EdgeKind as E
from lineage_kg.graph.model import NodeKey, NodeKind
from lineage_kg.graph.mutations import MutationBatch, Provenance
from lineage_kg.graph.store import GraphStore
from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.queries.suspects import RANKING, SuspectReason, suspects
from lineage_kg.settings import Settings

SINCE, UNTIL = "2026-05-10T00:00:00Z", "2026-05-20T00:00:00Z"
BEFORE = ["2026-05-01T00:00:00Z", "2026-05-05T00:00:00Z"]
INSIDE = [f"2026-05-{d:02d}T{h:02d}:00:00Z" for d in (11, 13, 15, 18) for h in (3, 9)]
AFTER = ["2026-05-25T00:00:00Z"]
FAILED, FINE = ("FAIL", "ABORT"), ("COMPLETE", "RUNNING")
# the rule's statement, written here on its own: which reasons are failures
FAILURES = {SuspectReason.FAILED_RUN, SuspectReason.FAILED_QUALITY, SuspectReason.MONITOR_ALERT}
CASES = {"embedded": 40, "neo4j": 8}


@dataclass
class Expected:
    """What the generator made that must be found: (node id, reason) -> distance."""

    found: dict[tuple[str, SuspectReason], int] = field(default_factory=dict)
    first_sightings: set[str] = field(default_factory=set)  # column ids: never suspects


def dataset(i: int, case: int) -> NodeKey:
    return NodeKey.of(NodeKind.DATASET, namespace="pg://h:5432", name=f"c{case}.d{i}")


def column(ds: NodeKey, name: str) -> NodeKey:
    ns, n = ds.parts
    return NodeKey.of(NodeKind.COLUMN, namespace=ns, name=n, field=name)


def generate(store: GraphStore, rng: random.Random, case: int) -> tuple[NodeKey, Expected]:
    want = Expected()
    n = rng.randint(1, 4)
    datasets = [dataset(i, case) for i in range(n + 1)]
    jobs = [NodeKey.of(NodeKind.JOB, namespace="af", name=f"c{case}.j{i}") for i in range(n + 1)]
    team = NodeKey.of(NodeKind.OWNER, owner_id="team:data")
    seq = 0

    def batch(time: str) -> tuple[MutationBatch, Provenance]:
        nonlocal seq
        seq += 1
        return MutationBatch(), Provenance("test", f"ev-{case}-{seq}", canonical_time(time))

    b, p = batch(BEFORE[0])
    for i in range(1, n + 1):
        b.edge(jobs[i], E.PRODUCES, datasets[i - 1], p)
        b.edge(datasets[i], E.INPUT_TO, jobs[i], p)
        b.edge(team, E.OWNS, jobs[i], p)
    for ds in datasets:
        b.edge(team, E.OWNS, ds, p)
    store.apply(b)

    for i, ds in enumerate(datasets):
        # the schema's first sighting: before the window, or inside it (a new dataset)
        first = rng.choice(BEFORE + INSIDE)
        b, p = batch(first)
        initial = [column(ds, f"c{k}") for k in range(rng.randint(1, 3))]
        for col in initial:
            b.edge(ds, E.HAS_COLUMN, col, p)
        store.apply(b)
        if first in INSIDE:
            want.first_sightings.update(c.id for c in initial)
        later = [t for t in INSIDE + AFTER if t > first]
        for k in range(rng.randint(0, 2)):
            if not later:
                break
            at = rng.choice(later)
            added = column(ds, f"added{k}")
            b, p = batch(at)
            b.edge(ds, E.HAS_COLUMN, added, p)
            store.apply(b)
            if at in INSIDE:  # after the first sighting: a change
                want.found.setdefault((added.id, SuspectReason.SCHEMA_CHANGE), 2 * i)

    for i in range(1, n + 1):
        for r in range(rng.randint(0, 3)):
            run = NodeKey.of(NodeKind.RUN, run_id=f"c{case}-j{i}-r{r}")
            state = rng.choice(FAILED + FINE)
            ended = rng.choice(BEFORE + INSIDE + AFTER)
            b, p = batch(ended)
            b.node(run, p, state=state, ended_at=canonical_time(ended))
            b.edge(run, E.RUN_OF, jobs[i], p)
            store.apply(b)
            if state in FAILED and ended in INSIDE:
                want.found[(run.id, SuspectReason.FAILED_RUN)] = 2 * i - 1
    return datasets[0], want


def oracle_order(a: tuple[str, SuspectReason, int], b: tuple[str, SuspectReason, int]) -> int:
    """The rule, as a comparison of two suspects (node id, reason, distance)."""
    (a_id, a_reason, a_d), (b_id, b_reason, b_d) = a, b
    a_fail, b_fail = a_reason in FAILURES, b_reason in FAILURES
    if a_fail != b_fail:
        return -1 if a_fail else 1
    a_score = RANKING[a_reason].weight / (1 + a_d)
    b_score = RANKING[b_reason].weight / (1 + b_d)
    if abs(a_score - b_score) > 1e-9:
        return -1 if a_score > b_score else 1
    return -1 if (a_id, a_reason.value) < (b_id, b_reason.value) else 1


def test_ranking_rule_on_generated_chains(
    store: GraphStore, request: pytest.FixtureRequest
) -> None:
    kind = "neo4j" if "neo4j" in request.node.callspec.id else "embedded"
    rng = random.Random(20261205)
    mixed = 0
    for case in range(CASES[kind]):
        store.clear()
        start, want = generate(store, rng, case)
        found = suspects(store, start.id, since=SINCE, until=UNTIL)
        ranked = [s for s in found if s.reason is not SuspectReason.OWNERSHIP_GAP]
        assert len(ranked) == len(found), "every asset is owned: no gaps"
        got = {(s.node.id, s.reason): s.distance for s in ranked}
        assert got == want.found, case
        assert not want.first_sightings & {s.node.id for s in ranked}
        expected = sorted(
            [(node, reason, d) for (node, reason), d in want.found.items()],
            key=cmp_to_key(oracle_order),
        )
        assert [(s.node.id, s.reason, s.distance) for s in ranked] == expected, case
        for s in ranked:
            assert ("a failure" in s.rank_reason) == (s.reason in FAILURES)
            assert f"distance {s.distance}" in s.rank_reason
            assert s.rank_reason.endswith(f"= {s.score:g}")
        reasons = {s.reason for s in ranked}
        mixed += SuspectReason.FAILED_RUN in reasons and SuspectReason.SCHEMA_CHANGE in reasons
    assert mixed >= 2  # the cases put failures and changes in one answer, more than once


RANKED = """query ($ref: NodeRef!, $since: String!, $until: String!) {
  rootCause(ref: $ref, since: $since, until: $until) { node { id } reason score rankReason } }"""


def test_graphql_root_cause_says_why_each_ranks(
    store: GraphStore, value_chain: Any, tmp_path: Path
) -> None:
    window = {"since": "2026-03-01T00:00:00Z", "until": "2026-03-03T00:00:00Z"}
    want = suspects(store, value_chain.volume.id, **window)
    with TestClient(create_app(Settings(data_dir=tmp_path), store=store)) as client:
        body = client.post(
            "/graphql",
            json={"query": RANKED, "variables": {"ref": {"id": value_chain.volume.id}, **window}},
        ).json()
    answer = body["data"]["rootCause"]
    assert [(a["node"]["id"], a["reason"]) for a in answer] == [
        (s.node.id, s.reason.value) for s in want
    ]
    tiers = [0 if "a failure" in a["rankReason"] else 1 for a in answer]
    assert tiers == sorted(tiers) and 0 in tiers and 1 in tiers  # failures first
    for a in answer:
        assert a["rankReason"].endswith(f"= {a['score']:g}")
