"""A column its dataset no longer holds is fed by nothing: the lineage into a dropped column ends
when the column does (session 34; `GraphStore.apply`, so both stores alike).

A writer's schema facet retires the columns it does not list (`EdgeRetire(dataset, HAS_COLUMN,
OUT, keep=listed)`, remembered on the dataset: graph/validity.py). Its event's column lineage
retires only the FEEDS into the columns it names, so before this module the FEEDS into a column
a newer run no longer writes stayed current, and impact from their inputs still answered it.

The rule: a FEEDS edge into a column of a dataset that holds it (an edge dataset -HAS_COLUMN->
column exists, current or not) also ends at the earliest HAS_COLUMN retirement that dataset
remembers that applies to the column and is later than the edge's newest assertion
(`last_seen`) — the rule `validity.settle_all` applies to the retirements at an edge's own ends,
read here at the column's dataset. The log only grows and an edge once stored stays, so the end
is the same in any arrival order; each order reaches it through one of three triggers:

- the retirement arrives after the FEEDS: `load_dropped_feeds` reads the FEEDS into every column
  of the dataset that it applies to and `settle_dropped` ends them;
- a FEEDS arrives after it (an older run's event, late): settled when asserted;
- the HAS_COLUMN edge arrives last (first stored after both): the FEEDS into that column are read
  then, if its dataset remembers a retirement that applies to it;
- a newer event writing the column again asserts its FEEDS after the retirement: current again;
  an older one never re-opens them.

Nothing is deleted: the FEEDS keep their dates (`first_seen`, `last_seen`, `valid_to` = the
retirement's time, `retired_by` = the event whose schema dropped the column), so `as_of` before
the drop still walks them, and the audit trail's entries (derived from each event's own
mutations) are unchanged. FEEDS out of a dropped column are left alone: they are what the jobs
reading it said, and only their own newer runs retire them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Mapping

from lineage_kg.graph.model import EdgeKind
from lineage_kg.graph.mutations import Direction, EdgeRetire
from lineage_kg.graph.records import EdgeId, Record
from lineage_kg.graph.validity import RETIRED, Remembered, _parse

_HAS_COLUMN = EdgeKind.HAS_COLUMN._value_
_FEEDS = EdgeKind.FEEDS._value_
_SCOPE = f"{_HAS_COLUMN}|{Direction.OUT.value}"  # the log's scope of a schema's retirements
_COLUMN = '["Column",'

_DATASET = '["Dataset"'
# a column id's start: the kind, then the namespace's and the name's JSON strings
_DATASET_PARTS = re.compile(r'\["Column",(?:"[^"\\]*(?:\\.[^"\\]*)*",){2}')


def dataset_id_of(column_id: str) -> str:
    """The id of the dataset a column id's column belongs to (`dataset_of`, on ids). A column id
    is `["Column",namespace,name,field]` as compact JSON: its first two strings (read as JSON
    strings, escapes and all) are the dataset's. A match, not a parse: tens of thousands of
    FEEDS a large batch."""
    parts = _DATASET_PARTS.match(column_id)
    if parts is None:
        raise ValueError(f"not a column id: {column_id!r}")
    return _DATASET + column_id[len(_COLUMN) - 1 : parts.end() - 1] + "]"


def _retirements(
    retires: Iterable[EdgeRetire],
) -> dict[str, list[tuple[frozenset[str], str | None, frozenset[str] | None]]]:
    """A batch's HAS_COLUMN retirements by anchor: (keep ids, disc, only ids)."""
    theirs: dict[str, list[tuple[frozenset[str], str | None, frozenset[str] | None]]] = {}
    for r in retires:
        if r.kind is EdgeKind.HAS_COLUMN and r.direction is Direction.OUT:
            theirs.setdefault(r.anchor._id, []).append(
                (
                    frozenset(k._id for k in r.keep),
                    r.disc,
                    None if r.only is None else frozenset(k._id for k in r.only),
                )
            )
    return theirs


def dropped_columns(
    retires: Iterable[EdgeRetire],
    edges: Mapping[EdgeId, Record],
    asserted: Iterable[EdgeId] = (),
    nodes: Mapping[str, Record] | None = None,
) -> set[str]:
    """The columns (ids) whose FEEDS in a batch must read and settle: those a batch's HAS_COLUMN
    retirement applies to among their dataset's HAS_COLUMN edges (`edges`: as the store held
    them; `asserted`: the batch's own), and those whose HAS_COLUMN edge the batch stores first
    (asserted, not among `edges`) while their dataset already remembers a HAS_COLUMN retirement
    that applies to them (`nodes`: the records loaded, the batch's retirements not yet in them)."""
    theirs = _retirements(retires)
    found: set[str] = set()
    logs: dict[str, tuple[tuple[Remembered, ...], str]] = {}
    for eid in itertools.chain(edges, asserted):
        if eid[1] != _HAS_COLUMN:
            continue
        dataset = eid[0]
        mine = theirs.get(dataset)
        entries: tuple[Remembered, ...] = ()
        if nodes is not None and eid not in edges:  # stored first by this batch
            held = logs.get(dataset)
            if held is None:
                held = logs[dataset] = _schema_log(nodes.get(dataset))
            entries = held[0]  # what its dataset remembered before the batch
        if (mine is None and not entries) or (column := eid[2]) in found:
            continue
        if (
            (
                mine is not None
                and any(
                    column not in keep
                    and disc in (None, eid[3])
                    and (only is None or column in only)
                    for keep, disc, only in mine
                )
            )
            or any(r.applies(column, eid[3]) for r in entries)
        ) and dataset_id_of(column) == dataset:  # not another dataset's edge to it
            found.add(column)
    return found


def settle_dropped(
    ids: Iterable[EdgeId],
    edges: dict[EdgeId, Record],
    nodes: dict[str, Record],
    load_nodes: Callable[[list[str]], Mapping[str, Record]],
    load_edges: Callable[[list[EdgeId]], Mapping[EdgeId, Record]],
) -> None:
    """End each FEEDS edge into a column among `ids` whose dataset holds it (the HAS_COLUMN
    edge among `edges`, or stored) at the earliest HAS_COLUMN retirement that dataset remembers
    that applies to the column and is later than the edge's `last_seen`, if that is earlier
    than the end it has (ties by event id, as validity's). `load_nodes` and `load_edges` read
    what `nodes` and `edges` lack (rare: a source asserting FEEDS without the column's
    HAS_COLUMN); what they return is put among them, read, not changed."""
    into: list[tuple[EdgeId, str]] = []
    datasets: dict[str, str] = {}  # column id -> its dataset's: a column is fed by several
    for eid in ids:
        if eid[1] == _FEEDS and (column := eid[2]).startswith(_COLUMN) and eid in edges:
            ds = datasets.get(column)
            if ds is None:
                ds = datasets[column] = dataset_id_of(column)
            into.append((eid, ds))
    if not into:
        return
    if missing := sorted({ds for _, ds in into} - nodes.keys()):
        nodes.update(load_nodes(missing))
    holds: set[EdgeId] = {(ds, _HAS_COLUMN, eid[2], "") for eid, ds in into}
    if unknown := sorted(holds - edges.keys()):
        got = load_edges(unknown)
        edges.update(got)
        holds -= set(unknown) - got.keys()
    logs: dict[str, tuple[tuple[Remembered, ...], str]] = {}  # dataset -> its entries, newest
    for eid, ds in into:
        held = logs.get(ds)
        if held is None:
            held = logs[ds] = _schema_log(nodes.get(ds))
        entries, newest = held
        record = edges[eid]
        last = record["last_seen"]
        if newest <= last:
            continue  # no retirement later than the edge's last assertion (most edges)
        column = eid[2]
        if (ds, _HAS_COLUMN, column, "") not in holds:
            continue  # a column no HAS_COLUMN edge puts in its dataset: not the rule's
        end: tuple[str, str] | None = None
        for r in entries:
            if (
                r.time > last
                and (end is None or (r.time, r.event_id) < end)
                and r.applies(column, "")  # a column's HAS_COLUMN edge has no discriminator
            ):
                end = (r.time, r.event_id)
        if end is None:
            continue
        valid_to = record.get("valid_to")
        if valid_to is not None and (valid_to, record.get("retired_by") or "") <= end:
            continue
        edges[eid] = {**record, "valid_to": end[0], "retired_by": end[1]}


def _schema_log(node: Record | None) -> tuple[tuple[Remembered, ...], str]:
    """The HAS_COLUMN retirements a dataset remembers, and the newest one's time ("": none)."""
    text = node.get(RETIRED) if node is not None else None
    entries = _parse(text).get(_SCOPE, ()) if text else ()
    return entries, max((r.time for r in entries), default="")


def load_dropped_feeds(
    retires: Iterable[EdgeRetire],
    loaded_edges: dict[EdgeId, Record],
    pending: Mapping[EdgeId, Record],
    load_incident: Callable[[list[tuple[str, EdgeKind, Direction]]], dict[EdgeId, Record]],
    *,
    asserted: Iterable[EdgeId] = (),
    nodes: Mapping[str, Record] | None = None,
) -> set[EdgeId]:
    """Read the FEEDS into the columns `dropped_columns` names into `loaded_edges` (a pending
    batch's records in place of the store's, as for any edge loaded), and return their ids:
    none, no read."""
    columns = dropped_columns(retires, loaded_edges, asserted, nodes)
    if not columns:
        return set()
    found = load_incident([(c, EdgeKind.FEEDS, Direction.IN) for c in sorted(columns)])
    for eid, record in pending.items():
        if eid[1] == _FEEDS and eid[2] in columns:
            found[eid] = record
    for eid, record in found.items():
        if eid not in loaded_edges:
            loaded_edges[eid] = record
    return set(found)
