"""Deployments (`lkg sync deployments`) and decisions (`lkg ingest-decisions`) of an estate: each
model's champion serves its decision point from `Estate.deployed_at`, and makes
`decisions_per_point` decisions there afterwards, each with five feature values. Half name the
version that decided, half leave it to the deployment (resolved at query time)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from benchmarks.synthetic.src_models import FEAST_PROJECT, REGISTRY, Estate, iso, view_name

DECISIONS_PER_POINT = 10
FEATURES_PER_DECISION = 5


def deployments_doc(estate: Estate) -> dict[str, Any]:
    return {
        "deployments": [
            {
                "registry": REGISTRY,
                "model": model.name,
                "version": model.champion.version,
                "decision_point": model.decision_point,
                "mode": "champion",
                "traffic": 1.0,
                "valid_from": iso(estate.deployed_at),
            }
            for model in estate.models
        ]
    }


def decision_id(pipeline: int, index: int) -> str:
    return f"d-p{pipeline:05d}-{index:04d}"


def decisions(estate: Estate, per_point: int = DECISIONS_PER_POINT) -> Iterator[dict[str, Any]]:
    rng = random.Random(estate.plan.seed + 4)
    for model in estate.models:
        pool = [(view_name(t), c) for t in model.features for c in t.columns]
        for i in range(per_point):
            at = estate.decisions_from + timedelta(minutes=model.pipeline, seconds=37 * i)
            used = sorted(rng.sample(pool, k=min(FEATURES_PER_DECISION, len(pool))))
            score = round(rng.random(), 4)
            yield {
                "decision_id": decision_id(model.pipeline, i),
                "timestamp": iso(at),
                "decision_point": model.decision_point,
                "registry": REGISTRY,
                "model": model.name,
                **({"version": model.champion.version} if i % 2 == 0 else {}),
                "features": [
                    {
                        "project": FEAST_PROJECT,
                        "view": view,
                        "name": feature,
                        "value": rng.randint(0, 1000) if feature.endswith("0") else f"v{i}",
                    }
                    for view, feature in used
                ],
                "outcome": {"score": score, "action": "approve" if score >= 0.5 else "refer"},
                "request_id": f"req-{decision_id(model.pipeline, i)}",
            }
