"""A write that times out on Neo4j is the store being unavailable (retry the batch later), not
a batch the store refused (which the projector would park, event by event).

The write is made to wait, not hoped to be slow: another transaction holds the lock on the
checkpoint node that every projector batch writes last, so the batch cannot commit before its
timeout stops it, however fast the machine is."""

from __future__ import annotations

import pytest

from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import MutationBatch, Provenance
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.graph.store import StoreUnavailable

pytestmark = pytest.mark.neo4j


def test_timed_out_write_is_unavailable_not_refused(neo4j_server, neo4j_store) -> None:
    hurried = Neo4jStore(
        neo4j_server.uri,
        user=neo4j_server.user,
        password=neo4j_server.password,
        write_timeout=0.5,
    )
    p = Provenance("test", "e1", "2026-01-01T00:00:00Z")
    b = MutationBatch()
    hub = NodeKey.of(NodeKind.DATASET, namespace="bulk", name="hub")
    for i in range(100):
        col = NodeKey.of(NodeKind.COLUMN, namespace="bulk", name="hub", field=f"c{i:05d}")
        b.edge(hub, EdgeKind.HAS_COLUMN, col, p)
    # The checkpoint node exists (committed), so the batch's MERGE finds it and must take its
    # lock; a node created only inside the blocker's transaction would be invisible to the batch,
    # which would then create its own and never wait (seen in CI).
    hurried._driver.execute_query(
        "MERGE (c:LkgCheckpoint {name: 'projector'}) SET c.seq = 0", database_=hurried.database
    )
    with (
        hurried._driver.session(database=hurried.database) as blocker_session,
        blocker_session.begin_transaction() as blocker,
    ):
        # locked by an open transaction that never commits
        locked = blocker.run(
            "MATCH (c:LkgCheckpoint {name: 'projector'}) SET c.seq = 0 RETURN count(c) AS n"
        ).single()
        assert locked is not None and locked["n"] == 1
        try:
            # the timeout reports itself as TransactionTimedOut, or as LockClientStopped when
            # it stops the transaction while it waits for a lock
            with pytest.raises(StoreUnavailable, match=r"TransactionTimedOut|LockClientStopped"):
                hurried.apply(b, checkpoint=7)
        finally:
            blocker.rollback()
            hurried.close()
    # nothing of the batch, nor its checkpoint, was written
    assert neo4j_store.stats().edges == {}
    assert neo4j_store.checkpoint() == 0
