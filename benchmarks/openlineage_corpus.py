"""The shared OpenLineage corpus (../shared/corpus/openlineage, or LKG_OPENLINEAGE_CORPUS): its
events read once here, for the intake benchmark and the tests that hold intake's fast roads to
the slow ones over real events."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

CORPUS = Path(
    os.environ.get(
        "LKG_OPENLINEAGE_CORPUS",
        Path(__file__).resolve().parents[2] / "shared" / "corpus" / "openlineage",
    )
)


@cache
def _documents() -> tuple[dict[str, Any], ...]:
    found: list[dict[str, Any]] = []
    for path in sorted(CORPUS.glob("*/*.json")):
        try:
            doc = json.loads(path.read_text())
        except ValueError:
            continue
        found += [e for e in (doc if isinstance(doc, list) else [doc]) if isinstance(e, dict)]
    assert found, f"no event in the corpus at {CORPUS}"
    return tuple(found)


def all_events() -> list[dict[str, Any]]:
    """Every object of the corpus, valid or not (matchers and templates too), as fresh copies."""
    return [json.loads(json.dumps(e)) for e in _documents()]


def valid_events() -> list[dict[str, Any]]:
    """Every event of the corpus our intake accepts as it is."""
    from lineage_kg.ingest.intake import to_new_event
    from lineage_kg.ingest.openlineage.validate import InvalidEvent

    found = []
    for event in all_events():
        try:
            to_new_event(event)
        except (InvalidEvent, TypeError, KeyError, AttributeError):
            continue
        found.append(event)
    assert found, f"no valid event in the corpus at {CORPUS}"
    return found
