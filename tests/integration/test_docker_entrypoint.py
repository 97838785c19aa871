"""The Docker path without Docker (issue 18 §1): the container's command, read from
docker/Dockerfile (ENTRYPOINT + CMD, the files its COPY puts there), run with the environment the
Dockerfile and docker/compose.yaml set. Only what exists outside a container is changed: the
volume (LKG_DATA_DIR) is a temporary folder, the published port a free one, and compose's
`neo4j` host a port where nothing listens (so the stack is tested as it first starts: Neo4j not
answering yet). The compose file is checked by parsing it."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from lineage_kg.api.auth import KeyStore, keys_path
from lineage_kg.settings import Settings, env_name

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "docker" / "Dockerfile"
COMPOSE = ROOT / "docker" / "compose.yaml"
EVENTS = ROOT / "tests" / "fixtures" / "dbt_shop_events.ndjson"
KEY_LINE = re.compile(r"^LKG_API_KEY=(lkg_[0-9a-f]+_[A-Za-z0-9_-]+)$", re.M)
PATIENCE = 180.0  # a bound on waiting for a condition on a loaded machine, not a measurement
STARTED = "Application startup complete."  # uvicorn's, logged before it serves


# ---- reading the two files --------------------------------------------------------------------
def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = (line.strip() for line in text.splitlines())
    return [
        (word.upper(), rest.strip())
        for word, _, rest in (line.partition(" ") for line in lines if line and line[0] != "#")
    ]


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for word, args in dockerfile():
        if word == "ENV":
            env.update(pair.split("=", 1) for pair in shlex.split(args))
    return env


def _exec_form(word: str) -> list[str]:
    (args,) = [args for w, args in dockerfile() if w == word]
    return json.loads(args)


def image_command() -> list[str]:
    """ENTRYPOINT + CMD as this machine runs them: a file the Dockerfile copies in is the
    repository's file; `python` is this interpreter (the image's has the package installed)."""
    copied = {}
    for word, args in dockerfile():
        if word == "COPY":
            source, destination = shlex.split(args)[-2:]
            copied[destination] = str(ROOT / source)
    command = _exec_form("ENTRYPOINT") + _exec_form("CMD")
    return [sys.executable if c == "python" else copied.get(c, c) for c in command]


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def _interpolate(value: str) -> str:
    """Compose's `${VAR:-default}`, as it reads with VAR unset."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(value))


def service_env() -> dict[str, str]:
    env = compose()["services"]["lineage-kg"]["environment"]
    return {k: _interpolate(v) for k, v in env.items()}


def healthcheck_url(test: list[str]) -> str:
    (url,) = re.findall(r"http://[^'\"]+", " ".join(test))
    return url


# ---- the compose file ------------------------------------------------------------------------
def test_compose_has_healthchecks_restart_policies_and_a_consistent_environment() -> None:
    services = compose()["services"]
    service, env, image = services["lineage-kg"], service_env(), image_env()
    for name, spec in services.items():
        assert spec.get("restart") in {"always", "unless-stopped", "on-failure"}, name
        assert spec["healthcheck"]["test"][0] in {"CMD", "CMD-SHELL"}, name
    port = int(env.get("LKG_PORT", image["LKG_PORT"]))
    probe = urlsplit(healthcheck_url(service["healthcheck"]["test"]))
    assert (probe.port, probe.path) == (port, "/healthz")
    # the Dockerfile's own HEALTHCHECK asks the same
    (args,) = [args for word, args in dockerfile() if word == "HEALTHCHECK"]
    assert healthcheck_url([args]) == probe.geturl()
    assert [int(p.split(":")[-1]) for p in service["ports"]] == [port]
    volume_targets = [v.split(":")[1] for v in service["volumes"]]
    assert env.get("LKG_DATA_DIR", image["LKG_DATA_DIR"]) in volume_targets
    # every variable set names a setting (a typo would be ignored silently)
    known = {env_name(field) for field in Settings.model_fields}
    assert set(env) | set(image) <= known, (set(env) | set(image)) - known
    # the service reaches the neo4j service on the port it listens on, with its password
    neo4j = urlsplit(env["NEO4J_URI"])
    assert neo4j.hostname in services and neo4j.hostname != "lineage-kg"
    assert f"{neo4j.port}:{neo4j.port}" in services[neo4j.hostname]["ports"]
    user, _, password = _interpolate(
        services[neo4j.hostname]["environment"]["NEO4J_AUTH"]
    ).partition("/")
    assert (env["NEO4J_USER"], env["NEO4J_PASSWORD"]) == (user, password)
    assert service["depends_on"][neo4j.hostname]["condition"] == "service_healthy"
    # the settings the two files give are valid settings
    Settings(**{**image, **env})


# ---- the container's command, run here -------------------------------------------------------
def _closed_port() -> int:
    with socket.socket() as s:  # bound, then closed: nothing listens there
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Container:
    """The image's command with the image's and compose's environment, on this machine."""

    def __init__(self, data_dir: Path) -> None:
        self.port = _closed_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LKG_", "NEO4J_"))}
        env.update(image_env())
        env.update(service_env())
        neo4j = urlsplit(env["NEO4J_URI"])
        env.update(
            LKG_DATA_DIR=str(data_dir),  # the volume
            LKG_PORT=str(self.port),  # the published port
            NEO4J_URI=f"{neo4j.scheme}://127.0.0.1:{_closed_port()}",  # no `neo4j` host here
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        )
        self.env = env
        self.url = f"http://127.0.0.1:{self.port}"
        self.output: list[str] = []
        self.proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """A one-off command in the container (`docker compose run --rm lineage-kg …`)."""
        command = image_command()[: len(_exec_form("ENTRYPOINT"))] + list(args)
        return subprocess.run(
            command, env=self.env, capture_output=True, text=True, check=False, timeout=PATIENCE
        )

    def start(self) -> Container:
        self.output.clear()
        self.proc = subprocess.Popen(
            image_command(),
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._drain, args=(self.proc,), daemon=True)
        self._reader.start()
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail("the container's command exited:\n" + "".join(self.output))
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("no answer on /healthz:\n" + "".join(self.output))
        # answering proves the startup line was written, after anything the entrypoint printed
        # (one pipe, in order); the reader thread may not have read that far yet: wait until it
        # has, so what the test reads of the output is whole up to there
        while not any(STARTED in line for line in self.output):
            if time.monotonic() > deadline:
                pytest.fail(f"no {STARTED!r} in the output:\n" + "".join(self.output))
            time.sleep(0.05)
        return self

    def _drain(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.output.append(line)

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # what `docker stop` sends
            try:
                self.proc.wait(PATIENCE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        code = self.proc.wait()
        # the process is gone, but its last lines may still be in the pipe: read to the end
        if self._reader is not None:
            self._reader.join(PATIENCE)
            assert not self._reader.is_alive(), "the output never ended"
        return code

    def keys_printed(self) -> list[str]:
        return KEY_LINE.findall("".join(self.output))

    def healthcheck(self) -> int:
        """The compose healthcheck's command, as Docker runs it inside the container."""
        test = compose()["services"]["lineage-kg"]["healthcheck"]["test"]
        assert test[0] == "CMD"
        published = f":{image_env()['LKG_PORT']}/"
        command = [sys.executable if c == "python" else c for c in test[1:]]
        command = [c.replace(published, f":{self.port}/") for c in command]
        return subprocess.run(
            command, capture_output=True, check=False, timeout=PATIENCE
        ).returncode


@pytest.fixture
def container(tmp_path: Path) -> Iterator[Container]:
    made = Container(tmp_path / "volume")
    yield made
    if made.proc is not None:
        made.stop()


def _all_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def test_first_start_makes_one_admin_key_prints_it_once_and_serves_with_it(
    container: Container, tmp_path: Path
) -> None:
    container.start()
    (key,) = container.keys_printed()
    assert "".join(container.output).count(key) == 1  # never logged twice
    # the README's step 2 finds it: its grep pattern picks that line alone
    docker = (ROOT / "README.md").read_text().split("## Docker", 1)[1].split("\n## ", 1)[0]
    (pattern,) = re.findall(r"logs lineage-kg \| grep (\S+)", docker)
    assert [line for line in container.output if pattern in line] == [f"LKG_API_KEY={key}\n"]
    assert container.healthcheck() == 0
    ready = httpx.get(f"{container.url}/readyz", timeout=30)
    assert ready.status_code == 503 and container.env["NEO4J_URI"] in ready.json()["error"]
    # on 0.0.0.0 with a key: auth is required, and the printed key is an admin's
    assert httpx.get(f"{container.url}/api/v1/events/x", timeout=30).status_code == 401
    bearer = {"Authorization": f"Bearer {key}"}
    authorized = httpx.get(f"{container.url}/api/v1/events/x", headers=bearer, timeout=30)
    assert authorized.status_code == 404
    event = json.loads(EVENTS.read_text().splitlines()[0])
    posted = httpx.post(f"{container.url}/api/v1/lineage", json=event, headers=bearer, timeout=30)
    assert posted.status_code in (200, 201), posted.text  # into the log while Neo4j is away
    # `docker stop`: a clean shutdown, then the process ends by the signal (uvicorn re-raises it)
    assert container.stop() == -signal.SIGTERM
    assert "Application shutdown complete" in "".join(container.output)
    # stored hashed only: the secret is in no file of the volume
    volume = Path(container.env["LKG_DATA_DIR"])
    assert key.encode() not in _all_bytes(volume)
    assert key.rsplit("_", 1)[1].encode() not in _all_bytes(volume)

    # the next start finds the key: nothing new, nothing printed, the same key works
    container.start()
    assert container.keys_printed() == [] and key not in "".join(container.output)
    fetched = httpx.get(
        f"{container.url}/api/v1/events/{event['run']['runId']}-x", headers=bearer, timeout=30
    )
    assert fetched.status_code == 404  # authorized (an unknown id), not 401
    listed = json.loads(container.run("lkg", "keys", "list", "--json").stdout)
    assert [(k["name"], k["scopes"]) for k in listed] == [("bootstrap-admin", ["admin"])]


def test_a_key_made_before_the_first_start_means_no_bootstrap_key(container: Container) -> None:
    made = container.run("lkg", "keys", "create", "--name", "me", "--scope", "read")
    assert made.returncode == 0, made.stderr
    container.start()
    assert container.keys_printed() == []
    listed = json.loads(container.run("lkg", "keys", "list", "--json").stdout)
    assert [k["name"] for k in listed] == ["me"]


# ---- the bootstrap itself --------------------------------------------------------------------
@pytest.fixture
def entrypoint() -> ModuleType:
    (script,) = [c for c in image_command() if c.endswith(".py")]
    spec = importlib.util.spec_from_file_location("lkg_entrypoint", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _active_keys(data_dir: Path) -> int:
    if not keys_path(data_dir).exists():
        return 0
    keys = KeyStore(keys_path(data_dir))
    try:
        return len(keys.list_keys(include_revoked=False))
    finally:
        keys.close()


def test_bootstrap_only_when_a_key_is_needed(
    entrypoint: ModuleType,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("LKG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LKG_AUTH", "off")  # explicitly open: no key
    assert entrypoint.bootstrap() == 0 and _active_keys(tmp_path) == 0
    monkeypatch.setenv("LKG_AUTH", "required")  # required and none yet: one
    assert entrypoint.bootstrap() == 0 and _active_keys(tmp_path) == 1
    assert len(KEY_LINE.findall(capsys.readouterr().out)) == 1
    assert entrypoint.bootstrap() == 0 and _active_keys(tmp_path) == 1  # not again
    assert capsys.readouterr().out == ""
    monkeypatch.setenv("LKG_AUTH", "maybe")  # a refused setting: one line, exit 2
    assert entrypoint.bootstrap() == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "LKG_AUTH='maybe'" in lines[0]
