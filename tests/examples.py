"""Hypothesis settings for a property test that runs on both stores.

Neo4j answers every example over Bolt (a clear, a load, the walk's round trips), so a property
checked against an oracle gets a quarter of the examples there (at least 10): the same
generators, and the embedded store's full count keeps the oracle's reach (CI's 30 minutes, issue
19's "CI time does not grow"; a half took ~470 Neo4j examples a run, ~0.5-1 s each, in session 33;
a third still left CI at its limit in session 34). Each CI run
draws new examples (no example database), so the Neo4j side's reach grows run by run.
Use it on an inner test: `@given` cannot read which store a fixture gave.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.store import GraphStore


def store_examples(store: GraphStore, examples: int) -> settings:
    count = examples if isinstance(store, EmbeddedStore) else max(10, examples // 4)
    return settings(max_examples=count, deadline=None, suppress_health_check=[HealthCheck.too_slow])
