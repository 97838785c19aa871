"""benchmarks/harness.py `_sized_neo4j`: the throughput collector by default, replaced (never
joined: two collectors stop the JVM) by one named in LKG_BENCH_NEO4J_JVM, and Neo4j settings
from LKG_BENCH_NEO4J_SETTINGS beside the caller's."""

from __future__ import annotations

import pytest

from benchmarks.harness import SIZED_JVM, SIZED_SETTINGS, _sized_neo4j


def _collectors(options: tuple[str, ...]) -> list[str]:
    return [o for o in options if o.startswith("-XX:+Use") and o.endswith("GC")]


def test_default_is_the_throughput_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SIZED_JVM, raising=False)
    monkeypatch.delenv(SIZED_SETTINGS, raising=False)
    server = _sized_neo4j(100_000)
    assert _collectors(server.jvm_options) == ["-XX:+UseParallelGC"]
    assert "-Xmx4096m" in server.jvm_options
    assert server.settings == {}


@pytest.mark.parametrize("named", ["-XX:+UseG1GC", "-XX:+UseSerialGC", "-XX:+UseParallelGC"])
def test_a_named_collector_replaces_it(monkeypatch: pytest.MonkeyPatch, named: str) -> None:
    monkeypatch.setenv(SIZED_JVM, f"{named} -XX:G1HeapRegionSize=32m")
    server = _sized_neo4j(10_000)
    assert _collectors(server.jvm_options) == [named]
    assert server.jvm_options[-1] == "-XX:G1HeapRegionSize=32m"


def test_settings_from_the_environment_and_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SIZED_SETTINGS, "dbms.cypher.min_replan_interval=1h a.b=x=y junk")
    server = _sized_neo4j(10_000, settings={"a.b": "caller"})
    assert server.settings == {"dbms.cypher.min_replan_interval": "1h", "a.b": "caller"}
