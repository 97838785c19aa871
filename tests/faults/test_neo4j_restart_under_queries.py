"""Neo4j restarted while two clients keep asking impact questions over GraphQL: while it is gone
each query fails cleanly (HTTP 200 with a GraphQL error that has a path and says the store is
unavailable; no 500, no "internal error", no request left hanging) and, once it is back, the
same queries answer again. A server of its own, since this test restarts it.

Every step waits for a state, not for a time: the kill is followed by failed answers seen, the
restart by whole answers seen, each wait bounded and failing with what it saw."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Self

import httpx
import pytest

from tests.faults.load import run_event
from tools.neo4j_server import LocalNeo4j

IMPACT = """query($ref: NodeRef!) {
  impact(ref: $ref, depth: 3) { summary { total } edges { node { node { id } } } }
}"""
REF = {"kind": "Dataset", "namespace": "load", "name": "ds-0"}
QUERY_TIMEOUT = 5.0  # LKG_NEO4J_QUERY_TIMEOUT for the service
HANG = 120.0  # a request unanswered this long is hung: a bound, not a speed expectation
PATIENCE = 240.0  # for a state to be reached at all


class Askers:
    """Clients asking the same question in a loop; each answer is (when, status, body)."""

    def __init__(self, url: str, clients: int = 2) -> None:
        self.answers: list[tuple[float, int, dict]] = []
        self.no_answer: list[str] = []  # transport errors: a hung or dropped request
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._ask, args=(url,)) for _ in range(clients)]

    def _ask(self, url: str) -> None:
        with httpx.Client(base_url=url, timeout=HANG) as client:
            while not self._stop.is_set():
                try:
                    response = client.post(
                        "/graphql", json={"query": IMPACT, "variables": {"ref": REF}}
                    )
                except httpx.TransportError as exc:
                    self.no_answer.append(repr(exc))
                    continue
                self.answers.append((time.monotonic(), response.status_code, response.json()))

    def __enter__(self) -> Self:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(HANG + 10)
        assert not any(t.is_alive() for t in self._threads), "a client never got its answer"

    def since(self, moment: float) -> list[dict]:
        return [body for at, _, body in list(self.answers) if at > moment]

    def wait_for(self, what: str, holds: Callable[[], bool]) -> None:
        deadline = time.monotonic() + PATIENCE
        while not holds():
            if time.monotonic() > deadline:
                tail = [body for _, _, body in self.answers[-3:]]
                pytest.fail(f"never saw {what} within {PATIENCE:.0f}s; last answers: {tail}")
            time.sleep(0.05)


@pytest.mark.neo4j
@pytest.mark.timeout(600)
def test_queries_fail_cleanly_while_neo4j_restarts_and_recover(
    service_factory: Callable, tmp_path: Path
) -> None:
    with LocalNeo4j(data_dir=tmp_path / "neo4j") as neo4j:
        service = service_factory(
            NEO4J_URI=neo4j.uri,
            NEO4J_USER=neo4j.user,
            NEO4J_PASSWORD=neo4j.password,
            LKG_NEO4J_QUERY_TIMEOUT=str(QUERY_TIMEOUT),
        ).start()
        httpx.post(
            f"{service.url}/api/v1/lineage/bulk", json=[run_event(i) for i in range(200)]
        ).raise_for_status()
        status = service.wait_projected(timeout=PATIENCE)
        assert status["lag"] == 0, status
        expected = _baseline(service.url)
        assert expected > 0

        with Askers(service.url) as askers:
            askers.wait_for("a whole answer", lambda: bool(askers.answers))
            neo4j.kill()  # as abrupt as it gets
            killed = time.monotonic()
            askers.wait_for(
                "two failed answers while Neo4j was down",
                lambda: sum("errors" in b for b in askers.since(killed)) >= 2,
            )
            neo4j.start()  # returns once Bolt accepts the password
            restarted = time.monotonic()
            askers.wait_for(
                "three whole answers in a row after the restart",
                lambda: (
                    len(last := askers.since(restarted)[-3:]) == 3
                    and all("errors" not in b for b in last)
                ),
            )

        answers = askers.answers
        failed = [body for _, _, body in answers if "errors" in body]
        assert askers.no_answer == []
        assert {status for _, status, _ in answers} == {200}
        for body in failed:
            for error in body["errors"]:
                # the service's log says which exception it was, if one ever slips through again
                assert error["message"] != "internal error", (error, "".join(service.output[-80:]))
                assert error["path"] == ["impact"], error
                assert error["extensions"]["code"] == "STORE_UNAVAILABLE", error
        # recovered: a new question gets the whole answer it got before the restart (asked as
        # the baseline was: with a 5-s query timeout, one ask on a loaded machine may still
        # answer STORE_UNAVAILABLE, as it should; any other error fails at once)
        assert _baseline(service.url) == expected
        print(
            f"neo4j restart under queries: {len(answers)} queries, {len(failed)} failed cleanly, "
            "5xx=0, internal errors=0"
        )


def _baseline(url: str) -> int:
    """The answer before any restart. With a 5-s query timeout a saturated machine can answer
    STORE_UNAVAILABLE (as it should) before Neo4j has warmed up (ci13: the baseline's first ask
    did): ask until it answers, within PATIENCE; any other error fails at once."""
    deadline = time.monotonic() + PATIENCE
    while True:
        body = httpx.post(
            f"{url}/graphql", json={"query": IMPACT, "variables": {"ref": REF}}, timeout=60
        ).json()
        errors = body.get("errors") or []
        if not errors:
            return int(body["data"]["impact"]["summary"]["total"])
        codes = {e.get("extensions", {}).get("code") for e in errors}
        assert codes == {"STORE_UNAVAILABLE"}, body
        assert time.monotonic() < deadline, f"no answer within {PATIENCE}s: {body}"
        time.sleep(0.5)
