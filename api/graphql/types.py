"""GraphQL types, named after the graph vocabulary: a `Node` interface with one type per node
kind (generated from `NodeKind`, so they never drift), `NodeRef` to point at a node, and the
answer types. Converters from store records live here too; no logic beyond shaping."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from enum import Enum
from typing import Any

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.scalars import JSON
from strawberry.types import Info
from strawberry.types.arguments import InputContext
from strawberry.types.base import StrawberryOptional
from strawberry.types.enum import StrawberryEnumDefinition

from lineage_kg.api.echo import clip
from lineage_kg.api.graphql.execution import shared_in_reply
from lineage_kg.api.graphql.offload import run_blocking
from lineage_kg.graph.errors import InvalidArgument
from lineage_kg.graph.model import KEY_FIELDS, EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.records import StoredEdge, StoredNode
from lineage_kg.graph.resolve import normalise
from lineage_kg.queries.impact import owners_of
from lineage_kg.queries.neighbors import MAX_FIRST as MAX_NEIGHBORS
from lineage_kg.queries.neighbors import Way
from lineage_kg.queries.neighbors import neighbors as neighbors_page

# the vocabulary's own words as GraphQL enum values: Dataset, Column, ModelVersion, …
NodeKindEnum = strawberry.enum(Enum("NodeKind", {k.value: k.value for k in NodeKind}))
EdgeKindEnum = strawberry.enum(Enum("EdgeKind", {k.value: k.value for k in EdgeKind}))
NeighborDirection = strawberry.enum(
    Way,
    name="NeighborDirection",
    description="out: edges leaving the node (downstream, mostly); in: edges entering it "
    "(upstream, and its owners); both",
)


@strawberry.interface(description="Any node of the graph, with its provenance.")
class Node:
    id: strawberry.ID
    kind: str
    display: str = strawberry.field(description="a short human name")
    key: JSON = strawberry.field(description="the identity fields of this kind")
    props: JSON
    aliases: list[str] = strawberry.field(
        description="other names this node is known by (a dataset's storage path beside its "
        "table name), as namespace/name: a lookup by any of them finds this node"
    )
    sources: list[str]
    first_seen: str
    last_seen: str
    first_event: str = strawberry.field(description="id of the earliest asserting event")
    last_event: str = strawberry.field(description="id of the latest asserting event")

    @strawberry.field(
        description="Owner ids of this node's direct OWNS edges, an alias counted as the owner "
        "it is an alias of (as impact's owners); read in one batch for all the nodes of a reply."
    )
    async def owners(self, info: Info) -> list[str]:
        return await _owner_loader(info).load(str(self.id))

    @strawberry.field(
        description="The node's direct neighbours, one edge each, paged: outgoing edges before "
        f"incoming ones, each by edge id; first at most {MAX_NEIGHBORS}."
    )
    async def neighbors(
        self,
        info: Info,
        direction: NeighborDirection = Way.BOTH,  # type: ignore[valid-type]
        kinds: list[EdgeKindEnum] | None = None,  # type: ignore[valid-type]
        first: int = 50,
        after: str | None = None,
    ) -> NeighborConnection:
        wanted = [EdgeKind(k.value) for k in kinds] if kinds is not None else None
        page = await run_blocking(
            lambda: neighbors_page(
                info.context.store,
                str(self.id),
                way=Way(direction),
                kinds=wanted,
                first=first,
                offset=decode_cursor(after),
            )
        )
        edges = [
            NeighborEdge(
                cursor=encode_cursor(i),
                node=to_node(n.node),
                edge=n.edge.key.kind.value,
                direction=Way.OUT if n.direction is Direction.OUT else Way.IN,
                props=n.edge.props,
                last_event=n.edge.last_event,
            )
            for i, n in enumerate(page.items, start=page.offset)
        ]
        return NeighborConnection(
            total=page.total,
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )


def _owner_loader(info: Info) -> DataLoader[str, list[str]]:
    """One loader per request (kept on its context): the owners of every node of a reply are
    read together, two store reads in all, not two per node."""
    context = info.context
    loader = getattr(context, "_owner_loader", None)
    if loader is None:
        store = context.store

        async def load(ids: list[str]) -> list[list[str]]:
            found = await run_blocking(owners_of, store, sorted(set(ids)))
            return [found.get(i, []) for i in ids]

        loader = DataLoader(load_fn=load)
        context._owner_loader = loader
    return loader


@strawberry.type(description="A neighbour of a node and the edge between them.")
class NeighborEdge:
    cursor: str
    node: Node
    edge: str = strawberry.field(description="the edge's kind")
    direction: NeighborDirection = strawberry.field(  # type: ignore[valid-type]
        description="out: the edge leaves the asked node; in: it enters it"
    )
    props: JSON
    last_event: str


@strawberry.type
class NeighborConnection:
    total: int = strawberry.field(description="neighbours (edges) in the whole answer")
    edges: list[NeighborEdge]
    page_info: PageInfo


def _node_type(kind: NodeKind) -> type:
    cls = type(kind.value, (Node,), {"__doc__": f"A {kind.value} node."})
    return strawberry.type(cls, description=f"Identity: {', '.join(KEY_FIELDS[kind])}.")


NODE_TYPES: dict[NodeKind, type] = {kind: _node_type(kind) for kind in NodeKind}


def _lazy_node_type(kind_type: type) -> type:
    """The kind's type over a stored node: each field read from the node when it is selected
    (a key's fields and its display are worked out from its parts on every read: an answer
    of thousands of nodes selecting `id` alone should not pay for them). Its Strawberry
    definition is the kind's, so it resolves as the kind's type."""

    def read(get: Any) -> property:
        return property(lambda self: get(self._node))

    namespace: dict[str, Any] = {
        "__slots__": ("_node",),
        "__init__": lambda self, node: object.__setattr__(self, "_node", node),
        "id": read(lambda n: strawberry.ID(n.id)),
        "kind": read(lambda n: n.key.kind.value),
        "display": read(lambda n: n.key.display),
        "key": read(lambda n: n.key.fields),
        "props": read(lambda n: n.props),
        "aliases": read(_aliases),
        "sources": read(lambda n: list(n.sources)),
        "first_seen": read(lambda n: n.first_seen),
        "last_seen": read(lambda n: n.last_seen),
        "first_event": read(lambda n: n.first_event),
        "last_event": read(lambda n: n.last_event),
    }
    return type(f"Stored{kind_type.__name__}", (kind_type,), namespace)


def to_node(node: StoredNode) -> Node:
    return _STORED_NODE_TYPES[node.key.kind](node)


def _aliases(node: StoredNode) -> list[str]:
    found = node.props.get("aliases")
    return [str(a) for a in found] if isinstance(found, list) else []


_STORED_NODE_TYPES: dict[NodeKind, Any] = {k: _lazy_node_type(t) for k, t in NODE_TYPES.items()}


@strawberry.input(
    description="A node by its kind and identity fields, or by its id. Names are taken as a "
    "producer or a person writes them: normalised as ingest normalises them, then looked up "
    "through dataset aliases (docs/identity.md)."
)
class NodeRef:
    kind: NodeKindEnum | None = None  # type: ignore[valid-type]
    id: strawberry.ID | None = None
    namespace: str | None = None
    name: str | None = None
    field: str | None = None
    version: str | None = None
    project: str | None = None
    view: str | None = None
    registry: str | None = None
    run_id: str | None = None
    owner_id: str | None = None
    decision_id: str | None = None

    def to_key(self) -> NodeKey:
        """The key named, normalised as ingest would store it (not looked up: `resolve`)."""
        try:
            return normalise(self._key())
        except InvalidArgument:
            raise
        except ValueError as exc:
            raise InvalidArgument(f"ref: {exc}") from None

    def _key(self) -> NodeKey:
        if self.id is not None:
            return NodeKey.from_id(str(self.id))
        if self.kind is None:
            raise InvalidArgument("ref needs either id or kind with its identity fields")
        kind = NodeKind(self.kind.value)
        values: dict[str, Any] = {f: getattr(self, f) for f in KEY_FIELDS[kind]}
        missing = [f for f, v in values.items() if not v]
        if missing:
            raise InvalidArgument(f"a {kind.value} ref needs {', '.join(missing)}")
        return NodeKey.of(kind, **values)


def _ref_from_input(cls: type, value: Mapping[str, Any], context: InputContext) -> Any:
    """A `NodeRef` built from its GraphQL input value (Strawberry's `from_input` hook).

    Every field of a ref is a scalar or an enum, which Strawberry's generic conversion hands
    on unchanged after walking its type checks field by field (~30 calls a request, a sixth of
    a small request's execution: issue 19). The values here are graphql-core's, already
    coerced and validated; a field of any other type would still go through `context.convert`.
    """
    config = context.config
    kept = _REF_FIELDS.get(id(config))
    if kept is None or kept[0] is not config:
        kept = _REF_FIELDS[id(config)] = (config, _ref_fields(cls, config))
    built: dict[str, Any] = {}
    for name, python_name, convert in kept[1]:
        if name in value:
            found = value[name]
            if isinstance(found, str) and len(found) > (limit := _REF_LIMITS.get(name, MAX_NAME)):
                raise RefTooLong(_argument_path(context, name), len(found), limit)
            built[python_name] = found if convert is None else context.convert(found, convert, name)
    return cls(**built)


def _ref_fields(cls: type, config: Any) -> tuple[tuple[str, str, Any], ...]:
    """(GraphQL name, Python name, the type to convert to, or None: taken as it is)."""
    definition = cls.__strawberry_definition__  # type: ignore[attr-defined]
    out = []
    for field in definition.fields:
        kind = field.type
        leaf = kind.of_type if isinstance(kind, StrawberryOptional) else kind
        as_is = leaf in _AS_IS_SCALARS or isinstance(leaf, StrawberryEnumDefinition)
        name = config.name_converter.from_field(field)
        out.append((name, field.python_name, None if as_is else kind))
    return tuple(out)


# a ref's text fields at most this long: the closest-name search (graph/resolve.py) costs time
# in its length (a 900 KB name: ~1.4 s of CPU, echoed whole). Not the decision intake's 500
# (`Name`, ingest/decisions/records.py): OpenLineage names a dataset by its path or table as the
# producer writes it, with no limit but the body's, and an object key or a partitioned path runs
# past 500 (an S3 key alone may be 1,024 bytes); 4,096 is a file system's PATH_MAX
MAX_NAME: int = 4096
# an id is `kind:` and up to three identity fields (graph/model.py `NodeKey.id`)
_REF_LIMITS = {"id": 3 * MAX_NAME + 64}


class RefTooLong(InvalidArgument):
    """A ref's field is longer than any name the intake takes: refused before any look-up."""

    def __init__(self, path: str, length: int, limit: int) -> None:
        super().__init__(
            f"{path}: {length:,} characters, past the limit of {limit:,} "
            "(no name the intake takes is longer)"
        )
        self.argument, self.length, self.limit = path, length, limit

    @property
    def extensions(self) -> dict[str, Any]:
        return {"argument": self.argument, "limit": self.limit, "length": self.length}


def _argument_path(context: InputContext, field: str) -> str:
    # the input's place among the field's arguments (`ref`, `model`, `refs.0`), then the field
    return ".".join(str(p) for p in (*context.path, field))


_AS_IS_SCALARS = (str, strawberry.ID, int, bool)  # what the generic conversion hands on as is
# by the schema's config (the config kept: its id stays its own); one per schema, so a few
_REF_FIELDS: dict[int, tuple[Any, tuple[tuple[str, str, Any], ...]]] = {}
NodeRef.__strawberry_definition__.from_input = _ref_from_input  # type: ignore[attr-defined]


@shared_in_reply  # one step lies on many paths of a reply: completed once (execution.py)
@strawberry.type(description="One edge of an explaining path, in the direction it was walked.")
class PathStep:
    kind: str
    from_id: strawberry.ID
    from_display: str
    to_id: strawberry.ID
    to_display: str
    props: JSON
    last_event: str


def to_step(edge: StoredEdge, walked_out: bool, displays: dict[str, str] | None = None) -> PathStep:
    """One step of a path; `displays` remembers node labels across the steps of one reply (the
    paths of an impact answer name the same few nodes thousands of times)."""
    a, b = (edge.key.src, edge.key.dst) if walked_out else (edge.key.dst, edge.key.src)
    return PathStep(
        kind=edge.key.kind.value,
        from_id=strawberry.ID(a.id),
        from_display=_display(a, displays),
        to_id=strawberry.ID(b.id),
        to_display=_display(b, displays),
        props=edge.props,
        last_event=edge.last_event,
    )


def _display(key: NodeKey, displays: dict[str, str] | None) -> str:
    if displays is None:
        return key.display
    found = displays.get(key.id)
    if found is None:
        found = displays[key.id] = key.display
    return found


@strawberry.type
class KindCount:
    kind: str
    count: int


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


def counts(mapping: dict[str, int]) -> list[KindCount]:
    return [KindCount(kind=k, count=n) for k, n in mapping.items()]


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def decode_cursor(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        offset = int(text[2:]) if text.startswith("o:") else -1
    except (ValueError, UnicodeDecodeError):
        offset = -1
    if offset < 0:
        raise InvalidArgument(f"after: not a cursor from this API: {clip(cursor)}")
    return offset + 1


def page_bounds(first: int, after: str | None, total: int) -> tuple[int, int]:
    if not 1 <= first <= 1000:
        raise InvalidArgument("first must be between 1 and 1000")
    start = decode_cursor(after)
    return start, min(start + first, total)
