"""The ML side of a plan, decided once so every source file names the same things: one model per
pipeline, trained on that pipeline's features tables, its feature views and service, the
decision point it serves and the KPI that decision point drives; and one timeline.

Timeline (all after the OpenLineage runs that wrote the features the models read):
catalog `as_of` = the first event; training runs `TRAIN_AFTER` past the last pipeline's runs;
the registry exported; deployments an hour later; decisions after that.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from benchmarks.synthetic.events import START, version_of
from benchmarks.synthetic.plan import Job, Plan, Table

FEAST_PROJECT = "synthetic"
REGISTRY = "mlflow"
ENTITY, JOIN_KEY = "customer", "customer_id"
TRAIN_AFTER = timedelta(days=2)  # re-runs come a day after a pipeline's first run


@dataclass(frozen=True, slots=True)
class ModelVersionPlan:
    version: str
    run_id: str
    model_id: str  # the MLflow 3 logged model registered as this version
    trained_at: datetime
    registered_at: datetime


@dataclass(frozen=True, slots=True)
class ModelPlan:
    pipeline: int
    name: str  # registered model
    team: str
    owner: str  # the person answering for it (business owner of its decision point)
    features: tuple[Table, ...]  # the features-layer tables it is trained on
    data_versions: tuple[str, ...]  # the version of each it read (the last write)
    versions: tuple[ModelVersionPlan, ...]
    experiment_id: str

    @property
    def prefix(self) -> str:
        return f"p{self.pipeline:05d}"

    @property
    def experiment(self) -> str:
        return f"/models/{self.name}"

    @property
    def decision_point(self) -> str:
        return f"decide-{self.prefix}"

    @property
    def kpi(self) -> str:
        return f"kpi-{self.prefix}"

    @property
    def feature_service(self) -> str:
        return f"{self.name}-features"

    @property
    def champion(self) -> ModelVersionPlan:
        return self.versions[-1]

    @property
    def challenger(self) -> ModelVersionPlan:
        return self.versions[-2]


def view_name(table: Table) -> str:
    """`p00003/features/t0_1.parquet` → `p00003_t0_1`."""
    prefix, _, file = table.name.split("/")
    return f"{prefix}_{file.removesuffix('.parquet')}"


def stable_hex(*parts: object, length: int = 32) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:length]


@dataclass(frozen=True, slots=True)
class Estate:
    """A plan with its models and the one timeline every source file follows."""

    plan: Plan
    models: tuple[ModelPlan, ...]

    @property
    def trained_from(self) -> datetime:
        return START + timedelta(minutes=10 * self.plan.pipelines) + TRAIN_AFTER

    @property
    def catalog_as_of(self) -> datetime:
        return START

    @property
    def exported_at(self) -> datetime:
        """After every version was registered (training at most `pipelines` minutes + 4 h in)."""
        return self.trained_from + timedelta(minutes=self.plan.pipelines, hours=5)

    @property
    def deployed_at(self) -> datetime:
        return self.exported_at + timedelta(hours=1)

    @property
    def decisions_from(self) -> datetime:
        return self.deployed_at + timedelta(hours=1)


def make_estate(plan: Plan) -> Estate:
    rng = random.Random(plan.seed + 2)
    features: dict[int, list[Table]] = {}
    for table in plan.layer("features"):
        features.setdefault(table.pipeline, []).append(table)
    writers: dict[str, Job] = {t.qualified: j for j in plan.jobs for t in j.outputs}
    trained_from = START + timedelta(minutes=10 * plan.pipelines) + TRAIN_AFTER
    models = []
    for pipeline, tables in sorted(features.items()):
        name = f"model-p{pipeline:05d}"
        versions = []
        for v in range(1, rng.choice((2, 3)) + 1):
            trained = trained_from + timedelta(minutes=pipeline, hours=v)
            versions.append(
                ModelVersionPlan(
                    str(v),
                    stable_hex(plan.seed, name, v, "run"),
                    "m-" + stable_hex(plan.seed, name, v, "model"),
                    trained,
                    trained + timedelta(minutes=25),
                )
            )
        team = tables[0].team
        models.append(
            ModelPlan(
                pipeline=pipeline,
                name=name,
                team=team,
                owner=rng.choice(plan.people[team]),
                features=tuple(tables),
                # the last write of each table: its writer's last run
                data_versions=tuple(version_of(t, writers[t.qualified].runs - 1) for t in tables),
                versions=tuple(versions),
                experiment_id=str(100 + pipeline),
            )
        )
    return Estate(plan, tuple(models))


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)
