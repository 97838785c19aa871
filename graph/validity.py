"""Time decides what is current, not arrival: when an edge stops being valid.

A retirement (`EdgeRetire`) says "as of time T, this anchor has no edges of this kind, this way,
other than to `keep`". Applied only to the edges a store holds when it arrives, it would depend
on arrival order: an older event arriving later would create an edge that a newer retirement
had already ruled out. So every retirement is also remembered on its anchor node (the reserved
`_retired` record prop), and an edge's end is computed from the retirements of both its ends:

    valid_to = the earliest remembered retirement that applies to the edge and is *later* than
               the edge's newest assertion (`last_seen`); none: the edge is current.

`first_seen` is the minimum and `last_seen` the maximum of the edge's assertion times, and the
set of remembered retirements only grows, so the result is the same in any arrival order. An
assertion at the retirement's own time (the same event) is never closed by it. A late assertion
older than a retirement extends the edge's past (`first_seen`, what `as_of` reads see) but does
not make it current again; an assertion newer than every retirement that applies does.

A scoped retirement (`EdgeRetire.scoped`, remembered with its source) speaks only for its own
source: each source that asserted an edge (`sources`) has its own end, the earliest retirement
later than `last_seen` that applies to it (unscoped, or scoped to that source), and the edge ends
at the latest of them; one source without an end, and the edge is current. With no scoped
retirement every source's end is the same and this is the rule above. Every source is taken as
asserting up to the edge's `last_seen` (per-source times are not kept): exact while at most one
of an edge's sources retires it, as for OWNS (only the ownership facet retires by source).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from json.encoder import encode_basestring as _quote  # what json.dumps quotes with here
from typing import Any, NamedTuple

from lineage_kg.graph.model import EdgeKind
from lineage_kg.graph.mutations import Direction, EdgeRetire
from lineage_kg.graph.records import EdgeId, Record, merge_node

RETIRED = "_retired"  # on a node record: the retirements anchored there (canonical JSON)


class Remembered(NamedTuple):
    """One retirement as its anchor keeps it. A named tuple, not a frozen dataclass: built for
    every entry parsed and remembered (~55k a large batch), compared in C."""

    time: str
    event_id: str
    disc: str | None
    keep: frozenset[str]
    only: frozenset[str] | None
    source: str | None = None  # a scoped retirement's source (EdgeRetire.scoped), else None

    @property
    def order(self) -> tuple[Any, ...]:
        """A total order, so one log has one text (sets compare by inclusion, not in order)."""
        disc = (self.disc is not None, self.disc or "")
        only = (self.only is not None, sorted(self.only or ()))
        source = (self.source is not None, self.source or "")
        return (self.time, self.event_id, disc, sorted(self.keep), only, source)

    def applies(self, far: str, disc: str) -> bool:
        return (
            self.disc in (None, disc)
            and far not in self.keep
            and (self.only is None or far in self.only)
        )


Log = dict[str, tuple[Remembered, ...]]  # "KIND|direction" -> retirements, sorted


def _order(r: Remembered) -> tuple[Any, ...]:
    """`Remembered.order` flattened (its inner pairs spread out): it compares alike, with two
    tuples fewer built per entry sorted."""
    return (
        r.time,
        r.event_id,
        r.disc is not None,
        r.disc or "",
        sorted(r.keep),
        r.only is not None,
        sorted(r.only or ()),
        r.source is not None,
        r.source or "",
    )


_EMPTY: frozenset[str] = frozenset()

# (kind, direction) -> "KIND|direction": looked up, not formatted (two a settled edge). Keyed by
# the kind's text, which an EdgeKind equals and hashes alike.
_SCOPES = {(str(k.value), d): f"{k.value}|{d.value}" for k in EdgeKind for d in Direction}


_SCOPE_OUT = {k: s for (k, d), s in _SCOPES.items() if d is Direction.OUT}
_SCOPE_IN = {k: s for (k, d), s in _SCOPES.items() if d is Direction.IN}
_OUT, _IN = Direction.OUT, Direction.IN


def _scope(kind: str, direction: Direction) -> str:
    scope = _SCOPES.get((kind, direction))
    return scope if scope is not None else f"{kind}|{direction.value}"


# Texts parsed, and texts `remember` wrote with the log it wrote them from: a batch remembers
# retirements on tens of thousands of anchors, then settles every edge at them; with a small
# LRU each settle parsed again the text just written (100k estate, first 500 events: 116k
# parses). Emptied whole when full: a miss only costs a parse. Shared by threads: a dict's get
# and set are atomic, and a value is only ever the parse of its key.
_PARSED_MAX = 1 << 15  # ~900 bytes each (100k estate): ~28 MiB at most
_parsed: dict[str, Log] = {}


def _parse(text: str) -> Log:
    log = _parsed.get(text)
    if log is None:
        log = _known(text, _read(text))
    return log


def _known(text: str, log: Log) -> Log:
    if len(_parsed) >= _PARSED_MAX:
        _parsed.clear()
    _parsed[text] = log
    return log


def _read(text: str) -> Log:
    data = json.loads(text)
    sets: list[frozenset[str]] = [frozenset(s) for s in data["sets"]]
    # an entry is [time, event, disc, keep, only], and a scoped one its source after them
    return {
        scope: tuple(
            Remembered(t, e, d, sets[k], None if o is None else sets[o], *source)
            for t, e, d, k, o, *source in entries
        )
        for scope, entries in data["log"].items()
    }


# a keep/only set -> (its ids sorted, their JSON list): the same sets recur across anchors (the
# empty one on half of them, one job's inputs on each column it writes). Emptied when full.
_forms: dict[frozenset[str], tuple[tuple[str, ...], str]] = {}


def _form(ids: frozenset[str]) -> tuple[tuple[str, ...], str]:
    form = _forms.get(ids)
    if form is None:
        if len(_forms) >= _PARSED_MAX:
            _forms.clear()
        ordered = tuple(sorted(ids))
        form = _forms[ids] = (ordered, f"[{','.join(map(_quote, ordered))}]")
    return form


def _dump(log: Log) -> str:
    """The log's canonical text: keep/only sets stored once each, in sorted order; as
    `json.dumps({"sets": ..., "log": ...}, sort_keys=True, separators=(",", ":"),
    ensure_ascii=False)` writes it, written here piece by piece (strings quoted by the encoder
    json.dumps uses): one text a remembering anchor, ~27k a large batch."""
    held: dict[frozenset[str], tuple[tuple[str, ...], str]] = {}
    for rs in log.values():
        for r in rs:
            if r.keep not in held:
                held[r.keep] = _form(r.keep)
            if r.only is not None and r.only not in held:
                held[r.only] = _form(r.only)
    forms = sorted(set(held.values()))  # by the sorted ids: one form a set
    index = {form: str(i) for i, form in enumerate(forms)}
    ref = {ids: index[form] for ids, form in held.items()}
    scopes = []
    for scope in sorted(log):
        rows = ",".join(
            f"[{_quote(r.time)},{_quote(r.event_id)},"
            f"{'null' if r.disc is None else _quote(r.disc)},{ref[r.keep]},"
            f"{'null' if r.only is None else ref[r.only]}"
            f"{'' if r.source is None else ',' + _quote(r.source)}]"
            for r in log[scope]
        )
        scopes.append(f"{_quote(scope)}:[{rows}]")
    listed = ",".join(text for _, text in forms)
    return f'{{"log":{{{",".join(scopes)}}},"sets":[{listed}]}}'


def remember(node: Record, retire: EdgeRetire) -> Record:
    """The anchor's record with this retirement remembered (`node` itself if it already was)."""
    return remember_each(node, (retire,))


def remember_each(node: Record, retires: Iterable[EdgeRetire]) -> Record:
    """The anchor's record with these retirements remembered (`node` itself if all were): one
    parse and one text for all of them. The text is canonical (each scope's entries sorted by a
    total order, duplicates dropped), so it is the one remembering them one by one makes."""
    text = node.get(RETIRED)
    held: Log = _parse(text) if text else {}
    added: dict[str, list[Remembered]] = {}
    for retire in retires:
        prov, only = retire.prov, retire.only
        entry = Remembered(
            prov.event_time,
            prov.event_id,
            retire.disc,
            frozenset([k.id for k in retire.keep]) if retire.keep else _EMPTY,
            None if only is None else frozenset([k.id for k in only]),
            prov.source if retire.scoped else None,
        )
        scope = _scope(retire.kind, retire.direction)
        if entry not in held.get(scope, ()):
            new = added.get(scope)
            if new is None:
                added[scope] = [entry]
            elif entry not in new:
                new.append(entry)
    if not added:
        return node
    log = dict(held)
    for scope, entries in added.items():
        log[scope] = tuple(sorted((*log.get(scope, ()), *entries), key=_order))
    text = _dump(log)
    _known(text, log)  # the edges at this anchor are settled against it next
    return {**node, RETIRED: text}


def remember_all(retires: list[EdgeRetire], nodes: dict[str, Record]) -> None:
    """Remember each retirement on its anchor. The retirement speaks of its anchor, so the anchor
    exists from then on, as an edge's ends do: otherwise a retirement arriving before anything
    else named its anchor would be forgotten, and the arrival order would matter again."""
    at: dict[str, list[EdgeRetire]] = {}  # an anchor's retirements: remembered at once
    for retire in retires:
        anchor = retire.anchor.id
        theirs = at.get(anchor)
        if theirs is None:
            at[anchor] = [retire]
        else:
            theirs.append(retire)
            if theirs[-2].prov is retire.prov:
                continue  # merged just now: the record covers it (merge_node returns it as is)
        nodes[anchor] = merge_node(nodes.get(anchor), retire.anchor, {}, retire.prov)
    for anchor, theirs in at.items():
        nodes[anchor] = remember_each(nodes[anchor], theirs)


def settle_all(
    ids: Iterable[EdgeId], edges: dict[EdgeId, Record], nodes: dict[str, Record]
) -> None:
    """Settle these edges (those a batch asserted) against the retirements their ends remember:
    each gets `valid_to`/`retired_by` from the earliest remembered retirement that applies to it
    and is later than its `last_seen` (a `valid_to` already on the record still counts while it
    is later than `last_seen`: a store written before retirements were remembered); none, and
    it is current. An assertion at the retirement's own time is never closed by it.

    ~90k edges a large batch, most at an anchor whose retirements are all of their own event's
    time: no call per edge, each end's log looked up once per node."""
    logs: dict[str, Log] = {}  # node id -> what it remembers ({}: nothing)
    outs, ins = _SCOPE_OUT, _SCOPE_IN
    for eid in ids:
        record = edges[eid]
        src_id, kind, dst_id, disc = eid
        last = record["last_seen"]
        at: str | None = None  # the earliest end found, and its event
        by = ""
        scoped: list[Remembered] | None = None  # scoped retirements earlier than `at`: rare
        # the retirements remembered at either end: out of the source, into the target
        for end, scopes, direction, far in (
            (src_id, outs, _OUT, dst_id),
            (dst_id, ins, _IN, src_id),
        ):
            log = logs.get(end)
            if log is None:
                log = logs[end] = _log_of(nodes.get(end))
            if log:
                for r in log.get(scopes.get(kind) or _scope(kind, direction), ()):
                    if (
                        r.time > last
                        and (at is None or r.time < at or (r.time == at and r.event_id < by))
                        and r.applies(far, disc)
                    ):
                        if r.source is None:
                            at, by = r.time, r.event_id
                        elif scoped is None:
                            scoped = [r]
                        else:
                            scoped.append(r)
        if scoped is not None:
            at, by = _sources_end(record["sources"], at, by, scoped)
        valid_to = record.get("valid_to")
        if valid_to is not None and valid_to > last:
            was = record.get("retired_by") or ""
            # an end a scoped retirement gave is the logs' to say again (see _sources_end)
            if (at is None or valid_to < at or (valid_to == at and was < by)) and (
                scoped is None or all(r.event_id != was for r in scoped)
            ):
                at, by = valid_to, was
        if at is None:
            if "valid_to" in record or "retired_by" in record:
                edges[eid] = {
                    k: v for k, v in record.items() if k not in ("valid_to", "retired_by")
                }
        elif valid_to != at or record.get("retired_by") != by:
            edges[eid] = {**record, "valid_to": at, "retired_by": by}


def _sources_end(
    sources: list[str], at: str | None, by: str, scoped: list[Remembered]
) -> tuple[str | None, str]:
    """The edge's end when scoped retirements apply to it: each source's end is the earliest of
    the unscoped one (`at`, `by`: None, none) and those scoped to it; the edge ends at the latest
    source's end, and is current (None) while one source has none."""
    latest: tuple[str, str] = ("", "")
    for source in sources:
        end = None if at is None else (at, by)
        for r in scoped:
            if r.source == source and (end is None or (r.time, r.event_id) < end):
                end = (r.time, r.event_id)
        if end is None:
            return None, ""
        latest = max(latest, end)
    return latest if latest[0] else (at, by)


def _log_of(node: Record | None) -> Log:
    text = node.get(RETIRED) if node is not None else None
    return _parse(text) if text else {}


def _renamed(log: Log, names: dict[str, str]) -> Log:
    def rename(ids: frozenset[str] | None) -> frozenset[str] | None:
        return None if ids is None else frozenset(names.get(i, i) for i in ids)

    return {
        scope: tuple(
            Remembered(
                r.time, r.event_id, r.disc, rename(r.keep) or frozenset(), rename(r.only), r.source
            )
            for r in entries
        )
        for scope, entries in log.items()
    }


def rehome_retired(node: Record, names: dict[str, str], other: Record | None = None) -> Record:
    """The node's remembered retirements with the node ids in their `keep`/`only` sets renamed
    (`names`: old id -> new id, a dataset's ids re-homed onto another name) and, with `other`,
    those `other` remembers too: as if every retirement had named the new ids from the start."""
    texts = [t for t in (node.get(RETIRED), other.get(RETIRED) if other else None) if t]
    if not texts:
        return node
    merged: dict[str, set[Remembered]] = {}
    for text in texts:
        for scope, entries in _renamed(_parse(text), names).items():
            merged.setdefault(scope, set()).update(entries)
    log = {s: tuple(sorted(rs, key=lambda r: r.order)) for s, rs in merged.items()}
    text = _dump(log)
    return node if node.get(RETIRED) == text else {**node, RETIRED: text}
