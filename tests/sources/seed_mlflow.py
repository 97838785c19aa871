"""Create MLflow data the way its users do, for the MLflow sync tests (runs on .venv-sources).

    python seed_mlflow.py TRACKING_URI seed            # experiment, 2 runs, model credit-risk v1+v2
    python seed_mlflow.py TRACKING_URI move-champion   # alias champion: v1 → v2
    python seed_mlflow.py TRACKING_URI add-orphan      # a version whose source run is gone

Prints one JSON object with the ids it made (run ids, versions) on its last line.
"""

from __future__ import annotations

import json
import sys
import warnings

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.data.delta_dataset_source import DeltaDatasetSource
from mlflow.data.meta_dataset import MetaDataset
from mlflow.types import ColSpec, Schema
from sklearn.linear_model import LogisticRegression

warnings.filterwarnings("ignore")

MODEL = "credit-risk"
EXPERIMENT = "credit-risk-training"
ORDERS_S3 = "s3://lake/analytics/orders/"
FEATURES_DELTA = "analytics.features.customer_features"


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "income": [52_000.0, 31_000.0, 87_000.0, 45_000.0],
            "debt_ratio": [0.31, 0.62, 0.12, 0.45],
            "defaulted": [0, 1, 0, 1],
        }
    )


def train(run_name: str, c: float, inputs: list[tuple[mlflow.data.Dataset, str]]) -> tuple[str, str]:
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
        logged = mlflow.sklearn.log_model(model, name="model")
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


def main() -> None:
    uri, step = sys.argv[1], sys.argv[2]
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    if step == "seed":
        out = seed(client)
    elif step == "move-champion":
        client.set_registered_model_alias(MODEL, "champion", "2")
        out = {"champion": "2"}
    elif step == "add-orphan":
        # a version whose source run no longer exists: registered, then the run deleted for good
        mlflow.set_experiment("scratch")
        with mlflow.start_run() as run:
            mlflow.log_param("C", 2.0)
        client.create_registered_model("orphan-model")
        mv = client.create_model_version("orphan-model", f"runs:/{run.info.run_id}/model",
                                         run_id=run.info.run_id)  # fmt: skip
        client.delete_run(run.info.run_id)
        out = {"run": run.info.run_id, "version": mv.version}
    else:
        raise SystemExit(f"unknown step {step!r}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
