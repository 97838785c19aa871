"""The FastAPI application: health and readiness probes, and GraphQL at /graphql."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from strawberry.fastapi import GraphQLRouter

from api.decisions import router as decisions_router
from api.lineage import router as lineage_router
from api.schema import Context, schema
from api.settings import Settings
from graph.factory import open_store
from graph.store import GraphStore, StoreUnavailable
from ingest.decisions.projection import table_of
from ingest.eventlog import EventLog
from ingest.projector import Projector
from ingest.sources import default_mappers, side_projections

log = logging.getLogger("lkg")


def create_app(settings: Settings | None = None, store: GraphStore | None = None) -> FastAPI:
    """Build the app. A given `store` is used as is (tests); else one is opened from settings."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = store is None
        app.state.store = store or open_store(
            settings.neo4j_uri,
            user=settings.neo4j_user,
            password=settings.neo4j_password.get_secret_value(),
            database=settings.neo4j_database,
            pool_size=settings.neo4j_pool_size,
            query_timeout=settings.neo4j_query_timeout,
        )
        log.info("store: %s", await run_in_threadpool(app.state.store.describe))
        app.state.settings = settings
        app.state.event_log = EventLog(settings.data_dir / "events.sqlite3")
        app.state.side = side_projections(settings.data_dir)
        app.state.decisions = table_of(app.state.side)
        app.state.projector = Projector(
            app.state.event_log,
            app.state.store,
            default_mappers(),
            batch_size=settings.projector_batch_size,
            side=app.state.side,
        )
        if app.state.store.name == "embedded":
            # the embedded store holds nothing across restarts: rebuild it from the log first
            began = time.monotonic()
            status = await run_in_threadpool(app.state.projector.catch_up)
            log.info(
                "embedded store rebuilt from %d logged events in %.2fs (%d parked)",
                status.projected_seq,
                time.monotonic() - began,
                status.parked,
            )
        app.state.projector.start()
        if settings.demo:
            from ingest.demo import demo_batch

            result = await run_in_threadpool(app.state.store.apply, demo_batch())
            log.info("demo graph loaded: %d nodes written", result.nodes_written)
        try:
            yield
        finally:
            app.state.projector.stop()
            for side in app.state.side:
                side.close()
            app.state.event_log.close()
            if owned:
                app.state.store.close()

    app = FastAPI(title="lineage-kg", lifespan=lifespan)

    async def context(request: Request) -> Context:
        return Context(
            request.app.state.store, request.app.state.projector, request.app.state.decisions
        )

    app.include_router(GraphQLRouter(schema, context_getter=context), prefix="/graphql")
    app.include_router(lineage_router)
    app.include_router(decisions_router)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"])
    async def readyz(request: Request) -> JSONResponse:
        """Readiness: the store answers now."""
        current: GraphStore = request.app.state.store
        try:
            await run_in_threadpool(current.ping)
        except StoreUnavailable as exc:
            return JSONResponse(
                {"status": "unavailable", "store": current.name, "error": str(exc)}, status_code=503
            )
        return JSONResponse({"status": "ready", "store": current.name})

    return app
