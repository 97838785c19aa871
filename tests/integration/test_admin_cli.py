"""`lkg verify`, `lkg backup`, `lkg restore`, `lkg rebuild` on real logs: tampering caught at
the right entry, a backup taken while a real service takes events, restore refusing a data dir
in use, and a Neo4j graph rebuilt from the log (and from a restored backup) to the same graph."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import threading
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from lineage_kg.cli.app import app
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.ingest import chain
from lineage_kg.ingest.eventlog import event_id_of
from tests.conftest import LKG, Neo4jInfo, ServiceProcess

DBT_EVENTS = Path(__file__).resolve().parents[1] / "fixtures" / "dbt_shop_events.ndjson"


def lkg(data_dir: Path, *args: str, **env: str) -> Any:
    return CliRunner().invoke(
        app, list(args), env={"LKG_DATA_DIR": str(data_dir), "COLUMNS": "300", **env}
    )


def ingested(data_dir: Path, **env: str) -> Path:
    result = lkg(data_dir, "ingest", str(DBT_EVENTS), *(["--project"] if env else []), **env)
    assert result.exit_code == 0, result.output
    return data_dir / "events.sqlite3"


def edit(path: Path, sql: str, *params: object) -> None:
    with closing(sqlite3.connect(path)) as db, db:  # closed: `lkg` checks no one has it open
        db.execute(sql, params)


def tamper_body(path: Path, seq: int) -> None:
    """A START of a run rewritten into a FAIL."""
    with closing(sqlite3.connect(path)) as db, db:
        query = "SELECT body FROM events WHERE seq = ?"
        (before,) = db.execute(query, (seq,)).fetchone()
        db.execute(
            "UPDATE events SET body = replace(body, '\"START\"', '\"FAIL\"') WHERE seq = ?",
            (seq,),
        )
        assert db.execute(query, (seq,)).fetchone()[0] != before


def event_id_at(path: Path, seq: int) -> str:
    with closing(sqlite3.connect(path)) as db, db:
        return str(db.execute("SELECT event_id FROM events WHERE seq = ?", (seq,)).fetchone()[0])


def test_verify_an_intact_log(tmp_path: Path) -> None:
    ingested(tmp_path)
    result = lkg(tmp_path, "verify")
    assert result.exit_code == 0, result.output
    assert "14 entries, chain intact; head seq 14 hash " in result.output


def test_verify_catches_an_edited_body_at_its_seq(tmp_path: Path) -> None:
    path = ingested(tmp_path)
    tamper_body(path, 5)
    result = lkg(tmp_path, "verify")
    assert result.exit_code == 1
    assert f"chain broken at seq 5 (event {event_id_at(path, 5)}): content does not match" in (
        result.output
    )
    assert "4 entries before it are intact" in result.output


def test_verify_catches_a_deleted_entry_as_a_gap(tmp_path: Path) -> None:
    path = ingested(tmp_path)
    edit(path, "DELETE FROM events WHERE seq = 7")
    result = lkg(tmp_path, "verify", str(path))  # the log named explicitly this time
    assert result.exit_code == 1
    assert f"chain broken at seq 8 (event {event_id_at(path, 8)}): entry seq 7 missing" in (
        result.output
    )


def test_verify_catches_an_edit_whose_hash_was_recomputed_at_the_next_entry(
    tmp_path: Path,
) -> None:
    path = ingested(tmp_path)
    tamper_body(path, 5)
    with closing(sqlite3.connect(path)) as db, db:
        row = db.execute(f"SELECT {chain.HASHED}, prev_hash FROM events WHERE seq = 5").fetchone()
        db.execute(
            "UPDATE events SET entry_hash = ? WHERE seq = 5", (chain.entry_hash(row[7], row[:7]),)
        )
    result = lkg(tmp_path, "verify")
    assert result.exit_code == 1
    assert "chain broken at seq 6" in result.output
    assert "is not the hash of entry seq 5" in result.output


def post_events(url: str, stop: threading.Event, acknowledged: list[str]) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        event = {
            "eventType": "COMPLETE",
            "eventTime": "2026-11-23T10:00:00Z",
            "run": {"runId": f"00000000-0000-4000-8000-{n:012d}"},
            "job": {"namespace": "backup-test", "name": f"job-{n}"},
            "producer": "https://example.com/backup-test",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        }
        # a bound on a hang: a post that timed out would be stored but not acknowledged, and
        # the backup could then hold more entries than were acknowledged
        response = httpx.post(f"{url}/api/v1/lineage", json=event, timeout=120)
        assert response.status_code == 201, response.text
        acknowledged.append(event_id_of("openlineage", event))


def test_backup_while_the_service_takes_events_then_restore(
    tmp_path: Path, service_factory: Callable[..., ServiceProcess]
) -> None:
    service: ServiceProcess = service_factory().start()
    stop, acknowledged = threading.Event(), list[str]()
    writer = threading.Thread(target=post_events, args=(service.url, stop, acknowledged))
    writer.start()
    try:
        while len(acknowledged) < 50:
            assert writer.is_alive(), "the writer stopped before 50 events"
            writer.join(0.05)
        env = {"PATH": str(LKG.parent), "LKG_DATA_DIR": str(service.data_dir), "COLUMNS": "300"}
        backup = subprocess.run(
            [str(LKG), "backup", str(tmp_path / "backup")],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        stop.set()
        writer.join(150)
    assert not writer.is_alive(), "the writer's last post never ended"
    assert backup.returncode == 0, backup.stdout + backup.stderr
    assert "chain intact" in backup.stdout
    manifest = json.loads((tmp_path / "backup" / "backup.json").read_text())
    # a snapshot: at least what was acknowledged before the copy started, in one piece
    assert 50 <= manifest["entries"] <= len(acknowledged)
    # the service made these four
    made = ["decisions.sqlite3", "outbox.sqlite3", "governance.sqlite3", "events.sqlite3"]
    assert manifest["files"] == made
    with closing(sqlite3.connect(service.data_dir / "events.sqlite3")) as live:
        (head,) = live.execute(
            "SELECT entry_hash FROM events WHERE seq = ?", (manifest["head_seq"],)
        ).fetchone()
    assert head == manifest["head_hash"]  # the live log's first entries, exactly

    refused = lkg(service.data_dir, "restore", str(tmp_path / "backup"))
    assert refused.exit_code == 1
    assert "is in use by another process" in refused.output
    assert lkg(service.data_dir, "rebuild").exit_code == 1  # same guard

    restored = lkg(tmp_path / "restored", "restore", str(tmp_path / "backup"))
    assert restored.exit_code == 0, restored.output
    assert f"restored {manifest['entries']} entries" in restored.output
    again = lkg(tmp_path / "restored", "restore", str(tmp_path / "backup"))
    assert again.exit_code == 1 and "--force to replace it" in again.output
    forced = lkg(tmp_path / "restored", "restore", "--force", str(tmp_path / "backup"))
    assert forced.exit_code == 0, forced.output
    verified = lkg(tmp_path / "restored", "verify")
    assert verified.exit_code == 0
    assert f"head seq {manifest['head_seq']} hash {manifest['head_hash']}" in verified.output


def test_restore_refuses_a_backup_cut_short_since_its_manifest(tmp_path: Path) -> None:
    ingested(tmp_path / "data")
    assert lkg(tmp_path / "data", "backup", str(tmp_path / "backup")).exit_code == 0
    # the newest entry and the sequence counter both cut off: the chain alone looks intact
    edit(tmp_path / "backup" / "events.sqlite3", "DELETE FROM events WHERE seq = 14")
    edit(tmp_path / "backup" / "events.sqlite3", "UPDATE sqlite_sequence SET seq = 13")
    result = lkg(tmp_path / "new", "restore", str(tmp_path / "backup"))
    assert result.exit_code == 1
    assert "13 entries, chain intact" in result.output
    assert "ends at seq 13" in result.output and "says seq 14" in result.output
    assert not (tmp_path / "new" / "events.sqlite3").exists()


def test_backup_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    ingested(tmp_path / "data")
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "something").write_text("x")
    result = lkg(tmp_path / "data", "backup", str(tmp_path / "backup"))
    assert result.exit_code == 1 and "is not empty" in result.output


def graph_dump(store: Neo4jStore) -> tuple[list[Any], list[Any]]:
    return list(store.iter_nodes()), list(store.iter_edges())


@pytest.mark.neo4j
def test_rebuild_neo4j_from_the_log_and_from_a_restored_backup(
    tmp_path: Path, neo4j_server: Neo4jInfo, neo4j_store: Neo4jStore
) -> None:
    env = {
        "NEO4J_URI": neo4j_server.uri,
        "NEO4J_USER": neo4j_server.user,
        "NEO4J_PASSWORD": neo4j_server.password,
    }
    data = tmp_path / "data"
    ingested(data, **env)

    def stats(data_dir: Path) -> dict[str, Any]:
        result = lkg(data_dir, "stats", "--json", **env)
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    before, dump = stats(data), graph_dump(neo4j_store)
    assert before["nodes"]["Run"] == 7

    # corrupt the graph: nodes gone, a property changed, the checkpoint set back
    neo4j_store._driver.execute_query("MATCH (n:Node) WITH n LIMIT 10 DETACH DELETE n")
    neo4j_store._driver.execute_query("MATCH (n:Node) SET n.display = 'garbage'")
    neo4j_store.apply([], checkpoint=3)
    assert stats(data) != before

    rebuilt = lkg(data, "rebuild", **env)
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "14 entries, chain intact" in rebuilt.output
    assert "log position 14 of 14, 0 parked" in rebuilt.output
    assert stats(data) == before
    assert graph_dump(neo4j_store) == dump
    assert neo4j_store.checkpoint() == 14

    assert lkg(data, "backup", str(tmp_path / "backup")).exit_code == 0
    restored = tmp_path / "restored"
    assert lkg(restored, "restore", str(tmp_path / "backup")).exit_code == 0
    neo4j_store.clear()
    assert stats(restored) == {"nodes": {}, "edges": {}}
    assert lkg(restored, "rebuild", "--batch", "3", **env).exit_code == 0
    assert stats(restored) == before
    assert graph_dump(neo4j_store) == dump


def test_rebuild_refuses_a_broken_log(tmp_path: Path) -> None:
    path = ingested(tmp_path)
    edit(path, "DELETE FROM events WHERE seq = 2")
    result = lkg(tmp_path, "rebuild")
    assert result.exit_code == 1
    assert "chain broken at seq 3" in result.output
    assert "not rebuilding from a broken log" in result.output


def test_rebuild_refuses_where_this_process_does_not_write_the_shared_graph(
    tmp_path: Path,
) -> None:
    """An API replica (LKG_PROJECTOR=off) or a projector candidate must not clear and rewrite the
    graph the writer writes; nothing is touched (no store is even opened: the URI is dead)."""
    path = ingested(tmp_path)
    for role in ("off", "group"):
        result = lkg(
            tmp_path,
            "rebuild",
            LKG_PROJECTOR=role,
            NEO4J_URI="bolt://127.0.0.1:9",
            LKG_LOG="kafka://127.0.0.1:9/t",
        )
        assert result.exit_code == 1, result.output
        assert f"LKG_PROJECTOR={role}" in result.output and "lkg rebuild" in result.output
    assert path.is_file()
