"""Validation of OpenLineage events: the real corpus judged against its MANIFEST, and bad input
named by field path."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lineage_kg.ingest.openlineage.validate import EventKind, InvalidEvent, validate_event

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "openlineage"
# Spec-required fields our intake does not insist on (Marquez does not either): metadata that
# openlineage-python's models default.
LENIENT = {"producer", "schemaURL"}
PLACEHOLDER = re.compile(r"\{\{.*\}\}|\$\{json-unit")
DATASET_IDENTITY = re.compile(r"\$\.(inputs|outputs)\[\d+\]\.(namespace|name)")


@dataclass(frozen=True)
class Row:
    file: str
    events: int
    templated: bool
    missing: frozenset[str]


def manifest_rows() -> list[Row]:
    rows = []
    for line in (CORPUS / "MANIFEST.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 16 or not cells[0].isdigit():
            continue
        missing = set() if cells[14] == "-" else set(cells[14].split(", "))
        if "no run" in cells[5]:  # Kind "RunEvent(partial:no run)": a matcher without `run`
            missing.add("run")
        rows.append(Row(cells[1].strip("`"), int(cells[6]), cells[11] == "yes", frozenset(missing)))
    return rows


ROWS = manifest_rows()


def load(row: Row) -> list[dict[str, Any]]:
    data = json.loads((CORPUS / row.file).read_text())
    return data if isinstance(data, list) else [data]


def value_at(event: dict[str, Any], path: str) -> Any:
    node: Any = event
    for part in re.findall(r"[^.\[\]]+", path.removeprefix("$")):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node


def test_manifest_covers_every_corpus_file() -> None:
    on_disk = {str(p.relative_to(CORPUS)) for p in CORPUS.glob("*/*.json")}
    assert {r.file for r in ROWS} == on_disk
    assert len(ROWS) == 46


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.file.split("/")[-1][:70])
def test_corpus_event_judged_as_its_manifest_says(row: Row) -> None:
    events = load(row)
    assert len(events) == row.events
    complete = not (row.missing - LENIENT) and not row.templated
    for event in events:
        try:
            validate_event(event)
        except InvalidEvent as exc:
            assert not complete, f"a complete real event was rejected: {exc}"
            for error in exc.errors:
                field = error.path.removeprefix("$.")
                value = value_at(event, error.path)
                # the MANIFEST lists missing top-level fields; inside inputs/outputs it is silent
                missing_here = value is None and (
                    any(m == field or m.startswith(field + ".") for m in row.missing)
                    or bool(DATASET_IDENTITY.fullmatch(error.path))
                )
                templated_here = isinstance(value, str) and bool(PLACEHOLDER.search(value))
                assert missing_here or templated_here, f"unexpected error {error}"


def test_corpus_totals() -> None:
    """Every complete, untemplated event in the corpus is accepted; the rest rejected."""
    expected = sum(r.events for r in ROWS if not (r.missing - LENIENT) and not r.templated)
    accepted = 0
    for row in ROWS:
        for event in load(row):
            try:
                validate_event(event)
                accepted += 1
            except InvalidEvent:
                pass
    assert accepted == expected


FULL = json.loads(
    (CORPUS / "OpenLineage" / "client__python__tests__example_full_event.json").read_text()
)


def broken(change: Any) -> dict[str, Any]:
    event = copy.deepcopy(FULL)
    change(event)
    return event


@pytest.mark.parametrize(
    ("event", "path", "message"),
    [
        (broken(lambda e: e.pop("eventTime")), "$.eventTime", "required field missing"),
        (broken(lambda e: e.update(eventTime="yesterday")), "$.eventTime", "not an ISO-8601"),
        (broken(lambda e: e.update(eventTime=3)), "$.eventTime", "expected str, got int"),
        (broken(lambda e: e["run"].pop("runId")), "$.run.runId", "required field missing"),
        (broken(lambda e: e["run"].update(runId="42")), "$.run.runId", "not a UUID"),
        (broken(lambda e: e["run"].update(runId=42)), "$.run.runId", "expected str, got int"),
        (broken(lambda e: e.pop("job")), "$.job", "required field missing"),
        (broken(lambda e: e["job"].pop("name")), "$.job.name", "required field missing"),
        (broken(lambda e: e.update(eventType="DONE")), "$.eventType", "must be one of START"),
        (broken(lambda e: e.update(inputs="orders")), "$.inputs", "must be a list"),
        (broken(lambda e: e["inputs"][0].pop("name")), "$.inputs[0].name", "required field"),
        (broken(lambda e: e["job"].update(namespace="")), "$.job.namespace", "must not be blank"),
        (
            broken(lambda e: e["inputs"][0].update(name=" ")),
            "$.inputs[0].name",
            "must not be blank",
        ),
        (broken(lambda e: e["run"].update(facets=[])), "$.run.facets", "must be an object"),
        ([FULL], "$", "must be a JSON object"),
        ({"hello": "world"}, "$", "not an OpenLineage event"),
    ],
)
def test_bad_input_names_the_field(event: Any, path: str, message: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        validate_event(event)
    assert any(e.path == path and message in e.message for e in caught.value.errors), (
        caught.value.errors
    )


def test_custom_facets_and_extra_fields_are_kept() -> None:
    event = broken(
        lambda e: e["run"]["facets"].update(myCompany_cost={"_producer": "x", "dollars": 3})
    )
    event["extraTopLevel"] = {"anything": True}
    assert validate_event(event) is EventKind.RUN


def test_kinds_by_schema_url_or_shape() -> None:
    dataset_event = json.loads(
        (
            CORPUS / "OpenLineage" / "client__python__tests__serde_example_dataset_event.json"
        ).read_text()
    )
    assert validate_event(dataset_event) is EventKind.DATASET
    job_event = json.loads(
        (
            CORPUS / "marquez" / "api__src__test__resources__open_lineage__event_job_event.json"
        ).read_text()
    )
    assert validate_event(job_event) is EventKind.JOB
