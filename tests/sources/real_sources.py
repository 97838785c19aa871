"""The real source systems of the end-to-end tests: an `mlflow server` and the Feast CLI.

Both live in `.venv-sources` (made by `make test` from tests/sources/requirements.txt; another
venv with `LKG_SOURCES_VENV`), apart from the service's own venv: see the requirements file.
Scripts that create source data (MLflow runs, Feast repos) run on that venv's Python, so they
use the sources' own client libraries exactly as their users do.

A missing sources venv is a test failure with the command that makes it, never a skip.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def sources_venv() -> Path:
    return Path(os.environ.get("LKG_SOURCES_VENV", REPO / ".venv-sources"))


def source_tool(name: str) -> Path:
    """An executable of the sources venv (`python`, `mlflow`, `feast`); fails if it is missing."""
    path = sources_venv() / "bin" / name
    if not path.exists():
        msg = f"{path} not found: run `make .venv-sources/.done` (part of `make test`)"
        raise FileNotFoundError(msg)
    return path


def run_source_python(
    script: Path, *args: str, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run a helper script on the sources venv's Python; raise with its output if it fails."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env |= {"MLFLOW_ENABLE_ASYNC_LOGGING": "false", "DO_NOT_TRACK": "1", "FEAST_USAGE": "False"}
    done = subprocess.run(
        [str(source_tool("python")), str(script), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        msg = f"{script.name} {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-4000:]}"
        raise RuntimeError(msg)
    return done


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class MlflowServer:
    url: str
    backend: Path
    process: subprocess.Popen[bytes]


@contextmanager
def mlflow_server(work_dir: Path, timeout: float = 600) -> Iterator[MlflowServer]:
    """A real `mlflow server` on loopback: SQLite backend, local artifacts, a random port.
    `timeout` bounds a hang only: its start (imports, migrations, a worker) took minutes on a
    loaded machine (test_mlflow_sync's set-up: 137 s at load 8-20, ci32)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    port, backend = free_port(), work_dir / "mlflow.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    # no background job runner (huey workers for scheduled scoring and trace archival): nothing
    # here uses it, and it ignored SIGTERM, so every stop waited out the 20 s grace below
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    log_file = (work_dir / "mlflow-server.log").open("wb")
    process = subprocess.Popen(
        [
            str(source_tool("mlflow")),
            "server",
            "--backend-store-uri",
            f"sqlite:///{backend}",
            "--artifacts-destination",
            str(work_dir / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        cwd=work_dir,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"mlflow server exited ({process.returncode}): "
                    + (work_dir / "mlflow-server.log").read_text()[-3000:]
                )
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"mlflow server not up in {timeout}s")
            time.sleep(0.5)
        yield MlflowServer(url, backend, process)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, 15)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait()
        log_file.close()
