"""A reference implementation of `impact`, written from issue 15's semantics, not from the product.

Pure Python over raw OpenLineage event dicts. It imports nothing from graph/, ingest/, queries/ or
api/, so a misreading there cannot hide here. It covers the shapes the tests feed it (RunEvents
with inputs, outputs, `schema`, `symlinks` and `columnLineage` facets); anything else is ignored.

The semantics, each in one place below:
1. Names (`normalise_namespace`): scheme aliases, lowercased scheme and host, the default port,
   one trailing "/" dropped. Dataset names are never rewritten.
2. Symlinks (`Names`): every name a dataset is given in any event (its own, its symlinks) is one
   dataset, whatever the order of the events; a TABLE symlink names it.
3. Time, not arrival (`current_lineage`): a job's current lineage is what its newest run, by the
   eventTime of that run's COMPLETE, asserted; older runs are history whenever they arrive.
4. Indirect lineage (`ColumnLineage.whole`): the facet's dataset-wide `dataset` list and INDIRECT
   transformations make an input column reach every column of the output, exactly.
5. Column lineage is authoritative (`Reference._steps`): an output with a columnLineage facet
   (naming at least one input column) is reached from an input column only through that facet;
   an output without one is reached "possible" (the dataset, not its columns) from any column of
   any input. A whole dataset (a start, or reached by dataset-level lineage) may be dropped or
   reloaded: every output of every job reading it is reached "possible".
Certainty: a node is exact if some path to it takes only exact (column-level) steps.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Event = dict[str, Any]
DatasetId = tuple[str, str]  # canonical (namespace, name)
ColumnId = tuple[str, str, str]  # canonical (namespace, name, field)
Node = tuple[str, str, str, str]  # ("Dataset", ns, name, "") or ("Column", ns, name, field)
EXACT, POSSIBLE = "exact", "possible"

# ---- 1. names --------------------------------------------------------------------------------
SCHEME_ALIASES = {"postgresql": "postgres", "s3a": "s3", "s3n": "s3", "gcs": "gs"}
DEFAULT_PORTS = {"postgres": 5432, "mysql": 3306}


def normalise_namespace(namespace: str) -> str:
    """`Postgresql://DB/` -> `postgres://db:5432`; `s3a://lake` -> `s3://lake`; `file` stays."""
    ns = namespace.strip()
    scheme, sep, rest = ns.partition("://")
    if not sep:
        return ns
    scheme = scheme.lower()
    scheme = SCHEME_ALIASES.get(scheme, scheme)
    host, slash, path = rest.partition("/")
    host = host.lower()
    if ":" not in host and scheme in DEFAULT_PORTS:
        host = f"{host}:{DEFAULT_PORTS[scheme]}"
    if slash and not path:  # one trailing "/" after the authority
        slash = ""
    return f"{scheme}://{host}{slash}{path}"


def written_name(namespace: str, name: str) -> DatasetId:
    return normalise_namespace(namespace), name


# ---- 2. symlinks -----------------------------------------------------------------------------
class Names:
    """Union-find over every name of every dataset seen (any symlink type joins names). The
    canonical name: a TABLE symlink, else a name some event gave the dataset as its own."""

    def __init__(self) -> None:
        self._parent: dict[DatasetId, DatasetId] = {}
        self._tables: set[DatasetId] = set()
        self._own: set[DatasetId] = set()

    def _find(self, name: DatasetId) -> DatasetId:
        self._parent.setdefault(name, name)
        while self._parent[name] != name:
            name = self._parent[name]
        return name

    def add(self, ds: dict[str, Any]) -> None:
        own = written_name(ds["namespace"], ds["name"])
        self._own.add(own)
        self._find(own)
        symlinks = (ds.get("facets") or {}).get("symlinks") or {}
        for ident in symlinks.get("identifiers") or []:
            other = written_name(ident["namespace"], ident["name"])
            if str(ident.get("type", "")).upper() == "TABLE":
                self._tables.add(other)
            a, b = self._find(own), self._find(other)
            if a != b:
                self._parent[a] = b

    def canonical(self, namespace: str, name: str) -> DatasetId:
        written = written_name(namespace, name)
        root = self._find(written)
        members = [n for n in self._parent if self._find(n) == root]
        for preferred in (self._tables, self._own):
            if found := sorted(n for n in members if n in preferred):
                return found[0]
        return min(members)


# ---- 3. time, not arrival --------------------------------------------------------------------
@dataclass
class ColumnLineage:
    """One output's columnLineage facet, resolved to canonical names."""

    direct: dict[str, set[ColumnId]] = field(default_factory=dict)  # output field -> inputs
    whole: set[ColumnId] = field(default_factory=set)  # inputs that reach every output column


@dataclass
class Lineage:
    """What a job's newest completed run asserted."""

    inputs: set[DatasetId] = field(default_factory=set)
    outputs: dict[DatasetId, ColumnLineage | None] = field(default_factory=dict)


def event_time(event: Event) -> datetime:
    return datetime.fromisoformat(event["eventTime"].replace("Z", "+00:00"))


def run_events(events: list[Event]) -> list[Event]:
    return [e for e in events if "run" in e and "job" in e]


def newest_runs(events: list[Event]) -> dict[tuple[str, str], list[Event]]:
    """Per job, the events of its run whose COMPLETE is newest by event time (arrival ignored)."""
    by_run: dict[str, list[Event]] = defaultdict(list)
    for e in run_events(events):
        by_run[e["run"]["runId"]].append(e)
    newest: dict[tuple[str, str], tuple[datetime, list[Event]]] = {}
    for run in by_run.values():
        completes = [e for e in run if str(e.get("eventType", "")).upper() == "COMPLETE"]
        if not completes:
            continue  # a run that never completed asserts no current lineage
        job = (run[0]["job"]["namespace"], run[0]["job"]["name"])
        when = max(event_time(e) for e in completes)
        if job not in newest or when > newest[job][0]:
            newest[job] = (when, sorted(run, key=event_time))
    return {job: run for job, (_, run) in newest.items()}


# ---- 4. indirect lineage ---------------------------------------------------------------------
def column_lineage(facet: dict[str, Any], names: Names) -> ColumnLineage:
    def column(entry: dict[str, Any]) -> ColumnId:
        return (*names.canonical(entry["namespace"], entry["name"]), entry["field"])

    found = ColumnLineage()
    for out_field, spec in (facet.get("fields") or {}).items():
        for entry in spec.get("inputFields") or []:
            kinds = {str(t.get("type", "")).upper() for t in entry.get("transformations") or []}
            if "INDIRECT" in kinds:
                found.whole.add(column(entry))
            if kinds - {"INDIRECT"} or not kinds:  # DIRECT, or the legacy form (no types)
                found.direct.setdefault(out_field, set()).add(column(entry))
    for entry in facet.get("dataset") or []:
        found.whole.add(column(entry))
    return found


def current_lineage(events: list[Event], names: Names) -> dict[tuple[str, str], Lineage]:
    """Each job's current lineage: the union of what its newest completed run's events listed,
    with each output's column lineage from the newest of those events that carries one."""
    current: dict[tuple[str, str], Lineage] = {}
    for job, run in newest_runs(events).items():
        lineage = current[job] = Lineage()
        for e in run:  # oldest first: a later event's facet replaces an earlier one's
            for ds in e.get("inputs") or []:
                lineage.inputs.add(names.canonical(ds["namespace"], ds["name"]))
            for ds in e.get("outputs") or []:
                out = names.canonical(ds["namespace"], ds["name"])
                facet = (ds.get("facets") or {}).get("columnLineage")
                cl = column_lineage(facet, names) if facet is not None else None
                if cl is not None and (cl.direct or cl.whole):
                    lineage.outputs[out] = cl
                else:  # a facet naming no input column says nothing: dataset-level
                    lineage.outputs.setdefault(out, None)
        for cl in lineage.outputs.values():  # datasets the column lineage reads are inputs too
            for ns, name, _ in {c for cols in (cl.direct.values() if cl else []) for c in cols} | (
                cl.whole if cl else set()
            ):
                lineage.inputs.add((ns, name))
        lineage.inputs -= set(lineage.outputs)  # no job is its own input
    return current


def known_columns(events: list[Event], names: Names) -> dict[DatasetId, set[str]]:
    """Every field any event names for a dataset: schema facets and column lineage, both ends."""
    columns: dict[DatasetId, set[str]] = defaultdict(set)
    for e in run_events(events):
        for ds in [*(e.get("inputs") or []), *(e.get("outputs") or [])]:
            key = names.canonical(ds["namespace"], ds["name"])
            facets = ds.get("facets") or {}
            for f in (facets.get("schema") or {}).get("fields") or []:
                columns[key].add(f["name"])
            if (facet := facets.get("columnLineage")) is not None:
                cl = column_lineage(facet, names)
                columns[key] |= set(cl.direct) | set(facet.get("fields") or {})
                for ns, name, fld in {c for cols in cl.direct.values() for c in cols} | cl.whole:
                    columns[(ns, name)].add(fld)
    return columns


# ---- 5. the walk -----------------------------------------------------------------------------
# A dataset is walked in one of three states, a column in one:
#   ("col", ds, field)   that column may change;
#   ("field", ds, "")    the dataset, entered from one of its columns: only that column changed;
#   ("every", ds, "")    each of its columns may change (a dataset-wide column dependency);
#   ("whole", ds, "")    the dataset as a whole (a start, or dataset-level lineage): it may be
#                        dropped or reloaded, so every output of its readers may change — but
#                        nothing is known of which of their columns.
State = tuple[str, DatasetId, str]


class Reference:
    def __init__(self, events: list[Event]) -> None:
        self.names = Names()
        for e in run_events(events):
            for ds in [*(e.get("inputs") or []), *(e.get("outputs") or [])]:
                self.names.add(ds)
        self.lineage = current_lineage(events, self.names)
        self.columns = known_columns(events, self.names)
        self.readers: dict[DatasetId, list[Lineage]] = defaultdict(list)
        for lineage in self.lineage.values():
            for ds in lineage.inputs:
                self.readers[ds].append(lineage)

    def _steps(self, state: State) -> list[tuple[State, str]]:
        """Where one state leads, and how certain that step is."""
        kind, ds, fld = state
        steps: list[tuple[State, str]] = []
        if kind == "col":
            steps.append((("field", ds, ""), EXACT))  # a column's change is its dataset's
        if kind == "every":
            steps.append((("field", ds, ""), EXACT))
            steps += [(("col", ds, c), EXACT) for c in sorted(self.columns.get(ds, ()))]
        for lineage in self.readers.get(ds, []):
            for out, cl in lineage.outputs.items():
                if kind == "whole" or (kind == "field" and cl is None):
                    steps.append((("whole", out, ""), POSSIBLE))  # dataset-level lineage
                elif kind == "col" and cl is not None:  # authoritative: only what it names
                    col = (*ds, fld)
                    steps += [(("col", out, f), EXACT) for f, i in cl.direct.items() if col in i]
                    if col in cl.whole:
                        steps.append((("every", out, ""), EXACT))
        return steps

    def _reach(self, starts: list[State], exact_only: bool) -> set[State]:
        seen, todo = set(starts), list(starts)
        while todo:
            for nxt, certainty in self._steps(todo.pop()):
                if (certainty == EXACT or not exact_only) and nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    def impact(self, namespace: str, name: str, field: str | None = None) -> dict[Node, str]:
        """Datasets and columns downstream of a dataset or column named as a producer writes it,
        each with its certainty; the start (a dataset: and its columns) is not in the answer."""
        ds = self.names.canonical(namespace, name)
        if field is None:  # the dataset as a whole, and each of its columns
            starts: list[State] = [("whole", ds, "")]
            starts += [("col", ds, c) for c in self.columns[ds]]
        else:
            starts = [("col", ds, field)]
        excluded = {_node(s) for s in starts}
        exact = {_node(s) for s in self._reach(starts, exact_only=True)}
        answer: dict[Node, str] = {}
        for state in self._reach(starts, exact_only=False):
            node = _node(state)
            if node not in excluded:
                answer[node] = EXACT if node in exact else POSSIBLE
        return answer


def _node(state: State) -> Node:
    kind, (ns, name), fld = state
    return ("Column", ns, name, fld) if kind == "col" else ("Dataset", ns, name, "")
