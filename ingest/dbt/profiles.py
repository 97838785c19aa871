"""The dataset namespace of a dbt target, derived from profiles.yml as openlineage-dbt (dbt-ol)
derives it, so dbt-sync datasets and dbt-ol's OpenLineage datasets are the same nodes.

Only the adapters whose namespace is fixed by the OpenLineage naming spec are derived here:
postgres, redshift, snowflake, bigquery and duckdb. Anything else: pass `--namespace`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from lineage_kg.graph.naming import normalise_namespace


class ProfileError(ValueError):
    """The profile can't give a namespace; the message names the file, profile and field."""


def _env_var(name: str, default: str | None = None) -> str:
    if name in os.environ:
        return os.environ[name]
    if default is None:
        raise ProfileError(f"env var {name!r} is needed by profiles.yml but not set")
    return default


def _render(value: Any) -> Any:
    """profiles.yml strings are Jinja templates (`{{ env_var('DB_HOST', 'localhost') }}`)."""
    if isinstance(value, str) and "{" in value:
        from jinja2 import Environment  # dbt's own dependency; only needed for templated values

        env = Environment(autoescape=False)
        env.globals["env_var"] = _env_var
        env.filters["as_number"] = lambda x: x
        env.filters["as_text"] = lambda x: x
        return env.from_string(value).render()
    return value


def snowflake_account(account: str) -> str:
    """Snowflake account as the OpenLineage spec (and dbt-ol) names it: `org-account` as is; an
    account locator with its region and cloud, `xy12345` → `xy12345.us-west-1.aws`."""
    parts = account.lower().split(".")
    if "-" in parts[0]:
        return parts[0]
    if len(parts) == 1:
        return f"{parts[0]}.us-west-1.aws"
    if len(parts) == 2:
        return f"{parts[0]}.{parts[1]}.aws"
    return ".".join(parts)


def target_namespace(output: dict[str, Any]) -> str:
    """One output (target) of a profile → its dataset namespace."""
    get = lambda field: _field(output, field)  # noqa: E731
    kind = str(get("type")).lower()
    match kind:
        case "duckdb":
            return f"duckdb://{get('path')}"
        case "postgres" | "redshift":
            port = output.get("port") or (5432 if kind == "postgres" else 5439)
            return normalise_namespace(f"{kind}://{get('host')}:{_render(port)}")
        case "snowflake":
            return f"snowflake://{snowflake_account(str(get('account')))}"
        case "bigquery":
            return "bigquery"
        case _:
            raise ProfileError(f"type: adapter {kind!r} not derived here; pass --namespace")


def _field(output: dict[str, Any], field: str) -> Any:
    value = _render(output.get(field))
    if value in (None, ""):
        raise ProfileError(f"{field}: missing in the target")
    return value


def profile_namespace(profiles_dir: Path, profile: str | None, target: str | None) -> str:
    """The namespace of `profile` (default: the only one in the file) at `target` (default: the
    profile's own `target`)."""
    path = profiles_dir / "profiles.yml"
    try:
        profiles = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ProfileError(f"{path}: {exc}") from exc
    names = [k for k in profiles if k != "config"]
    if profile is None:
        if len(names) != 1:
            raise ProfileError(f"{path}: {len(names)} profiles ({names}); name one with --profile")
        profile = names[0]
    if profile not in profiles:
        raise ProfileError(f"{path}: no profile {profile!r} (has {names})")
    outputs = profiles[profile].get("outputs") or {}
    target = target or _render(profiles[profile].get("target"))
    if target not in outputs:
        raise ProfileError(f"{path}: profile {profile!r} has no target {target!r}")
    try:
        return target_namespace(outputs[target])
    except ProfileError as exc:
        raise ProfileError(f"{path}: {profile}.outputs.{target}.{exc}") from exc
