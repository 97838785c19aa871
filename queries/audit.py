"""Audit trail: the chronological history of one node, each entry linking the event behind it.

Runs that read or wrote it, its versions, schema changes, quality results, ownership, aliases,
deployments and lifecycle, oldest first; with the governance log, the policy's violations seen to
start and end on it (GOVERNANCE entries, graph/sides/governance_log.py, pointing at the
violation's evidence events) in the same order. The entries are derived from each event's
mutations when the projector applies it (graph/sides/history.py) and kept beside the event
log; this module only validates the question, checks the node exists and pages the answer.
The raw event of an entry is at GET /api/v1/events/{event_id}.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from lineage_kg.graph.errors import InvalidArgument, NotFound
from lineage_kg.graph.records import StoredNode
from lineage_kg.graph.sides.history import EntryType, HistoryEntry, decode_cursor
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.arguments import time_arg

__all__ = [
    "MAX_FIRST",
    "AuditPage",
    "EntryType",
    "GovernanceSource",
    "HistoryEntry",
    "HistorySource",
    "audit_trail",
]

MAX_FIRST = 500


class HistorySource(Protocol):
    """Where the entries are kept (the event log: `ingest.eventlog.EventLog`)."""

    def history(
        self,
        node_id: str,
        *,
        since: str | None = None,
        until: str | None = None,
        types: Collection[EntryType] | None = None,
        limit: int = 50,
        after: str | None = None,
        also: Sequence[str] = (),
    ) -> list[HistoryEntry]: ...


class GovernanceSource(Protocol):
    """The violations' starts and ends (graph/sides/governance_log.py `GovernanceLog`)."""

    def history(
        self,
        node_ids: Sequence[str],
        *,
        since: str | None = None,
        until: str | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> list[HistoryEntry]: ...


def _order(entry: HistoryEntry) -> tuple[str, int, str]:
    return entry.event_time, entry.seq, entry.entry_type.value  # the cursor's order


def _whole_ties(
    entries: list[HistoryEntry],
    tie: tuple[str, int, str],
    governance: GovernanceSource,
    ids: list[str],
) -> list[HistoryEntry]:
    """A page that does not end inside a group of GOVERNANCE entries sharing one cursor position
    (one node's violations seen at the same time and checkpoint): the page ends before the
    group, or, when the group starts the page, is the whole group (a page longer than `first`)."""
    cut = next(i for i, e in enumerate(entries) if _order(e) == tie)
    if cut > 0:
        return entries[:cut]
    group = governance.history(ids, since=tie[0], until=tie[0], limit=MAX_FIRST)
    return [e for e in group if _order(e) == tie]


@dataclass(frozen=True, slots=True)
class AuditPage:
    node: StoredNode
    entries: list[HistoryEntry]
    next_cursor: str | None  # pass as `after` for the next page; None on the last page


def _types(types: Collection[EntryType | str] | None) -> set[EntryType] | None:
    if not types:
        return None  # none named: every type
    try:
        return {EntryType(t) for t in types}
    except ValueError:
        unknown = sorted(str(t) for t in types if t not in set(EntryType))
        known = ", ".join(EntryType)
        raise InvalidArgument(f"types: unknown {', '.join(unknown)}; known: {known}") from None


def audit_trail(
    history: HistorySource,
    store: GraphStore,
    node_id: str,
    *,
    since: str | None = None,
    until: str | None = None,
    types: Collection[EntryType | str] | None = None,
    first: int = 50,
    after: str | None = None,
    governance: GovernanceSource | None = None,
) -> AuditPage:
    """One page of a node's history, oldest first; `since` and `until` are inclusive. With
    `governance`, its entries for the node are merged in date order."""
    if isinstance(first, bool) or not isinstance(first, int) or not 1 <= first <= MAX_FIRST:
        raise InvalidArgument(f"first must be between 1 and {MAX_FIRST}, got {first!r}")
    since, until = time_arg("since", since), time_arg("until", until)
    if since is not None and until is not None and since > until:
        raise InvalidArgument(f"since ({since}) is after until ({until})")
    wanted = _types(types)
    if after is not None:
        try:
            decode_cursor(after)
        except ValueError:
            raise InvalidArgument(f"after: not a cursor of an audit trail: {after!r}") from None
    node = store.get_node(node_id)
    if node is None:
        raise NotFound(f"no node with id {node_id}")
    # what was recorded under the dataset's other names before they were joined is its history
    also = store.merged_names(node_id)
    found = history.history(
        node_id, since=since, until=until, types=wanted, limit=first + 1, after=after, also=also
    )
    if governance is not None and (wanted is None or EntryType.GOVERNANCE in wanted):
        found += governance.history(
            [node_id, *also], since=since, until=until, limit=first + 1, after=after
        )
        found.sort(key=_order)
    entries = found[:first]
    more = len(found) > first
    tie = _order(found[first]) if more else None
    if tie is not None and tie[2] == EntryType.GOVERNANCE.value and _order(entries[-1]) == tie:
        assert governance is not None  # only its entries are GOVERNANCE
        entries = _whole_ties(entries, tie, governance, [node_id, *also])
    return AuditPage(node, entries, entries[-1].cursor if more else None)
