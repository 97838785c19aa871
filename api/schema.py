"""The GraphQL schema. Resolvers only translate: they call the store off the event loop and map
its records to GraphQL types; the answers themselves come from `graph/` and `queries/`."""

from __future__ import annotations

from importlib.metadata import version as package_version

import strawberry
from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool
from strawberry.extensions import MaskErrors
from strawberry.fastapi import BaseContext
from strawberry.types import Info

from graph.errors import InvalidArgument, LineageError
from graph.model import NodeKind
from graph.records import StoredNode
from graph.store import GraphStore
from ingest.projector import Projector


class Context(BaseContext):
    def __init__(self, store: GraphStore, projector: Projector) -> None:
        super().__init__()
        self.store = store
        self.projector = projector


@strawberry.type
class IngestStatus:
    log_seq: int = strawberry.field(description="last position in the durable event log")
    projected_seq: int = strawberry.field(description="log position the graph reflects")
    lag: int
    parked: int = strawberry.field(description="events that could not be mapped (kept)")


@strawberry.type
class KindCount:
    kind: str
    count: int


@strawberry.type
class Stats:
    node_count: int
    edge_count: int
    nodes: list[KindCount]
    edges: list[KindCount]


@strawberry.type
class NodeSummary:
    id: strawberry.ID
    kind: str
    display: str
    first_seen: str
    last_seen: str
    sources: list[str]

    @classmethod
    def of(cls, node: StoredNode) -> NodeSummary:
        return cls(
            id=strawberry.ID(node.id),
            kind=node.key.kind.value,
            display=node.key.display,
            first_seen=node.first_seen,
            last_seen=node.last_seen,
            sources=list(node.sources),
        )


def _store(info: Info[Context, None]) -> GraphStore:
    return info.context.store


@strawberry.type
class Query:
    @strawberry.field(description="The running lineage-kg version.")
    def version(self) -> str:
        return package_version("lineage-kg")

    @strawberry.field(description="Which store answers: embedded or Neo4j, where, which version.")
    async def store(self, info: Info[Context, None]) -> str:
        return await run_in_threadpool(_store(info).describe)

    @strawberry.field(description="How many nodes and edges of each kind the graph holds.")
    async def stats(self, info: Info[Context, None]) -> Stats:
        stats = await run_in_threadpool(_store(info).stats)
        return Stats(
            node_count=stats.node_count,
            edge_count=stats.edge_count,
            nodes=[KindCount(kind=k, count=n) for k, n in stats.nodes.items()],
            edges=[KindCount(kind=k, count=n) for k, n in stats.edges.items()],
        )

    @strawberry.field(description="How far the graph has caught up with the event log.")
    async def ingest_status(self, info: Info[Context, None]) -> IngestStatus:
        status = await run_in_threadpool(info.context.projector.status)
        return IngestStatus(
            log_seq=status.log_seq,
            projected_seq=status.projected_seq,
            lag=status.lag,
            parked=status.parked,
        )

    @strawberry.field(description="Nodes whose name contains the text (case-insensitive).")
    async def search(
        self, info: Info[Context, None], text: str, kinds: list[str] | None = None, limit: int = 20
    ) -> list[NodeSummary]:
        if not 1 <= limit <= 200:
            raise InvalidArgument("limit must be between 1 and 200")
        try:
            wanted = [NodeKind(k) for k in kinds] if kinds is not None else None
        except ValueError:
            raise InvalidArgument(f"kinds must be among {[k.value for k in NodeKind]}") from None
        nodes = await run_in_threadpool(_store(info).search, text, wanted, limit)
        return [NodeSummary.of(n) for n in nodes]


def _is_user_error(error: GraphQLError) -> bool:
    return isinstance(error.original_error, LineageError) or error.original_error is None


class _Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context=None) -> None:
        # the caller's mistakes get a code and no server traceback; real failures are logged
        for error in errors:
            if isinstance(error.original_error, LineageError):
                error.extensions = {**(error.extensions or {}), "code": error.original_error.code}
        super().process_errors([e for e in errors if not _is_user_error(e)], execution_context)


def _hide_internal(error: GraphQLError) -> bool:
    return not _is_user_error(error)


schema = _Schema(
    query=Query,
    extensions=[
        lambda: MaskErrors(should_mask_error=_hide_internal, error_message="internal error")
    ],
)
