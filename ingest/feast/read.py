"""Reading a Feast repo: its registry through the Feast CLI, its feature_store.yaml with pyyaml.

The service does not import the Feast SDK (it lives in its own venv, see tests/sources): the
CLI's `registry-dump` prints the whole registry as JSON, which is all we need, and works for
every registry backend the repo is configured with (file, SQL, remote).
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from lineage_kg.ingest.feast.records import RegistryDump, RepoConfig

CLI_TIMEOUT = 300.0


class FeastReadError(RuntimeError):
    """The registry or the repo config could not be read at all (nothing to sync)."""


@dataclass(frozen=True, slots=True)
class FeastRepo:
    """What a sync knows about where the registry came from."""

    dump: RegistryDump
    config: RepoConfig | None  # None: a saved dump without its repo
    repo_dir: Path | None  # relative FileSource paths are relative to it


def read_config(repo_dir: Path) -> RepoConfig:
    path = repo_dir / "feature_store.yaml"
    try:
        # Feast expands ${VAR} in its config; so do we, so the same host names come out
        raw = yaml.safe_load(os.path.expandvars(path.read_text()))
        return RepoConfig.model_validate(raw)
    except (OSError, yaml.YAMLError) as exc:
        raise FeastReadError(f"{path}: {exc}") from exc
    except ValidationError as exc:
        raise FeastReadError(f"{path}: {exc}") from exc


def run_registry_dump(repo_dir: Path, feast: str = "feast") -> dict[str, Any]:
    """`feast -c REPO registry-dump`: the registry as JSON on stdout (warnings on stderr)."""
    env = {**os.environ, "FEAST_USAGE": "False"}
    try:
        done = subprocess.run(
            [feast, "-c", str(repo_dir), "registry-dump"],
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            env=env,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FeastReadError(f"{feast} registry-dump: {exc}") from exc
    if done.returncode != 0:
        raise FeastReadError(
            f"{feast} -c {repo_dir} registry-dump failed ({done.returncode}): "
            f"{done.stderr.strip()[-2000:]}"
        )
    return _json(done.stdout, f"{feast} registry-dump output")


def load_dump(path: Path) -> dict[str, Any]:
    try:
        return _json(path.read_text(), str(path))
    except OSError as exc:
        raise FeastReadError(f"{path}: {exc}") from exc


def _json(text: str, where: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FeastReadError(f"{where}: not JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise FeastReadError(f"{where}: not a registry dump (a JSON object expected)")
    return value


def read_repo(
    repo_dir: Path | None = None, dump_file: Path | None = None, feast: str = "feast"
) -> FeastRepo:
    """A repo's registry (from the CLI, or `dump_file` if given) and config (if `repo_dir`)."""
    if repo_dir is None and dump_file is None:
        raise FeastReadError("give a Feast repo directory or a saved registry dump")
    repo_dir = repo_dir.resolve() if repo_dir else None
    config = read_config(repo_dir) if repo_dir else None
    raw = load_dump(dump_file) if dump_file else run_registry_dump(repo_dir, feast)  # type: ignore[arg-type]
    try:
        dump = RegistryDump.model_validate(raw)
    except ValidationError as exc:
        raise FeastReadError(f"registry dump: {exc}") from exc
    if not dump.project and config is not None:
        dump = dump.model_copy(update={"project": config.project})
    if not dump.project:
        raise FeastReadError("registry dump: project: missing")
    return FeastRepo(dump, config, repo_dir)
