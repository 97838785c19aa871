"""The GraphQL schema. Resolvers only translate: they call the store off the event loop and map
its records to GraphQL types; the answers themselves come from `graph/` and `queries/`."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Annotated, cast

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxTokensLimiter,
    ParserCache,
)
from strawberry.fastapi import BaseContext
from strawberry.types import Info

from lineage_kg.api.auth import ANONYMOUS, Principal
from lineage_kg.api.graphql.execution import PlainDataExecutionContext
from lineage_kg.api.graphql.limits import LIMIT_RULES
from lineage_kg.api.graphql.offload import run_blocking
from lineage_kg.api.graphql.questions import Questions
from lineage_kg.api.graphql.types import (
    MAX_NAME,
    NODE_TYPES,
    KindCount,
    Node,
    NodeKindEnum,
    NodeRef,
    PageInfo,
    PathStep,
    RefTooLong,
    counts,
    encode_cursor,
    page_bounds,
    to_node,
    to_step,
)
from lineage_kg.api.graphql.validation_cache import DocumentValidationCache
from lineage_kg.graph.errors import InvalidArgument, LineageError, NotFound
from lineage_kg.graph.model import NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.records import StoredEdge
from lineage_kg.graph.resolve import resolve, search_named
from lineage_kg.graph.sides.decisions import DecisionTable
from lineage_kg.graph.store import GraphStore, StoreUnavailable
from lineage_kg.ingest.eventlog import LogUnavailable
from lineage_kg.ingest.projector import Projector
from lineage_kg.queries.arguments import time_arg
from lineage_kg.queries.audit import GovernanceSource, audit_trail
from lineage_kg.queries.impact import ImpactItem as ImpactAnswerItem
from lineage_kg.queries.impact import impact
from lineage_kg.queries.traversal import Hop


class Context(BaseContext):
    def __init__(
        self,
        store: GraphStore,
        projector: Projector,
        decisions: DecisionTable | None = None,
        *,
        principal: Principal = ANONYMOUS,
        max_traversal_nodes: int = 100_000,
    ) -> None:
        super().__init__()
        self.store = store
        self.projector = projector
        self.history = projector.log  # the event log keeps each node's history
        self.governance: GovernanceSource | None = None  # violations' starts and ends
        self.decisions = decisions  # the decisions side table (ingest/decisions)
        self.principal = principal  # who is asking (api/auth.py); anonymous when auth is off
        self.max_traversal_nodes = max_traversal_nodes  # LKG_MAX_TRAVERSAL_NODES


@strawberry.type(description="One dated change to a node, pointing at the event behind it.")
class AuditEntry:
    time: str
    type: str
    summary: str
    event_id: str = strawberry.field(description="GET /api/v1/events/{eventId} for the raw event")
    source: str
    other_node_id: strawberry.ID | None
    edge_kind: str | None
    evidence: list[str] = strawberry.field(
        description="GOVERNANCE entries: the violation's evidence events (else empty)"
    )
    cursor: str


@strawberry.type
class AuditTrail:
    node: Node
    entries: list[AuditEntry]
    page_info: PageInfo


@strawberry.type
class IngestStatus:
    log_seq: int = strawberry.field(description="last position in the durable event log")
    projected_seq: int = strawberry.field(description="log position the graph reflects")
    lag: int
    parked: int = strawberry.field(description="events that could not be mapped (kept)")


@strawberry.type
class Stats:
    node_count: int
    edge_count: int
    nodes: list[KindCount]
    edges: list[KindCount]


@strawberry.type(description="One node downstream, how sure, why, and whom to warn.")
class ImpactItem:
    node: Node
    distance: int
    certainty: str = strawberry.field(description="exact: column-level all the way")
    owners: list[str]
    path: list[PathStep] = strawberry.field(description="one shortest explaining path")
    path_ids: list[int] = strawberry.field(
        description="the same path as positions in the page's `steps` (ImpactConnection.steps): "
        "a page's paths share most of their steps, which `path` sends again on every path"
    )


class ImpactItemData:
    """An `ImpactItem` as plain data: every field an attribute, read by Strawberry's default
    resolver (completed in one pass: api/graphql/execution.py); the path is built only when a
    client selects it (~10 steps per item, most clients ask for a page of nodes)."""

    __slots__ = ("_hops", "_page", "_path", "certainty", "distance", "node", "owners")

    def __init__(self, item: ImpactAnswerItem, page: PathSteps) -> None:
        self.node = to_node(item.node)
        self.distance = item.distance
        self.certainty = item.certainty.value
        self.owners = list(item.owners)
        self._hops = item.path
        self._page = page
        self._path: list[PathStep] | None = None

    @property
    def path(self) -> list[PathStep]:
        if self._path is None:
            self._path = [self._page.step(h.edge, h.direction is Direction.OUT) for h in self._hops]
        return self._path

    @property
    def path_ids(self) -> list[int]:
        return self._page.positions(self._hops)


class PathSteps:
    """The steps of one page's paths, each built once: an item's shortest path is the path of
    the item before it plus one edge, so a page of ~90 items has ~500 steps over ~90 edges; the
    same step object recurs, and is completed once (PathStep is shared_in_reply). The walk's
    edge objects are the page's own while it is answered: their ids name them."""

    __slots__ = ("_displays", "_paths", "_positions", "_steps", "_table")

    def __init__(self, paths: Sequence[Sequence[Hop]]) -> None:
        self._paths = paths  # the page's items' paths, in the page's order
        self._displays: dict[str, str] = {}  # one label per node across the page's paths
        self._steps: dict[tuple[int, bool], PathStep] = {}
        self._table: list[PathStep] | None = None  # ImpactConnection.steps, made when asked
        self._positions: dict[tuple[int, bool], int] = {}

    def step(self, edge: StoredEdge, walked_out: bool) -> PathStep:
        key = (id(edge), walked_out)
        found = self._steps.get(key)
        if found is None:
            found = self._steps[key] = to_step(edge, walked_out, self._displays)
        return found

    def table(self) -> list[PathStep]:
        """Every step of the page's paths once, in the order the page's paths first take them
        (whichever of `steps` and `pathIds` a reply completes first, the same table)."""
        if self._table is None:
            table: list[PathStep] = []
            positions = self._positions
            for hops in self._paths:
                for hop in hops:
                    walked_out = hop.direction is Direction.OUT
                    key = (id(hop.edge), walked_out)
                    if key not in positions:
                        positions[key] = len(table)
                        table.append(self.step(hop.edge, walked_out))
            self._table = table
        return self._table

    def positions(self, hops: Sequence[Hop]) -> list[int]:
        """A path of this page as positions in its table."""
        self.table()
        positions = self._positions
        return [positions[id(h.edge), h.direction is Direction.OUT] for h in hops]


@strawberry.type
class ImpactEdge:
    cursor: str
    node: ImpactItem


@strawberry.type
class ImpactSummary:
    total: int
    truncated: bool = strawberry.field(description="the size cap stopped the walk")
    depth_reached: bool = strawberry.field(
        description="some node lies at the depth asked: the walk did not look past it (what lies "
        "beyond, if anything, is not answered; ask again with a larger depth, at most 25)"
    )
    by_kind: list[KindCount]
    by_certainty: list[KindCount]
    by_owner: list[KindCount]
    kpis: list[str]
    unowned: int


@strawberry.type
class ImpactConnection:
    start: Node
    summary: ImpactSummary
    edges: list[ImpactEdge]
    page_info: PageInfo
    steps: list[PathStep] = strawberry.field(
        description="every step of this page's paths once, for `pathIds` (ImpactItem.pathIds) "
        "to point into: a page of ~100 items has ~500 path steps over ~100 distinct edges"
    )


class ImpactConnectionData:
    """An `ImpactConnection` as plain data; its `steps` made only when a client selects them."""

    __slots__ = ("_page", "edges", "page_info", "start", "summary")

    def __init__(
        self,
        start: Node,
        summary: ImpactSummary,
        edges: list[ImpactEdge],
        page_info: PageInfo,
        page: PathSteps,
    ) -> None:
        self.start, self.summary, self.edges, self.page_info = start, summary, edges, page_info
        self._page = page

    @property
    def steps(self) -> list[PathStep]:
        return self._page.table()


def _store(info: Info[Context, None]) -> GraphStore:
    return info.context.store


@strawberry.type
class Query(Questions):
    @strawberry.field(description="The running lineage-kg version.")
    def version(self) -> str:
        return package_version("lineage-kg")

    @strawberry.field(description="Which store answers: embedded or Neo4j, where, which version.")
    async def store(self, info: Info[Context, None]) -> str:
        return await run_blocking(_store(info).describe)

    @strawberry.field(description="How many nodes and edges of each kind the graph holds.")
    async def stats(self, info: Info[Context, None]) -> Stats:
        stats = await run_blocking(_store(info).stats)
        return Stats(
            node_count=stats.node_count,
            edge_count=stats.edge_count,
            nodes=[KindCount(kind=k, count=n) for k, n in stats.nodes.items()],
            edges=[KindCount(kind=k, count=n) for k, n in stats.edges.items()],
        )

    @strawberry.field(description="How far the graph has caught up with the event log.")
    async def ingest_status(self, info: Info[Context, None]) -> IngestStatus:
        status = await run_blocking(info.context.projector.status)
        return IngestStatus(
            log_seq=status.log_seq,
            projected_seq=status.projected_seq,
            lag=status.lag,
            parked=status.parked,
        )

    @strawberry.field(
        description="One node by reference (resolved as every question resolves it: the "
        "canonical node, whichever of its names is given), or null if there is none."
    )
    async def node(self, info: Info[Context, None], ref: NodeRef) -> Node | None:
        try:
            found = await run_blocking(resolve, _store(info), ref.to_key())
        except NotFound:
            return None
        return to_node(found.node)

    @strawberry.field(
        description="Everything downstream of a node: what breaks if it changes, with paths, "
        "certainty and the owners to warn. Paged; the summary covers the whole answer."
    )
    async def impact(
        self,
        info: Info[Context, None],
        ref: NodeRef,
        depth: int = 10,
        kinds: list[NodeKindEnum] | None = None,  # type: ignore[valid-type]
        exact_only: bool = False,
        as_of: str | None = None,
        first: int = 100,
        after: str | None = None,
        include_indirect: Annotated[
            bool,
            strawberry.argument(
                description="false leaves out indirect column lineage (filters, joins, "
                "groupings: INDIRECT transformations and the columnLineage dataset list)"
            ),
        ] = True,
    ) -> ImpactConnection:
        start = await run_blocking(resolve, _store(info), ref.to_key())
        wanted = {NodeKind(k.value) for k in kinds} if kinds is not None else None
        answer = await run_blocking(
            partial(
                impact,
                _store(info),
                start.id,
                depth=depth,
                kinds=wanted,
                exact_only=exact_only,
                as_of=time_arg("asOf", as_of),
                max_nodes=info.context.max_traversal_nodes,
                include_indirect=include_indirect,
            )
        )
        lo, hi = page_bounds(first, after, len(answer.items))
        # the answer keeps its edges alive while the page is answered
        steps = PathSteps([item.path for item in answer.items[lo:hi]])
        edges = [
            ImpactEdge(
                cursor=encode_cursor(i),
                node=cast(ImpactItem, ImpactItemData(item, steps)),
            )
            for i, item in enumerate(answer.items[lo:hi], start=lo)
        ]
        connection = ImpactConnectionData(
            start=to_node(answer.start),
            summary=ImpactSummary(
                total=len(answer.items),
                truncated=answer.truncated,
                depth_reached=answer.depth_reached,
                by_kind=counts(answer.by_kind),
                by_certainty=counts(answer.by_certainty),
                by_owner=counts(answer.by_owner),
                kpis=answer.kpis,
                unowned=answer.unowned,
            ),
            edges=edges,
            page_info=PageInfo(
                has_next_page=hi < len(answer.items),
                end_cursor=edges[-1].cursor if edges else None,
            ),
            page=steps,
        )
        return cast(ImpactConnection, connection)

    @strawberry.field(
        description="The dated history of a node, oldest first: runs, versions, schema, quality, "
        "ownership, aliases, deployments, policy violations started and ended — each entry with "
        "the event that caused it."
    )
    async def audit_trail(
        self,
        info: Info[Context, None],
        ref: NodeRef,
        since: str | None = None,
        until: str | None = None,
        types: list[str] | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> AuditTrail:
        start = await run_blocking(resolve, _store(info), ref.to_key())
        page = await run_blocking(
            partial(
                audit_trail,
                info.context.history,
                _store(info),
                start.id,
                since=since,
                until=until,
                types=types,
                first=first,
                after=after,
                governance=info.context.governance,
            )
        )
        return AuditTrail(
            node=to_node(page.node),
            entries=[
                AuditEntry(
                    time=e.event_time,
                    type=e.entry_type.value,
                    summary=e.summary,
                    event_id=e.event_id,
                    source=e.source,
                    other_node_id=strawberry.ID(e.other_node_id) if e.other_node_id else None,
                    edge_kind=e.edge_kind,
                    evidence=list(e.evidence),
                    cursor=e.cursor,
                )
                for e in page.entries
            ],
            page_info=PageInfo(
                has_next_page=page.next_cursor is not None, end_cursor=page.next_cursor
            ),
        )

    @strawberry.field(
        description="Nodes whose name contains the text (case-insensitive); first, the node the "
        "text names exactly as a producer or a person writes it (an alias, another spelling)."
    )
    async def search(
        self, info: Info[Context, None], text: str, kinds: list[str] | None = None, limit: int = 20
    ) -> list[Node]:
        if not 1 <= limit <= 200:
            raise InvalidArgument("limit must be between 1 and 200")
        if len(text) > MAX_NAME:  # longer than any name the intake takes: nothing to find
            raise RefTooLong("text", len(text), MAX_NAME)
        try:
            wanted = [NodeKind(k) for k in kinds] if kinds is not None else None
        except ValueError:
            raise InvalidArgument(f"kinds must be among {[k.value for k in NodeKind]}") from None
        nodes = await run_blocking(search_named, _store(info), text, wanted, limit)
        return [to_node(n) for n in nodes]


def _is_user_error(error: GraphQLError) -> bool:
    # no path: the request failed parsing, validation or variable coercion — the caller's
    return (
        error.original_error is None
        or error.path is None
        or isinstance(error.original_error, LineageError)
    )


class _Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context=None) -> None:
        # the caller's mistakes get a code and no server traceback; real failures are logged
        for error in errors:
            if isinstance(error.original_error, LineageError):
                original = error.original_error
                error.extensions = {
                    **(error.extensions or {}),
                    **original.extensions,  # NOT_FOUND: lookedFor, suggestions
                    "code": original.code,
                }
            elif isinstance(error.original_error, LogUnavailable):  # damaged, or locked
                error.message = f"the event log is unavailable: {error.original_error}"
                error.extensions = {**(error.extensions or {}), "code": "LOG_UNAVAILABLE"}
            elif _is_unavailable(error):  # not a bug: the caller may retry (logged below)
                error.message = "the graph store is unavailable now; retry"
                error.extensions = {**(error.extensions or {}), "code": "STORE_UNAVAILABLE"}
        super().process_errors([e for e in errors if not _is_user_error(e)], execution_context)


def _is_unavailable(error: GraphQLError) -> bool:
    return isinstance(error.original_error, StoreUnavailable | LogUnavailable)


def _hide_internal(error: GraphQLError) -> bool:
    return not _is_user_error(error) and not _is_unavailable(error)


# The limits' rule (api/graphql/limits.py: nesting, aliases, work, expanded size; fragments
# measured once each): a validation is cached under (document, rules), so the rules are the
# same objects on every request.

schema = _Schema(
    query=Query,
    types=list(NODE_TYPES.values()),
    # answers are plain data: completed in one pass per subtree, not field by field
    # (api/graphql/execution.py; issue 19: field execution was most of an impact request)
    execution_context_class=PlainDataExecutionContext,
    extensions=[
        lambda: MaskErrors(should_mask_error=_hide_internal, error_message="internal error"),
        # bounds on what one request may ask: size (while parsing), nesting, aliases, work
        lambda: MaxTokensLimiter(max_token_count=2000),
        lambda: AddValidationRules(list(LIMIT_RULES)),
        # a client asks the same few documents again and again: parse and validate each once
        # (validation alone took ~3 ms of a request; it depends on the text, never on variables);
        # the validation found by the parsed document's identity (api/graphql/validation_cache.py)
        lambda: ParserCache(maxsize=256),
        DocumentValidationCache,
    ],
)

SDL_PATH = Path(__file__).with_name("schema.graphql")


def export_sdl() -> str:
    """The schema as SDL; `python -m lineage_kg.api.graphql.schema` writes it to
    api/graphql/schema.graphql."""
    return schema.as_str() + "\n"


if __name__ == "__main__":
    SDL_PATH.write_text(export_sdl())
    print(f"wrote {SDL_PATH}")
