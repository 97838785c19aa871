"""The Kafka log's records (ingest/kafka_log.py): an event read back from its record is the same
entry — the same id, text, namespaces and salt — for any JSON body; bad `LKG_LOG` values are
refused naming the setting. No broker needed."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from lineage_kg.ingest.eventlog import NewEvent
from lineage_kg.ingest.kafka_log import KafkaLogConfig, from_record, to_record
from lineage_kg.settings import Settings, settings_error_line

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(
    body=st.dictionaries(st.text(), JSON, max_size=5),
    salt=st.text(max_size=8),
    namespaces=st.lists(st.text(min_size=1, max_size=8), max_size=3),
)
def test_a_record_holds_the_entry_it_was_made_from(
    body: dict, salt: str, namespaces: list[str]
) -> None:
    event = NewEvent(
        "openlineage", "RunEvent", "2026-11-01T00:00:00.000000Z", body, salt, tuple(namespaces)
    )
    key, value = to_record(event)
    back = from_record(value)
    assert key == event.event_id == back.event_id  # the id the local log will store it under
    assert (back.source, back.kind, back.event_time, back.salt, back.namespaces) == (
        event.source, event.kind, event.event_time, salt, tuple(namespaces),
    )  # fmt: skip
    assert back.body == json.loads(json.dumps(body))


@pytest.mark.parametrize(
    ("url", "bootstrap", "topic"),
    [
        ("kafka://127.0.0.1:9092/lkg-events", "127.0.0.1:9092", "lkg-events"),
        ("kafka://a:1,b:2/events", "a:1,b:2", "events"),
    ],
)
def test_the_log_url_names_the_brokers_and_the_topic(url: str, bootstrap: str, topic: str) -> None:
    assert KafkaLogConfig.parse(url) == KafkaLogConfig(bootstrap, topic)
    assert Settings(log=url).log == url


@pytest.mark.parametrize(
    "url", ["http://a:1/t", "kafka://a:1", "kafka://a:1/", "kafka:///t", "kafka://a:1/t/u"]
)
def test_a_bad_log_url_is_refused_naming_the_setting(url: str) -> None:
    with pytest.raises(ValueError, match="kafka://"):
        KafkaLogConfig.parse(url)
    with pytest.raises(ValueError, match="log"):
        Settings(log=url)


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ({"projector": "off"}, "NEO4J_URI"),  # the embedded store is each process's own
        ({"projector": "group", "log": "kafka://a:1/t"}, "NEO4J_URI"),
        ({"projector": "group", "neo4j_uri": "bolt://a:7687"}, "LKG_LOG"),
        ({"projector": "sometimes", "neo4j_uri": "bolt://a:7687"}, "LKG_PROJECTOR="),
    ],
)
def test_a_projector_role_without_what_it_needs_is_refused(given: dict[str, str], why: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(**given, neo4j_password="s3cret")
    line = settings_error_line(refused.value)
    assert why in line and "s3cret" not in line


def test_the_projector_roles_that_have_what_they_need() -> None:
    shared = {"neo4j_uri": "bolt://a:7687", "log": "kafka://a:1/t"}
    assert Settings(projector="off", **shared).projector == "off"
    assert Settings(projector="group", **shared).projector_group == "lkg-projector"
