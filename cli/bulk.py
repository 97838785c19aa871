"""`lkg bulk-load NEO4J_HOME`: an EMPTY Neo4j database filled from the event log through Neo4j's
offline importer, the fast way to a large graph (issue 19, target 4; docs/operations.md).

1. The log is projected in memory: the projector (the same mapping, merge, side tables and
   batches, `LKG_PROJECTOR_BATCH_SIZE`) into an embedded store, never touching Neo4j.
2. Its records are written as the importer's CSV files (graph/neo4j_bulk.py: the Neo4j store's
   own representation, `Node` + kind labels, records as properties, the alias table, the
   checkpoint at the position the records hold).
3. `neo4j-admin database import full` writes database `neo4j` under NEO4J_HOME
   (tools/neo4j_import.py, from the launcher's classpath).
4. The launcher starts on NEO4J_HOME; opening the store there makes its constraints and indexes,
   the values CSV cannot carry are set, the checkpoint is read back; the server stops.

Then `lkg neo4j --data-dir NEO4J_HOME` serves it and the projector goes on from the checkpoint.
It refuses a NEO4J_HOME that already holds the database (the normal projector fills that).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lineage_kg.graph.embedded import EmbeddedStore
    from lineage_kg.graph.neo4j_bulk import Written
    from lineage_kg.settings import Settings

_PASSWORD = "lineage-kg-bulk"  # the launcher sets its password at every start: a later one wins


class _Steps(dict[str, float]):
    """Seconds by step, told to `progress` as each is set."""

    def __init__(self, progress: Callable[[str, float], Any] | None) -> None:
        super().__init__()
        self.progress = progress

    def __setitem__(self, step: str, took: float) -> None:
        super().__setitem__(step, took)
        if self.progress is not None:
            self.progress(step, took)


def project_in_memory(settings: Settings, batch: int) -> tuple[EmbeddedStore, int]:
    """The log projected by the projector into an embedded store (the side tables as ever);
    the store and the log's last seq."""
    from lineage_kg.graph.embedded import EmbeddedStore
    from lineage_kg.runtime import Runtime

    # the composition root's own parts: no Neo4j URI and no snapshot is an empty embedded store
    changes = {"projector_batch_size": batch, "snapshot": False, "neo4j_uri": None}
    with Runtime.open(settings.model_copy(update=changes)) as runtime:
        projector = runtime.projector
        while projector.step():
            pass
        last = runtime.log.last_seq()
        store = runtime.store  # closing an embedded store releases nothing: it outlives the runtime
    assert isinstance(store, EmbeddedStore)
    return store, last


def write_files(store: EmbeddedStore, directory: Path) -> Written:
    from lineage_kg.graph.neo4j_bulk import embedded_records, write_import_files

    return write_import_files(directory, *embedded_records(store))


def finish(
    settings: Settings, uri: str, password: str, written: Written, user: str = "neo4j"
) -> int:
    """On the imported database, served at `uri`: the store's schema (opening it makes it), the
    values the files could not carry; checks the checkpoint. How many records were fixed up."""
    from pydantic import SecretStr

    from lineage_kg.graph.neo4j_bulk import apply_fixups
    from lineage_kg.runtime import Runtime

    changes = {
        "neo4j_uri": uri,
        "neo4j_user": user,
        "neo4j_password": SecretStr(password),
        "neo4j_database": "neo4j",  # the database the importer wrote
    }
    with Runtime.open(settings.model_copy(update=changes)) as runtime:  # opened by the root
        store = runtime.store
        fixed = apply_fixups(store._driver, written)  # type: ignore[attr-defined]
        if (at := store.checkpoint()) != written.checkpoint:
            raise RuntimeError(f"imported checkpoint {at}, expected {written.checkpoint}")
    return fixed


def bulk_load(
    settings: Settings,
    home: Path,
    *,
    batch: int | None = None,
    work_dir: Path | None = None,
    heap_mb: int = 2048,
    pagecache_mb: int = 1024,
    then: Callable[[Any], Any] | None = None,
    progress: Callable[[str, float], Any] | None = None,
) -> dict[str, Any]:
    """The whole path into NEO4J_HOME (see the module's doc); seconds of each step. `then`:
    called with the server (a `LocalNeo4j`) once the database is finished, before it stops;
    `progress`: with each step's name and seconds as it ends."""
    from tools.neo4j_import import ImportRefused, database_exists, import_full
    from tools.neo4j_server import LocalNeo4j

    if database_exists(home):
        raise ImportRefused(
            f"{home} already holds a Neo4j database: bulk-load fills an empty one only "
            "(the projector brings an existing graph up to date)"
        )
    seconds: dict[str, float] = _Steps(progress)
    began = time.perf_counter()
    # the projector's own batches, so its merges are the projector's (5,000 cost the same CPU
    # at 100k: 63.1 s against 66.7 s for 500, session 34)
    store, last = project_in_memory(settings, batch or settings.projector_batch_size)
    seconds["project"] = time.perf_counter() - began
    with tempfile.TemporaryDirectory(prefix="lkg-bulk-", dir=work_dir) as files:
        at = time.perf_counter()
        written = write_files(store, Path(files))
        del store
        seconds["csv"] = time.perf_counter() - at
        at = time.perf_counter()
        import_full(home, written.nodes, written.relationships, multiline=written.multiline)
        seconds["import"] = time.perf_counter() - at
    at = time.perf_counter()
    jvm = (f"-Xms{heap_mb}m", f"-Xmx{heap_mb}m", "-XX:+ExitOnOutOfMemoryError")
    server = LocalNeo4j(
        data_dir=home, password=_PASSWORD, jvm_options=jvm, pagecache_mb=pagecache_mb
    )
    server.start()
    try:
        seconds["start"] = time.perf_counter() - at
        at = time.perf_counter()
        fixed = finish(settings, server.uri, _PASSWORD, written)
        seconds["schema_fixups"] = time.perf_counter() - at
        if then is not None:
            then(server)
    finally:
        server.stop()
    seconds["total"] = sum(seconds.values())  # `then` and the server's stop left out
    return {
        "seconds": seconds,
        "log_seq": last,
        "checkpoint": written.checkpoint,
        "nodes": written.node_count,
        "edges": written.edge_count,
        "aliases": written.alias_count,
        "fixed_up": fixed,
        "files": len(written.nodes) + len(written.relationships),
    }
