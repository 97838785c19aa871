"""MLflow's model registry as a source: registered models, versions, aliases and the training
runs behind them, read over MLflow's REST API (never its database). See docs/sources/mlflow.md."""
