"""What ingestors hand to a store: upserts of nodes and edges, retirements of edges, and links
between two names of one dataset.

Every mutation carries the provenance of the event that asserted it. Ingestors build these and
never talk to a store's query language; stores apply them with `GraphStore.apply`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from lineage_kg.graph.model import (
    EDGE_SPECS,
    KEY_FIELDS,
    RESERVED_PROPS,
    EdgeKind,
    NodeKey,
    NodeKind,
    check_props,
)
from lineage_kg.graph.timefmt import canonical_time


@dataclass(frozen=True, slots=True)
class Provenance:
    """Who said it and when: the source system, the event's id and the event's own time."""

    source: str
    event_id: str
    event_time: str

    def __post_init__(self) -> None:
        if not self.source or not self.event_id:
            raise ValueError("provenance needs a source and an event id")
        object.__setattr__(self, "event_time", canonical_time(self.event_time))

    @property
    def stamp(self) -> tuple[str, str]:
        """Total order of assertions: by event time, ties broken by event id."""
        return (self.event_time, self.event_id)


# Built once: a large batch makes ~250k upserts, each checked here (a fifth of the map was the
# checking: the reserved set and the message built per upsert, the enum's `.value` property).
_RESERVED_FOR: dict[NodeKind, frozenset[str]] = {
    kind: RESERVED_PROPS | frozenset(fields) for kind, fields in KEY_FIELDS.items()
}
# (edge kind, source kind, target kind) an edge may connect: EdgeKind.spec's sets, flattened
_CONNECTS = frozenset(
    (kind, s, t) for kind, spec in EDGE_SPECS.items() for s in spec.sources for t in spec.targets
)
_SCALARS = frozenset({str, int, float, bool})  # exact types; subclasses go to check_props


def plainly_storable(props: dict[str, Any], reserved: frozenset[str]) -> bool:
    """True only if `check_props(props, reserved, ...)` passes: every value of an exact scalar
    type, or a list of one such type, under an unreserved name. False says nothing: the caller
    then asks check_props, which raises the error as before (or passes a rarer value)."""
    for name, value in props.items():
        kind = type(value)
        if kind is list:
            if len(types := {type(v) for v in value}) > 1 or not types <= _SCALARS:
                return False
        elif kind not in _SCALARS:
            return False
        if name in reserved:
            return False
    return True


@dataclass(frozen=True, slots=True)
class NodeUpsert:
    key: NodeKey
    prov: Provenance
    props: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        props, reserved = self.props, _RESERVED_FOR[self.key.kind]
        if props and not plainly_storable(props, reserved):
            check_props(props, reserved, f"{self.key.kind} {self.key.display}")


@dataclass(frozen=True, slots=True, order=True)
class EdgeKey:
    """Edges are identified by their ends, their kind and an optional discriminator.

    The discriminator tells apart edges of one kind between the same two nodes, e.g. two
    ownership types, or two aliases pointing at one model version.
    """

    src: NodeKey
    kind: EdgeKind
    dst: NodeKey
    disc: str = ""
    # computed once: walks sort and index edges by id many times over
    _id: tuple[str, str, str, str] = field(
        init=False, repr=False, compare=False, hash=False, default=("", "", "", "")
    )

    def __post_init__(self) -> None:
        kind, src, dst = self.kind, self.src, self.dst
        if (kind, src.kind, dst.kind) not in _CONNECTS:
            raise ValueError(f"{kind} cannot connect {src.kind} to {dst.kind}")
        # `_value_`, not `.value`: the enum's property costs a Python call per edge
        object.__setattr__(self, "_id", (src._id, kind._value_, dst._id, self.disc))

    @property
    def id(self) -> tuple[str, str, str, str]:
        return self._id


@dataclass(frozen=True, slots=True)
class EdgeUpsert:
    key: EdgeKey
    prov: Provenance
    props: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (props := self.props) and not plainly_storable(props, RESERVED_PROPS):
            check_props(props, RESERVED_PROPS, f"{self.key.kind} edge")


class Direction(StrEnum):
    OUT = "out"
    IN = "in"


@dataclass(frozen=True, slots=True)
class EdgeRetire:
    """As of `prov.event_time`, `anchor` has no `kind` edges in `direction` other than to `keep`.

    E.g. a completed run of a job lists its inputs: INPUT_TO edges into the job from datasets
    not listed stop being current. Edges asserted at or after that time are left alone, so a
    late-arriving older event never retires what a newer one said.
    """

    anchor: NodeKey
    kind: EdgeKind
    direction: Direction
    keep: frozenset[NodeKey]
    prov: Provenance
    # only edges with this discriminator, e.g. the "champion" ALIAS edge of a model moving from
    # one version to another while its "challenger" edge stays; None: whatever their discriminator
    disc: str | None = None
    # only edges to these far ends (e.g. one deployment ending), None: all but `keep`
    only: frozenset[NodeKey] | None = None
    # True: only what this retirement's own source (`prov.source`) asserted stops being current
    # (an OpenLineage ownership facet retires the owners OpenLineage named, never the ones dbt or
    # the catalog assert). An edge that another source asserts too stays current while that
    # source's assertion is not retired (graph/validity.py)
    scoped: bool = False


@dataclass(frozen=True, slots=True)
class DatasetLink:
    """`alias` and `canonical` name one dataset (e.g. a storage path and its TABLE symlink).

    The store keeps `alias` as another name of `canonical` from then on: mutations naming the
    alias (or its columns, versions) are applied to the canonical node, and whatever the store
    already holds under the alias is re-homed there (graph/merge.py), whatever the order in which
    the events arrive."""

    alias: NodeKey
    canonical: NodeKey
    prov: Provenance

    def __post_init__(self) -> None:
        if self.alias.kind is not NodeKind.DATASET or self.canonical.kind is not NodeKind.DATASET:
            raise ValueError("a link joins two Dataset names")
        if self.alias == self.canonical:
            raise ValueError("a dataset is not an alias of itself")


Mutation = NodeUpsert | EdgeUpsert | EdgeRetire | DatasetLink


@dataclass(slots=True)
class MutationBatch:
    """An ordered list of mutations, applied by a store in one transaction."""

    mutations: list[Mutation] = field(default_factory=list)
    # event id -> the namespaces its key was confined to (graph/confine.py); absent: unconfined
    confined: dict[str, frozenset[str]] = field(default_factory=dict)

    def add(self, *items: Mutation) -> MutationBatch:
        self.mutations.extend(items)
        return self

    def extend(self, items: Iterable[Mutation]) -> MutationBatch:
        self.mutations.extend(items)
        return self

    def node(self, key: NodeKey, prov: Provenance, **props: Any) -> NodeKey:
        self.mutations.append(NodeUpsert(key, prov, props))
        return key

    def edge(
        self,
        src: NodeKey,
        kind: EdgeKind,
        dst: NodeKey,
        prov: Provenance,
        disc: str = "",
        **props: Any,
    ) -> EdgeKey:
        key = EdgeKey(src, kind, dst, disc)
        self.mutations.append(EdgeUpsert(key, prov, props))
        return key

    def __len__(self) -> int:
        return len(self.mutations)
