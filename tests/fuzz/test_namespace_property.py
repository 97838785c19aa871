"""Property: whatever an event names, a key confined to ns-a changes nothing outside ns-a.

Events rich in every part of the spec a namespace or a name can hide in (job, run, parent and
root, inputs, outputs, DatasetEvent and JobEvent datasets, symlinks identifiers, column lineage
input fields and dataset-wide inputs, a RENAME's previous identifier, ownership, schema and tag
fields, the SQL query, versions) get one to four of their string fields replaced by ns-b names
(its namespace, spelled as producers do, its datasets, its job, its run id), and are sent by the
ns-a key, alone or in a bulk request. Answered 403 or accepted, the graph outside ns-a (the ns-b
seed; any new node in another namespace) is the same once the projector has applied the log.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as tally
from hypothesis import strategies as st

from tests.fuzz.confinement import (
    NS_A,
    NS_B,
    PRODUCER,
    RUN_B,
    Confined,
    Graph,
    changes_outside,
    confined_service,
    with_changes,
)

PROPERTY = settings(
    max_examples=100,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _dataset(name: str, *, output: bool) -> dict[str, Any]:
    facets: dict[str, Any] = {
        "schema": {"fields": [{"name": "id", "type": "string"}, {"name": "v", "type": "int"}]},
        "symlinks": {"identifiers": [{"namespace": NS_A, "name": f"{name}.t", "type": "TABLE"}]},
        "ownership": {"owners": [{"name": "user:ann@a.example", "type": "OWNER"}]},
        "documentation": {"description": f"{name} of a"},
        "dataSource": {"name": NS_A, "uri": f"{NS_A}://db"},
        "tags": {"tags": [{"key": "pii", "value": "yes", "field": "id"}]},
        "version": {"datasetVersion": "7"},
    }
    if output:
        facets["columnLineage"] = {
            "fields": {
                "id": {
                    "inputFields": [
                        {
                            "namespace": NS_A,
                            "name": "in",
                            "field": "id",
                            "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}],
                        }
                    ]
                }
            },
            "dataset": [{"namespace": NS_A, "name": "in", "field": "v"}],
        }
        facets["lifecycleStateChange"] = {
            "lifecycleStateChange": "RENAME",
            "previousIdentifier": {"namespace": NS_A, "name": f"{name}.old"},
        }
    return {"namespace": NS_A, "name": name, "facets": facets}


JOB = {
    "namespace": NS_A,
    "name": "prop",
    "facets": {
        "ownership": {"owners": [{"name": "team:a", "type": "OWNER"}]},
        "sql": {"query": "INSERT INTO out SELECT id, v FROM in", "dialect": "postgres"},
        "documentation": {"description": "job of a"},
    },
}
RUN_EVENT = {
    "eventType": "FAIL",
    "eventTime": "2026-03-03T10:00:00Z",
    "run": {
        "runId": "0a0a0a0a-2222-4000-8000-000000000001",
        "facets": {
            "parent": {
                "job": {"namespace": NS_A, "name": "dag"},
                "run": {"runId": "0a0a0a0a-2222-4000-8000-000000000002"},
                "root": {
                    "job": {"namespace": NS_A, "name": "root"},
                    "run": {"runId": "0a0a0a0a-2222-4000-8000-000000000003"},
                },
            },
            "errorMessage": {"message": "boom", "programmingLanguage": "python"},
        },
    },
    "job": JOB,
    "inputs": [_dataset("in", output=False)],
    "outputs": [_dataset("out", output=True)],
    "producer": PRODUCER,
}
COMPLETE_EVENT = {**RUN_EVENT, "eventType": "COMPLETE"}
JOB_EVENT = {k: v for k, v in COMPLETE_EVENT.items() if k not in ("run", "eventType")}
DATASET_EVENT = {
    "eventTime": "2026-03-03T11:00:00Z",
    "dataset": _dataset("ds", output=True),
    "producer": PRODUCER,
}
BASES = [RUN_EVENT, COMPLETE_EVENT, JOB_EVENT, DATASET_EVENT]
FIXED = {"eventTime", "producer"}  # not names: replacing them only makes the event invalid

# what an attacker writes instead: ns-b as producers spell it, its datasets, job and run
FOREIGN = [NS_B, f"{NS_B}/", f" {NS_B}", "NS-B", "victim", "source", "etl", RUN_B]


def string_paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(obj, str):
        return [prefix] if not FIXED & set(map(str, prefix)) else []
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in string_paths(v, (*prefix, k))]
    if isinstance(obj, list):
        return [p for i, v in enumerate(obj) for p in string_paths(v, (*prefix, i))]
    return []


@st.composite
def foreign_events(draw: st.DrawFn) -> dict[str, Any]:
    base = draw(st.sampled_from(BASES))
    where = st.sampled_from(string_paths(base))
    changes = draw(st.dictionaries(where, st.sampled_from(FOREIGN), min_size=1, max_size=4))
    return with_changes(base, changes)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Confined, Graph]]:
    with confined_service(tmp_path_factory.mktemp("property")) as service:
        yield service, service.graph()


def test_every_base_event_is_accepted_inside_ns_a(service: tuple[Confined, Graph]) -> None:
    """Not vacuous: untouched, each base event is the confined key's to write."""
    confined, seed = service
    for base in BASES:
        answer = confined.post(confined.confined, base)
        assert answer.status_code == 201, answer.text
    assert changes_outside(seed, confined.graph()) == []


@PROPERTY
@given(event=foreign_events(), bulk=st.booleans())
def test_a_confined_key_changes_nothing_outside_its_namespace(
    service: tuple[Confined, Graph], event: dict[str, Any], bulk: bool
) -> None:
    confined, seed = service
    if bulk:
        answer = confined.post(confined.confined, json.dumps([event]), "/api/v1/lineage/bulk")
    else:
        answer = confined.post(confined.confined, event)
    assert answer.status_code in (200, 201, 403, 422), answer.text
    tally(f"answered {answer.status_code}")  # --hypothesis-show-statistics: both kinds occur
    if answer.status_code == 403:
        # names what was foreign, and where the event asked for it
        assert f"is outside this key's namespaces ['{NS_A}']: " in answer.text, answer.text
        assert " would write " in answer.text, answer.text
    assert changes_outside(seed, confined.graph()) == [], json.dumps(event)
