"""A concurrent OpenLineage load for the fault tests: several clients, bulk and single posts.

Every event is a START of its own run (a fresh run id), so "in the graph" is checkable as "its
run is a Run node", and every event id is known up front (ingest.eventlog.event_id_of). A client
that gets no answer (the service is down) retries the same request until it gets one, as a real
producer does; an event stored just before a crash and sent again must then count once.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_exponential

from lineage_kg.ingest.eventlog import event_id_of

BULK_SIZE = 100
SINGLES_PER_BULK = 1  # a single post between two bulk posts


def run_event(i: int, run_id: str | None = None) -> dict[str, Any]:
    """Event number `i`: a START of a new run of one of 20 jobs reading one of 50 datasets."""
    return {
        "eventType": "START",
        "eventTime": f"2026-02-01T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}.000Z",
        "run": {"runId": run_id or f"00000000-0000-4000-8000-{i:012d}"},
        "job": {"namespace": "load", "name": f"job-{i % 20}"},
        "inputs": [{"namespace": "load", "name": f"ds-{i % 50}"}],
        "outputs": [],
        "producer": "https://example.com/fault-tests",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/RunEvent",
    }


def ol_id(event: dict[str, Any]) -> str:
    return event_id_of("openlineage", event)


@dataclass
class LoadResult:
    sent: int = 0
    acknowledged: set[str] = field(default_factory=set)
    statuses: dict[int, int] = field(default_factory=dict)  # HTTP status -> events answered so
    unanswered_requests: int = 0  # connection refused/reset: retried
    reported_duplicates: int = 0  # events the service said it already had (after a retry)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, events: list[dict[str, Any]], status: int, duplicates: int) -> None:
        with self.lock:
            self.sent += len(events)
            self.statuses[status] = self.statuses.get(status, 0) + len(events)
            self.reported_duplicates += duplicates
            if 200 <= status < 300:
                self.acknowledged.update(ol_id(e) for e in events)

    def unanswered(self, _: object) -> None:
        with self.lock:
            self.unanswered_requests += 1

    @property
    def server_errors(self) -> int:
        return sum(n for s, n in self.statuses.items() if s >= 500)


def post(client: httpx.Client, events: list[dict[str, Any]], bulk: bool) -> tuple[int, int]:
    """Post events; (status, duplicates reported). Raises httpx.TransportError on no answer."""
    if not bulk:
        return client.post("/api/v1/lineage", json=events[0]).status_code, 0
    response = client.post("/api/v1/lineage/bulk", json=events)
    if response.status_code != 200:
        return response.status_code, 0
    summary = response.json()
    assert summary["rejected"] == [], summary  # all are valid: the summary must be clean
    assert summary["accepted"] + summary["duplicates"] == len(events), summary
    return 200, summary["duplicates"]


def run_load(
    url: str,
    events: list[dict[str, Any]],
    clients: int = 4,
    on_progress: Callable[[LoadResult], None] | None = None,
    retry_for: float = 300,
) -> LoadResult:
    """Send `events` from `clients` threads, each alternating a bulk post and single posts;
    a request that gets no answer is sent again (for up to `retry_for` seconds)."""
    result = LoadResult()
    shares = [events[k::clients] for k in range(clients)]
    retrying = Retrying(
        retry=retry_if_exception_type(httpx.TransportError),
        wait=wait_exponential(multiplier=0.05, max=0.5),
        stop=stop_after_delay(retry_for),
        before_sleep=result.unanswered,
        reraise=True,
    )

    def client_loop(share: list[dict[str, Any]]) -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            position, turn = 0, 0
            while position < len(share):
                bulk = turn % (SINGLES_PER_BULK + 1) == 0
                chunk = share[position : position + (BULK_SIZE if bulk else 1)]
                status, duplicates = retrying(post, client, chunk, bulk)
                result.record(chunk, status, duplicates)
                position, turn = position + len(chunk), turn + 1
                if on_progress is not None:
                    on_progress(result)

    threads = [threading.Thread(target=client_loop, args=(s,)) for s in shares]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return result


def logged_ids(data_dir: Path) -> list[str]:
    """Every event id in the durable log, read from the SQLite file itself (read-only)."""
    uri = f"file:{data_dir / 'events.sqlite3'}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as db:
        return [row[0] for row in db.execute("SELECT event_id FROM events")]
