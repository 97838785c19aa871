"""One seeded call writes a whole synthetic estate: the OpenLineage events and the files every
other source sync reads, all naming the same tables, columns, teams and models.

    OUT/events.ndjson          OpenLineage RunEvents, one a line (`lkg ingest`, or POST them)
    OUT/catalog/owners.yaml    teams and people            } `lkg sync catalog`
    OUT/catalog/kpis.yaml      KPIs and decision points    }
    OUT/feast/registry.json    `feast registry-dump` JSON  (`lkg sync feast --dump`)
    OUT/mlflow/export.json     MLflow REST objects         (`lkg sync mlflow --dump`)
    OUT/deployments.yaml       champion deployments        (`lkg sync deployments`)
    OUT/decisions.ndjson       decisions                   (`lkg ingest-decisions`)
    OUT/manifest.json          seed, counts, sizes and sample query starts

The same (nodes, seed) writes byte-identical files.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from benchmarks.synthetic.events import run_events
from benchmarks.synthetic.plan import Plan, make_plan
from benchmarks.synthetic.src_catalog import kpis_doc, owners_doc
from benchmarks.synthetic.src_feast import registry_dump
from benchmarks.synthetic.src_mlflow import mlflow_export
from benchmarks.synthetic.src_models import make_estate
from benchmarks.synthetic.src_serving import DECISIONS_PER_POINT, decisions, deployments_doc
from lineage_kg.graph.model import NodeKey, NodeKind
from lineage_kg.graph.naming import column_key, dataset_key

EVENTS = "events.ndjson"
OWNERS = "catalog/owners.yaml"
KPIS = "catalog/kpis.yaml"
FEAST = "feast/registry.json"
MLFLOW = "mlflow/export.json"
DEPLOYMENTS = "deployments.yaml"
DECISIONS = "decisions.ndjson"
MANIFEST = "manifest.json"
# sample query starts in the manifest
IMPACT_RAW, IMPACT_LATTICE, ROOT_CAUSE = 200, 50, 50

Progress = Callable[[str], None]


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _write_lines(path: Path, items: Iterable[Any]) -> int:
    n = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for item in items:
            out.write(_compact(item) + "\n")
            n += 1
    return n


def _write_yaml(path: Path, doc: dict[str, Any]) -> None:
    path.write_text(yaml.safe_dump(doc, sort_keys=False, width=100), encoding="utf-8")


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    path.write_text(_compact(doc) + "\n", encoding="utf-8")


def _column_ids(plan: Plan, layer: str, name_part: str = "") -> list[str]:
    return [
        column_key(dataset_key(t.namespace, t.name), c).id
        for t in plan.layer(layer)
        if name_part in t.name
        for c in t.columns
    ]


def _sample(rng: random.Random, items: list[str], k: int) -> list[str]:
    return sorted(rng.sample(items, k=min(k, len(items))))


def generate(
    out_dir: Path,
    nodes: int,
    seed: int = 7,
    *,
    decisions_per_point: int = DECISIONS_PER_POINT,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Write the estate of about `nodes` graph nodes into `out_dir`; return the manifest."""
    say = progress or (lambda _: None)
    say("planning")
    plan = make_plan(nodes, seed)
    estate = make_estate(plan)
    for sub in ("catalog", "feast", "mlflow"):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)

    say("writing OpenLineage events")
    events = _write_lines(out_dir / EVENTS, run_events(plan))
    say("writing source files")
    owners, kpis = owners_doc(estate), kpis_doc(estate)
    _write_yaml(out_dir / OWNERS, owners)
    _write_yaml(out_dir / KPIS, kpis)
    feast = registry_dump(estate)
    _write_json(out_dir / FEAST, feast)
    mlflow = mlflow_export(estate)
    _write_json(out_dir / MLFLOW, mlflow)
    deployments = deployments_doc(estate)
    _write_yaml(out_dir / DEPLOYMENTS, deployments)
    written = list(decisions(estate, decisions_per_point))
    _write_lines(out_dir / DECISIONS, written)

    rng = random.Random(seed + 5)
    counts = {
        EVENTS: {"events": events},
        OWNERS: {"teams": len(owners["teams"]), "people": len(owners["people"])},
        KPIS: {"kpis": len(kpis["kpis"]), "decision_points": len(kpis["decision_points"])},
        FEAST: {
            "feature_views": len(feast["featureViews"]),
            "feature_services": len(feast["featureServices"]),
        },
        MLFLOW: {
            "registered_models": len(mlflow["registered_models"]),
            "model_versions": len(mlflow["model_versions"]),
            "runs": len(mlflow["runs"]),
        },
        DEPLOYMENTS: {"deployments": len(deployments["deployments"])},
        DECISIONS: {"decisions": len(written)},
    }
    largest = plan.largest_team
    manifest = {
        "seed": seed,
        "target_nodes": nodes,
        "pipelines": plan.pipelines,
        "tables": len(plan.tables),
        "jobs": len(plan.jobs),
        "files": {
            name: {**count, "bytes": (out_dir / name).stat().st_size}
            for name, count in counts.items()
        },
        "samples": {
            "impact_raw_columns": _sample(rng, _column_ids(plan, "raw"), IMPACT_RAW),
            "impact_lattice_columns": _sample(
                rng, _column_ids(plan, "lattice", ".lattice.l00_"), IMPACT_LATTICE
            ),
            "root_cause_decisions": _sample(rng, [d["decision_id"] for d in written], ROOT_CAUSE),
            "accountability_owner": largest,
            "accountability_owner_node": NodeKey.of(NodeKind.OWNER, owner_id=largest).id,
        },
    }
    _write_json(out_dir / MANIFEST, manifest)
    say("done")
    return manifest
