"""Marquez's read API, answered from the graph: namespaces, datasets, jobs, runs, the lineage
graph, column lineage and search, each in the JSON shape Marquez answers with (spec/openapi.yml
and marquez/service/models of MarquezProject/marquez), so Marquez's clients, web UI and scripts
read this service as they read Marquez. docs/marquez.md says what is covered and what is not.

Conventions taken from Marquez:
- node ids are `dataset:<ns>:<name>`, `job:<ns>:<name>`, `datasetField:<ns>:<name>:<field>`; a
  namespace may hold `:` (`postgres://db:5432`): as Marquez does, a `:` followed by `//` or a
  digit does not end a part (NodeId.parts);
- lists page with `limit` (default 100) and `offset` (default 0) and say `totalCount`;
- the lineage graph is Marquez's: the jobs within `depth` job-to-job hops of the start (two jobs
  are one hop apart when one reads or writes a dataset the other reads or writes, whichever way),
  with every dataset they read or write; from a dataset, the jobs that read or write it are hop 0.
  A dataset no job touches is a graph of itself alone. Each node once (breadth-first).

Names resolve with graph/resolve.py, so `dataset:postgresql://DB/x` finds what events wrote
under `postgres://db:5432`. Reads go through the store interface only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lineage_kg.graph.errors import InvalidArgument, NotFound
from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.naming import normalise_job_namespace, normalise_namespace, version_key
from lineage_kg.graph.records import StoredEdge, StoredNode
from lineage_kg.graph.resolve import resolve
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.assets import run_ended, run_started, runs_of, versions_of

K, E = NodeKind, EdgeKind
IN, OUT = Direction.IN, Direction.OUT

DEFAULT_LIMIT = 100  # Marquez's default page
SEARCH_DEFAULT_LIMIT = 10  # Marquez's default for /search
MAX_LIMIT = 1_000  # Marquez has no upper bound; we do: a bigger page is a 400
DEFAULT_DEPTH = 20  # Marquez's default lineage depth
MAX_DEPTH = 25  # the graph's bound on every walk (queries/arguments.py)
# Listings read the matching nodes with one bounded search; past this many the answer is the
# first ones (by display name) and says it is truncated (docs/marquez.md).
SCAN_LIMIT = 100_000

# Marquez run states from OpenLineage event types (marquez.common.models.RunState)
RUN_STATES = {
    "START": "RUNNING",
    "RUNNING": "RUNNING",
    "COMPLETE": "COMPLETED",
    "FAIL": "FAILED",
    "ABORT": "ABORTED",
}


@dataclass(slots=True)
class Page:
    """One page of a list: the items, how many there are in all, and whether the listing's
    bounded read stopped before the end (then `total` counts what was read)."""

    items: list[dict[str, Any]]
    total: int
    truncated: bool = False


@dataclass(slots=True)
class Graph:
    """A lineage answer: `{"graph": nodes}`, and whether the walk stopped at its node bound."""

    nodes: list[dict[str, Any]]
    truncated: bool = False

    def json(self) -> dict[str, Any]:
        return {"graph": self.nodes}


# ---- arguments ----------------------------------------------------------------------------------
def check_page(limit: int, offset: int, max_limit: int = MAX_LIMIT) -> None:
    if not 0 <= limit <= max_limit:
        raise InvalidArgument(f"limit must be between 0 and {max_limit}, got {limit}")
    if offset < 0:
        raise InvalidArgument(f"offset must be 0 or more, got {offset}")


def check_depth(depth: int) -> None:
    if not 0 <= depth <= MAX_DEPTH:
        raise InvalidArgument(f"depth must be between 0 and {MAX_DEPTH}, got {depth}")


# a `:` that ends a part: not the `://` of a URI, not the one before a port (Marquez's rule)
_PART_END = re.compile(r":(?!//|\d)")
_PARTS = {"dataset": 3, "job": 3, "datasetField": 4}


@dataclass(frozen=True, slots=True)
class MarquezId:
    type: str  # dataset | job | datasetField
    parts: tuple[str, ...]  # namespace, name[, field]


def parse_node_id(value: str) -> MarquezId:
    """A Marquez node id; InvalidArgument naming `nodeId` if it is none we answer."""
    kind = value.split(":", 1)[0]
    if kind not in _PARTS and kind != "run":
        raise InvalidArgument(
            f"nodeId ({value}) must start with 'dataset', 'datasetField', 'job' or 'run'"
        )
    if kind == "run":
        raise InvalidArgument("nodeId: run nodes are not supported here (see docs/marquez.md)")
    if "#" in value:
        raise InvalidArgument("nodeId: versioned node ids (`…#version`) are not supported")
    want = _PARTS[kind]
    plain = value.split(":")
    if len(plain) == want:
        parts = plain
    else:
        parts, at = [], 0
        for match in _PART_END.finditer(value):
            if len(parts) == want - 1:
                break
            parts.append(value[at : match.start()])
            at = match.end()
        parts.append(value[at:])
    if len(parts) != want or not all(parts[1:]):
        raise InvalidArgument(f"nodeId: expected {kind}:{'<…>:' * (want - 2)}<…>, got {value!r}")
    return MarquezId(kind, tuple(parts[1:]))


def dataset_node_id(key: NodeKey) -> str:
    return f"dataset:{key.parts[0]}:{key.parts[1]}"


def job_node_id(key: NodeKey) -> str:
    return f"job:{key.parts[0]}:{key.parts[1]}"


def field_node_id(key: NodeKey) -> str:
    return f"datasetField:{key.parts[0]}:{key.parts[1]}:{key.parts[2]}"


# ---- lookups ------------------------------------------------------------------------------------
def find_dataset(store: GraphStore, namespace: str, name: str) -> StoredNode:
    try:
        return resolve(store, NodeKey.of(K.DATASET, namespace=namespace, name=name)).node
    except NotFound:
        raise NotFound(f"Dataset '{name}' not found.") from None
    except ValueError as exc:  # InvalidArgument too: an empty part, an unknown name
        raise InvalidArgument(f"dataset: {exc}") from None


def find_job(store: GraphStore, namespace: str, name: str) -> StoredNode:
    try:
        return resolve(store, NodeKey.of(K.JOB, namespace=namespace, name=name)).node
    except NotFound:
        raise NotFound(f"Job '{name}' not found.") from None
    except ValueError as exc:
        raise InvalidArgument(f"job: {exc}") from None


def _in_namespace(
    store: GraphStore, kind: NodeKind, namespace: str
) -> tuple[list[StoredNode], bool]:
    """The `kind` nodes of one namespace, by name; whether the bounded read was cut short."""
    ns = normalise_namespace(namespace) if kind is K.DATASET else normalise_job_namespace(namespace)
    if not ns:
        return [], False
    hits = store.search(f"{ns}/", [kind], SCAN_LIMIT)
    found = [n for n in hits if n.key.parts[0] == ns]
    return sorted(found, key=lambda n: (n.key.parts[1], n.id)), len(hits) >= SCAN_LIMIT


def _namespace_nodes(store: GraphStore, namespace: str) -> tuple[list[StoredNode], bool]:
    datasets, cut = _in_namespace(store, K.DATASET, namespace)
    jobs, cut_jobs = _in_namespace(store, K.JOB, namespace)
    if not datasets and not jobs:
        raise NotFound(f"Namespace '{namespace}' not found.")
    return [*datasets, *jobs], cut or cut_jobs


def _namespace_json(name: str, nodes: Sequence[StoredNode]) -> dict[str, Any]:
    return {
        "name": name,
        "createdAt": min(n.first_seen for n in nodes),
        "updatedAt": max(n.last_seen for n in nodes),
        # Marquez's owner of a namespace OpenLineage events created
        "ownerName": "anonymous",
        "description": None,
        "isHidden": False,
    }


# ---- namespaces ---------------------------------------------------------------------------------
def namespaces(store: GraphStore, limit: int = DEFAULT_LIMIT, offset: int = 0) -> Page:
    """Every namespace a dataset or a job is in, by name."""
    check_page(limit, offset)
    # every dataset and job display is "namespace/name": one bounded read finds them all
    hits = store.search("/", [K.DATASET, K.JOB], SCAN_LIMIT)
    by_ns: dict[str, list[StoredNode]] = {}
    for node in hits:
        by_ns.setdefault(node.key.parts[0], []).append(node)
    names = sorted(by_ns)
    items = [_namespace_json(ns, by_ns[ns]) for ns in names[offset : offset + limit]]
    return Page(items, len(names), len(hits) >= SCAN_LIMIT)


def namespace(store: GraphStore, name: str) -> dict[str, Any]:
    nodes, _ = _namespace_nodes(store, name)
    return _namespace_json(nodes[0].key.parts[0], nodes)


def tags(store: GraphStore, limit: int = DEFAULT_LIMIT, offset: int = 0) -> dict[str, Any]:
    """Marquez's `GET /tags`: the tags datasets and jobs carry (tagsFacet), by name; Marquez
    answers `{"tags": [...]}` with no total."""
    check_page(limit, offset)
    hits = store.search("/", [K.DATASET, K.JOB], SCAN_LIMIT)
    names = sorted({t for node in hits for t in _strings(node, "tags")})
    return {"tags": [{"name": t, "description": None} for t in names[offset : offset + limit]]}


# ---- datasets -----------------------------------------------------------------------------------
def datasets(store: GraphStore, ns: str, limit: int = DEFAULT_LIMIT, offset: int = 0) -> Page:
    check_page(limit, offset)
    found, cut = _in_namespace(store, K.DATASET, ns)
    if not found:
        _namespace_nodes(store, ns)  # 404 for a namespace nothing is in
    page = found[offset : offset + limit]
    return Page(dataset_json(store, page), len(found), cut)


def dataset(store: GraphStore, ns: str, name: str) -> dict[str, Any]:
    return dataset_json(store, [_dataset_in(store, ns, name)])[0]


def _text(node: StoredNode | StoredEdge | None, prop: str) -> str | None:
    value = node.props.get(prop) if node is not None else None
    return value if isinstance(value, str) and value else None


def _strings(node: StoredNode | None, prop: str) -> list[str]:
    value = node.props.get(prop) if node is not None else None
    return sorted(v for v in value if isinstance(v, str)) if isinstance(value, list) else []


def _fields(store: GraphStore, has: Sequence[StoredEdge]) -> dict[str, list[dict[str, Any]]]:
    """dataset id -> Marquez's fields from its HAS_COLUMN edges, in schema order."""
    columns = {c.id: c for c in store.get_nodes(sorted({e.key.dst.id for e in has}))}
    fields: dict[str, list[tuple[int, str, dict[str, Any]]]] = {}
    for edge in has:
        col = edge.key.dst
        ordinal = edge.props.get("ordinal")
        order = ordinal if isinstance(ordinal, int) else 1 << 30
        fields.setdefault(edge.key.src.id, []).append(
            (
                order,
                col.parts[2],
                {
                    "name": col.parts[2],
                    "type": _text(edge, "type"),
                    "tags": _strings(columns.get(col.id), "tags"),
                    "description": _text(edge, "description"),
                },
            )
        )
    return {ds: [f for _, _, f in sorted(fs, key=lambda t: t[:2])] for ds, fs in fields.items()}


def dataset_json(store: GraphStore, nodes: Sequence[StoredNode]) -> list[dict[str, Any]]:
    """Marquez's Dataset for each node, in order: three batched reads for the lot."""
    ids = [n.id for n in nodes]
    fields = _fields(store, store.neighbors(ids, OUT, [E.HAS_COLUMN]) if ids else [])
    written = store.neighbors(ids, OUT, [E.HAS_VERSION]) if ids else []
    latest: dict[str, StoredEdge] = {}
    for edge in written:  # the version seen last is the current one
        seen = latest.get(edge.key.src.id)
        if seen is None or (edge.first_seen, edge.key.id) > (seen.first_seen, seen.key.id):
            latest[edge.key.src.id] = edge
    found = []
    for node in nodes:
        ns, name = node.key.parts
        version = latest.get(node.id)
        found.append(
            {
                "id": {"namespace": ns, "name": name},
                "type": "DB_TABLE",
                "name": name,
                "physicalName": name,
                "createdAt": node.first_seen,
                "updatedAt": node.last_seen,
                "namespace": ns,
                "sourceName": _text(node, "datasource_name") or ns,
                "fields": fields.get(node.id, []),
                "tags": _strings(node, "tags"),
                "lastModifiedAt": version.first_seen if version is not None else None,
                "lastLifecycleState": _text(node, "lifecycle_state"),
                "description": _text(node, "description"),
                "facets": {},
                "currentVersion": None,
                "columnLineage": None,
                "deleted": False,
            }
        )
    return found


def _dataset_in(store: GraphStore, ns: str, name: str) -> StoredNode:
    try:
        return find_dataset(store, ns, name)
    except NotFound:
        _namespace_nodes(store, ns)  # an unknown namespace is named as such, as Marquez does
        raise


def dataset_versions(
    store: GraphStore, ns: str, name: str, limit: int = DEFAULT_LIMIT, offset: int = 0
) -> Page:
    """A dataset's versions, newest first: a version facet's id, else `run:<runId>` for the
    version a run wrote."""
    check_page(limit, offset)
    node = _dataset_in(store, ns, name)
    every = list(reversed(versions_of(store, [node.id]).get(node.id, [])))
    return Page(version_json(store, node, every[offset : offset + limit]), len(every))


def dataset_version(store: GraphStore, ns: str, name: str, version: str) -> dict[str, Any]:
    node = _dataset_in(store, ns, name)
    found = store.get_node(version_key(node.key, version).id) if version else None
    if found is None:
        raise NotFound(f"Dataset version '{version}' not found.")
    return version_json(store, node, [found])[0]


def version_json(
    store: GraphStore, dataset: StoredNode, versions: Sequence[StoredNode]
) -> list[dict[str, Any]]:
    """Marquez's DatasetVersion: the fields as the schema stood when the version was first seen
    (one read per version), and the run that wrote it."""
    ids = [v.id for v in versions]
    by = {e.key.dst.id: e.key.src.id for e in store.neighbors(ids, IN, [E.WROTE])} if ids else {}
    runs = {r["id"]: r for r in run_json(store, store.get_nodes(sorted(set(by.values()))))}
    ns, name = dataset.key.parts
    found = []
    for v in versions:
        has = store.neighbors([dataset.id], OUT, [E.HAS_COLUMN], as_of=v.first_seen)
        writer = by.get(v.id)
        found.append(
            {
                "id": {"namespace": ns, "name": name, "version": v.key.parts[2]},
                "type": "DB_TABLE",
                "name": name,
                "physicalName": name,
                "createdAt": v.first_seen,
                "version": v.key.parts[2],
                "namespace": ns,
                "sourceName": _text(dataset, "datasource_name") or ns,
                "fields": _fields(store, has).get(dataset.id, []),
                "tags": _strings(dataset, "tags"),
                "lifecycleState": _text(dataset, "lifecycle_state"),
                "description": _text(dataset, "description"),
                "createdByRun": runs.get(NodeKey.from_id(writer).parts[0]) if writer else None,
                "facets": {},
            }
        )
    return found


# ---- jobs ---------------------------------------------------------------------------------------
def jobs(store: GraphStore, ns: str, limit: int = DEFAULT_LIMIT, offset: int = 0) -> Page:
    check_page(limit, offset)
    found, cut = _in_namespace(store, K.JOB, ns)
    if not found:
        _namespace_nodes(store, ns)
    page = found[offset : offset + limit]
    return Page(job_json(store, page), len(found), cut)


def all_jobs(store: GraphStore, limit: int = DEFAULT_LIMIT, offset: int = 0) -> Page:
    """Every job of every namespace (Marquez's `GET /jobs`), by namespace and name."""
    check_page(limit, offset)
    hits = store.search("/", [K.JOB], SCAN_LIMIT)
    found = sorted(hits, key=lambda n: n.key.parts)
    page = found[offset : offset + limit]
    return Page(job_json(store, page), len(found), len(hits) >= SCAN_LIMIT)


def job(store: GraphStore, ns: str, name: str) -> dict[str, Any]:
    return job_json(store, [_job_in(store, ns, name)])[0]


def _job_in(store: GraphStore, ns: str, name: str) -> StoredNode:
    try:
        return find_job(store, ns, name)
    except NotFound:
        _namespace_nodes(store, ns)
        raise


def _io(store: GraphStore, job_ids: Sequence[str]) -> dict[str, tuple[set[NodeKey], set[NodeKey]]]:
    """job id -> (datasets it reads, datasets it writes), current edges, one read."""
    io: dict[str, tuple[set[NodeKey], set[NodeKey]]] = {j: (set(), set()) for j in job_ids}
    if not job_ids:
        return io
    for edge, way in store.neighbors_each_way(job_ids, {IN: [E.INPUT_TO], OUT: [E.PRODUCES]}):
        if way is IN and edge.key.src.kind is K.DATASET:
            io[edge.key.dst.id][0].add(edge.key.src)
        elif way is OUT and edge.key.dst.kind is K.DATASET:
            io[edge.key.src.id][1].add(edge.key.dst)
    return io


def _dataset_ids(keys: Iterable[NodeKey]) -> list[dict[str, str]]:
    return [{"namespace": k.parts[0], "name": k.parts[1]} for k in sorted(keys)]


_JOB_TYPES = {"STREAMING": "STREAM", "STREAM": "STREAM", "SERVICE": "SERVICE"}


def job_json(store: GraphStore, nodes: Sequence[StoredNode]) -> list[dict[str, Any]]:
    """Marquez's Job for each node, in order: batched reads for the lot."""
    ids = [n.id for n in nodes]
    io = _io(store, ids)
    runs = runs_of(store, ids) if ids else {}
    # newest first, as Marquez lists; every job's runs in one batched read (was two a job)
    newest = {i: list(reversed(runs.get(i, [])))[:10] for i in ids}
    every = [r for latest in newest.values() for r in latest]
    as_json = dict(zip((r.id for r in every), run_json(store, every), strict=True))
    found = []
    for node in nodes:
        ns, name = node.key.parts
        inputs, outputs = io[node.id]
        latest = [as_json[r.id] for r in newest[node.id]]
        processing = (_text(node, "processing_type") or "").upper()
        found.append(
            {
                "id": {"namespace": ns, "name": name},
                "type": _JOB_TYPES.get(processing, "BATCH"),
                "name": name,
                "simpleName": name.rsplit(".", 1)[-1],
                "parentJobName": None,
                "parentJobUuid": None,
                "createdAt": node.first_seen,
                "updatedAt": node.last_seen,
                "namespace": ns,
                "inputs": _dataset_ids(inputs),
                "outputs": _dataset_ids(outputs),
                "location": _text(node, "source_code_url"),
                "description": _text(node, "description"),
                "latestRun": latest[0] if latest else None,
                "latestRuns": latest,
                "facets": {},
                "currentVersion": None,
                "labels": [],
                "tags": _strings(node, "tags"),
            }
        )
    return found


# ---- runs ---------------------------------------------------------------------------------------
def runs(
    store: GraphStore, ns: str, job_name: str, limit: int = DEFAULT_LIMIT, offset: int = 0
) -> Page:
    """A job's runs, newest first (by start, then run id)."""
    check_page(limit, offset)
    node = _job_in(store, ns, job_name)
    every = list(reversed(runs_of(store, [node.id]).get(node.id, [])))
    return Page(run_json(store, every[offset : offset + limit]), len(every))


def run(store: GraphStore, run_id: str) -> dict[str, Any]:
    if not run_id.strip():
        raise InvalidArgument("id: a run id must not be blank")
    node = store.get_node(NodeKey.of(K.RUN, run_id=run_id).id)
    if node is None:
        raise NotFound(f"Run '{run_id}' not found.")
    return run_json(store, [node])[0]


def _millis_between(start: str, end: str) -> int | None:
    try:
        begun = datetime.fromisoformat(start.replace("Z", "+00:00"))
        ended = datetime.fromisoformat(end.replace("Z", "+00:00"))
    except ValueError:
        return None
    return int((ended - begun).total_seconds() * 1000)


def _version_id(key: NodeKey) -> dict[str, Any]:
    """A DatasetVersion (or a Dataset read without a known version) as Marquez names it."""
    version = key.parts[2] if key.kind is K.DATASET_VERSION else None
    return {"namespace": key.parts[0], "name": key.parts[1], "version": version}


def run_json(store: GraphStore, nodes: Sequence[StoredNode]) -> list[dict[str, Any]]:
    """Marquez's Run for each node, in order: one batched read for their jobs and versions."""
    ids = [n.id for n in nodes]
    read: dict[str, list[NodeKey]] = {i: [] for i in ids}
    wrote: dict[str, list[NodeKey]] = {i: [] for i in ids}
    job_of: dict[str, NodeKey] = {}
    if ids:
        ways = {IN: [E.READ_BY], OUT: [E.WROTE, E.RUN_OF]}
        for edge, _way in store.neighbors_each_way(ids, ways):
            if edge.key.kind is E.READ_BY:
                read[edge.key.dst.id].append(edge.key.src)
            elif edge.key.kind is E.WROTE:
                wrote[edge.key.src.id].append(edge.key.dst)
            else:
                job_of.setdefault(edge.key.src.id, edge.key.dst)
    found = []
    for node in nodes:
        started, ended = _text(node, "started_at"), run_ended(node)
        state = RUN_STATES.get(_text(node, "state") or "", "NEW")
        owner = job_of.get(node.id)
        found.append(
            {
                "id": node.key.parts[0],
                "createdAt": run_started(node),
                "updatedAt": node.last_seen,
                "nominalStartTime": _text(node, "nominal_start"),
                "nominalEndTime": _text(node, "nominal_end"),
                "state": state,
                "startedAt": started,
                "endedAt": ended,
                "durationMs": _millis_between(started, ended) if started and ended else None,
                "args": {},
                "jobVersion": (
                    {"namespace": owner.parts[0], "name": owner.parts[1], "version": None}
                    if owner is not None
                    else None
                ),
                "inputDatasetVersions": [
                    {"datasetVersionId": _version_id(k), "facets": {}}
                    for k in sorted(set(read[node.id]))
                ],
                "outputDatasetVersions": [
                    {"datasetVersionId": _version_id(k), "facets": {}}
                    for k in sorted(set(wrote[node.id]))
                ],
                "context": {},
                "facets": {},
            }
        )
    return found


# ---- lineage ------------------------------------------------------------------------------------
def _edge(origin: str, destination: str) -> dict[str, str]:
    return {"origin": origin, "destination": destination}


def _sorted_edges(edges: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    return [_edge(o, d) for o, d in sorted(set(edges))]


@dataclass(slots=True)
class _Walk:
    jobs: dict[str, NodeKey] = field(default_factory=dict)  # id -> key, in the order reached
    io: dict[str, tuple[set[NodeKey], set[NodeKey]]] = field(default_factory=dict)
    datasets: set[NodeKey] = field(default_factory=set)
    truncated: bool = False


def _job_walk(store: GraphStore, start: list[NodeKey], depth: int, max_nodes: int) -> _Walk:
    """Jobs within `depth` job-to-job hops of `start` (level 0), breadth-first, each once; with
    each one's inputs and outputs. Stops before a level that would pass `max_nodes` nodes."""
    walk = _Walk()
    frontier = list(dict.fromkeys(start))
    walk.jobs.update((k.id, k) for k in frontier)
    for level in range(depth + 1):
        io = _io(store, [k.id for k in frontier])
        walk.io.update(io)
        fresh = {d for ins, outs in io.values() for d in (*ins, *outs)} - walk.datasets
        walk.datasets |= fresh
        if level == depth or not fresh:
            break
        ways = {OUT: [E.INPUT_TO], IN: [E.PRODUCES]}
        found = store.neighbors_each_way(sorted(d.id for d in fresh), ways)
        ends = {e.key.dst if way is OUT else e.key.src for e, way in found}
        nxt = sorted(k for k in ends if k.kind is K.JOB and k.id not in walk.jobs)
        if not nxt:
            break
        if len(walk.jobs) + len(walk.datasets) + len(nxt) > max_nodes:
            walk.truncated = True
            break
        walk.jobs.update((k.id, k) for k in nxt)
        frontier = nxt
    return walk


def lineage(
    store: GraphStore, node_id: str, depth: int = DEFAULT_DEPTH, max_nodes: int = 10_000
) -> Graph:
    """Marquez's lineage graph around a dataset or a job (see the module's docstring)."""
    check_depth(depth)
    wanted = parse_node_id(node_id)
    if wanted.type == "datasetField":
        raise InvalidArgument("nodeId: the lineage graph starts at a dataset or a job")
    if wanted.type == "job":
        start_node = find_job(store, *wanted.parts)
        start = [start_node.key]
    else:
        start_node = find_dataset(store, *wanted.parts)
        ways = {OUT: [E.INPUT_TO], IN: [E.PRODUCES]}
        found = store.neighbors_each_way([start_node.id], ways)
        start = sorted({e.key.dst if w is OUT else e.key.src for e, w in found})
        start = [k for k in start if k.kind is K.JOB]
        if not start:  # an orphan: the dataset alone
            (data,) = dataset_json(store, [start_node])
            key = start_node.key
            return Graph([_graph_node(dataset_node_id(key), "DATASET", data, [], [])])
    walk = _job_walk(store, start, depth, max_nodes)
    return Graph(_graph(store, walk), walk.truncated)


def _graph_node(
    node_id: str,
    kind: str,
    data: dict[str, Any],
    in_edges: Iterable[tuple[str, str]],
    out_edges: Iterable[tuple[str, str]],
) -> dict[str, Any]:
    return {
        "id": node_id,
        "type": kind,
        "data": data,
        "inEdges": _sorted_edges(in_edges),
        "outEdges": _sorted_edges(out_edges),
    }


def _graph(store: GraphStore, walk: _Walk) -> list[dict[str, Any]]:
    job_nodes = store.get_nodes(sorted(walk.jobs))
    ds_nodes = store.get_nodes(sorted(d.id for d in walk.datasets))
    produced_by: dict[NodeKey, set[str]] = {}
    read_by: dict[NodeKey, set[str]] = {}
    nodes = []
    for node, data in zip(job_nodes, job_json(store, job_nodes), strict=True):
        me = job_node_id(node.key)
        ins, outs = walk.io.get(node.id, (set(), set()))
        for d in ins:
            read_by.setdefault(d, set()).add(me)
        for d in outs:
            produced_by.setdefault(d, set()).add(me)
        ins_ids = [(dataset_node_id(d), me) for d in ins]
        outs_ids = [(me, dataset_node_id(d)) for d in outs]
        nodes.append(_graph_node(me, "JOB", data, ins_ids, outs_ids))
    for node, data in zip(ds_nodes, dataset_json(store, ds_nodes), strict=True):
        me = dataset_node_id(node.key)
        ins = [(j, me) for j in produced_by.get(node.key, ())]
        outs = [(me, j) for j in read_by.get(node.key, ())]
        nodes.append(_graph_node(me, "DATASET", data, ins, outs))
    return sorted(nodes, key=lambda n: n["id"])


# ---- column lineage -----------------------------------------------------------------------------
def column_lineage(
    store: GraphStore,
    node_id: str,
    depth: int = DEFAULT_DEPTH,
    with_downstream: bool = False,
    max_nodes: int = 10_000,
) -> Graph:
    """Marquez's column-lineage graph: the columns upstream of the start's (and downstream, if
    asked) within `depth` FEEDS hops, each with its input fields. The start: a column; a
    dataset's columns; a job's output datasets' columns."""
    check_depth(depth)
    wanted = parse_node_id(node_id)
    if wanted.type == "datasetField":
        ns, name, field_name = wanted.parts
        ds = find_dataset(store, ns, name)
        col = NodeKey.of(
            K.COLUMN, namespace=ds.key.parts[0], name=ds.key.parts[1], field=field_name
        )
        if store.get_node(col.id) is None:
            raise NotFound(f"Field '{field_name}' not found.")
        start = [col]
    else:
        if wanted.type == "dataset":
            owners = [find_dataset(store, *wanted.parts).id]
        else:
            job_id = find_job(store, *wanted.parts).id
            owners = sorted(d.id for d in _io(store, [job_id])[job_id][1])
        has = store.neighbors(owners, OUT, [E.HAS_COLUMN]) if owners else []
        start = sorted({e.key.dst for e in has})
    reached: dict[str, NodeKey] = {k.id: k for k in start}
    truncated = False
    for way in (IN, OUT) if with_downstream else (IN,):
        frontier = list(start)
        seen = {k.id for k in start}
        for _ in range(depth):
            if not frontier:
                break
            found = store.neighbors([k.id for k in frontier], way, [E.FEEDS])
            ends = {e.key.src if way is IN else e.key.dst for e in found}
            nxt = sorted(k for k in ends if k.kind is K.COLUMN and k.id not in seen)
            if len(reached) + len(nxt) > max_nodes:
                truncated = True
                break
            seen.update(k.id for k in nxt)
            reached.update((k.id, k) for k in nxt)
            frontier = nxt
    return Graph(_column_graph(store, reached), truncated)


def _column_graph(store: GraphStore, reached: dict[str, NodeKey]) -> list[dict[str, Any]]:
    ids = sorted(reached)
    feeds = [e for e in store.neighbors(ids, IN, [E.FEEDS]) if e.key.src.kind is K.COLUMN]
    every = sorted({*reached.values(), *(e.key.src for e in feeds)})
    has = store.neighbors(sorted({f"{_dataset_of(k).id}" for k in every}), OUT, [E.HAS_COLUMN])
    types = {e.key.dst.id: _text(e, "type") for e in has}
    inputs: dict[str, list[StoredEdge]] = {}
    for edge in feeds:
        inputs.setdefault(edge.key.dst.id, []).append(edge)
    in_edges: dict[str, set[tuple[str, str]]] = {}
    out_edges: dict[str, set[tuple[str, str]]] = {}
    for edge in feeds:
        me, src = field_node_id(edge.key.dst), field_node_id(edge.key.src)
        # Marquez's own orientation (ColumnLineageService.toLineage): an in-edge starts at the
        # node itself and ends at its input; an out-edge starts at the input
        in_edges.setdefault(edge.key.dst.id, set()).add((me, src))
        out_edges.setdefault(edge.key.src.id, set()).add((src, me))
    nodes = []
    for key in every:
        own = sorted(inputs.get(key.id, []), key=lambda e: e.key.id) if key.id in reached else []
        fields = [_input_field(e) for e in own]
        data = {
            "namespace": key.parts[0],
            "dataset": key.parts[1],
            "datasetVersion": None,
            "field": key.parts[2],
            "fieldType": types.get(key.id) or ("" if key.id not in reached else None),
            "transformationDescription": fields[0]["transformationDescription"] if fields else None,
            "transformationType": fields[0]["transformationType"] if fields else None,
            "inputFields": fields,
        }
        nodes.append(
            _graph_node(
                field_node_id(key),
                "DATASET_FIELD",
                data,
                in_edges.get(key.id, ()),
                out_edges.get(key.id, ()),
            )
        )
    return sorted(nodes, key=lambda n: n["id"])


def _dataset_of(column: NodeKey) -> NodeKey:
    return NodeKey.of(K.DATASET, namespace=column.parts[0], name=column.parts[1])


def _input_field(edge: StoredEdge) -> dict[str, Any]:
    types = edge.props.get("transformation_types")
    src = edge.key.src
    return {
        "namespace": src.parts[0],
        "dataset": src.parts[1],
        "datasetVersion": None,
        "field": src.parts[2],
        "transformationDescription": _text(edge, "description"),
        "transformationType": ",".join(types) if isinstance(types, list) and types else None,
    }


# ---- search -------------------------------------------------------------------------------------
SEARCH_FILTERS = {"DATASET": K.DATASET, "JOB": K.JOB}
SEARCH_SORTS = ("NAME", "UPDATE_AT")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _like(pattern: str) -> re.Pattern[str]:
    """Marquez's `name ILIKE '%' || q || '%'`: `%` any run of characters, `_` any one."""
    body = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(f".*{body}.*", re.IGNORECASE | re.DOTALL)


def search(
    store: GraphStore,
    q: str,
    *,
    filter: str | None = None,
    sort: str = "NAME",
    limit: int = SEARCH_DEFAULT_LIMIT,
    namespace: str | None = None,
    before: str | None = None,
    after: str | None = None,
) -> dict[str, Any]:
    """Datasets and jobs whose name matches `q` (case-insensitive, `%` and `_` wildcards)."""
    if not q.strip():
        raise InvalidArgument("q must not be blank")
    check_page(limit, 0)
    kinds = list(SEARCH_FILTERS.values())
    if filter is not None:
        if filter.upper() not in SEARCH_FILTERS:
            raise InvalidArgument(f"filter must be DATASET or JOB, got {filter!r}")
        kinds = [SEARCH_FILTERS[filter.upper()]]
    if sort.upper() not in SEARCH_SORTS and sort.lower() not in ("name", "updated_at"):
        raise InvalidArgument(f"sort must be NAME or UPDATE_AT, got {sort!r}")
    by_time = sort.upper() == "UPDATE_AT" or sort.lower() == "updated_at"
    for name, value in (("before", before), ("after", after)):
        if value is not None and not _DATE.match(value):
            raise InvalidArgument(f"{name} must be YYYY-MM-DD, got {value!r}")
    # the store's search is by substring: the longest literal run of the pattern narrows it
    needle = max(re.split(r"[%_]", q), key=len)
    matches = _like(q)
    namespaces = (
        None
        if namespace is None
        else {namespace, normalise_namespace(namespace), normalise_job_namespace(namespace)}
    )
    found = []
    for node in store.search(needle, kinds, SCAN_LIMIT):
        ns, name = node.key.parts
        if not matches.fullmatch(name) or (namespaces is not None and ns not in namespaces):
            continue
        day = node.last_seen[:10]
        if (before is not None and not day < before) or (after is not None and not day > after):
            continue
        found.append(node)
    if by_time:
        found.sort(key=lambda n: (n.last_seen, n.id), reverse=True)
    else:
        found.sort(key=lambda n: (n.key.parts[1], n.key.parts[0], n.key.kind.value))
    results = []
    for node in found[:limit]:
        ns, name = node.key.parts
        is_ds = node.key.kind is K.DATASET
        results.append(
            {
                "type": "DATASET" if is_ds else "JOB",
                "name": name,
                "updatedAt": node.last_seen,
                "namespace": ns,
                "nodeId": dataset_node_id(node.key) if is_ds else job_node_id(node.key),
            }
        )
    # Marquez's totalCount is the number of results returned (SearchResource.SearchResults)
    return {"totalCount": len(results), "results": results}
