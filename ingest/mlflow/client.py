"""A thin client of MLflow's REST API (`/api/2.0/mlflow/...`): paging, retries, a request count.

Only the reads the sync needs. Transient failures (connection errors, 429, 5xx) are retried by
tenacity; a missing object (`RESOURCE_DOES_NOT_EXIST`) is `NotFound`, never retried.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Self

import httpx
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from lineage_kg.ingest.mlflow.records import (
    ApiExperiment,
    ApiLoggedModel,
    ApiModelVersion,
    ApiRegisteredModel,
    ApiRun,
)


class MlflowApiError(RuntimeError):
    """The tracking server refused or failed a request (after retries, if it was transient)."""


class NotFound(MlflowApiError):
    """The object asked for does not exist (MLflow error code RESOURCE_DOES_NOT_EXIST)."""


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, httpx.TransportError):
        return True
    return isinstance(exc, httpx.HTTPStatusError) and (
        exc.response.status_code == 429 or exc.response.status_code >= 500
    )


class MlflowRestClient:
    def __init__(
        self,
        tracking_uri: str,
        *,
        page_size: int = 100,
        timeout: float = 30,
        attempts: int = 4,
    ) -> None:
        self.page_size = page_size
        self.requests = 0  # every HTTP request sent, retries included
        self._retrying = Retrying(
            retry=retry_if_exception(_transient),
            stop=stop_after_attempt(attempts),
            wait=wait_exponential(multiplier=0.2, max=5),
            reraise=True,
        )
        self._http = httpx.Client(
            base_url=tracking_uri.rstrip("/") + "/api/2.0/mlflow/",
            timeout=timeout,
            event_hooks={"request": [self._count]},
        )

    def _count(self, _: httpx.Request) -> None:
        self.requests += 1

    def _get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            return self._retrying(self._send, path, params)  # type: ignore[no-any-return]
        except (httpx.HTTPError, ValueError) as exc:  # ValueError: a body that is not JSON
            raise MlflowApiError(f"GET {path}: {exc}") from exc

    def _send(self, path: str, params: dict[str, Any] | None) -> dict[str, Any]:
        response = self._http.get(path, params=params)
        if response.status_code >= 400:
            error = _error_of(response)
            if error.get("error_code") == "RESOURCE_DOES_NOT_EXIST" or response.status_code == 404:
                raise NotFound(str(error.get("message") or f"GET {path}: not found"))
            if response.status_code < 500 and response.status_code != 429:
                raise MlflowApiError(f"GET {path}: {response.status_code} {error or response.text}")
        response.raise_for_status()
        body = response.json()
        if not isinstance(body, dict):
            raise MlflowApiError(f"GET {path}: expected a JSON object")
        return body

    def _pages(self, path: str, key: str) -> Iterator[dict[str, Any]]:
        token: str | None = None
        while True:
            params: dict[str, Any] = {"max_results": self.page_size}
            if token:
                params["page_token"] = token
            body = self._get(path, params)
            yield from body.get(key) or []
            token = body.get("next_page_token")
            if not token:
                return

    # ---- the reads ----------------------------------------------------------------------
    def registered_models(self) -> Iterator[ApiRegisteredModel]:
        for item in self._pages("registered-models/search", "registered_models"):
            yield ApiRegisteredModel.model_validate(item)

    def model_versions(self) -> Iterator[ApiModelVersion]:
        for item in self._pages("model-versions/search", "model_versions"):
            yield ApiModelVersion.model_validate(item)

    def run(self, run_id: str) -> ApiRun:
        return ApiRun.model_validate(self._get("runs/get", {"run_id": run_id})["run"])

    def experiment(self, experiment_id: str) -> ApiExperiment:
        body = self._get("experiments/get", {"experiment_id": experiment_id})
        return ApiExperiment.model_validate(body["experiment"])

    def logged_model(self, model_id: str) -> ApiLoggedModel:
        """An MLflow 3 logged model; NotFound on servers before MLflow 3 as well."""
        return ApiLoggedModel.model_validate(self._get(f"logged-models/{model_id}")["model"])

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _error_of(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
