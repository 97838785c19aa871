"""API keys and who may do what: the key store, the auth mode, and the FastAPI dependencies.

A key is `lkg_<id>_<secret>`: the id finds the row, the secret is checked against its scrypt
hash (only the hash is stored; the secret is shown once, by `lkg keys create`). Keys live in
`data_dir/keys.sqlite3`, written by the CLI and read by the service on every request, so a
revoke takes effect at once, without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import secrets
import sqlite3
import threading
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.concurrency import run_in_threadpool

from lineage_kg.api.echo import clip
from lineage_kg.graph.naming import normalise_namespace
from lineage_kg.settings import Settings

log = logging.getLogger("lkg.auth")

PREFIX = "lkg"
REALM = 'Bearer realm="lineage-kg"'
# scrypt cost: ~16 MiB and a few tens of ms per check; a verified key is then remembered
# (by a SHA-256 of the presented key, in memory only) so steady traffic pays it once
SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
LOOPBACK_NAMES = frozenset({"localhost"})


class Scope(StrEnum):
    INGEST = "ingest"  # write events and source data
    READ = "read"  # GraphQL, GET events and decisions
    ADMIN = "admin"  # everything, incl. future replays and deletes


class AuthMode(StrEnum):
    REQUIRED = "required"
    OFF = "off"


class AuthConfigError(Exception):
    """The service must not start with this auth configuration."""


class AuthProblem(Exception):
    """A request refused for who is asking: answered as 401, 403 or 429 with the right header
    (503 when too many secret checks are already waiting to say who it is)."""

    def __init__(self, status: int, message: str, headers: dict[str, str]) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


@dataclass(frozen=True)
class ApiKey:
    """A key as stored: never its secret."""

    id: str
    name: str
    scopes: frozenset[Scope]
    namespaces: frozenset[str]  # empty: any namespace
    created_at: str
    revoked_at: str | None = None

    def allows(self, scope: Scope) -> bool:
        return Scope.ADMIN in self.scopes or scope in self.scopes


@dataclass(frozen=True)
class Principal:
    """Who is asking: a key, or nobody in particular when auth is off."""

    key: ApiKey | None

    @property
    def name(self) -> str:
        return self.key.name if self.key else "anonymous (auth off)"

    def allows(self, scope: Scope) -> bool:
        return self.key is None or self.key.allows(scope)

    def outside(self, namespaces: Iterable[str]) -> list[str]:
        """The given namespaces this principal may not write, in order, without repeats."""
        if self.key is None or not self.key.namespaces:
            return []
        allowed = self.key.namespaces | {normalise_namespace(n) for n in self.key.namespaces}
        found: list[str] = []
        for ns in namespaces:
            if ns not in allowed and normalise_namespace(ns) not in allowed and ns not in found:
                found.append(ns)
        return found


ANONYMOUS = Principal(None)


def _hash(secret: str, salt: bytes) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, maxmem=64 * 1024 * 1024, **SCRYPT)


@dataclass(frozen=True)
class SecretCheck:
    """One scrypt comparison still to make for a presented key: `key` is who it is if the
    secret matches; None (an unknown or revoked id) compares against a salt and hash that
    match nothing, so every id costs the same one check and answer time tells no id apart."""

    secret: str
    salt: bytes
    expected: bytes
    key: ApiKey | None
    token_digest: bytes  # remembered on success, so the same key is not checked again


def split_token(token: str) -> tuple[str, str] | None:
    """(id, secret) of a `lkg_<id>_<secret>` key, or None if it does not have that shape."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


class KeyStore:
    """The API keys in SQLite: create, list, revoke (CLI) and verify (service)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS api_keys ("
            " id TEXT PRIMARY KEY, name TEXT NOT NULL, salt BLOB NOT NULL, hash BLOB NOT NULL,"
            " scopes TEXT NOT NULL, namespaces TEXT NOT NULL, created_at TEXT NOT NULL,"
            " revoked_at TEXT)"
        )
        self._lock = threading.Lock()
        self._verified: dict[bytes, str] = {}  # sha256(presented key) -> key id
        # what an unknown id's secret is compared with: a random salt and a hash nothing has
        self._decoy = (secrets.token_bytes(16), secrets.token_bytes(SCRYPT["dklen"]))

    def close(self) -> None:
        self._db.close()

    def create(
        self, name: str, scopes: Iterable[Scope], namespaces: Iterable[str] = ()
    ) -> tuple[ApiKey, str]:
        """A new key and its full secret `lkg_<id>_<secret>`: the only time the secret exists."""
        wanted = frozenset(Scope(s) for s in scopes)
        if not wanted:
            raise ValueError("scopes: give at least one of " + ", ".join(Scope))
        if not name.strip():
            raise ValueError("name: must not be blank")
        key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        key = ApiKey(
            key_id,
            name.strip(),
            wanted,
            frozenset(n.strip() for n in namespaces if n.strip()),
            datetime.now(UTC).isoformat(timespec="seconds"),
        )
        with self._lock:
            self._db.execute(
                "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                (
                    key.id,
                    key.name,
                    salt,
                    _hash(secret, salt),
                    json.dumps(sorted(key.scopes)),
                    json.dumps(sorted(key.namespaces)),
                    key.created_at,
                ),
            )
        return key, f"{PREFIX}_{key_id}_{secret}"

    def list_keys(self, include_revoked: bool = True) -> list[ApiKey]:
        sql = "SELECT id, name, scopes, namespaces, created_at, revoked_at FROM api_keys"
        if not include_revoked:
            sql += " WHERE revoked_at IS NULL"
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY created_at, id").fetchall()
        return [_key(row) for row in rows]

    def has_active_keys(self) -> bool:
        with self._lock:
            row = self._db.execute("SELECT 1 FROM api_keys WHERE revoked_at IS NULL LIMIT 1")
            return row.fetchone() is not None

    def revoke(self, key_id: str) -> ApiKey | None:
        """Revoke a key (kept, marked revoked); None if there is no such key."""
        when = datetime.now(UTC).isoformat(timespec="seconds")
        with self._lock:
            self._db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (when, key_id),
            )
        return self._get(key_id)

    def _get(self, key_id: str) -> ApiKey | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, name, scopes, namespaces, created_at, revoked_at FROM api_keys"
                " WHERE id = ?",
                (key_id,),
            ).fetchone()
        return _key(row) if row else None

    def lookup(self, token: str) -> ApiKey | SecretCheck | None:
        """The first, cheap half of verifying a token: None if it is not a key's shape; the key
        if this very token verified before and the key is active; else the check to make."""
        parts = split_token(token)
        if parts is None:
            return None
        key_id, secret = parts
        with self._lock:
            row = self._db.execute(
                "SELECT id, name, scopes, namespaces, created_at, revoked_at, salt, hash"
                " FROM api_keys WHERE id = ?",
                (key_id,),
            ).fetchone()
        digest = hashlib.sha256(token.encode()).digest()
        if row is None or row[5] is not None:  # unknown or revoked: read fresh every time
            return SecretCheck(secret, self._decoy[0], self._decoy[1], None, digest)
        known = self._verified.get(digest)
        if known is not None and hmac.compare_digest(known, key_id):
            return _key(row[:6])
        return SecretCheck(secret, row[6], row[7], _key(row[:6]), digest)

    def settle(self, check: SecretCheck) -> ApiKey | None:
        """The costly half: one scrypt, whatever the id was."""
        matches = hmac.compare_digest(_hash(check.secret, check.salt), check.expected)
        if not matches or check.key is None:
            return None
        self._verified[check.token_digest] = check.key.id
        return check.key

    def verify(self, token: str) -> ApiKey | None:
        """The active key this token is, or None (malformed, unknown, wrong secret, revoked)."""
        found = self.lookup(token)
        return self.settle(found) if isinstance(found, SecretCheck) else found


def _key(row: tuple[Any, ...]) -> ApiKey:
    key_id, name, scopes, namespaces, created_at, revoked_at = row
    return ApiKey(
        key_id,
        name,
        frozenset(Scope(s) for s in json.loads(scopes)),
        frozenset(json.loads(namespaces)),
        created_at,
        revoked_at,
    )


# the API keys, in the settings' data dir: the one place their file name is written
KEYS_FILE = "keys.sqlite3"


def keys_path(data_dir: Path) -> Path:
    return data_dir / KEYS_FILE


def is_loopback(host: str) -> bool:
    if host.strip("[]").lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def decide_mode(settings: Settings) -> AuthMode:
    """The auth mode to serve with; AuthConfigError when the service must refuse to start.

    Explicit `LKG_AUTH` wins. Unset: required when keys exist; off on a loopback host without
    keys (local use); anything else refuses, since it would be an open service on a network.
    """
    host = settings.host
    if settings.auth is not None:
        return AuthMode(settings.auth)
    path = keys_path(settings.data_dir)
    if path.exists():
        store = KeyStore(path)
        try:
            if store.has_active_keys():
                return AuthMode.REQUIRED
        finally:
            store.close()
    if is_loopback(host):
        return AuthMode.OFF
    raise AuthConfigError(
        f"refusing to serve on {host} without API keys: create one with "
        "`lkg keys create --name NAME --scope ingest --scope read` "
        "(same LKG_DATA_DIR as the service), or set LKG_AUTH=off explicitly to serve "
        "without authentication"
    )


def _lower_priority() -> None:
    """Run this thread at nice 10 (Linux: per thread): under a flood its scrypt checks yield the
    cores to the threads that answer requests. Best effort elsewhere."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


class Guard:
    """What the dependencies need at request time: the mode, the keys and the rate limiter.

    Secret checks (scrypt: ~16 MiB and tens of ms of a core each) run on a pool of
    `secret_checks` threads of their own: a flood of wrong secrets waits there as queued
    callables, holding neither the request thread pool (keys already verified and everything
    else go on) nor more than `secret_checks` x 16 MiB. At most `secret_queue` wait: past that a
    token to check is refused at once (503, Retry-After), so a flood holds no more than that many
    requests open, whatever its size."""

    def __init__(
        self,
        mode: AuthMode,
        keys: KeyStore | None,
        rate_limit: str | None,
        secret_checks: int = 1,
        secret_queue: int = 256,
    ) -> None:
        self.mode = mode
        self.keys = keys
        self.rate: RateLimitItem | None = parse(rate_limit) if rate_limit else None
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self._checks = ThreadPoolExecutor(
            secret_checks, thread_name_prefix="lkg-secret-check", initializer=_lower_priority
        )
        self.checks_waiting = 0  # submitted and not finished: queued or running (tests read it)
        self.secret_queue = secret_queue

    def close(self) -> None:
        self._checks.shutdown(wait=False, cancel_futures=True)
        if self.keys is not None:
            self.keys.close()

    async def authenticate(self, authorization: str | None) -> Principal:
        if self.mode is AuthMode.OFF:
            return ANONYMOUS
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthProblem(
                401,
                "authentication required: send Authorization: Bearer <key>",
                {"WWW-Authenticate": REALM},
            )
        assert self.keys is not None
        found = await run_in_threadpool(self.keys.lookup, token.strip())
        if isinstance(found, SecretCheck):
            if self.checks_waiting >= self.secret_queue:
                raise AuthProblem(
                    503,
                    f"too many API key checks waiting ({self.secret_queue}, "
                    "LKG_AUTH_SECRET_QUEUE): retry shortly",
                    {"Retry-After": "1"},
                )
            self.checks_waiting += 1  # on the event loop: no lock needed
            try:
                future = self._checks.submit(self.keys.settle, found)
                found = await asyncio.wrap_future(future)
            finally:
                self.checks_waiting -= 1
        key = found
        if key is None:
            raise AuthProblem(
                401,
                "the API key is unknown or revoked",
                {"WWW-Authenticate": f'{REALM}, error="invalid_token"'},
            )
        return Principal(key)

    def count(self, principal: Principal) -> None:
        """One request against the key's rate; AuthProblem 429 past it."""
        if self.rate is None or principal.key is None:
            return
        if not self.limiter.hit(self.rate, principal.key.id):
            reset = self.limiter.get_window_stats(self.rate, principal.key.id).reset_time
            wait = max(1, int(reset - datetime.now(UTC).timestamp()) + 1)
            raise AuthProblem(
                429,
                f"rate limit of {self.rate} for key {principal.key.id} exceeded; "
                f"retry in {wait}s (LKG_RATE_LIMIT)",
                {"Retry-After": str(wait)},
            )


def check_scope(principal: Principal, scope: Scope) -> None:
    if not principal.allows(scope):
        raise AuthProblem(
            403,
            f"this key lacks the {scope.value!r} scope",
            {"WWW-Authenticate": f'{REALM}, error="insufficient_scope", scope="{scope.value}"'},
        )


def check_namespaces(principal: Principal, namespaces: Iterable[str]) -> None:
    outside = principal.outside(namespaces)
    if outside:
        assert principal.key is not None
        raise AuthProblem(
            403,
            f"namespace {clip(outside[0])} is outside this key's namespaces "
            f"{sorted(principal.key.namespaces)}"
            + (
                f" (and {len(outside) - 1} more: {', '.join(clip(o) for o in outside[1:4])})"
                if len(outside) > 1
                else ""
            ),
            {},
        )


@cache
def require(scope: Scope) -> Callable[[Request], Awaitable[Principal]]:
    """A FastAPI dependency: the caller, if it may use `scope`; else 401/403/429.

    Cached per scope so FastAPI solves it once per request however many places use it."""

    async def dependency(request: Request) -> Principal:
        guard: Guard = request.app.state.guard
        authorization = request.headers.get("authorization")
        principal = await guard.authenticate(authorization)
        guard.count(principal)
        check_scope(principal, scope)
        request.state.principal = principal
        if scope is Scope.READ:  # a read may ask for a graph holding its writes (LKG-Min-Seq)
            from lineage_kg.api.consistency import read_after

            await read_after(request)
        return principal

    dependency.__name__ = f"require_{scope.value}"
    return dependency


# the callers each kind of endpoint takes (FastAPI dependencies as annotations)
IngestCaller = Annotated[Principal, Depends(require(Scope.INGEST))]
ReadCaller = Annotated[Principal, Depends(require(Scope.READ))]


async def auth_problem_response(request: Request, exc: Exception) -> JSONResponse:
    """The one place auth refusals become HTTP answers (same shape as the other errors)."""
    assert isinstance(exc, AuthProblem)
    return JSONResponse({"error": exc.message}, status_code=exc.status, headers=exc.headers)
