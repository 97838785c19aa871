"""API keys: hashed at rest, verified in constant time, revoked at once; scopes, namespaces,
the auth mode decision and the per-key rate limit."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from lineage_kg.api.auth import (
    ANONYMOUS,
    AuthConfigError,
    AuthMode,
    AuthProblem,
    Guard,
    KeyStore,
    Principal,
    Scope,
    check_namespaces,
    check_scope,
    decide_mode,
    is_loopback,
    keys_path,
    split_token,
)
from lineage_kg.ingest.openlineage.reach import declared_namespaces
from lineage_kg.settings import Settings


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    store = KeyStore(keys_path(tmp_path))
    yield store
    store.close()


def test_the_secret_is_shown_once_and_only_its_hash_is_stored(keys: KeyStore) -> None:
    key, token = keys.create("airflow", [Scope.INGEST])
    prefix, key_id, secret = token.split("_", 2)
    assert (prefix, key_id) == ("lkg", key.id)
    assert len(secret) >= 40
    raw = keys.path.read_bytes() + keys.path.with_name(keys.path.name + "-wal").read_bytes()
    assert secret.encode() not in raw
    assert token.encode() not in raw
    row = keys._db.execute("SELECT hash, salt FROM api_keys").fetchone()
    assert len(row[0]) == 32 and len(row[1]) == 16


def test_verify_accepts_the_key_and_nothing_near_it(keys: KeyStore) -> None:
    key, token = keys.create("airflow", [Scope.INGEST, Scope.READ], ["airflow"])
    found = keys.verify(token)
    assert found is not None
    assert (found.id, found.name, found.scopes) == (key.id, "airflow", {Scope.INGEST, Scope.READ})
    assert found.namespaces == {"airflow"}
    assert keys.verify(token) == found  # second time from the in-memory check
    assert keys.verify(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert keys.verify(f"lkg_{key.id}_") is None
    assert keys.verify("lkg_0000000000000000_" + token.split("_", 2)[2]) is None
    assert keys.verify("not-a-key") is None
    assert keys.verify("") is None


def test_two_keys_never_verify_as_each_other(keys: KeyStore) -> None:
    a, token_a = keys.create("a", [Scope.READ])
    b, token_b = keys.create("b", [Scope.INGEST])
    swapped = f"lkg_{a.id}_{token_b.split('_', 2)[2]}"
    assert keys.verify(token_a).id == a.id
    assert keys.verify(token_b).id == b.id
    assert keys.verify(swapped) is None


def test_revoke_takes_effect_on_the_next_check_even_after_a_verified_one(
    keys: KeyStore, tmp_path: Path
) -> None:
    key, token = keys.create("ci", [Scope.INGEST])
    assert keys.verify(token) is not None
    other = KeyStore(keys_path(tmp_path))  # the CLI's own connection, as in production
    revoked = other.revoke(key.id)
    other.close()
    assert revoked is not None and revoked.revoked_at
    assert keys.verify(token) is None
    assert keys.revoke("no-such-id") is None
    assert [k.id for k in keys.list_keys()] == [key.id]
    assert keys.list_keys(include_revoked=False) == []
    assert not keys.has_active_keys()


def test_a_key_needs_a_scope_and_a_name(keys: KeyStore) -> None:
    with pytest.raises(ValueError, match="scopes"):
        keys.create("x", [])
    with pytest.raises(ValueError, match="name"):
        keys.create("  ", [Scope.READ])
    with pytest.raises(ValueError):
        keys.create("x", ["write"])  # type: ignore[list-item]


def test_split_token_keeps_underscores_in_the_secret() -> None:
    assert split_token("lkg_abc_def_ghi") == ("abc", "def_ghi")
    assert split_token("lkg_abc") is None
    assert split_token("xyz_abc_def") is None


def test_scopes_admin_implies_all(keys: KeyStore) -> None:
    reader = Principal(keys.create("r", [Scope.READ])[0])
    admin = Principal(keys.create("a", [Scope.ADMIN])[0])
    check_scope(reader, Scope.READ)
    with pytest.raises(AuthProblem) as refused:
        check_scope(reader, Scope.INGEST)
    assert refused.value.status == 403
    assert "'ingest'" in refused.value.message
    assert 'scope="ingest"' in refused.value.headers["WWW-Authenticate"]
    for scope in Scope:
        check_scope(admin, scope)
        check_scope(ANONYMOUS, scope)


def test_namespaces_limit_writes_and_compare_normalised(keys: KeyStore) -> None:
    limited = Principal(keys.create("shop", [Scope.INGEST], ["shop", "postgres://db:5432"])[0])
    anywhere = Principal(keys.create("any", [Scope.INGEST])[0])
    check_namespaces(limited, ["shop", "postgres://db:5432", "postgres://db"])  # default port
    with pytest.raises(AuthProblem) as refused:
        check_namespaces(limited, ["shop", "finance", "hr", "finance"])
    assert refused.value.status == 403
    assert "'finance'" in refused.value.message and "'hr'" in refused.value.message
    check_namespaces(anywhere, ["finance"])
    check_namespaces(ANONYMOUS, ["finance"])


def test_event_namespaces_cover_job_datasets_and_parent_only_as_strings() -> None:
    event = {
        "job": {"namespace": "airflow", "name": "j"},
        "inputs": [{"namespace": "pg://a", "name": "t"}, {"namespace": 7}, "junk"],
        "outputs": [{"namespace": "s3://b", "name": "o"}],
        "run": {"facets": {"parent": {"job": {"namespace": "scheduler", "name": "dag"}}}},
    }
    assert declared_namespaces(event) == [
        ("job.namespace", "airflow"),
        ("inputs[0].namespace", "pg://a"),
        ("outputs[0].namespace", "s3://b"),
        ("run.facets.parent.job.namespace", "scheduler"),
    ]
    assert declared_namespaces({"dataset": {"namespace": "kafka://k", "name": "t"}}) == [
        ("dataset.namespace", "kafka://k")
    ]
    assert declared_namespaces(["not", "an", "event"]) == []
    assert declared_namespaces({"job": "x", "inputs": {"a": 1}, "run": []}) == []


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("127.0.0.2", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.1.2.3", False),
        ("lineage.example.com", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_decide_mode(tmp_path: Path) -> None:
    def mode(**values: object) -> AuthMode:
        return decide_mode(Settings(data_dir=tmp_path, **values))

    assert mode(host="127.0.0.1") is AuthMode.OFF
    with pytest.raises(AuthConfigError, match="lkg keys create") as refused:
        mode(host="0.0.0.0")
    assert "LKG_AUTH=off" in str(refused.value)
    assert mode(host="0.0.0.0", auth="off") is AuthMode.OFF
    assert mode(host="127.0.0.1", auth="required") is AuthMode.REQUIRED
    store = KeyStore(keys_path(tmp_path))
    key, _ = store.create("k", [Scope.READ])
    assert mode(host="0.0.0.0") is AuthMode.REQUIRED
    assert mode(host="127.0.0.1") is AuthMode.REQUIRED  # keys exist: they count
    store.revoke(key.id)
    store.close()
    assert mode(host="127.0.0.1") is AuthMode.OFF


def test_settings_reject_a_bad_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LKG_RATE_LIMIT", "lots")
    with pytest.raises(ValueError, match="rate_limit"):
        Settings()
    monkeypatch.setenv("LKG_RATE_LIMIT", "off")
    assert Settings().rate_limit is None
    monkeypatch.setenv("LKG_AUTH", "maybe")
    with pytest.raises(ValueError, match="auth"):
        Settings()


def test_guard_authenticates_bearer_keys(keys: KeyStore) -> None:
    guard = Guard(AuthMode.REQUIRED, keys, None)

    def authenticate(header: str | None, on: Guard = guard) -> Principal:
        # a loop of its own, on a thread of its own: the browser tests' session-wide
        # sync_playwright keeps an event loop running on the main thread
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, on.authenticate(header)).result()

    _, token = keys.create("k", [Scope.READ])
    assert authenticate(f"Bearer {token}").key is not None
    assert authenticate(f"bearer  {token} ").key is not None
    for header in (None, "", "Bearer ", f"Basic {token}", token):
        with pytest.raises(AuthProblem) as missing:
            authenticate(header)
        assert missing.value.status == 401
        assert missing.value.headers["WWW-Authenticate"].startswith("Bearer")
    with pytest.raises(AuthProblem) as unknown:
        authenticate("Bearer lkg_00_nope")
    assert 'error="invalid_token"' in unknown.value.headers["WWW-Authenticate"]
    assert authenticate(None, Guard(AuthMode.OFF, None, None)) is ANONYMOUS


def test_rate_limit_counts_per_key_and_says_when_to_retry(keys: KeyStore) -> None:
    guard = Guard(AuthMode.REQUIRED, keys, "3/minute")
    a = Principal(keys.create("a", [Scope.READ])[0])
    b = Principal(keys.create("b", [Scope.READ])[0])
    for _ in range(3):
        guard.count(a)
    with pytest.raises(AuthProblem) as limited:
        guard.count(a)
    assert limited.value.status == 429
    assert 1 <= int(limited.value.headers["Retry-After"]) <= 61
    assert "3 per 1 minute" in limited.value.message
    guard.count(b)  # another key has its own budget
    for _ in range(10):
        guard.count(ANONYMOUS)  # auth off: nothing to count against
