"""A real OpenLineage producer for end-to-end tests: `dbt-ol build` on tests/fixtures/dbt_shop.

`run_dbt_ol` copies the fixture dbt project (seeds, three models, six data tests, on dbt-duckdb)
into a working directory, so a run never writes into the repo, and runs the `dbt-ol` wrapper of
the `openlineage-dbt` package (the `producers` / `test` extras) on it. dbt-ol runs `dbt build`,
then reads dbt's artifacts (manifest.json, run_results.json) and emits its OpenLineage events at
the end of the run through the openlineage-python client, configured here by environment only:

- `url` given: HTTP transport, `OPENLINEAGE_URL=<url>`; the client posts every event to
  `<url>/api/v1/lineage` (its default `OPENLINEAGE_ENDPOINT`), with
  `Authorization: Bearer <api_key>` when `api_key` is given (`OPENLINEAGE_API_KEY`).
- `events_file` given: file transport, `OPENLINEAGE__TRANSPORT__TYPE=file`,
  `OPENLINEAGE__TRANSPORT__LOG_FILE_PATH=<events_file>` and `OPENLINEAGE__TRANSPORT__APPEND=true`:
  one JSON event per line, appended. (Without APPEND the client writes every event to a file of
  its own, `<events_file>-<YYYYmmdd-HHMMSS.ffffff>.json`.)
- both: a composite transport that sends every event to the URL and appends it to the file.

Inherited `OPENLINEAGE*` and `DBT_*` variables are dropped, so a developer's own lineage setup
can't redirect the events. Jobs get the namespace `dbt-shop` (`OPENLINEAGE_NAMESPACE`); datasets
get `duckdb://target/shop.duckdb`, which dbt-ol derives from the `path` of the duckdb profile.

A failed emission (say, the server answered 4xx) does not fail dbt-ol: it logs a warning and
exits with dbt's own return code. Check what the receiver got, not only the return code.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

FIXTURE_PROJECT = Path(__file__).resolve().parents[1] / "fixtures" / "dbt_shop"
JOB_NAMESPACE = "dbt-shop"
# dbt-ol names the dataset namespace after the duckdb `path` in profiles.yml, as written there.
DATASET_NAMESPACE = "duckdb://target/shop.duckdb"

_GENERATED = ("target", "logs", "dbt_packages", "*.duckdb", "*.duckdb.wal", ".user.yml")


def dbt_ol_executable() -> Path:
    """The `dbt-ol` script of the interpreter running the tests (installed by the extras)."""
    path = Path(sys.executable).parent / ("dbt-ol.exe" if os.name == "nt" else "dbt-ol")
    if not path.exists():
        msg = (
            f"dbt-ol not found next to {sys.executable}: "
            "install the producers with `pip install -e '.[test]'` (or '.[producers]')"
        )
        raise FileNotFoundError(msg)
    return path


def copy_project(work_dir: Path) -> Path:
    """Copy the fixture project, without anything a run generates, into `work_dir`."""
    shutil.copytree(
        FIXTURE_PROJECT,
        work_dir,
        ignore=shutil.ignore_patterns(*_GENERATED),
        dirs_exist_ok=True,
    )
    return work_dir


def dbt_ol_env(
    *, url: str | None = None, events_file: Path | None = None, api_key: str | None = None
) -> dict[str, str]:
    """The environment `run_dbt_ol` gives dbt-ol (see the module docstring)."""
    if url is None and events_file is None:
        msg = "give url, events_file or both: without either the client prints events to stdout"
        raise ValueError(msg)
    if api_key is not None and url is None:
        msg = "api_key only applies to the HTTP transport (url)"
        raise ValueError(msg)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENLINEAGE", "DBT_"))} | {
        "OPENLINEAGE_NAMESPACE": JOB_NAMESPACE,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
        # dbt-ol runs `dbt` from PATH: the venv's own, even when the venv is not activated
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    if url is not None and events_file is not None:
        http = "OPENLINEAGE__TRANSPORT__TRANSPORTS__LKG__"
        file = "OPENLINEAGE__TRANSPORT__TRANSPORTS__FILE__"
        env |= {
            "OPENLINEAGE__TRANSPORT__TYPE": "composite",
            f"{http}TYPE": "http",
            f"{http}URL": url,
            f"{http}ENDPOINT": "api/v1/lineage",
            f"{file}TYPE": "file",
            f"{file}LOG_FILE_PATH": str(events_file),
            f"{file}APPEND": "true",
        }
        if api_key is not None:
            env[f"{http}AUTH"] = json.dumps({"type": "api_key", "apiKey": api_key})
    elif url is not None:
        env["OPENLINEAGE_URL"] = url
        if api_key is not None:
            env["OPENLINEAGE_API_KEY"] = api_key
    else:
        env |= {
            "OPENLINEAGE__TRANSPORT__TYPE": "file",
            "OPENLINEAGE__TRANSPORT__LOG_FILE_PATH": str(events_file),
            "OPENLINEAGE__TRANSPORT__APPEND": "true",
        }
    return env


def run_dbt_ol(
    work_dir: Path,
    *,
    url: str | None = None,
    events_file: Path | None = None,
    api_key: str | None = None,
    consume_structured_logs: bool = False,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Copy the fixture project to `work_dir` and run `dbt-ol build` there; output is captured.

    By default dbt-ol emits its events after the run, from dbt's artifacts (14 events for this
    project). `consume_structured_logs=True` passes `--consume-structured-logs`: dbt-ol then
    follows dbt's structured log while it runs and emits far more, differently shaped events
    (one job per node and per SQL statement, seeds included).
    """
    project = copy_project(Path(work_dir))
    command = [
        str(dbt_ol_executable()),
        "build",
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(project),
    ]
    if consume_structured_logs:
        command.append("--consume-structured-logs")
    return subprocess.run(
        command,
        cwd=project,  # the duckdb path in profiles.yml is relative to it
        env=dbt_ol_env(url=url, events_file=events_file, api_key=api_key),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def read_events(events_file: Path) -> list[dict]:
    """The events of a file-transport run, in the order dbt-ol emitted them."""
    with events_file.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
