"""The model registry of the value-chain world, made with MLflow's own client (runs on
.venv-sources): `python seed_mlflow_world.py TRACKING_URI`.

Two training runs of credit-risk read the warehouse's feature table. The baseline names the
snapshot the ETL wrote (digest = the OpenLineage dataset version `2026-11-20`); the tuned run names
it by MLflow's own content digest, a version no OpenLineage producer reported (the trace must
resolve its writer by time). MLflow has no resolver for a Postgres source, so the input is logged
as MLflow's Dataset entity with a `postgres` source type and a `uri`, as a custom DatasetSource
would. Both versions use the Feast service risk/credit_model_v1;
v1 is registered first, v2 becomes champion. Prints the run ids and versions as JSON.
"""

from __future__ import annotations

import importlib.metadata
import json
import sys
import warnings

_entry_points = importlib.metadata.entry_points


def _without_feast_headers(**params: str) -> importlib.metadata.EntryPoints:
    """Skip Feast's MLflow header plugin: importing it loads all of Feast (10+ s)."""
    found = _entry_points(**params)
    if params.get("group") == "mlflow.request_header_provider":
        return importlib.metadata.EntryPoints(e for e in found if not e.value.startswith("feast."))
    return found


importlib.metadata.entry_points = _without_feast_headers  # type: ignore[assignment]

import mlflow  # noqa: E402
import pandas as pd  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Dataset, DatasetInput, InputTag  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

warnings.filterwarnings("ignore")
MODEL = "credit-risk"
SNAPSHOT = "2026-11-20"
CONTENT_DIGEST = "8f2b1c9d"  # MLflow's digest of the data it saw: no OpenLineage version
FEATURES_URI = "postgresql://db/analytics?table=features.customer_spend"
SCHEMA = {
    "mlflow_colspec": [
        {"type": "double", "name": "total_spend", "required": True},
        {"type": "long", "name": "order_count", "required": True},
    ]
}


def train(client: MlflowClient, run_name: str, c: float, digest: str) -> tuple[str, str]:
    df = pd.DataFrame(
        {"total_spend": [155.5, 95.25, 210.0, 12.0], "order_count": [2, 2, 1, 1], "y": [0, 1, 0, 1]}
    )
    with mlflow.start_run(run_name=run_name) as run:
        mlflow.log_params({"C": c, "max_iter": 200})
        mlflow.log_metric("val_auc", 0.8 + c / 100)
        features = Dataset(
            name="customer_spend",
            digest=digest,
            source_type="postgres",
            source=json.dumps({"uri": FEATURES_URI}),
            schema=json.dumps(SCHEMA),
        )
        context = InputTag("mlflow.data.context", "training")
        client.log_inputs(run.info.run_id, [DatasetInput(features, [context])])
        model = LogisticRegression(C=c, max_iter=200).fit(
            df[["total_spend", "order_count"]], df["y"]
        )
        logged = mlflow.sklearn.log_model(model, name="model", pip_requirements=["scikit-learn"])
        return run.info.run_id, logged.model_id


def main() -> None:
    uri = sys.argv[1]
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    mlflow.set_experiment("credit-risk-training")
    client.create_registered_model(
        MODEL, tags={"owner": "team:ml-risk"}, description="Probability of default."
    )
    runs, versions = [], []
    for name, c, digest in (("baseline", 1.0, SNAPSHOT), ("tuned", 0.5, CONTENT_DIGEST)):
        run_id, model_id = train(client, name, c, digest)
        mv = mlflow.register_model(f"models:/{model_id}", MODEL)
        client.set_model_version_tag(
            MODEL, mv.version, "feast.feature_service", "risk/credit_model_v1"
        )
        runs.append(run_id)
        versions.append(mv.version)
    client.set_registered_model_alias(MODEL, "champion", versions[1])
    print(json.dumps({"runs": runs, "versions": versions}))


if __name__ == "__main__":
    main()
