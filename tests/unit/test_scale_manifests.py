"""The deployment files of docs/scale.md (issue 21) hold together without Docker or a cluster:
docker/compose.scale.yaml and docs/k8s/*.yaml parse; every lineage-kg container's environment
names only real settings and is accepted by `Settings` as a whole (so LKG_PROJECTOR=group comes
with a Kafka log, `off` with a shared Neo4j); the roles are as the docs draw them (3 API replicas
that never write the graph, 2 projector candidates in one group); the k8s Service sends traffic
to the API replicas only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices

from lineage_kg.settings import Settings, env_name

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker" / "compose.scale.yaml"
K8S = sorted((ROOT / "docs" / "k8s").glob("*.yaml"))
PREFIXES = ("LKG_", "NEO4J_")  # what the service reads (Settings: env_prefix and aliases)


def setting_names() -> set[str]:
    names = set()
    for name, field in Settings.model_fields.items():
        names.add(env_name(name))
        if isinstance(field.validation_alias, AliasChoices):
            names |= {c for c in field.validation_alias.choices if isinstance(c, str)}
    return names


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def lkg_services() -> dict[str, dict[str, str]]:
    """compose service -> its environment (anchors merged), for the lineage-kg containers."""
    services = compose()["services"]
    return {
        name: {k: str(v) for k, v in s["environment"].items()}
        for name, s in services.items()
        if "build" in s and "Dockerfile" in s["build"]["dockerfile"]
    }


def k8s_docs() -> Iterator[dict[str, Any]]:
    for path in K8S:
        yield from (d for d in yaml.safe_load_all(path.read_text()) if d)


def k8s_containers() -> dict[str, dict[str, str]]:
    """Deployment -> its container's environment: the ConfigMaps it takes, then its own env
    (a value from a Secret stands as a placeholder)."""
    config_maps = {d["metadata"]["name"]: d["data"] for d in k8s_docs() if d["kind"] == "ConfigMap"}
    found = {}
    for d in k8s_docs():
        if d["kind"] != "Deployment":
            continue
        (container,) = d["spec"]["template"]["spec"]["containers"]
        env: dict[str, str] = {}
        for source in container.get("envFrom", []):
            env |= {k: str(v) for k, v in config_maps[source["configMapRef"]["name"]].items()}
        for var in container.get("env", []):
            env[var["name"]] = str(var["value"]) if "value" in var else "from-a-secret"
        found[d["metadata"]["name"]] = env
    return found


def environments() -> dict[str, dict[str, str]]:
    return {
        **{f"compose:{k}": v for k, v in lkg_services().items()},
        **{f"k8s:{k}": v for k, v in k8s_containers().items()},
    }


def test_the_files_parse_and_hold_what_the_docs_draw() -> None:
    assert K8S, "docs/k8s holds the Kubernetes example"
    kinds = sorted(d["kind"] for d in k8s_docs())
    assert kinds == ["ConfigMap", "Deployment", "Deployment", "Service"]
    assert {"kafka", "neo4j"} <= set(compose()["services"])


def test_every_variable_set_is_a_real_setting() -> None:
    known = setting_names()
    for where, env in environments().items():
        ours = {k for k in env if k.startswith(PREFIXES)}
        assert ours, where
        assert ours <= known, f"{where}: not settings: {sorted(ours - known)}"


@pytest.mark.parametrize("where", sorted(environments()))
def test_each_container_environment_is_accepted_whole(
    where: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import os

    for name in list(os.environ):
        if name.startswith(PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no lkg.toml or .env of the repository's
    for name, value in environments()[where].items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LKG_DATA_DIR", str(tmp_path / "data"))
    settings = Settings()
    assert settings.log and settings.log.startswith("kafka://")
    assert settings.neo4j_uri  # one shared graph


def roles(envs: dict[str, dict[str, str]]) -> list[str]:
    return sorted(env.get("LKG_PROJECTOR", "on") for env in envs.values())


def test_compose_runs_three_api_replicas_and_two_projector_candidates() -> None:
    services = lkg_services()
    assert roles(services) == ["group", "group", "off", "off", "off"]
    groups = {e["LKG_PROJECTOR_GROUP"] for e in services.values() if e["LKG_PROJECTOR"] == "group"}
    assert len(groups) == 1  # both candidates in one group: one lease
    # each replica its own data dir (its local copy of the topic)
    volumes = [tuple(s["volumes"]) for n, s in compose()["services"].items() if n in services]
    assert len(set(volumes)) == len(volumes)
    # only API replicas publish the API
    published = {n for n, s in compose()["services"].items() if n in services and s.get("ports")}
    assert published == {n for n, e in services.items() if e["LKG_PROJECTOR"] == "off"}


def test_k8s_runs_api_replicas_and_two_candidates_and_serves_only_the_api() -> None:
    deployments = {d["metadata"]["name"]: d for d in k8s_docs() if d["kind"] == "Deployment"}
    env = k8s_containers()
    by_role = {env[name].get("LKG_PROJECTOR", "on"): d for name, d in deployments.items()}
    assert set(by_role) == {"off", "group"}
    assert by_role["off"]["spec"]["replicas"] >= 2
    assert by_role["group"]["spec"]["replicas"] == 2
    (service,) = [d for d in k8s_docs() if d["kind"] == "Service"]
    selector = service["spec"]["selector"].items()

    def selected(d: dict[str, Any]) -> bool:
        return selector <= d["spec"]["template"]["metadata"]["labels"].items()

    assert selected(by_role["off"]) and not selected(by_role["group"])
    for d in deployments.values():  # a Deployment's selector matches its own pods
        assert d["spec"]["selector"]["matchLabels"].items() <= (
            d["spec"]["template"]["metadata"]["labels"].items()
        )
