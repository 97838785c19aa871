"""The log is the source of truth, so `lkg serve` guards it (issue 17): a real `lkg serve` on a
real SQLite file that was edited, cut or damaged behind its back.

- an entry's body edited, or an entry deleted, since the last start: the service refuses to
  start (exit 4) naming the entry, never serving the forged event under the original id;
- a corrupt index page met while serving: the read answers 503 (not 500), `/readyz` turns 503
  with the reason, writes are refused; `lkg verify` fails on SQLite's integrity_check and the
  next start refuses (exit 5);
- the file cut to half: one clear message and exit 5, no traceback.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from lineage_kg.cli.app import app
from lineage_kg.ingest.eventlog import EventLog, LogUnavailable, NewEvent
from tests.conftest import LKG, ServiceProcess, free_port
from tests.faults.load import ol_id, run_event

EVENTS = 12
HANG = 240  # seconds: a bound on a hang, not a speed requirement


def log_of(service: ServiceProcess) -> Path:
    return service.data_dir / "events.sqlite3"


def serve_refused(service: ServiceProcess) -> tuple[int, str]:
    """Start `lkg serve` on the service's data dir, expecting it to refuse: (exit code, output).
    Waits for it to end, however long its start takes on a loaded machine; a service that
    answers on its port instead fails the test at once (HANG only bounds a hang)."""
    env = {**os.environ, "LKG_DATA_DIR": str(service.data_dir), **service.env}
    port = free_port()
    with subprocess.Popen(
        [str(LKG), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        deadline = time.monotonic() + HANG
        try:
            while proc.poll() is None:
                assert time.monotonic() < deadline, f"lkg serve neither ended nor served in {HANG}s"
                with contextlib.suppress(httpx.TransportError):
                    httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                    pytest.fail("lkg serve served the log instead of refusing it")
                time.sleep(0.2)
        finally:
            if proc.poll() is None:
                proc.kill()
            stdout, stderr = proc.communicate()
    return proc.returncode, stdout + stderr


def served_events(service_factory: Callable[..., ServiceProcess]) -> ServiceProcess:
    """A service that took EVENTS events over HTTP, stopped; its next start verifies them."""
    service = service_factory().start()
    response = httpx.post(
        f"{service.url}/api/v1/lineage/bulk", json=[run_event(i) for i in range(EVENTS)]
    )
    assert response.json()["accepted"] == EVENTS, response.text
    service.stop()
    return service


def test_a_body_edited_since_the_last_start_is_not_served(
    service_factory: Callable[..., ServiceProcess],
) -> None:
    service = served_events(service_factory)
    with closing(sqlite3.connect(log_of(service))) as db, db:
        db.execute("UPDATE events SET body = replace(body, 'START', 'FAIL') WHERE seq = 7")
    code, output = serve_refused(service)
    assert code == 4, output
    assert "chain broken at seq 7" in output and "content does not match" in output
    assert "Traceback" not in output


def test_a_row_deleted_before_the_verified_head_is_not_served(
    service_factory: Callable[..., ServiceProcess],
) -> None:
    service = served_events(service_factory)
    service.start()  # verifies the new entries: the head beside the log is now seq EVENTS
    service.stop()
    with closing(sqlite3.connect(log_of(service))) as db, db:
        db.execute("DELETE FROM events WHERE seq = 3")
    code, output = serve_refused(service)
    assert code == 4, output
    assert f"1 of the entries before seq {EVENTS} are missing" in output
    assert "Traceback" not in output


def fill_log(path: Path, count: int) -> list[str]:
    """`count` events written straight into a new log (enough for an index of many pages)."""
    log = EventLog(path)
    events = [run_event(i) for i in range(count)]
    time = "2026-02-01T00:00:00.000000Z"
    log.append([NewEvent("openlineage", "RunEvent", time, e) for e in events])
    log.close()
    return [ol_id(e) for e in events]


def corrupt_event_id_index(path: Path) -> None:
    """Overwrite the root page of the index that finds an event by id with garbage."""
    with closing(sqlite3.connect(path)) as db:
        (page_size,) = db.execute("PRAGMA page_size").fetchone()
        (root,) = db.execute(
            "SELECT rootpage FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' "
            "AND name LIKE 'sqlite_autoindex_events%'"
        ).fetchone()
    with path.open("r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(b"\xff" * page_size)


def test_a_corrupt_index_page_makes_the_service_unready_and_verify_fail(
    service_factory: Callable[..., ServiceProcess],
) -> None:
    service = service_factory()
    ids = fill_log(log_of(service), 3000)
    service.start()  # the index is not read at start: the page is met by the first lookup
    corrupt_event_id_index(log_of(service))

    read = httpx.get(f"{service.url}/api/v1/events/{ids[1234]}")
    assert read.status_code == 503, read.text
    assert "damaged" in read.json()["error"]
    ready = httpx.get(f"{service.url}/readyz")
    assert ready.status_code == 503, ready.text
    assert "database disk image is malformed" in ready.json()["error"]
    write = httpx.post(f"{service.url}/api/v1/lineage", json=run_event(5000))
    assert write.status_code == 503, write.text
    service.stop()

    result = CliRunner().invoke(
        app, ["verify"], env={"LKG_DATA_DIR": str(service.data_dir), "COLUMNS": "300"}
    )
    assert result.exit_code == 1, result.output
    assert "SQLite integrity_check failed" in result.output
    code, output = serve_refused(service)
    assert code == 5, output
    assert "fails SQLite's quick_check" in output and "Traceback" not in output


def test_a_log_cut_to_half_is_refused_with_one_message(
    service_factory: Callable[..., ServiceProcess],
) -> None:
    service = service_factory()
    path = log_of(service)
    fill_log(path, 2000)
    size = path.stat().st_size
    os.truncate(path, size // 2)
    code, output = serve_refused(service)
    truncated = f"it is truncated — {size // 2:,} bytes where its header says {size:,}"
    assert code == 5, output
    assert truncated in output and "Traceback" not in output
    result = CliRunner().invoke(
        app, ["verify"], env={"LKG_DATA_DIR": str(service.data_dir), "COLUMNS": "300"}
    )
    assert result.exit_code == 1 and truncated in result.output, result.output


def test_a_damaged_log_answers_the_audit_trail_with_its_own_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process: a read of the log's history that meets damage is LOG_UNAVAILABLE naming it,
    not "internal error" (the HTTP evidence read is the 503 above)."""
    from tests.fuzz.conftest import app_client

    query = '{ auditTrail(ref: {kind: Job, namespace: "airflow", name: "marts.daily_revenue"}) '
    query += "{ entries { summary } } }"
    with app_client(tmp_path, demo=True) as client:
        log: EventLog = client.app.state.event_log  # type: ignore[attr-defined]

        def damaged(*_: object, **__: object) -> None:
            raise LogUnavailable(
                f"event log {log.path} is damaged: database disk image is malformed"
            )

        monkeypatch.setattr(log, "history", damaged)
        (error,) = client.post("/graphql", json={"query": query}).json()["errors"]
    assert error.get("extensions", {}).get("code") == "LOG_UNAVAILABLE", error
    assert "is damaged: database disk image is malformed" in error["message"]
