"""Decisions from the side table (ingest/decisions): one by id, pages of them, counts, and
which model version made one.

Which version made a decision is worked out here, at query time, from the graph as it is now, so
an alias or deployment event that arrives late still counts:
- the decision names a version: that one (observed);
- it names an alias: the version the model's ALIAS edge with that name pointed at at the
  decision's time (edge first seen <= t < retired), resolved; no assignment known then:
  unresolved, the candidates being the versions registered by then (never today's target as
  such);
- it names neither: the version of that model serving its decision point then
  (`queries.deployments.serving_deployments`: DEPLOYED_TO windows, shadow deployments left out);
- none or several: unresolved, with the candidates.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from lineage_kg.graph.errors import InvalidArgument
from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.records import StoredEdge, StoredNode
from lineage_kg.graph.sides.decisions import DecisionRow, DecisionTable, Filter
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.arguments import time_arg
from lineage_kg.queries.deployments import declared_time, serving_deployments

E, K = EdgeKind, NodeKind
MAX_PAGE = 1000


# ---- resolution ---------------------------------------------------------------------------------


class Resolution(StrEnum):
    OBSERVED = "observed"  # an edge in the graph names exactly this node
    # inferred from times: the version current at a read, the model version serving then
    RESOLVED = "resolved"
    UNRESOLVED = "unresolved"  # could not be narrowed down (see the step's detail)


@dataclass(frozen=True, slots=True)
class VersionLink:
    node: StoredNode  # the ModelVersion
    edge: StoredEdge | None  # what links it: DECIDED (named), ALIAS or DEPLOYED_TO


@dataclass(frozen=True, slots=True)
class Resolved:
    resolution: Resolution
    versions: list[VersionLink]  # the one that made it; or, unresolved, the candidates
    detail: str


@dataclass(frozen=True, slots=True)
class Unread:
    """A resolution whose versions' records are not read yet: the version ids with what links
    each. `resolve` reads them at once; the decision trace reads them with its data chain's
    nodes (queries/trace_ahead.py), one round trip fewer or two."""

    resolution: Resolution
    links: list[tuple[str, StoredEdge | None]]
    detail: str
    absent: str | None = None  # the answer's detail (unresolved) when none of them is found

    @property
    def ids(self) -> list[str]:
        return sorted({version for version, _ in self.links})

    def read(self, nodes: Mapping[str, StoredNode]) -> Resolved:
        """The resolution, given (at least) the records of `ids` that exist."""
        links = [VersionLink(nodes[v], e) for v, e in self.links if v in nodes]
        if not links and self.absent is not None:
            return Resolved(Resolution.UNRESOLVED, [], self.absent)
        links.sort(key=lambda link: (link.node.key.display, link.node.id))
        return Resolved(self.resolution, links, self.detail)


def _unread(edges: list[StoredEdge], end: str) -> list[tuple[str, StoredEdge | None]]:
    return [((e.key.dst if end == "dst" else e.key.src).id, e) for e in edges]


def _links(store: GraphStore, edges: list[StoredEdge], end: str) -> list[VersionLink]:
    return read_nodes(store, Unread(Resolution.OBSERVED, _unread(edges, end), "")).versions


def read_nodes(store: GraphStore, found: Resolved | Unread) -> Resolved:
    """`found` with its versions' records read (one read), if not read yet."""
    if isinstance(found, Resolved):
        return found
    ids = found.ids
    return found.read({n.id: n for n in store.get_nodes(ids)} if ids else {})


def versions_registered_by(store: GraphStore, model_id: str, at: str) -> list[VersionLink]:
    """The model's versions that existed at `at`: registered (the registry's `created_at`, else
    the first event linking the version to its model) no later than `at`."""
    edges = store.neighbors([model_id], Direction.OUT, [E.HAS_VERSION])
    links = _links(store, edges, "dst")
    return [
        link
        for link in links
        if str(link.node.props.get("created_at") or (link.edge and link.edge.first_seen)) <= at
    ]


def resolve(store: GraphStore, row: DecisionRow) -> Resolved:
    """Which model version made the decision (see the module's docstring)."""
    return read_nodes(store, resolve_unread(store, row))


def resolve_unread(store: GraphStore, row: DecisionRow) -> Resolved | Unread:
    """`resolve`, its versions' records left unread where it needs none of them to decide (all
    but the versions registered by a time, which it filters on their records): the edges alone
    are read, one read or two."""
    at, model = row.timestamp, row.model_key
    if (named := row.version_key) is not None:
        decided = [
            e
            for e in store.neighbors([named.id], Direction.OUT, [E.DECIDED])
            if e.key.dst == row.point_key
        ]
        return Unread(
            Resolution.OBSERVED,
            [(named.id, next(iter(decided), None))],
            "",
            absent=f"{named.display} is not in the graph",
        )
    if row.alias is not None:
        then = [
            e
            for e in store.neighbors([model.id], Direction.OUT, [E.ALIAS], at)
            if e.key.disc == row.alias
        ]
        what = f"alias {row.alias} of {model.display} at {at}"
        if len(then) == 1:
            return Unread(
                Resolution.RESOLVED,
                _unread(then, "dst"),
                f"{what}: {then[0].key.dst.display} (set {then[0].first_seen})",
            )
        if then:
            return Unread(Resolution.UNRESOLVED, _unread(then, "dst"), f"{what}: several versions")
        # No assignment of the alias is known at that time (before the first one, or after it
        # was removed): it may have pointed at any version registered by then, and only those.
        # Never today's target for its own sake: that would hand an auditor the wrong training
        # data.
        registered = versions_registered_by(store, model.id, at)
        return Resolved(
            Resolution.UNRESOLVED,
            registered,
            f"{what}: pointed at no version known then; candidates: the "
            f"{len(registered)} version(s) registered by then",
        )
    # one edge per deployment mode: a version serving as champion and canary is still one
    found = serving_deployments(store, row.model, row.decision_point, at, row.registry)
    serving = list({e.key.src.id: e for e in found}.values())
    what = f"{model.display} serving {row.decision_point} at {at}"
    if len(serving) == 1:
        begin = declared_time(serving[0], "valid_from") or serving[0].first_seen
        return Unread(
            Resolution.RESOLVED,
            _unread(serving, "src"),
            f"{what}: {serving[0].key.src.display} (deployed {begin})",
        )
    if serving:
        return Unread(Resolution.UNRESOLVED, _unread(serving, "src"), f"{what}: several versions")
    deployed = [
        e
        for e in store.neighbors([row.point_key.id], Direction.IN, [E.DEPLOYED_TO])
        if (e.key.src.fields["registry"], e.key.src.fields["name"]) == (row.registry, row.model)
    ]
    return Unread(
        Resolution.UNRESOLVED, _unread(deployed, "src"), f"{what}: no version deployed then"
    )


# ---- reads -------------------------------------------------------------------------------------


def get_decision(table: DecisionTable, decision_id: str) -> DecisionRow | None:
    if not isinstance(decision_id, str) or not decision_id.strip():
        raise InvalidArgument("decision id must be a non-empty string")
    return table.get(decision_id.strip())


def encode_cursor(row: DecisionRow) -> str:
    raw = json.dumps([row.timestamp, row.decision_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        timestamp, decision_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidArgument(f"after: not a decisions cursor: {cursor!r}") from None
    if not isinstance(timestamp, str) or not isinstance(decision_id, str):
        raise InvalidArgument(f"after: not a decisions cursor: {cursor!r}")
    return timestamp, decision_id


@dataclass(slots=True)
class DecisionPage:
    rows: list[DecisionRow]
    end_cursor: str | None
    has_next_page: bool


@dataclass(frozen=True, slots=True)
class Selection:
    """What to list: a model version or a model (as named by the decisions), a decision point,
    a time window (inclusive)."""

    model_version: NodeKey | None = None
    model: NodeKey | None = None
    decision_point: str | None = None
    since: str | None = None
    until: str | None = None

    def to_filter(self) -> Filter:
        since, until = time_arg("since", self.since), time_arg("until", self.until)
        if since is not None and until is not None and since > until:
            raise InvalidArgument(f"since ({since}) must not be after until ({until})")
        registry = model = version = None
        if self.model_version is not None:
            if self.model_version.kind is not K.MODEL_VERSION:
                raise InvalidArgument("modelVersion must name a ModelVersion")
            registry, model, version = self.model_version.parts
        elif self.model is not None:
            if self.model.kind is not K.MODEL:
                raise InvalidArgument("model must name a Model")
            registry, model = self.model.parts
        return Filter(registry, model, version, None, self.decision_point, since, until)


def list_decisions(
    table: DecisionTable, selection: Selection, *, first: int = 100, after: str | None = None
) -> DecisionPage:
    """Decisions in time order (then by id), keyset-paged: each page is one index range read.

    By model version: the decisions naming that version themselves (observed); decisions made
    through an alias or a deployment are found by model (`Selection.model`) or decision point."""
    if not 1 <= first <= MAX_PAGE:
        raise InvalidArgument(f"first must be between 1 and {MAX_PAGE}")
    keyset = decode_cursor(after) if after is not None else None
    rows = table.page(selection.to_filter(), first + 1, keyset)
    page = rows[:first]
    return DecisionPage(page, encode_cursor(page[-1]) if page else None, len(rows) > first)


@dataclass(frozen=True, slots=True)
class VersionCount:
    version: str | None  # named by the decisions; None: by alias, or resolved by deployment
    alias: str | None
    count: int


def counts_by_model_version(table: DecisionTable, model: NodeKey) -> list[VersionCount]:
    """How many decisions of a model name each version, each alias, or neither."""
    if model.kind is not K.MODEL:
        raise InvalidArgument("model must name a Model")
    registry, name = model.parts
    return [VersionCount(v, a, n) for v, a, n in table.counts(registry, name)]
