"""Notifications end to end (the embedded store; the first test on Neo4j too): events with
downstream impact → the outbox → a local webhook receiver (tests/webhook_receiver.py). The
generic body's signature verifies, the Slack payload has its shape, each change reaches each
target once — also after a replay of the log, with the receiver down (refusing connections,
then answering 503) for a while, and after a refusal and `lkg notifications retry`."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from lineage_kg.cli.app import app
from lineage_kg.graph.sides.outbox import Outbox
from lineage_kg.graph.store import GraphStore
from lineage_kg.ingest.intake import accept_many
from lineage_kg.queries.audience import audience
from lineage_kg.runtime import Runtime
from lineage_kg.settings import Settings
from tests.webhook_receiver import Receiver, verify, wait_for

SECRET = b"s3cret-for-tests"
HANG = 120  # seconds: a bound on a hang; each wait returns once its condition holds


def event(
    i: int,
    job: str,
    reads: str | None,
    writes: str,
    fields: list[tuple[str, str]],
    *,
    state: str = "COMPLETE",
    owner: str | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "namespace": "pg",
        "name": writes,
        "facets": {
            "schema": {
                "_producer": "t",
                "_schemaURL": "t",
                "fields": [{"name": n, "type": t} for n, t in fields],
            }
        },
    }
    if owner:
        out["facets"]["ownership"] = {
            "_producer": "t",
            "_schemaURL": "t",
            "owners": [{"name": owner, "type": "MAINTAINER"}],
        }
    return {
        "eventType": state,
        "eventTime": f"2026-02-01T00:{i // 60:02d}:{i % 60:02d}Z",
        "run": {"runId": f"00000000-0000-4000-8000-{i:012d}"},
        "job": {"namespace": "etl", "name": job},
        "inputs": [{"namespace": "pg", "name": reads}] if reads else [],
        "outputs": [out],
        "producer": "https://example.com/t",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/RunEvent",
    }


def world() -> list[dict[str, Any]]:
    """orders (owned by team:data) feeds report (owned by team:bi); then orders loses a column
    and retypes one, and the report's job fails: two changes."""
    return [
        event(1, "load", None, "orders", [("id", "int"), ("amount", "int")], owner="team:data"),
        event(2, "report", "orders", "report", [("total", "int")], owner="team:bi"),
        event(3, "load", None, "orders", [("id", "bigint")], owner="team:data"),
        event(4, "report", "orders", "report", [("total", "int")], state="FAIL"),
    ]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def settings_for(data_dir: Path, receiver: Receiver, **more: Any) -> Settings:
    return Settings(
        data_dir=data_dir,
        snapshot=False,
        webhook_urls=[receiver.url("/hook")],
        webhook_secret=SECRET.decode(),
        slack_webhook_url=receiver.url("/slack"),
        notify_backoff_seconds=0.05,
        notify_max_backoff_seconds=0.2,
        **more,
    )


def delivered(outbox: Outbox) -> int:
    return outbox.counts().get("delivered", 0)


def test_each_change_reaches_each_target_once_signed_and_shaped(
    tmp_path: Path, receiver: Receiver, store: GraphStore
) -> None:
    """On each store: the detection reads no graph, who to tell is read from the store."""
    settings = settings_for(tmp_path, receiver)
    with Runtime.open(settings, store=store) as runtime:
        accept_many(runtime.log, enumerate(world()))
        runtime.catch_up()
        outbox = runtime.outbox
        assert outbox is not None
        rows = outbox.rows()
        assert sorted(r.kind for r in rows) == ["run_failed", "schema_change"]
        assert runtime.start_notifications(audience) is not None
        wait_for(lambda: delivered(outbox) == 2, HANG, "both changes delivered")
        ids = sorted(r.change_id for r in rows)
        assert sorted(runtime.outbox.rows()[i].status for i in range(2)) == ["delivered"] * 2

    assert sorted(receiver.keys("/hook")) == ids  # once each, keyed by the change
    assert sorted(receiver.keys("/slack")) == ids
    for got in receiver.ok("/hook"):
        assert verify(SECRET, got)
        assert not verify(b"another secret", got)
        body = got.json
        assert body["change_id"] == got.headers["idempotency-key"]
        if body["kind"] == "schema_change":
            assert body["detail"]["dropped"] == ["amount"]
            assert body["detail"]["retyped"] == {"id": {"from": "int", "to": "bigint"}}
            # the dataset's owner by name; the report, reached through dataset-level lineage,
            # possibly: its owner summarised
            assert body["audience"]["owners"] == ["team:data"]
            assert body["audience"]["possible_owners"] == {"team:bi": 1}
    for got in receiver.ok("/slack"):
        body = got.json
        assert isinstance(body["text"], str) and body["text"]
        assert all(isinstance(b, dict) and "type" in b for b in body["blocks"])
        assert body["blocks"][0]["type"] == "section"
        assert body["blocks"][0]["text"]["type"] == "mrkdwn"

    # a replay of the whole log from the outbox's start (as after a crash that lost its last
    # transaction: state and checkpoint go back together) brings the same ids: nothing new
    with closing(sqlite3.connect(tmp_path / "outbox.sqlite3")) as db, db:
        db.execute("DELETE FROM change_state")
        db.execute("UPDATE outbox_meta SET value = '0' WHERE key = 'checkpoint'")
    with Runtime.open(settings, store=store) as runtime:
        runtime.catch_up()
        assert runtime.outbox is not None
        assert sorted(r.change_id for r in runtime.outbox.rows()) == ids
        runtime.start_notifications(audience)
        assert runtime.outbox.due(float("inf")) == []
    assert sorted(receiver.keys("/hook")) == ids  # nothing sent again
    assert len(receiver.received) == 4


def test_receiver_down_then_up_delivers_each_change_once(
    tmp_path: Path, receiver: Receiver
) -> None:
    settings = settings_for(tmp_path, receiver)
    receiver.stop()  # connections refused
    with Runtime.open(settings) as runtime:
        accept_many(runtime.log, enumerate(world()))
        runtime.catch_up()
        outbox = runtime.outbox
        assert outbox is not None
        runtime.start_notifications(audience)
        wait_for(lambda: all(r.attempts >= 2 for r in outbox.rows()), HANG, "retried while refused")
        assert "ConnectError" in (outbox.rows()[0].last_error or "")
        receiver.status = 503
        receiver.start()  # up, but unavailable
        wait_for(lambda: len(receiver.received) >= 4, HANG, "503s answered")
        assert delivered(outbox) == 0
        # the generic hook is back, Slack still answers 503: the hook takes each change once,
        # and is not sent it again while Slack's delivery is retried
        receiver.by_path["/slack"] = 503
        receiver.status = 200
        ids = sorted(r.change_id for r in outbox.rows())
        wait_for(lambda: sorted(receiver.keys("/hook")) == ids, HANG, "the hook's 2xx")
        slack_tries = sum(1 for r in receiver.received if r.path == "/slack")
        wait_for(
            lambda: sum(1 for r in receiver.received if r.path == "/slack") >= slack_tries + 4,
            HANG,
            "Slack retried",
        )
        assert delivered(outbox) == 0
        del receiver.by_path["/slack"]
        wait_for(lambda: delivered(outbox) == 2, HANG, "delivered once the receiver is back")
        attempts = [r.attempts for r in outbox.rows()]
    assert sorted(receiver.keys("/hook")) == ids
    assert sorted(receiver.keys("/slack")) == ids
    assert all(a >= 3 for a in attempts)  # refused, 503, then 2xx


def test_a_refusal_fails_the_change_until_retried(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(tmp_path, receiver)
    receiver.status = 400  # the receiver refuses the message itself: no point retrying
    with Runtime.open(settings) as runtime:
        accept_many(runtime.log, enumerate(world()))
        runtime.catch_up()
        outbox = runtime.outbox
        assert outbox is not None
        runtime.start_notifications(audience)
        wait_for(lambda: outbox.counts().get("failed", 0) == 2, HANG, "both failed")
        assert all(r.attempts == 1 for r in outbox.rows())
        receiver.status = 200
        monkeypatch.setenv("LKG_DATA_DIR", str(tmp_path))
        cli = CliRunner()
        listed = cli.invoke(app, ["notifications", "list", "--status", "failed", "--json"])
        assert listed.exit_code == 0, listed.output
        assert '"failed": 2' in listed.output
        retried = cli.invoke(app, ["notifications", "retry", "--all-failed"])
        assert retried.exit_code == 0, retried.output
        assert "2 change(s) back to pending" in retried.output
        wait_for(lambda: delivered(outbox) == 2, HANG, "delivered after the retry")
        ids = sorted(r.change_id for r in outbox.rows())
    assert sorted(receiver.keys("/hook")) == ids
