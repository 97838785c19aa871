"""A flood of wrong secrets (issue 17, Low): 32 at once grew RSS by ~650 MiB (one 16 MiB scrypt
per request thread) and slowed valid keys to seconds; an unknown key id answered in 3 ms and a
known one with a wrong secret in 100 ms, telling which ids exist.

Counted, not timed: scrypt is replaced by a stand-in that counts the checks inside it and holds
them at a gate, so the bound on checks at once and the one check per path are exact numbers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lineage_kg.api import auth
from lineage_kg.api.auth import KeyStore, Scope, keys_path
from tests.fuzz.conftest import app_client

LIMIT = 2  # LKG_AUTH_SECRET_CHECKS
FLOOD = 12
HANG = 60  # seconds: a bound on a hang, not a speed requirement
READ = "/api/v1/events/no-such-event"  # a read-scope route: 404 past auth, 401 before it


class CountingKdf:
    """Stands in for scrypt: counts calls and checks in flight, holds each until `gate` opens."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.gate = threading.Event()
        self.gate.set()
        self.calls = self.inside = self.most = 0

    def __call__(self, secret: str, salt: bytes) -> bytes:
        with self.lock:
            self.calls += 1
            self.inside += 1
            self.most = max(self.most, self.inside)
        try:
            assert self.gate.wait(HANG), "the gate was never opened"
            return auth.hashlib.sha256(secret.encode() + salt).digest()
        finally:
            with self.lock:
                self.inside -= 1


@pytest.fixture
def kdf(monkeypatch: pytest.MonkeyPatch) -> CountingKdf:
    counting = CountingKdf()
    monkeypatch.setattr(auth, "_hash", counting)
    return counting


@pytest.fixture
def keys(tmp_path: Path, kdf: CountingKdf) -> tuple[str, str]:
    """(a valid read key, a revoked one), hashed by the stand-in."""
    store = KeyStore(keys_path(tmp_path))
    try:
        valid = store.create("reader", [Scope.READ])[1]
        revoked_key, revoked = store.create("gone", [Scope.READ])
        store.revoke(revoked_key.id)
    finally:
        store.close()
    kdf.calls = 0
    return valid, revoked


@pytest.fixture
def client(tmp_path: Path, keys: tuple[str, str]) -> Iterator[TestClient]:
    settings = {"auth": "required", "rate_limit": "off", "auth_secret_checks": LIMIT}
    with app_client(tmp_path, **settings) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + HANG
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.01)


def test_a_flood_of_wrong_secrets_checks_at_most_the_limit_at_once(
    client: TestClient, kdf: CountingKdf, keys: tuple[str, str]
) -> None:
    valid, _ = keys
    assert client.get(READ, headers=bearer(valid)).status_code == 404  # verified, remembered
    guard = client.app.state.guard  # type: ignore[attr-defined]
    wrong = valid[:-4] + "AAAA"
    kdf.gate.clear()
    with ThreadPoolExecutor(FLOOD) as pool:
        answers = [pool.submit(client.get, READ, headers=bearer(wrong)) for _ in range(FLOOD)]
        wait_for(lambda: guard.checks_waiting == FLOOD, f"{FLOOD} checks queued")
        wait_for(lambda: kdf.inside == LIMIT, f"{LIMIT} checks running")
        assert kdf.most == LIMIT
        # the key verified before answers while every check slot is taken
        assert client.get(READ, headers=bearer(valid)).status_code == 404
        kdf.gate.set()
        statuses = [answer.result(HANG).status_code for answer in answers]
    assert statuses == [401] * FLOOD
    assert kdf.most == LIMIT
    assert kdf.calls == 1 + FLOOD


def test_every_refused_id_costs_one_check_as_a_wrong_secret_does(
    client: TestClient, kdf: CountingKdf, keys: tuple[str, str]
) -> None:
    valid, revoked = keys
    key_id = auth.split_token(valid)
    assert key_id is not None
    tokens = {
        "unknown id": "lkg_0123456789abcdef_" + key_id[1],
        "known id, wrong secret": valid[:-4] + "AAAA",
        "revoked id, right secret": revoked,
    }
    answers = {}
    for what, token in tokens.items():
        before = kdf.calls
        response = client.get(READ, headers=bearer(token))
        answers[what] = (response.status_code, response.json()["error"], kdf.calls - before)
    assert set(answers.values()) == {(401, "the API key is unknown or revoked", 1)}, answers
    before = kdf.calls
    assert client.get(READ, headers=bearer(valid)).status_code == 404
    assert client.get(READ, headers=bearer(valid)).status_code == 404
    assert kdf.calls - before == 1  # checked once, then remembered


def test_past_the_queue_a_token_to_check_is_refused_at_once(
    tmp_path: Path, kdf: CountingKdf, keys: tuple[str, str]
) -> None:
    """A flood bigger than LKG_AUTH_SECRET_QUEUE holds only that many requests open: the next
    token to check gets 503 with Retry-After without being hashed; a verified key still goes."""
    valid, _ = keys
    queue = 4
    settings = {"auth": "required", "rate_limit": "off", "auth_secret_checks": 1}
    with app_client(tmp_path, **settings, auth_secret_queue=queue) as client:
        assert client.get(READ, headers=bearer(valid)).status_code == 404  # verified, remembered
        guard = client.app.state.guard  # type: ignore[attr-defined]
        wrong = valid[:-4] + "AAAA"
        kdf.gate.clear()
        with ThreadPoolExecutor(queue) as pool:
            held = [pool.submit(client.get, READ, headers=bearer(wrong)) for _ in range(queue)]
            # all queued, and the one check allowed at once inside the KDF at its gate: a
            # request is counted as queued before its check begins hashing, so the count alone
            # could be read while the first hash was still to come (seen once at load 13)
            wait_for(
                lambda: guard.checks_waiting == queue and kdf.inside == 1,
                f"{queue} checks waiting, one of them hashing",
            )
            calls = kdf.calls
            refused = client.get(READ, headers=bearer(wrong))
            assert refused.status_code == 503, refused.text
            assert refused.headers["retry-after"] == "1"
            assert "LKG_AUTH_SECRET_QUEUE" in refused.json()["error"]
            assert kdf.calls == calls  # refused before any hashing
            assert client.get(READ, headers=bearer(valid)).status_code == 404
            kdf.gate.set()
            assert [answer.result(HANG).status_code for answer in held] == [401] * queue
        assert guard.checks_waiting == 0
        # the queue drained: a token to check is checked again
        assert client.get(READ, headers=bearer(wrong)).status_code == 401
