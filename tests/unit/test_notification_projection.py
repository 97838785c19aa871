"""The change projection (ingest/notifications/projection.py) over a real event log: the same
changes whether the projector handed it the mapped entries or it maps them itself (after a
restart), each change stored once however often it catches up, and `relevant` keeps all that
detection reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lineage_kg.graph.mutations import MutationBatch
from lineage_kg.ingest.eventlog import EventLog, LogEntry
from lineage_kg.ingest.intake import accept_many
from lineage_kg.ingest.notifications.changes import detect, relevant
from lineage_kg.ingest.notifications.projection import ChangeProjection
from lineage_kg.ingest.openlineage.mapping import map_event
from lineage_kg.ingest.sources import default_mappers
from tests.unit.test_notification_changes import col, ol


def events() -> list[dict[str, Any]]:
    return [
        ol(1, [col("id"), col("amount")]),
        ol(2, [col("id", "bigint")]),
        ol(3, [col("id", "bigint")], state="FAIL"),
        ol(4, [col("id", "text"), col("x")]),
    ]


def logged(tmp_path: Path) -> EventLog:
    log = EventLog(tmp_path / "events.sqlite3")
    accept_many(log, enumerate(events()))
    return log


def rows(projection: ChangeProjection) -> list[tuple[str, str, int]]:
    return [(r.change_id, r.kind, r.seq) for r in projection.outbox.rows()]


def test_handed_and_mapped_here_give_the_same_changes(tmp_path: Path) -> None:
    log = logged(tmp_path)
    entries = log.read(0, 100)
    mappers = default_mappers()
    mapped_here = ChangeProjection.at(tmp_path / "a", mappers)
    mapped_here.catch_up(log, None, log.last_seq())  # type: ignore[arg-type]

    def refuse(_: LogEntry) -> MutationBatch:
        raise AssertionError("mapped again though handed")

    handed = ChangeProjection.at(tmp_path / "b", dict.fromkeys(mappers, refuse))
    handed.hand([(e.seq, mappers[e.source](e)) for e in entries[:2]])
    handed.catch_up(log, None, entries[1].seq)  # type: ignore[arg-type]
    handed.hand([(e.seq, mappers[e.source](e)) for e in entries[2:]])
    handed.catch_up(log, None, log.last_seq())  # type: ignore[arg-type]
    assert rows(handed) == rows(mapped_here)
    assert sorted(k for _, k, _ in rows(handed)) == ["run_failed", "schema_change", "schema_change"]
    # caught up again (the same or a lower position), nothing more
    mapped_here.catch_up(log, None, log.last_seq())  # type: ignore[arg-type]
    assert rows(mapped_here) == rows(handed)
    for p in (mapped_here, handed):
        p.close()
    log.close()


def test_relevant_keeps_what_detection_reads() -> None:
    state_all: dict[str, Any] = {}
    state_kept: dict[str, Any] = {}
    for n, e in enumerate(events()):
        mutations = map_event(e, f"e{n}").mutations
        kept = relevant(mutations)
        assert len(kept) < len(mutations)  # it does leave things out
        assert detect(kept, state_kept) == detect(mutations, state_all)
    assert state_kept == state_all


def test_a_replay_of_the_log_into_the_graph_keeps_nothing_handed(tmp_path: Path) -> None:
    """The embedded store's start hands every entry again; the outbox, already past them, keeps
    none of them (else the whole log's mutations would stay in memory)."""
    log = logged(tmp_path)
    mappers = default_mappers()
    first = ChangeProjection.at(tmp_path, mappers)
    first.catch_up(log, None, log.last_seq())  # type: ignore[arg-type]
    first.close()
    again = ChangeProjection.at(tmp_path, mappers)  # a restart
    entries = log.read(0, 100)
    for entry in entries:
        again.hand([(entry.seq, mappers[entry.source](entry))])
        again.catch_up(log, None, entry.seq)  # type: ignore[arg-type]
    assert again._handed == {}
    assert len(again.outbox.rows()) == 3  # and nothing new
    again.hand([(log.last_seq() + 1, MutationBatch())])  # past it: kept until caught up
    assert list(again._handed) == [log.last_seq() + 1]
    again.close()
    log.close()


def test_entries_all_handed_are_not_read_from_the_log_again(tmp_path: Path) -> None:
    """Handed every entry, the projection reads only seqs and sources (the bodies were parsed
    once, by the projector); one entry not handed and it reads and maps the entries itself.
    Either way the changes are those it finds mapping everything itself."""
    log = logged(tmp_path)
    entries = log.read(0, 100)
    mappers = default_mappers()
    mapped_here = ChangeProjection.at(tmp_path / "a", mappers)
    mapped_here.catch_up(log, None, log.last_seq())  # type: ignore[arg-type]
    bodies_read: list[int] = []
    read = log.read

    def counted(after_seq: int, limit: int, **kw: Any) -> list[LogEntry]:
        bodies_read.append(after_seq)
        return read(after_seq, limit, **kw)

    log.read = counted  # type: ignore[method-assign]
    handed = ChangeProjection.at(tmp_path / "b", mappers)
    handed.hand([(e.seq, mappers[e.source](e)) for e in entries])
    handed.catch_up(log, None, log.last_seq())  # type: ignore[arg-type]
    assert bodies_read == [] and rows(handed) == rows(mapped_here)
    partly = ChangeProjection.at(tmp_path / "c", mappers)
    partly.hand([(e.seq, mappers[e.source](e)) for e in entries[1:]])
    partly.catch_up(log, None, log.last_seq())  # type: ignore[arg-type]
    assert bodies_read == [0] and rows(partly) == rows(mapped_here)
    for p in (mapped_here, handed, partly):
        p.close()
    log.close()
