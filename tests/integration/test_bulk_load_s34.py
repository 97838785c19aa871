"""`lkg bulk-load` (cli/bulk.py, graph/neo4j_bulk.py, tools/neo4j_import.py) makes THE graph the
projector makes (issue 19, target 4, session 34).

The oracle is the projector itself: one small generated estate (every source, with the shared
corpus's real events: SQL over lines, quotes, aliases) projected into the session's Neo4j the
normal way, and bulk-loaded through the real importer into a launcher data dir of its own; both
servers then hold the same nodes (labels, properties), relationships (ends, type, properties),
checkpoint and schema (constraints and indexes). The bulk load takes the log's first part only;
the projector then goes on from its checkpoint on the bulk-loaded server with the rest, as the
service would. A second bulk load into the same data dir is refused before anything is
projected. The one server this test starts is the bulk-loaded one (the importer writes a
database no running server may hold).

Two JVMs of its own (the importer, then a server on what it wrote): 58 s in a quiet CI run, 267 s
at load 12-16 (session 34). It runs in CI as every Neo4j test does (the timeout below bounds a
hang, not a speed); the generated-record test of the files themselves is
tests/unit/test_neo4j_bulk_csv_s34.py.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import neo4j
import pytest

from benchmarks.synthetic.load import load_sources
from benchmarks.synthetic.write import generate
from lineage_kg.cli.bulk import bulk_load
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.ingest.eventlog import EventLog
from lineage_kg.ingest.intake import accept_many
from lineage_kg.runtime import LOG_FILE, Runtime
from lineage_kg.settings import Settings
from tests.integration.test_start_snapshot import copy_entries
from tests.oracle.corpus import CORPUS, airflow_events, hive_events, spark_events
from tools.neo4j_import import ImportRefused
from tools.neo4j_server import LocalNeo4j

pytestmark = [
    pytest.mark.neo4j,
    pytest.mark.timeout(1200),
]
NODES = 300  # the generator's small estates: every source, a few hundred log entries


def _estate(data_dir: Path) -> None:
    files = data_dir / "files"
    files.mkdir(parents=True)
    generate(files, NODES, 11)
    log = EventLog(data_dir / LOG_FILE)
    try:
        with (files / "events.ndjson").open() as lines:
            assert accept_many(log, enumerate(json.loads(x) for x in lines)).rejected == []
        load_sources(files, log)
        if CORPUS.is_dir():
            accept_many(log, enumerate([*spark_events("file"), *hive_events(), *airflow_events()]))
    finally:
        log.close()


def _graph(driver: neo4j.Driver) -> dict[str, Any]:
    """Every node (labels, properties) and relationship (ends, type, properties), hashed in
    key order, and the schema's constraints and indexes."""
    with driver.session() as session:
        rows = session.run(
            "MATCH (n) RETURN coalesce(n.key, n.name) AS k, labels(n) AS l, properties(n) AS p"
        )
        nodes = sorted(json.dumps([r["k"], sorted(r["l"]), r["p"]], sort_keys=True) for r in rows)
        rows = session.run(
            "MATCH (a)-[r]->(b) RETURN a.key AS a, type(r) AS t, b.key AS b, properties(r) AS p"
        )
        rels = sorted(json.dumps([r["a"], r["t"], r["b"], r["p"]], sort_keys=True) for r in rows)
        schema = sorted(
            json.dumps([r["name"], r["type"], r["labelsOrTypes"], r["properties"]])
            for r in session.run("SHOW INDEXES YIELD name, type, labelsOrTypes, properties")
        )
    return {
        "nodes": len(nodes),
        "edges": len(rels),
        "nodes_sha256": hashlib.sha256("\n".join(nodes).encode()).hexdigest(),
        "edges_sha256": hashlib.sha256("\n".join(rels).encode()).hexdigest(),
        "schema": schema,
    }


def test_bulk_load_is_the_projectors_graph(
    tmp_path: Path, neo4j_store: Neo4jStore, neo4j_driver: neo4j.Driver
) -> None:
    data = tmp_path / "data"
    _estate(data)
    # the oracle: the projector, into the session's Neo4j (emptied by the fixture)
    with Runtime.open(Settings(data_dir=data, snapshot=False), store=neo4j_store) as runtime:
        while runtime.projector.step():
            pass
        last = runtime.log.last_seq()
    assert neo4j_store.checkpoint() == last > 0
    projected = _graph(neo4j_driver)
    # the bulk path, from a copy of the log's first part (its side tables start afresh), then
    # the projector on the bulk-loaded server with the rest
    bulk_data = tmp_path / "bulk"
    bulk_data.mkdir()
    part = last * 2 // 3
    copy_entries(data / LOG_FILE, bulk_data, 0, part)
    home = tmp_path / "home"
    found: dict[str, Any] = {}

    def go_on(server: LocalNeo4j) -> None:
        copy_entries(data / LOG_FILE, bulk_data, part, last)
        on_server = Settings(
            data_dir=bulk_data,
            snapshot=False,
            neo4j_uri=server.uri,
            neo4j_user=server.user,
            neo4j_password=server.password,
        )
        with Runtime.open(on_server) as runtime:
            assert runtime.store.checkpoint() == part
            while runtime.projector.step():
                pass
            assert runtime.store.checkpoint() == last
        with server.driver() as driver:
            found.update(_graph(driver))

    report = bulk_load(
        Settings(data_dir=bulk_data, snapshot=False),
        home,
        heap_mb=512,
        pagecache_mb=64,
        then=go_on,
    )
    assert report["checkpoint"] == report["log_seq"] == part
    assert found == projected
    assert found["nodes"] > NODES and found["edges"] > NODES
    # a database there already: refused, nothing projected
    with pytest.raises(ImportRefused, match="already holds"):
        bulk_load(Settings(data_dir=bulk_data, snapshot=False), home)
