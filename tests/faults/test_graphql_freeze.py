"""The GraphQL bounds in a real `lkg serve` (issue 17, "High"): the settings reach the service by
their environment names, and the requests that froze it are answered by the limit they hit while
/healthz keeps answering. The held-at-a-gate conditions are in tests/fuzz/test_graphql_limits.py
(in-process, where a walk can be held); here the whole service is exercised as deployed."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.conftest import ServiceProcess
from tests.fuzz.test_graphql_limits import IMPACT, fragment_chain

HANG = 120  # seconds: a bound on a hang, not a speed requirement


def test_a_served_graphql_request_is_bounded(
    service_factory: Callable[..., ServiceProcess],
) -> None:
    service = service_factory(
        LKG_DEMO="true", LKG_GRAPHQL_MAX_BODY_BYTES="8192", LKG_MAX_REQUEST_NODES="40"
    ).start()
    url = f"{service.url}/graphql"
    fifteen = "{ " + " ".join(f"a{i}: {IMPACT[2:-2]}" for i in range(15)) + " }"
    heavy = [{"query": fragment_chain(150)}, {"query": fifteen}]
    with ThreadPoolExecutor(max_workers=len(heavy)) as pool:
        answers = [pool.submit(httpx.post, url, json=body, timeout=HANG) for body in heavy]
        assert httpx.get(f"{service.url}/healthz", timeout=HANG).status_code == 200
        spread, walks = (a.result(timeout=HANG).json() for a in answers)
    assert any("fragments are spread (limit 5,000)" in e["message"] for e in spread["errors"])
    assert {e["extensions"]["code"] for e in walks["errors"]} == {"TRAVERSAL_BUDGET_EXCEEDED"}

    big = httpx.post(url, json={"query": "{ version }", "variables": {"v": "x" * 9000}})
    assert big.status_code == 413
    assert "LKG_GRAPHQL_MAX_BODY_BYTES" in big.text
    for body in (b'"hello"', b"12", b"\xff\xfe", b'{"query": "{ version }", "variables": '
                 + b"[" * 3_000 + b"]" * 3_000 + b"}"):  # fmt: skip
        answer = httpx.post(url, content=body, headers={"content-type": "application/json"})
        assert answer.status_code == 400, (body[:20], answer.text)
