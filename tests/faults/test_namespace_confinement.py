"""A key confined to ns-a cannot change ns-b through any part of an event (issue 17).

Each route an attacker used — a symlinks facet naming ns-b/victim (as the TABLE identity, or
another name that would join the two datasets and re-home the victim: issue 15 §2), column
lineage naming an ns-b dataset, a RENAME from an ns-b name, a RunEvent naming an ns-b run id,
a parent run in ns-b — answers 403 naming the namespace and the part of the event, through
`/api/v1/lineage`, `/api/v1/lineage/bulk` and as a DatasetEvent; and the graph outside ns-a is
what it was (read before and after, once the projector has applied everything logged since).
A run named by another job's event is kept apart by the projection itself, whoever sends it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from lineage_kg.graph.confine import allowed_names
from lineage_kg.graph.model import NodeKey, NodeKind
from lineage_kg.graph.mutations import MutationBatch
from lineage_kg.graph.store import GraphStore, StoreUnavailable
from lineage_kg.ingest.eventlog import EventLog
from lineage_kg.ingest.intake import accept_many
from lineage_kg.ingest.openlineage.mapping import map_event
from tests.fuzz.confinement import (
    NS_A,
    NS_B,
    PRODUCER,
    RUN_B,
    SEED_B,
    Confined,
    changes_outside,
    confined_service,
    event_a,
    namespace_of,
)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Confined]:
    with confined_service(tmp_path_factory.mktemp("confined")) as service:
        yield service


def _victim_identity() -> dict[str, Any]:
    return {"identifiers": [{"namespace": NS_B, "name": "victim", "type": "TABLE"}]}


def _output(**facets: Any) -> dict[str, Any]:
    return {"namespace": NS_A, "name": "mine", "facets": facets}


# (what the attack is, the event, a fragment of the path the refusal must name)
ATTACKS: list[tuple[str, dict[str, Any], str]] = [
    (
        "symlinks name ns-b/victim as the TABLE identity",
        event_a(
            outputs=[
                _output(
                    symlinks=_victim_identity(),
                    documentation={"description": "owned now"},
                    ownership={"owners": [{"name": "user:mallory@a.example"}]},
                    schema={"fields": [{"name": "forged", "type": "string"}]},
                )
            ]
        ),
        "outputs[0].facets.symlinks.identifiers[0].namespace",
    ),
    (
        # not the identity, yet the two names are one dataset: a late link re-homes the victim
        "a LOCATION symlink names ns-b/victim",
        event_a(
            outputs=[
                _output(
                    symlinks={
                        "identifiers": [{"namespace": NS_B, "name": "victim", "type": "LOCATION"}]
                    }
                )
            ]
        ),
        "outputs[0].facets.symlinks.identifiers[0].namespace",
    ),
    (
        "column lineage reads from an ns-b dataset",
        event_a(
            outputs=[
                _output(
                    columnLineage={
                        "fields": {
                            "x": {
                                "inputFields": [
                                    {"namespace": NS_B, "name": "victim", "field": "planted"}
                                ]
                            }
                        }
                    }
                )
            ]
        ),
        "outputs[0].facets.columnLineage.fields.x.inputFields[0].namespace",
    ),
    (
        "a RENAME from an ns-b name",
        event_a(
            outputs=[
                _output(
                    lifecycleStateChange={
                        "lifecycleStateChange": "RENAME",
                        "previousIdentifier": {"namespace": NS_B, "name": "victim"},
                    }
                )
            ]
        ),
        "outputs[0].facets.lifecycleStateChange.previousIdentifier.namespace",
    ),
    (
        "a FAIL naming the ns-b run",
        event_a(
            eventType="FAIL",
            run={
                "runId": RUN_B,
                "facets": {"errorMessage": {"message": "forged", "programmingLanguage": "py"}},
            },
        ),
        "run.runId",
    ),
    (
        "a parent run that is the ns-b run",
        event_a(run={"runId": "0a0a0a0a-1111-4000-8000-000000000001",
                     "facets": {"parent": {"run": {"runId": RUN_B},
                                           "job": {"namespace": NS_A, "name": "dag"}}}}),
        "run.facets.parent.run.runId",
    ),
]  # fmt: skip

DATASET_EVENT: dict[str, Any] = {
    "eventTime": "2026-03-02T11:00:00Z",
    "dataset": {
        "namespace": NS_A,
        "name": "mine",
        "facets": {
            "symlinks": _victim_identity(),
            "documentation": {"description": "owned now"},
            "schema": {"fields": [{"name": "forged", "type": "string"}]},
        },
    },
    "producer": PRODUCER,
}


def _refused(answer: Any, where: str) -> None:
    assert answer.status_code == 403, answer.text
    error = answer.json()["error"]
    assert f"'{NS_B}'" in error and where in error, error
    assert f"['{NS_A}']" in error, error


def _unchanged_after(service: Confined, before: Any) -> None:
    # an event after the attack, projected: had the attack been stored, it would be by now
    assert service.post(service.confined, event_a("after")).status_code == 201
    assert changes_outside(before, service.graph()) == []


@pytest.mark.parametrize(("what", "event", "where"), ATTACKS, ids=[a[0] for a in ATTACKS])
def test_single_event_is_refused_and_ns_b_unchanged(
    service: Confined, what: str, event: dict[str, Any], where: str
) -> None:
    before = service.graph()
    _refused(service.post(service.confined, event), where)
    _unchanged_after(service, before)


@pytest.mark.parametrize(("what", "event", "where"), ATTACKS, ids=[a[0] for a in ATTACKS])
def test_bulk_with_one_attack_is_refused_whole(
    service: Confined, what: str, event: dict[str, Any], where: str
) -> None:
    before = service.graph()
    benign = event_a("bulk-benign")
    ndjson = "\n".join(json.dumps(e) for e in (benign, event))
    _refused(service.post(service.confined, ndjson, "/api/v1/lineage/bulk"), where)
    array = json.dumps([benign, event])
    _refused(service.post(service.confined, array, "/api/v1/lineage/bulk"), where)
    _unchanged_after(service, before)
    benign_job = NodeKey.of(NodeKind.JOB, namespace=NS_A, name="bulk-benign").id
    assert benign_job not in service.graph().nodes  # refused whole: nothing half-done


def test_dataset_event_is_refused(service: Confined) -> None:
    before = service.graph()
    _refused(service.post(service.confined, DATASET_EVENT), "dataset.facets.symlinks")
    _refused(
        service.post(service.confined, json.dumps([DATASET_EVENT]), "/api/v1/lineage/bulk"),
        "dataset.facets.symlinks",
    )
    _unchanged_after(service, before)


def test_the_same_events_inside_ns_a_are_accepted(service: Confined) -> None:
    """The refusals are about ns-b, not about the facets: within ns-a they are fine."""
    inside = {"identifiers": [{"namespace": NS_A, "name": "canonical", "type": "TABLE"}]}
    event = event_a("inside", outputs=[_output(symlinks=inside)])
    assert service.post(service.confined, event).status_code == 201
    dataset = dict(
        DATASET_EVENT, dataset={**DATASET_EVENT["dataset"], "facets": {"symlinks": inside}}
    )
    assert service.post(service.confined, dataset).status_code == 201
    graph = service.graph()
    assert NodeKey.of(NodeKind.DATASET, namespace=NS_A, name="canonical").id in graph.nodes


def test_another_jobs_event_never_rewrites_a_run_even_unrestricted(service: Confined) -> None:
    """The projection keeps a run to the job that first reported it: an unrestricted key (or
    an event logged before the run reached the store) naming the ns-b run from another job
    changes nothing of it, while the rest of that event is applied."""
    before = service.graph()
    forged = event_a(
        "forger",
        eventType="FAIL",
        run={"runId": RUN_B, "facets": {"errorMessage": {"message": "forged"}}},
    )
    assert service.post(service.anywhere, forged).status_code == 201
    after = service.graph()
    assert changes_outside(before, after) == []
    run = after.nodes[NodeKey.of(NodeKind.RUN, run_id=RUN_B).id]
    assert run.props["job"] == f"{NS_B}/etl" and run.props["state"] == "COMPLETE"
    assert "error_message" not in run.props
    forger_out = NodeKey.of(NodeKind.DATASET, namespace=NS_A, name="forger.out").id
    assert forger_out in after.nodes  # the event's own part is kept


def test_unrestricted_keys_still_write_anywhere(service: Confined) -> None:
    """An unrestricted key may still write ns-b (the rule binds keys with namespaces only)."""
    event = event_a("b-side", job={"namespace": NS_B, "name": "b-side"})
    assert service.post(service.anywhere, event).status_code == 201


def test_a_name_joined_onto_ns_b_is_refused(service: Confined) -> None:
    """A name of ns-a that a symlink (sent by an unrestricted producer) joined onto an ns-b
    dataset is that dataset: a confined key naming it would write into ns-b, so it is refused."""
    link = {"identifiers": [{"namespace": NS_B, "name": "joined", "type": "TABLE"}]}
    seed = event_a(
        "joiner-b", outputs=[{"namespace": NS_A, "name": "joined", "facets": {"symlinks": link}}]
    )
    assert service.post(service.anywhere, seed).status_code == 201
    service.projected()
    before = service.graph()
    attack = event_a(
        "joiner-a",
        outputs=[
            {
                "namespace": NS_A,
                "name": "joined",
                "facets": {"documentation": {"description": "owned now"}},
            }
        ],
    )
    _refused(service.post(service.confined, attack), "outputs[0].name")
    _unchanged_after(service, before)


# ---- the projection confines too: a name joined onto ns-b where intake could not see it ----
# A confined key's event is judged at intake against the alias table; when the store is down
# then, or a link logged before the event is projected after intake checked, the projection's
# rewrite onto canonical names would carry the event into ns-b. It does not (graph/confine.py).


def _joined_seed(name: str) -> dict[str, Any]:
    """An unrestricted producer's event joining ns-a/`name` onto the ns-b victim."""
    link = {"identifiers": [{"namespace": NS_B, "name": "victim", "type": "TABLE"}]}
    return event_a(
        f"{name}-linker", outputs=[{"namespace": NS_A, "name": name, "facets": {"symlinks": link}}]
    )


def _writes_through(name: str) -> dict[str, Any]:
    """A confined key's event, all in ns-a, writing to ns-a/`name` (and linking another ns-a
    name to it): every part of it lands on the victim once `name` is joined onto it."""
    inside = {"identifiers": [{"namespace": NS_A, "name": name, "type": "TABLE"}]}
    return event_a(
        f"{name}-writer",
        inputs=[{"namespace": NS_A, "name": f"{name}.path", "facets": {"symlinks": inside}}],
        outputs=[
            {
                "namespace": NS_A,
                "name": name,
                "facets": {
                    "documentation": {"description": "owned now"},
                    "ownership": {"owners": [{"name": "user:mallory@a.example"}]},
                    "schema": {"fields": [{"name": "forged", "type": "string"}]},
                },
            }
        ],
    )


def test_a_name_joined_while_the_store_was_down_at_intake(
    service: Confined, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Intake accepts (it cannot read the alias table); the projection keeps ns-b as it was and
    applies the event's own part."""
    assert service.post(service.anywhere, _joined_seed("joined-down")).status_code == 201
    before = service.graph()
    store = service.client.app.state.store  # type: ignore[attr-defined]

    def down(*_: object, **__: object) -> Any:
        raise StoreUnavailable("the store is down (test)")

    with monkeypatch.context() as patched:
        patched.setattr(store, "linked_names", down)
        patched.setattr(store, "neighbors", down)
        answer = service.post(service.confined, _writes_through("joined-down"))
    assert answer.status_code == 201, answer.text  # intake could not tell
    after = service.graph()
    assert changes_outside(before, after) == []
    writer = NodeKey.of(NodeKind.JOB, namespace=NS_A, name="joined-down-writer").id
    assert writer in after.nodes  # the event's own part is kept


def _outside_a(store: GraphStore) -> tuple[dict[str, Any], dict[Any, Any]]:
    """Every node of ns-b and its run, and every edge at one of them."""
    run_b = NodeKey.of(NodeKind.RUN, run_id=RUN_B)
    nodes = {n.id: n for n in store.iter_nodes() if namespace_of(n) == NS_B or n.key == run_b}
    edges = {e.key.id: e for e in store.iter_edges() if {e.key.id[0], e.key.id[2]} & nodes.keys()}
    return nodes, edges


def _schema_of(*names: str) -> dict[str, Any]:
    return {"fields": [{"name": n, "type": "string"} for n in names]}


def _confined(event: dict[str, Any], event_id: str) -> MutationBatch:
    batch = map_event(event, event_id)
    batch.confined[event_id] = allowed_names([NS_A])
    return batch


def _seed(store: GraphStore) -> None:
    for i, event in enumerate(SEED_B):
        store.apply(map_event(event, f"seed-{i}"))


def test_projection_confines_after_the_link_was_projected(store: GraphStore) -> None:
    """The link is projected first; the confined event (accepted without the alias table)
    changes nothing outside ns-a, on both stores: neither its writes to the joined name nor its
    link, which would re-home what ns-a/joined.path holds onto the victim."""
    _seed(store)
    store.apply(map_event(_joined_seed("joined"), "link"))
    path = {"namespace": NS_A, "name": "joined.path", "facets": {"schema": _schema_of("p")}}
    store.apply(_confined(event_a("path-writer", outputs=[path]), "path"))
    before = _outside_a(store)
    store.apply(_confined(_writes_through("joined"), "confined"))
    assert _outside_a(store) == before
    writer = NodeKey.of(NodeKind.JOB, namespace=NS_A, name="joined-writer").id
    assert store.get_node(writer) is not None  # the event's own part is kept


def test_projection_confines_when_the_link_lands_in_the_same_batch(store: GraphStore) -> None:
    """The race: the link was logged before the confined event but projected after intake had
    checked it, in the same projection batch: ns-b is what the link alone makes of it."""
    _seed(store)
    store.apply(map_event(_joined_seed("joined"), "link"))
    expected = _outside_a(store)
    store.clear()
    _seed(store)
    both = map_event(_joined_seed("joined"), "link")
    both.extend(map_event(_writes_through("joined"), "confined").mutations)
    both.confined["confined"] = allowed_names([NS_A])
    store.apply(both)
    assert _outside_a(store) == expected
    writer = NodeKey.of(NodeKind.JOB, namespace=NS_A, name="joined-writer").id
    assert store.get_node(writer) is not None


def test_the_log_keeps_a_confined_keys_namespaces(tmp_path: Any) -> None:
    """What the projection confines by: the key's namespaces beside each entry it sent, not
    part of the event's identity (the same event from an unrestricted key is a duplicate)."""
    log = EventLog(tmp_path / "events.db")
    try:
        summary = accept_many(log, [(0, event_a("logged"))], [NS_A])
        assert summary.accepted == 1
        assert accept_many(log, [(0, event_a("logged"))]).duplicates == 1
        assert accept_many(log, [(0, event_a("free"))]).accepted == 1
        entries = log.read(0, 10)
        assert [e.namespaces for e in entries] == [(NS_A,), ()]
        assert log.get(entries[0].event_id).namespaces == (NS_A,)  # type: ignore[union-attr]
    finally:
        log.close()
