"""Where an OpenLineage event writes: the namespaces (and runs) of the mutations it maps to.

A key restricted to namespaces may write only inside them (docs/security.md). A list of event
fields to read would have to follow every facet the mapping reads, and the one kept by hand did
not (symlinks, column lineage inputs, a rename's previous name, run ids all wrote elsewhere). So
the event is mapped here exactly as the projector will map it (`map_event`: pure, about a
millisecond) and every node the mutations touch is judged:

- Dataset, Column, DatasetVersion, Job, Exposure: by their namespace, normalised as ingest does;
- Owner: a person or team owns things in many namespaces, so an Owner is allowed as the far end
  of an edge whose other end is judged; props of its own it may not get through such a key;
- Run: has no namespace; it belongs to the job that first reported it. A new run's job is in
  the same batch (its RUN_OF edge, judged as a Job); a run the store already holds is judged by
  the namespaces of its jobs (`run_jobs`);
- any other kind: refused (the OpenLineage mapping makes none).

A symlink joins two names of one dataset (graph/merge.py): both names are judged, since a link
arriving late re-homes whatever the store holds under either; and a name the store already joined
onto another dataset writes there, so that dataset's namespace is judged too (`linked`). What
intake cannot see (the store down, a link projected after this check) the projection confines:
graph/confine.py.

Every node upsert, both ends of every edge upsert and the anchor of every retirement are judged;
so are the job, dataset and parent-job namespaces the event declares, even when the mapping
skips them. The projection keeps a run to its first job as well (graph/run_owner.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lineage_kg.graph.merge import dataset_id
from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import DatasetLink, Direction, EdgeRetire, EdgeUpsert, NodeUpsert
from lineage_kg.graph.naming import normalise_namespace
from lineage_kg.graph.store import GraphStore, StoreUnavailable
from lineage_kg.ingest.openlineage.mapping import map_event

NAMESPACED = frozenset(
    {
        NodeKind.DATASET,
        NodeKind.COLUMN,
        NodeKind.DATASET_VERSION,
        NodeKind.JOB,
        NodeKind.EXPOSURE,
    }
)
log = logging.getLogger(__name__)

SHARED = frozenset({NodeKind.OWNER})  # identities across namespaces: never a namespace's own

# the jobs each of these runs is RUN_OF, for those the store holds (absent: unknown run)
RunJobs = Callable[[Sequence[NodeKey]], Mapping[NodeKey, Sequence[NodeKey]]]
# the alias table's rows for these dataset ids (alias id -> canonical id): graph/merge.py
Linked = Callable[[Sequence[str]], Mapping[str, str]]


class Allowed:
    """A key's namespaces, matched as the graph names them (`postgres://db` = `postgres://db:5432`)."""

    def __init__(self, namespaces: Iterable[str]) -> None:
        given = {n for n in namespaces}
        self.listed = sorted(given)
        self._names = given | {normalise_namespace(n) for n in given}

    def __contains__(self, namespace: object) -> bool:
        return isinstance(namespace, str) and (
            namespace in self._names or normalise_namespace(namespace) in self._names
        )


@dataclass(frozen=True, slots=True)
class Foreign:
    """One write outside the key's namespaces, and the part of the event that asked for it."""

    reason: str  # e.g. "namespace 'ns-b'"
    where: str  # a JSON path into the event, e.g. `outputs[0].facets.symlinks.identifiers[0]…`
    what: str  # what would be written, e.g. "Dataset ns-b/victim"
    index: int | None  # the event's position in a bulk request

    def message(self, allowed: Allowed) -> str:
        event = "" if self.index is None else f"event {self.index}: "
        return (
            f"{event}{self.reason} is outside this key's namespaces {allowed.listed}: "
            f"{self.where} would write {self.what}"
        )


def declared_namespaces(event: object) -> list[tuple[str, str]]:
    """(path, namespace) of the job, datasets and parent job the event names: judged even when
    the mapping skips them (a dataset it cannot identify), as they were before the mapping was."""
    if not isinstance(event, dict):
        return []
    found: list[tuple[str, object]] = []
    for holder in ("job", "dataset"):
        if isinstance(part := event.get(holder), dict):
            found.append((f"{holder}.namespace", part.get("namespace")))
    for side in ("inputs", "outputs"):
        if isinstance(datasets := event.get(side), list):
            found += [
                (f"{side}[{i}].namespace", d.get("namespace"))
                for i, d in enumerate(datasets)
                if isinstance(d, dict)
            ]
    run = event.get("run")
    facets = run.get("facets") if isinstance(run, dict) else None
    parent = facets.get("parent") if isinstance(facets, dict) else None
    parent_job = parent.get("job") if isinstance(parent, dict) else None
    if isinstance(parent_job, dict):
        found.append(("run.facets.parent.job.namespace", parent_job.get("namespace")))
    return [(path, ns) for path, ns in found if isinstance(ns, str) and ns.strip()]


@dataclass(slots=True)
class Writes:
    """The nodes one event's mutations touch, in the order the mapping made them."""

    namespaced: dict[NodeKey, None]  # ordered set
    runs: dict[NodeKey, None]
    other: dict[NodeKey, str]  # kinds with no namespace rule, or a shared node given props


def mapped_writes(event: object) -> Writes:
    """What the mapping would write for `event`; nothing if it cannot map it (then the projector
    parks it and writes nothing either)."""
    writes = Writes({}, {}, {})
    try:
        batch = map_event(event, "intake-check")  # type: ignore[arg-type]
    except Exception:
        return writes
    for m in batch.mutations:
        if isinstance(m, NodeUpsert):
            _note(writes, m.key, given_props=bool(m.props))
        elif isinstance(m, EdgeUpsert):
            _note(writes, m.key.src)
            _note(writes, m.key.dst)
        elif isinstance(m, EdgeRetire):
            _note(writes, m.anchor)
        elif isinstance(m, DatasetLink):
            _note(writes, m.alias)
            _note(writes, m.canonical)
    return writes


def _note(writes: Writes, key: NodeKey, *, given_props: bool = False) -> None:
    if key.kind in NAMESPACED:
        writes.namespaced.setdefault(key)
    elif key.kind is NodeKind.RUN:
        writes.runs.setdefault(key)
    elif key.kind in SHARED:
        if given_props:
            writes.other.setdefault(key, f"props of the shared {key.kind}")
    else:
        writes.other.setdefault(key, f"a {key.kind} (no namespace)")


def first_foreign(
    items: Iterable[tuple[int | None, Any]],
    namespaces: Iterable[str],
    run_jobs: RunJobs,
    linked: Linked | None = None,
) -> tuple[Foreign, Allowed] | None:
    """The first write outside `namespaces` among (index, event) pairs, or None if all are in.

    Runs and linked names are looked up once for the whole request, after every namespace has
    passed."""
    allowed = Allowed(namespaces)
    runs: dict[NodeKey, tuple[int | None, Any]] = {}
    names: dict[str, tuple[int | None, Any, NodeKey]] = {}
    for index, event in items:
        writes = mapped_writes(event)
        if (found := _foreign_namespace(event, writes, allowed, index)) is not None:
            return found, allowed
        for run in writes.runs:
            runs.setdefault(run, (index, event))
        for key in writes.namespaced:
            if (ds := dataset_id(key)) is not None:
                names.setdefault(ds, (index, event, key))
    if names and linked is not None:
        for alias, canonical in sorted(linked(list(names)).items()):
            target = NodeKey.from_id(canonical)
            if target.parts[0] not in allowed:
                index, event, key = names[alias]
                return (
                    Foreign(
                        f"namespace {target.parts[0]!r}",
                        _path_of(event, key.parts[1], prefer="name"),
                        f"{target.kind} {target.display} ({key.display} is another name of it)",
                        index,
                    ),
                    allowed,
                )
    if not runs:
        return None
    held = run_jobs(list(runs))
    for run, (index, event) in runs.items():
        for job in held.get(run, ()):
            if job.parts[0] not in allowed:
                where = _path_of(event, run.parts[0], prefer="runId")
                return (
                    Foreign(
                        f"run {run.parts[0]!r} belongs to job {job.display!r}: namespace "
                        f"{job.parts[0]!r}",
                        where,
                        f"{run.kind} {run.display} (another job's run)",
                        index,
                    ),
                    allowed,
                )
    return None


def _foreign_namespace(
    event: Any, writes: Writes, allowed: Allowed, index: int | None
) -> Foreign | None:
    for path, ns in declared_namespaces(event):
        if ns not in allowed:
            return Foreign(f"namespace {ns!r}", path, "a node in it", index)
    for key in writes.namespaced:
        ns = key.parts[0]
        if ns not in allowed:
            where = _path_of(event, ns, prefer="namespace")
            return Foreign(f"namespace {ns!r}", where, f"{key.kind} {key.display}", index)
    for key, what in writes.other.items():
        where = _path_of(event, key.parts[-1], prefer="")
        return Foreign(what, where, f"{key.kind} {key.display}", index)
    return None


def _same_namespace(value: str, namespace: str) -> bool:
    return value == namespace or (value.strip() != "" and normalise_namespace(value) == namespace)


def _strings(obj: Any) -> Iterator[tuple[str, str, str]]:
    """(path, last key, value) of every string in a JSON value, in document order. Iterative."""
    stack: list[tuple[str, str, Any]] = [("", "", obj)]
    while stack:
        path, last, value = stack.pop()
        if isinstance(value, str):
            yield path or "$", last, value
        elif isinstance(value, dict):
            items = [(f"{path}.{k}" if path else str(k), str(k), v) for k, v in value.items()]
            stack += reversed(items)
        elif isinstance(value, list):
            stack += reversed([(f"{path}[{i}]", last, v) for i, v in enumerate(value)])


def _path_of(event: Any, wanted: str, *, prefer: str) -> str:
    """The first path of a string that is `wanted` (or a namespace normalising to it), one under
    a key named `prefer` first; `$` if none (a name the mapping derived, not one it spelled)."""
    fallback = None
    for path, last, value in _strings(event):
        if _same_namespace(value, wanted) if prefer == "namespace" else value == wanted:
            if not prefer or last == prefer:
                return path
            fallback = fallback or path
    return fallback or "$"


def store_linked(store: GraphStore) -> Linked:
    """`Linked` read from a store: one read for all the names of a request."""

    def linked(ids: Sequence[str]) -> Mapping[str, str]:
        try:
            return store.linked_names(ids)
        except StoreUnavailable as exc:
            # as for runs: intake keeps accepting; the log keeps the key's namespaces with the
            # event and the projection drops its writes a join puts outside (graph/confine.py)
            log.warning("linked names not checked against the store (unavailable): %s", exc)
            return {}

    return linked


def store_run_jobs(store: GraphStore) -> RunJobs:
    """`RunJobs` read from a store: each held run's RUN_OF jobs. One read for all the runs."""

    def run_jobs(runs: Sequence[NodeKey]) -> Mapping[NodeKey, Sequence[NodeKey]]:
        try:
            edges = store.neighbors([run.id for run in runs], Direction.OUT, [EdgeKind.RUN_OF])
        except StoreUnavailable as exc:
            # intake keeps accepting while the store is down; the projection still keeps every
            # run to its first job (graph/run_owner.py), so a forged run event changes nothing
            log.warning("runs not checked against the store (unavailable): %s", exc)
            return {}
        held: dict[NodeKey, list[NodeKey]] = {}
        for edge in edges:
            held.setdefault(edge.key.src, []).append(edge.key.dst)
        return held

    return run_jobs
