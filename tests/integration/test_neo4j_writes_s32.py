"""Edge writes by the element ids of their ends (graph/neo4j_unit_of_work.py, session 32), on a
real Neo4j:

- each edge statement by ids plans two seeks by element id, no index seek and no scan;
- element ids never outlive the transaction that got them: batches attempted and rolled back
  (their nodes' ids freed), other nodes written meanwhile (free to take those ids), and the batch
  retried, in part — edges naming nodes the retry does not write, which exist nowhere — must leave
  the graph the write before session 31 left (tests/integration/test_neo4j_writes_s31.py's oracle,
  its generated streams);
- a commit through the store that fails after its writes, retried, leaves what one clean commit
  does.
"""

from __future__ import annotations

from typing import Any

import neo4j
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.graph import neo4j_cypher
from lineage_kg.graph import neo4j_unit_of_work as uow_module
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.graph.neo4j_unit_of_work import (
    _CREATE_EDGES_AT,
    _WRITE_EDGES_AT,
    Neo4jUnitOfWork,
)
from lineage_kg.ingest.demo import demo_batch
from tests.integration.test_neo4j_writes_s31 import Batch, _graph, _stream, old_write
from tests.neo4j_plans import explain, scans_in

pytestmark = pytest.mark.neo4j


def test_edges_by_ids_seek_both_ends_by_id(neo4j_store: Neo4jStore) -> None:
    bad = {}
    rows = [{"a": "4:x:1", "b": "4:x:2", "rec": {"disc": ""}}]
    for table in (_CREATE_EDGES_AT, _WRITE_EDGES_AT):
        for kind, query in table.items():
            ops = explain(neo4j_store, query, rows=rows)
            by_id = [op for op in ops if "ElementIdSeek" in op]
            if len(by_id) != 2 or scans_in(ops) or any("IndexSeek" in op for op in ops):
                bad[kind, table is _CREATE_EDGES_AT] = ops
    assert bad == {}, "\n".join(f"{name}: {ops}" for name, ops in bad.items())


class _RolledBack(Exception):
    pass


def _attempted(session: Any, write: Any, batch: Batch) -> None:
    """`batch` written in a transaction that then fails: rolled back, nothing kept."""
    with pytest.raises(_RolledBack), session.begin_transaction() as tx:
        write(tx, *batch)
        raise _RolledBack


def _others(session: Any, n: int, round_: int) -> None:
    """`n` nodes nobody's batch names, committed: they may take the ids a rollback freed."""
    with session.begin_transaction() as tx:
        tx.run(
            "UNWIND $keys AS k CREATE (n:Node:Dataset {key: k})",
            keys=[f"other:{round_}:{i}" for i in range(n)],
        ).consume()
        tx.commit()


def _in_part(batch: Batch, keep: list[bool]) -> Batch:
    nodes, edges, new_nodes, new_edges = batch
    kept = {k: r for (k, r), on in zip(nodes.items(), keep, strict=False) if on}
    return kept, edges, new_nodes, new_edges


def _load_with_rollbacks(
    store: Neo4jStore, driver: neo4j.Driver, write: Any, stream: list[Batch], keeps: list[Any]
) -> tuple[list[str], list[str]]:
    store.clear()
    with driver.session() as session:
        for i, (batch, keep) in enumerate(zip(stream, keeps, strict=True)):
            _attempted(session, write, batch)
            _others(session, len(batch[0]) + 2, i)
            with session.begin_transaction() as tx:
                write(tx, *_in_part(batch, keep))
                tx.commit()
    return _graph(driver)


def _new_write(tx: Any, *args: Any) -> None:
    Neo4jUnitOfWork(tx).write(*args)


@given(
    stream=_stream(),
    keeps=st.lists(st.lists(st.booleans(), min_size=12, max_size=12), min_size=4, max_size=4),
    chunk=st.sampled_from([1, 5_000]),
)
@settings(
    max_examples=25,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    deadline=None,
)
def test_rolled_back_ids_never_place_an_edge(
    neo4j_store: Neo4jStore,
    neo4j_driver: neo4j.Driver,
    stream: list[Batch],
    keeps: list[list[bool]],
    chunk: int,
) -> None:
    keeps = keeps[: len(stream)]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(neo4j_cypher, "CHUNK", chunk)
        before = _load_with_rollbacks(neo4j_store, neo4j_driver, old_write, stream, keeps)
        after = _load_with_rollbacks(neo4j_store, neo4j_driver, _new_write, stream, keeps)
    assert after == before


def test_a_commit_failing_after_its_writes_then_retried(neo4j_store: Neo4jStore) -> None:
    """The store's own path (the demo's graph): a commit whose transaction fails after every
    write (at the checkpoint), others' nodes committed meanwhile, the same prepared batch
    committed again."""
    prepared = neo4j_store.prepare(demo_batch())
    neo4j_store.commit(prepared, checkpoint=1)
    expected = _graph(neo4j_store._driver)
    neo4j_store.clear()
    prepared = neo4j_store.prepare(demo_batch())
    real = uow_module.Neo4jUnitOfWork.set_checkpoint

    def failing(self: Any, seq: int) -> None:
        raise _RolledBack

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(uow_module.Neo4jUnitOfWork, "set_checkpoint", failing)
        with pytest.raises(_RolledBack):
            neo4j_store.commit(prepared, checkpoint=1)
    assert uow_module.Neo4jUnitOfWork.set_checkpoint is real
    with neo4j_store._driver.session() as session:
        _others(session, 50, 0)
        session.run("MATCH (n:Node) WHERE n.key STARTS WITH 'other:' DETACH DELETE n").consume()
    neo4j_store.commit(prepared, checkpoint=1)
    assert _graph(neo4j_store._driver) == expected
