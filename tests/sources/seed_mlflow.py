"""Create MLflow data the way its users do, for the MLflow sync tests (runs on .venv-sources).

    python seed_mlflow.py TRACKING_URI seed            # experiment, 2 runs, model credit-risk v1+v2
    python seed_mlflow.py TRACKING_URI add-bad         # model scorecard: a missing run, a bad input

Prints one JSON object with the ids it made (run ids, versions) on its last line.
"""

from __future__ import annotations

import importlib.metadata
import json
import sys
import warnings

_entry_points = importlib.metadata.entry_points


def _without_feast_headers(**params: str) -> importlib.metadata.EntryPoints:
    """Feast registers an MLflow request-header plugin whose import loads all of Feast (10+ s per
    process); this plain MLflow server needs no Feast headers, so that one plugin is left out."""
    found = _entry_points(**params)
    if params.get("group") == "mlflow.request_header_provider":
        return importlib.metadata.EntryPoints(e for e in found if not e.value.startswith("feast."))
    return found


importlib.metadata.entry_points = _without_feast_headers  # type: ignore[assignment]

import mlflow  # noqa: E402
import pandas as pd  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from mlflow.data.delta_dataset_source import DeltaDatasetSource  # noqa: E402
from mlflow.data.meta_dataset import MetaDataset  # noqa: E402
from mlflow.entities import Dataset, DatasetInput, InputTag  # noqa: E402
from mlflow.types import ColSpec, Schema  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

warnings.filterwarnings("ignore")

MODEL = "credit-risk"
EXPERIMENT = "credit-risk-training"
ORDERS_S3 = "s3://lake/analytics/orders/"
FEATURES_DELTA = "analytics.features.customer_features"
GONE_RUN = "0123456789abcdef0123456789abcdef"  # never created


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "income": [52_000.0, 31_000.0, 87_000.0, 45_000.0],
            "debt_ratio": [0.31, 0.62, 0.12, 0.45],
            "defaulted": [0, 1, 0, 1],
        }
    )


def train(
    run_name: str, c: float, inputs: list[tuple[mlflow.data.Dataset, str]]
) -> tuple[str, str]:
    """One training run: params, metrics over steps, dataset inputs, a logged sklearn model."""
    df = frame()
    with mlflow.start_run(run_name=run_name) as run:
        mlflow.log_params({"C": c, "max_iter": 200, "solver": "lbfgs"})
        for step, auc in enumerate([0.70, 0.78, 0.81 + c / 100]):
            mlflow.log_metric("val_auc", auc, step=step)
        mlflow.log_metric("train_loss", 0.42)
        for dataset, context in inputs:
            mlflow.log_input(dataset, context=context)
        mlflow.set_tag("team", "risk")
        model = LogisticRegression(C=c, max_iter=200).fit(
            df[["income", "debt_ratio"]], df["defaulted"]
        )
        # explicit requirements: inferring them runs a subprocess per model (tens of seconds)
        logged = mlflow.sklearn.log_model(model, name="model", pip_requirements=["scikit-learn"])
        return run.info.run_id, logged.model_id


def seed(client: MlflowClient) -> dict[str, object]:
    mlflow.set_experiment(EXPERIMENT)
    orders = mlflow.data.from_pandas(frame(), source=ORDERS_S3, name="orders")
    features = MetaDataset(
        source=DeltaDatasetSource(delta_table_name=FEATURES_DELTA, delta_table_version=3),
        name="customer_features",
        schema=Schema([ColSpec("double", "income"), ColSpec("double", "debt_ratio")]),
    )
    in_code = mlflow.data.from_pandas(frame(), name="holdout")  # source: the code, no table
    run1, model1 = train("baseline", 1.0, [(orders, "training")])
    run2, model2 = train("tuned", 0.5, [(orders, "training"), (features, "training"),
                                        (in_code, "validation")])  # fmt: skip
    client.create_registered_model(
        MODEL,
        tags={"owner": "Risk-Team@Example.com", "domain": "credit"},
        description="Probability of default for new credit applications.",
    )
    versions = []
    for model_id, note in ((model1, "baseline"), (model2, "tuned C")):
        mv = mlflow.register_model(f"models:/{model_id}", MODEL)
        client.update_model_version(MODEL, mv.version, description=f"{note} logistic regression")
        client.set_model_version_tag(MODEL, mv.version, "feast.feature_service",
                                     "credit_scoring/credit_risk_v1")  # fmt: skip
        versions.append(mv.version)
    client.set_registered_model_alias(MODEL, "champion", versions[0])
    return {"runs": [run1, run2], "models": [model1, model2], "versions": versions}


def add_bad(client: MlflowClient) -> dict[str, object]:
    """Model `scorecard`: v1 names a source run that does not exist (the registry takes any run
    id), v2's run logged one good input and one whose source is not JSON."""
    client.create_registered_model("scorecard")
    orphan = client.create_model_version("scorecard", "s3://models/scorecard/1", run_id=GONE_RUN)
    mlflow.set_experiment("scorecard-training")
    with mlflow.start_run() as run:
        mlflow.log_param("bins", 10)
        good = mlflow.data.from_pandas(frame(), source="s3://lake/scorecard/applicants/",
                                       name="applicants")  # fmt: skip
        mlflow.log_input(good, context="training")
        broken = Dataset(name="bureau", digest="0badc0de", source_type="s3", source="s3://not-json")
        context = InputTag("mlflow.data.context", "training")
        client.log_inputs(run.info.run_id, [DatasetInput(broken, [context])])
    second = client.create_model_version("scorecard", f"runs:/{run.info.run_id}/model",
                                         run_id=run.info.run_id)  # fmt: skip
    return {"versions": [orphan.version, second.version], "run": run.info.run_id}


def main() -> None:
    uri, step = sys.argv[1], sys.argv[2]
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    if step == "seed":
        out = seed(client)
    elif step == "add-bad":
        out = add_bad(client)
    else:
        raise SystemExit(f"unknown step {step!r}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
