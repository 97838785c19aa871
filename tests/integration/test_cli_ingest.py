"""`lkg ingest`: files and folders into the durable log, with a summary and honest exit codes."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lineage_kg.cli.app import app
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.ingest.eventlog import EventLog

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "openlineage"
DBT_EVENTS = Path(__file__).resolve().parents[1] / "fixtures" / "dbt_shop_events.ndjson"


def run(tmp_path: Path, *args: str, **env: str):
    return CliRunner().invoke(
        app, ["ingest", *args], env={"LKG_DATA_DIR": str(tmp_path), "COLUMNS": "200", **env}
    )


def test_folder_with_bad_events_reports_them_and_exits_2(tmp_path: Path) -> None:
    result = run(tmp_path, str(CORPUS / "marquez"))
    assert result.exit_code == 2, result.output
    # 40 complete events; the 26 of the template file carry placeholders for their times
    assert "│ 40       │ 0          │ 26       │" in result.output
    assert "docker__metadata.template.json[0]: $.eventTime: not an ISO-8601" in result.output
    assert EventLog(tmp_path / "events.sqlite3").count() == 40

    again = run(tmp_path, str(CORPUS / "marquez" / "docker__metadata.json"))
    assert again.exit_code == 0
    assert "│ 0        │ 26         │ 0        │" in again.output


def test_gzipped_ndjson_with_a_broken_line(tmp_path: Path) -> None:
    lines = DBT_EVENTS.read_text().splitlines()
    packed = tmp_path / "events.ndjson.gz"
    packed.write_bytes(gzip.compress("\n".join([lines[0], "{oops", lines[1]]).encode()))
    result = run(tmp_path, str(packed))
    assert result.exit_code == 2
    assert f"{packed}:2: $: not valid JSON" in result.output
    assert EventLog(tmp_path / "events.sqlite3").count() == 2


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    result = run(tmp_path, str(tmp_path / "nope.json"))
    assert result.exit_code == 2 and "not found" in result.output  # bad input: docs/cli.md


@pytest.mark.neo4j
def test_project_into_neo4j(tmp_path: Path, neo4j_server, neo4j_store: Neo4jStore) -> None:
    result = run(
        tmp_path,
        str(DBT_EVENTS),
        "--project",
        NEO4J_URI=neo4j_server.uri,
        NEO4J_USER=neo4j_server.user,
        NEO4J_PASSWORD=neo4j_server.password,
    )
    assert result.exit_code == 0, result.output
    assert "graph at log position 14 of 14 (0 parked)" in result.output
    stats = neo4j_store.stats()
    assert stats.nodes["Run"] == 7  # the dbt invocation and its 6 node runs
    assert neo4j_store.checkpoint() == 14
