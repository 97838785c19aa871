"""schemathesis against the app's own OpenAPI document (`/openapi.json`), in-process over ASGI:
every REST operation, with inputs generated from its documented schema (valid and invalid),
answers without a 5xx."""

from __future__ import annotations

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


@settings(
    max_examples=300,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
def test_rest_api_never_answers_5xx(client: TestClient, data: st.DataObject) -> None:
    # `client` (tests/fuzz/conftest.py) runs the app's lifespan; schemathesis calls the same app
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/v1/lineage", "/api/v1/lineage/bulk"}
    operation = data.draw(st.sampled_from(operations))
    case = data.draw(operation.as_strategy())
    response = case.call()
    assert response.status_code < 500, (case.method, case.path, response.text[:300])
