"""Clear failures (issue 18 §5): a refused setting is one line naming it as it is set, its value
and what is allowed, exit 2; an unreachable store is one line, exit 1; the store's first contact
is bounded by LKG_STORE_CONNECT_TIMEOUT, and the service's store may open before Neo4j answers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from neo4j.exceptions import ServiceUnavailable
from pydantic import ValidationError

from lineage_kg.graph import neo4j_store
from lineage_kg.graph.store import StoreUnavailable
from lineage_kg.runtime import Runtime
from lineage_kg.settings import Settings, env_name, settings_error_line

LKG = Path(sys.executable).with_name("lkg")  # as tests/conftest.py finds it


def _refusal(**kwargs: Any) -> str:
    with pytest.raises(ValidationError) as refused:
        Settings(**kwargs)
    return settings_error_line(refused.value)


@pytest.mark.parametrize(
    ("env", "kwargs", "named", "allowed"),
    [
        ({}, {"port": 99999}, "LKG_PORT=99999", "less than or equal to 65535"),
        ({"LKG_PORT": "abc"}, {}, "LKG_PORT='abc'", "valid integer"),
        ({"LKG_AUTH": "maybe"}, {}, "LKG_AUTH='maybe'", "'required' or 'off'"),
        ({"LKG_RATE_LIMIT": "lots"}, {}, "LKG_RATE_LIMIT='lots'", "not a rate like"),
        ({"LKG_STORE_CONNECT_TIMEOUT": "0"}, {}, "LKG_STORE_CONNECT_TIMEOUT='0'", "greater than 0"),
        ({"LKG_NEO4J_POOL_SIZE": "0"}, {}, "LKG_NEO4J_POOL_SIZE='0'", "greater than or equal to 1"),
    ],
)
def test_a_refused_setting_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    kwargs: dict[str, Any],
    named: str,
    allowed: str,
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    line = _refusal(**kwargs)
    assert "\n" not in line
    assert named in line and allowed in line, line


def test_every_error_is_named_and_secrets_are_not_repeated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LKG_PORT", "abc")
    monkeypatch.setenv("LKG_AUTH", "maybe")
    line = _refusal(neo4j_password=12345)
    assert "LKG_PORT=" in line and "LKG_AUTH=" in line and "NEO4J_PASSWORD=***" in line
    assert "12345" not in line


def _probe(default: object) -> tuple[str, object] | None:
    """A value other than the default, as the environment spells it and as the setting holds it."""
    if isinstance(default, bool):
        return str(not default).lower(), not default
    if isinstance(default, int | float):
        return str(default + 1), default + 1
    if isinstance(default, Path):
        return "/tmp/probe-dir", Path("/tmp/probe-dir")
    if isinstance(default, str) or default is None:
        return "probe-value", "probe-value"
    return None  # a secret: its value is never printed anyway


def test_the_name_printed_is_the_variable_that_sets_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each setting's printed name, set in the environment, changes that setting (checked by
    setting it, not by re-deriving the name)."""
    checked = 0
    for field, info in Settings.model_fields.items():
        probe = _probe(info.default)
        if probe is None:
            continue
        text, held = probe
        with monkeypatch.context() as patch:
            patch.setenv(env_name(field), text)
            try:
                value = getattr(Settings(), field)
            except ValidationError:  # not a value this setting takes (a Literal, a rate)
                continue
        assert value == held, (field, env_name(field), value)
        checked += 1
    assert checked >= len(Settings.model_fields) // 2  # most settings were probed
    assert env_name("NEO4J_USER") == "NEO4J_USER"  # pydantic reports aliased fields by alias


def _lkg(args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LKG_", "NEO4J_"))}
    return subprocess.run(
        [str(LKG), *args],
        env={**clean, "LKG_DATA_DIR": str(tmp_path / "data"), **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,  # a hang, not a measurement
    )


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["serve", "--port", "99999"], {}, "LKG_PORT=99999"),
        (["serve"], {"LKG_PORT": "abc"}, "LKG_PORT='abc'"),
        (["stats"], {"LKG_AUTH": "maybe"}, "LKG_AUTH='maybe'"),
    ],
)
def test_the_cli_refuses_a_setting_in_one_line(
    tmp_path: Path, args: list[str], env: dict[str, str], named: str
) -> None:
    done = _lkg(args, env, tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], done.stderr
    assert "Traceback" not in done.stderr and not done.stdout.strip()


def test_the_cli_fails_in_one_line_on_an_unreachable_neo4j(tmp_path: Path) -> None:
    port = _closed_port()
    uri = f"bolt://127.0.0.1:{port}"
    for args, prefix in ((["stats"], "store unavailable"), (["impact", "x"], "failed")):
        done = _lkg(args, {"NEO4J_URI": uri}, tmp_path)
        assert done.returncode == 1, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith(prefix) and uri in lines[0], lines


def _closed_port() -> int:
    import socket

    with socket.socket() as s:  # bound, then closed: nothing listens there
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---- the first contact, on a driver that never reaches a server ----------------------------
class _UnreachableDriver:
    """What `GraphDatabase.driver` returns, for a Neo4j that does not answer until told to."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.reachable = False
        self.schema: list[str] = []
        self.closed = False

    def verify_connectivity(self) -> None:
        if not self.reachable:
            raise ServiceUnavailable("Couldn't connect\nto 127.0.0.1:1 (reason refused)")

    def execute_query(self, statement: str, **_: Any) -> None:
        if not self.reachable:
            raise ServiceUnavailable("Couldn't connect")
        self.schema.append(statement)

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def drivers(monkeypatch: pytest.MonkeyPatch) -> list[_UnreachableDriver]:
    made: list[_UnreachableDriver] = []

    def driver(uri: str, **config: Any) -> _UnreachableDriver:
        made.append(_UnreachableDriver(config))
        return made[-1]

    monkeypatch.setattr(neo4j_store.GraphDatabase, "driver", driver)
    return made


def _settings(tmp_path: Path, timeout: float) -> Settings:
    return Settings(
        data_dir=tmp_path, store_connect_timeout=timeout, **{"NEO4J_URI": "bolt://127.0.0.1:1"}
    )


def test_the_connect_timeout_setting_bounds_the_first_contact(
    tmp_path: Path, drivers: list[_UnreachableDriver]
) -> None:
    with Runtime.open(_settings(tmp_path, 1.5)) as runtime, pytest.raises(StoreUnavailable) as no:
        runtime.store  # noqa: B018 - opening is the act under test
    (driver,) = drivers
    assert driver.config["connection_timeout"] == 1.5
    assert driver.config["max_transaction_retry_time"] == 1.5  # the schema's retries too
    assert driver.closed  # a store that did not open leaves no pool behind
    assert "\n" not in str(no.value) and "127.0.0.1:1" in str(no.value)


def test_the_service_opens_the_store_before_neo4j_answers(
    tmp_path: Path, drivers: list[_UnreachableDriver]
) -> None:
    with Runtime.open(_settings(tmp_path, 2.0), start_without_store=True) as runtime:
        store = runtime.store  # no exception: the service starts without it
        (driver,) = drivers
        assert not driver.closed and driver.schema == []
        with pytest.raises(StoreUnavailable):
            store.stats()  # a read tries the first contact again, and says unavailable
        driver.reachable = True
        store._ensure_contact()  # what the next read or write does first
        assert driver.schema == list(neo4j_store.SCHEMA)
        store._ensure_contact()  # made once
        assert driver.schema == list(neo4j_store.SCHEMA)
