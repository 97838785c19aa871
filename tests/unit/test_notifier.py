"""The delivery (service/notifications.py) on a real outbox, an httpx mock transport and a hand
clock: backoff doubling to its cap and the last attempt failing the row, a refusal failing it at
once, a store outage spending no attempt, a target's 2xx never sent again."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from lineage_kg.graph.sides.outbox import Change, ChangeKind, Outbox
from lineage_kg.graph.store import StoreUnavailable
from lineage_kg.notifications import Notifier
from lineage_kg.settings import Settings

SETTINGS = Settings(
    webhook_urls=["http://hook.test/a"],
    webhook_secret="k",
    slack_webhook_url="http://slack.test/b",
    notify_backoff_seconds=1.0,
    notify_max_backoff_seconds=5.0,
    notify_max_attempts=5,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def outbox_with_one(tmp_path: Path) -> Outbox:
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    change = Change(
        ChangeKind.RUN_FAILED, "run", ("job",), {"run": "r", "job": "j", "state": "FAIL"}, "e1", "t"
    )
    with outbox.transaction() as db:
        assert outbox.add(db, 1, [change]) == 1
        assert outbox.add(db, 1, [change]) == 0  # the same change: stored once
    return outbox


def notifier(
    outbox: Outbox,
    answer: Callable[[httpx.Request], int],
    audience: Callable[[str, list[str]], dict[str, Any]] | None = None,
) -> tuple[Notifier, Clock, list[httpx.Request]]:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(answer(request))

    clock = Clock()
    client = httpx.Client(transport=httpx.MockTransport(handler))
    who = audience or (lambda subject, starts: {"owners": ["o"], "subject": subject})
    return Notifier(outbox, who, SETTINGS, client=client, clock=clock), clock, sent


def test_backoff_doubles_to_its_cap_and_the_last_attempt_fails_the_row(tmp_path: Path) -> None:
    outbox = outbox_with_one(tmp_path)
    n, clock, sent = notifier(outbox, lambda r: 503)
    waits = []
    for _ in range(SETTINGS.notify_max_attempts):
        assert n.run_once() == 1
        assert n.run_once() == 0  # not due again at once
        (row,) = outbox.rows()
        if row.status == "failed":
            break
        waits.append(row.next_attempt_at - clock.now)
        clock.now = row.next_attempt_at
    assert waits == [1.0, 2.0, 4.0, 5.0]
    (row,) = outbox.rows()
    assert (row.status, row.attempts) == ("failed", 5)
    assert "503" in (row.last_error or "")
    assert len(sent) == 5  # the hook each time; Slack never reached (hook first)
    assert outbox.retry(None) == 1 and outbox.rows()[0].status == "pending"


def test_a_refusal_fails_at_once(tmp_path: Path) -> None:
    outbox = outbox_with_one(tmp_path)
    n, _, sent = notifier(outbox, lambda r: 422)
    n.run_once()
    (row,) = outbox.rows()
    assert (row.status, row.attempts, len(sent)) == ("failed", 1, 1)


def test_a_store_outage_spends_no_attempt(tmp_path: Path) -> None:
    outbox = outbox_with_one(tmp_path)
    down = [True]

    def who(subject: str, starts: list[str]) -> dict[str, Any]:
        if down[0]:
            raise StoreUnavailable("neo4j away")
        return {"owners": ["o"]}

    n, clock, sent = notifier(outbox, lambda r: 200, who)
    for _ in range(20):
        n.run_once()
        clock.now += SETTINGS.notify_backoff_seconds
    (row,) = outbox.rows()
    assert (row.status, row.attempts, sent) == ("pending", 0, [])
    assert "store unavailable" in (row.last_error or "")
    down[0] = False
    n.run_once()
    (row,) = outbox.rows()
    assert (row.status, row.audience) == ("delivered", {"owners": ["o"]})


def test_a_target_that_took_the_change_is_not_sent_it_again(tmp_path: Path) -> None:
    outbox = outbox_with_one(tmp_path)
    slack_up = [False]
    n, clock, sent = notifier(
        outbox, lambda r: 200 if r.url.host == "hook.test" or slack_up[0] else 500
    )
    for _ in range(3):
        n.run_once()
        clock.now = outbox.rows()[0].next_attempt_at
    slack_up[0] = True
    n.run_once()
    hosts = [r.url.host for r in sent]
    assert hosts.count("hook.test") == 1 and hosts.count("slack.test") == 4
    (row,) = outbox.rows()
    assert (row.status, row.sent_to) == ("delivered", ["http://hook.test/a", "slack"])
    n.run_once()
    assert len(sent) == 5  # delivered: never picked again
    hook = next(r for r in sent if r.url.host == "hook.test")
    body = hook.read()
    expected = "sha256=" + hmac.new(b"k", body, hashlib.sha256).hexdigest()
    assert hook.headers["x-lkg-signature"] == expected
    assert hook.headers["idempotency-key"] == row.change_id
    assert "x-lkg-signature" not in next(r for r in sent if r.url.host == "slack.test").headers


def test_a_process_taking_over_sending_sends_only_what_the_last_sender_had_not_settled(
    tmp_path: Path,
) -> None:
    """Two processes keep outboxes of the same log (API replicas, a standby projector); only
    the graph's writer sends, and says in the shared graph how far it has settled. The one
    that takes over sends what the first had not settled — not everything it ever detected."""
    from lineage_kg.graph.embedded import EmbeddedStore

    shared = EmbeddedStore()  # stands for the shared Neo4j: only its marks are used
    changes = [
        Change(
            ChangeKind.RUN_FAILED,
            f"run{i}",
            ("job",),
            {"run": f"r{i}", "job": "j", "state": "FAIL"},
            f"e{i}",
            "t",
        )
        for i in range(1, 7)
    ]
    outboxes = []
    for name in ("a", "b"):
        outbox = Outbox(tmp_path / f"{name}.sqlite3")
        with outbox.transaction() as db:
            for seq, change in enumerate(changes, start=1):
                outbox.add(db, seq, [change])
            outbox.set_checkpoint(db, len(changes))
        outboxes.append(outbox)
    sending = ["a"]
    fails = {"r4"}  # the receiver refuses this one for now: the first sender stays behind it

    def answer(request: httpx.Request) -> int:
        return 503 if any(f'"{r}"' in request.content.decode() for r in fails) else 200

    processes = {}
    for name, outbox in zip("ab", outboxes, strict=True):
        n, _, sent = notifier(outbox, answer)
        n.active, n.shared = (lambda name=name: name in sending), shared
        processes[name] = (n, sent)
    for n, _ in processes.values():
        n.run_once()
    for n, _ in processes.values():
        n.run_once()  # b settles what a published
    first_sent = {r.headers["Idempotency-Key"] for r in processes["a"][1]}
    assert processes["b"][1] == []  # b never sent while a did
    settled_by_a = {c.change_id for c in changes[:3]}
    assert settled_by_a < first_sent
    b_pending = {r.change_id for r in outboxes[1].rows() if r.status == "pending"}
    assert b_pending == {c.change_id for c in changes[3:]}  # r4 on: a had not settled them

    sending[:] = ["b"]  # a dies; b takes over, and the receiver is back
    fails.clear()
    processes["b"][0].run_once()
    resent = {r.headers["Idempotency-Key"] for r in processes["b"][1]}
    assert resent == {c.change_id for c in changes[3:]}
    assert shared.mark("notifications-settled") == len(changes)
