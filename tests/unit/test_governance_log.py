"""The governance log's transitions (graph/sides/governance_log.py) over generated sequences of
evaluations, against a small oracle: a violation's rows are its maximal runs of consecutive
evaluations that found it (an incomplete evaluation ends nothing); evaluating the same again —
a restart — changes nothing; a reopened log holds the same rows."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from lineage_kg.graph.sides.governance_log import GovernanceLog, Sighting
from lineage_kg.graph.sides.history import EntryType, HistoryEntry
from lineage_kg.queries.audit import audit_trail

KEYS = [("r1", "a", None), ("r1", "a", "x"), ("r2", "a", None), ("r1", "b", None)]
# one evaluation: which violations it found, and whether it was complete
evaluations = st.lists(
    st.tuples(st.sets(st.sampled_from(range(len(KEYS)))), st.booleans()), max_size=8
)


def sighting(i: int) -> Sighting:
    rule, subject, related = KEYS[i]
    return Sighting(rule, "error", subject, related, None, (f"ev-{i}",), f"violation {i}")


def oracle(rounds: list[tuple[set[int], bool]]) -> list[tuple[int, int, int | None]]:
    """(key, start position, end position or None) of every run, positions being 1, 2, …"""
    runs, open_at = [], {}
    for position, (found, complete) in enumerate(rounds, start=1):
        for i in sorted(found - set(open_at)):
            open_at[i] = position
        if complete:
            for i in sorted(set(open_at) - found):
                runs.append((i, open_at.pop(i), position))
    runs += [(i, start, None) for i, start in open_at.items()]
    return sorted(runs)


def at(position: int) -> str:
    return f"2026-01-{position:02d}T00:00:00.000000Z"


@settings(max_examples=40, deadline=None)
@given(rounds=evaluations)
def test_transitions_are_the_runs_of_each_violation(
    tmp_path_factory: object, rounds: list[tuple[set[int], bool]]
) -> None:
    path = tmp_path_factory.mktemp("gov") / "governance.sqlite3"  # type: ignore[attr-defined]
    log = GovernanceLog(path)
    for position, (found, complete) in enumerate(rounds, start=1):
        log.record([sighting(i) for i in found], position=position, at=at(position),
                   close=complete)  # fmt: skip
        # the same evaluation again (a second look, a restart): nothing opened, nothing closed
        assert log.record([sighting(i) for i in found], position=position, at=at(position),
                          close=complete) == (0, 0)  # fmt: skip
    got = sorted(
        (KEYS.index((t.rule, t.subject, t.related)), t.start_seq, t.end_seq)
        for t in log.transitions()
    )
    assert got == oracle(rounds)
    for t in log.transitions():  # dated by when they were seen (no `since` given)
        assert t.started_at == at(t.start_seq)
        assert t.ended_at == (None if t.end_seq is None else at(t.end_seq))
    log.close()
    reopened = GovernanceLog(path)
    assert len(reopened.transitions()) == len(got)
    reopened.close()


def test_entries_page_in_the_trails_order(tmp_path: Path) -> None:
    log = GovernanceLog(tmp_path / "governance.sqlite3")
    early = Sighting("r1", "warning", "a", None, "2025-12-01T00:00:00.000000Z", ("e1", "e2"), "d")
    log.record([early, sighting(2)], position=3, at=at(3))
    log.record([], position=5, at=at(5))
    entries = log.history(["a"], limit=10)
    assert [(e.event_time, e.seq, e.summary.split(":")[0]) for e in entries] == [
        ("2025-12-01T00:00:00.000000Z", 3, "violation started"),  # its own `since`
        (at(3), 3, "violation started"),
        (at(5), 5, "violation ended"),
        (at(5), 5, "violation ended"),
    ]
    assert entries[0].evidence == ("e1", "e2") and entries[0].event_id == "e2"
    assert all(e.entry_type is EntryType.GOVERNANCE for e in entries)
    # keyset: after the first entry's cursor, the rest; within since..until
    assert log.history(["a"], after=entries[0].cursor) == entries[1:]
    assert log.history(["a"], since=at(4)) == entries[2:]
    assert log.history(["a"], until=at(3)) == entries[:2]
    assert log.history(["b"]) == []
    log.close()


class NoHistory:
    def history(self, node_id: str, **_: object) -> list[HistoryEntry]:
        return []


class OneNode:
    def get_node(self, node_id: str) -> object:
        return node_id

    def merged_names(self, node_id: str) -> list[str]:
        return []


@settings(max_examples=40, deadline=None)
@given(
    rounds=st.lists(st.sets(st.sampled_from(range(3))), min_size=1, max_size=6),
    first=st.integers(1, 4),
)
def test_pages_of_the_trail_skip_and_repeat_nothing(
    tmp_path_factory: object, rounds: list[set[int]], first: int
) -> None:
    """Violations of one node seen at the same look share a cursor position: following the
    pages gives every entry once, in order (a page never ends inside such a group)."""
    path = tmp_path_factory.mktemp("gov") / "governance.sqlite3"  # type: ignore[attr-defined]
    log = GovernanceLog(path)
    for position, found in enumerate(rounds, start=1):  # KEYS 0..2 are all on node "a"
        log.record([sighting(i) for i in found], position=position, at=at(position))
    every = log.history(["a"], limit=1000)
    got, after = [], None
    for _ in range(len(every) + 1):
        page = audit_trail(NoHistory(), OneNode(), "a", first=first, after=after,  # type: ignore[arg-type]
                           governance=log)  # fmt: skip
        got += page.entries
        if (after := page.next_cursor) is None:
            break
    assert got == every
    log.close()
