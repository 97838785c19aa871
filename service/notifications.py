"""Delivery of the outbox's changes to the configured webhooks (issue 20, part 3).

A thread started by the composition root reads the due rows of the outbox
(graph/sides/outbox.py), asks who to tell (the `Audience` function it is given: the API and
the CLI hand it queries/audience.py — the service room does not import the read side), and
POSTs to each target:

- every `LKG_WEBHOOK_URLS` URL: the change as JSON, with `X-Lkg-Signature: sha256=<hex
  HMAC-SHA256 of the exact body bytes under LKG_WEBHOOK_SECRET>` and `Idempotency-Key: <change
  id>`;
- `LKG_SLACK_WEBHOOK_URL`: a Slack incoming-webhook message (`text` and `blocks`).

Guarantees: at least once, with a per-change idempotency key. A target's 2xx is recorded
before anything else is sent (`sent`), and a row is `delivered` once every target has one; a
target that took a change is never sent it again, a delivered row is never picked again. A
crash between a target's 2xx and that record sends that one change to that one target again
after the restart, with the same key: the receiver drops it (exactly-once across such a crash
cannot be had from the sender alone). Failures are retried at the outbox's own next-attempt
time, backing off exponentially (LKG_NOTIFY_BACKOFF_SECONDS doubling up to
LKG_NOTIFY_MAX_BACKOFF_SECONDS), until LKG_NOTIFY_MAX_ATTEMPTS, then the row is `failed`; a
4xx other than 408/425/429 fails it at once (the receiver refuses the message itself). While
the store is unavailable (who to tell cannot be read) a row waits without spending attempts.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from lineage_kg.graph.sides.outbox import Outbox, OutboxRow
from lineage_kg.graph.store import StoreUnavailable
from lineage_kg.settings import Settings

if TYPE_CHECKING:
    from lineage_kg.graph.store import GraphStore

log = logging.getLogger(__name__)

# (subject id, start ids) -> who to tell, JSON-able
Audience = Callable[[str, list[str]], dict[str, Any]]
# the same on a store: queries/audience.py `audience`, handed in by the API or the CLI
StoreAudience = Callable[["GraphStore", str, list[str]], dict[str, Any]]

SIGNATURE_HEADER = "X-Lkg-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
RETRYABLE_4XX = frozenset({408, 425, 429})
SLACK = "slack"


def signature(secret: bytes, body: bytes) -> str:
    """The `X-Lkg-Signature` value of `body`."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def generic_body(row: OutboxRow) -> dict[str, Any]:
    return {
        "type": "lineage_kg.change",
        "change_id": row.change_id,
        "kind": row.kind,
        "subject": row.subject,
        "detail": row.detail,
        "event_id": row.event_id,
        "event_time": row.event_time,
        "audience": row.audience,
    }


_TITLES = {
    "schema_change": "Schema change",
    "run_failed": "Run failed",
    "quality_failed": "Data quality assertion failed",
    "check_failing": "Check failing",
    "alias_moved": "Model alias moved",
    "deployment_started": "Deployment started",
}


def _what(row: OutboxRow) -> str:
    d = row.detail
    match row.kind:
        case "schema_change":
            parts = [f"dropped {', '.join(d['dropped'])}"] if d["dropped"] else []
            parts += [f"{n}: {t['from']} → {t['to']}" for n, t in d["retyped"].items()]
            return f"`{d['dataset']}`: " + "; ".join(parts)
        case "run_failed":
            return f"run `{d['run']}` of `{d['job']}` ended {d['state']}"
        case "quality_failed":
            return f"`{d['target']}`: {d['failed']} assertion(s) failed"
        case "check_failing":
            return f"check `{d['check']}` on `{d['subject']}` is failing"
        case "alias_moved":
            return f"`{d['model']}` alias `{d['alias']}`: {d['from']} → {d['to']}"
        case "deployment_started":
            return f"`{d['version']}` serves `{d['decision_point']}` ({d['mode']})"
    return row.subject


def _escaped(value: Any) -> Any:
    """`value` with `&`, `<` and `>` written as Slack asks (`&amp;` `&lt;` `&gt;`) in every
    string, dict keys too: names, types and owners come from the producers' events, and Slack
    reads `<!channel>` as a ping of the whole channel and `<https://…|text>` as a link."""
    if isinstance(value, str):
        return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if isinstance(value, dict):
        return {_escaped(k): _escaped(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_escaped(v) for v in value]
    return value


def slack_body(row: OutboxRow) -> dict[str, Any]:
    """The Slack message of a change: every value from the graph escaped (`_escaped`)."""
    return _slack_body(
        dataclasses.replace(
            row,
            change_id=_escaped(row.change_id),
            event_id=_escaped(row.event_id),
            kind=_escaped(row.kind),
            subject=_escaped(row.subject),
            detail=_escaped(row.detail),
            audience=_escaped(row.audience),
        )
    )


def _slack_body(row: OutboxRow) -> dict[str, Any]:
    a = row.audience or {}
    owners = ", ".join(a.get("owners", [])) or "nobody (unowned)"
    text = f"{_TITLES.get(row.kind, row.kind)}: {_what(row)}. Owners to tell: {owners}."
    lines = [f"*{_TITLES.get(row.kind, row.kind)}*: {_what(row)}", f"*Owners*: {owners}"]
    if a.get("exact"):
        named = ", ".join(f"`{i['name']}`" for i in a["exact"][:10])
        more = a["exact_count"] - min(10, len(a["exact"]))
        lines.append(
            f"*Exact impact* ({a['exact_count']}): {named}" + (f" +{more}" if more else "")
        )
    if a.get("possible_count"):
        whose = ", ".join(f"{o} ({n})" for o, n in a.get("possible_owners", {}).items())
        kinds = ", ".join(f"{k} {n}" for k, n in a.get("possible_by_kind", {}).items())
        tail = f"; {whose}" if whose else ""
        lines.append(f"*Possible impact*: {a['possible_count']} ({kinds}){tail}")
    if a.get("decision_points"):
        lines.append("*Decision points*: " + ", ".join(a["decision_points"]))
    if a.get("left"):
        lines.append("*Owners who left*: " + ", ".join(a["left"]))
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": f"change `{row.change_id}` · event `{row.event_id}`"}
            ],
        },
    ]
    return {"text": text, "blocks": blocks}


@dataclass(frozen=True, slots=True)
class Target:
    name: str  # what `sent` records: the URL, or "slack"
    url: str
    slack: bool = False


def targets_of(settings: Settings) -> list[Target]:
    found = [Target(url, url) for url in settings.webhook_urls]
    if settings.slack_webhook_url:
        found.append(Target(SLACK, settings.slack_webhook_url, slack=True))
    return found


class Refused(Exception):
    """A target refused the message itself (4xx): no retry will help."""


# the shared mark: every change at or before it is settled by the sending process
SETTLED = "notifications-settled"


class Shared(Protocol):  # the shared graph store's marks (graph/store.py GraphStore.mark)
    def mark(self, name: str) -> int: ...

    def set_mark(self, name: str, seq: int) -> None: ...


class Notifier:
    def __init__(
        self,
        outbox: Outbox,
        audience: Audience,
        settings: Settings,
        *,
        client: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
        active: Callable[[], bool] = lambda: True,
        shared: Shared | None = None,
    ) -> None:
        """`active`: whether this process sends now (only the graph's writer does, when several
        processes keep outboxes of the same log: docs/scale.md). `shared`: where the sender
        says how far it has settled (the shared graph's `mark`), so that a process which takes
        over sending starts from there instead of sending every change it ever detected."""
        self.outbox, self.audience, self.settings = outbox, audience, settings
        self.active, self.shared = active, shared
        self._published: int | None = None
        self.targets = targets_of(settings)
        self.secret = settings.webhook_secret.get_secret_value().encode()
        self.client = client or httpx.Client(timeout=settings.webhook_timeout)
        self.clock = clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent = 0  # 2xx answers, all targets
        self.failures = 0

    # ---- one pass -----------------------------------------------------------------------
    def run_once(self, limit: int = 50) -> int:
        """Try every due row once; how many were tried. A process that does not send settles
        what the sender says it has settled."""
        if not self.active():
            if self.shared is not None:
                self.outbox.settle_upto(self.shared.mark(SETTLED))
            return 0
        rows = self.outbox.due(self.clock(), limit)
        for row in rows:
            if self._stop.is_set():
                break
            self._deliver(row)
        if self.shared is not None and (settled := self.outbox.settled_upto()) != self._published:
            self.shared.set_mark(SETTLED, settled)
            self._published = settled
        return len(rows)

    def _deliver(self, row: OutboxRow) -> None:
        worked_out: dict[str, Any] | None = None  # who to tell, until stored with a mark
        try:
            if row.audience is None:
                row.audience = worked_out = self.audience(row.subject, row.starts)
        except StoreUnavailable as exc:
            # our store is down, not the receiver: wait for it without spending an attempt
            later = self.clock() + self.settings.notify_backoff_seconds
            self.outbox.postpone(row.change_id, f"store unavailable: {exc}", later)
            return
        left = [t for t in self.targets if t.name not in row.sent_to]
        if not left:  # every target took it already (targets configured anew)
            self.outbox.mark_delivered(row.change_id, worked_out)
            return
        try:
            for target in left:
                self._post(target, row)
                last = target is left[-1]
                self.outbox.mark_sent(
                    row.change_id, target.name, audience=worked_out, delivered=last
                )
                worked_out = None
                row.sent_to.append(target.name)
                self.sent += 1
        except Refused as exc:
            self.failures += 1
            self.outbox.mark_attempt_failed(
                row.change_id, str(exc), next_attempt_at=None, audience=worked_out
            )
            log.error("notification %s refused for good: %s", row.change_id, exc)  # noqa: TRY400
        except Exception as exc:
            self.failures += 1
            attempts = row.attempts + 1
            error = f"{type(exc).__name__}: {exc}"
            later = None
            if attempts < self.settings.notify_max_attempts:
                later = self.clock() + self.backoff(attempts)
            self.outbox.mark_attempt_failed(
                row.change_id, error, next_attempt_at=later, audience=worked_out
            )
            log.warning("notification %s attempt %d failed: %s", row.change_id, attempts, error)

    def backoff(self, attempts: int) -> float:
        """Seconds before attempt `attempts + 1`: doubling from the first, capped."""
        s = self.settings
        return float(
            min(s.notify_max_backoff_seconds, s.notify_backoff_seconds * 2 ** (attempts - 1))
        )

    def _post(self, target: Target, row: OutboxRow) -> None:
        payload = slack_body(row) if target.slack else generic_body(row)
        body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", IDEMPOTENCY_HEADER: row.change_id}
        if not target.slack:
            headers[SIGNATURE_HEADER] = signature(self.secret, body)
        answer = self.client.post(target.url, content=body, headers=headers)
        if 200 <= answer.status_code < 300:
            return
        what = f"{target.name} answered {answer.status_code}"
        if 400 <= answer.status_code < 500 and answer.status_code not in RETRYABLE_4XX:
            raise Refused(what)
        raise httpx.HTTPStatusError(what, request=answer.request, response=answer)

    # ---- in the background ----------------------------------------------------------------
    def start(self) -> None:
        if any(not t.slack for t in self.targets) and not self.secret:
            log.warning(
                "LKG_WEBHOOK_URLS set without LKG_WEBHOOK_SECRET: the bodies are signed with an "
                "empty key, which proves nothing to the receiver"
            )
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="lkg-notifier", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                tried = self.run_once()
            except Exception:
                log.exception("notification delivery step failed; retrying")
                tried = 0
            if tried:
                continue
            due = self.outbox.next_due()
            wait = 5.0 if due is None else min(5.0, max(0.0, due - self.clock()))
            self._wake.wait(wait)
            self._wake.clear()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.client.close()
