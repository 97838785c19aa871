"""The FastAPI application: health and readiness probes, and GraphQL at /graphql."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from lineage_kg.api.auth import (
    AuthMode,
    AuthProblem,
    Guard,
    KeyStore,
    ReadCaller,
    auth_problem_response,
    decide_mode,
    keys_path,
)
from lineage_kg.api.consistency import NotYet, not_yet_response
from lineage_kg.api.cross_site import CrossSiteWrites
from lineage_kg.api.graphql.router import BodyLimit, BoundedGraphQLRouter
from lineage_kg.api.graphql.schema import Context, schema
from lineage_kg.api.graphql.traversal_budget import TraversalBudget, budgeted
from lineage_kg.api.host_check import HostCheck
from lineage_kg.api.http.decisions import router as decisions_router
from lineage_kg.api.http.lineage import router as lineage_router
from lineage_kg.api.http.marquez import router as marquez_router
from lineage_kg.api.observability import (
    RequestContextMiddleware,
    metrics_router,
    new_metrics,
    watch_governance,
)
from lineage_kg.api.web import mount_web
from lineage_kg.graph.store import GraphStore, StoreUnavailable
from lineage_kg.queries.audience import audience
from lineage_kg.queries.governance.trail import observe
from lineage_kg.runtime import Runtime
from lineage_kg.settings import Settings

log = logging.getLogger("lkg")


def open_guard(settings: Settings) -> Guard:
    """Decide the auth mode (AuthConfigError: do not start) and open the key store."""
    mode = decide_mode(settings)
    if mode is AuthMode.OFF:
        log.warning(
            "auth is OFF: local use only — anyone who reaches http://%s:%d may read and write "
            "(create a key with `lkg keys create` and set LKG_AUTH=required to turn it on)",
            settings.host,
            settings.port,
        )
        return Guard(mode, None, None)
    log.info("auth is required: API keys from %s", keys_path(settings.data_dir))
    keys = KeyStore(keys_path(settings.data_dir))
    return Guard(
        mode, keys, settings.rate_limit, settings.auth_secret_checks, settings.auth_secret_queue
    )


async def graphql_context(request: Request, principal: ReadCaller) -> Context:
    """One GraphQL request's context: its walks share one budget (api/graphql/traversal_budget)."""
    settings: Settings = request.app.state.settings
    budget = TraversalBudget(settings.request_node_budget)
    context = Context(
        budgeted(request.app.state.store, budget),
        request.app.state.projector,
        request.app.state.decisions,
        principal=principal,
        max_traversal_nodes=settings.max_traversal_nodes,
    )
    context.budget = budget
    context.policy = request.app.state.policy  # the governance question's (LKG_POLICY_FILE)
    context.governance = getattr(request.app.state, "governance", None)  # the audit trail's
    return context


def create_app(  # noqa: PLR0915 - the composition: one statement per part of the app
    settings: Settings | None = None, store: GraphStore | None = None
) -> FastAPI:
    """Build the app. A given `store` is used as is (tests); else one is opened from settings."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # a Neo4j that does not answer yet does not stop the start: /healthz answers, /readyz
        # says why not ready, intake goes on into the log and the projector catches up later
        runtime = Runtime.open(settings, store=store, start_without_store=True)
        app.state.runtime = runtime
        app.state.store = runtime.store
        try:
            log.info("store: %s", await run_in_threadpool(runtime.store.describe))
        except StoreUnavailable as exc:
            log.warning("store unavailable at start (intake goes on into the log): %s", exc)
        app.state.settings = settings
        app.state.guard = open_guard(settings)
        app.state.event_log = runtime.log
        app.state.side = runtime.side
        app.state.decisions = runtime.decisions
        app.state.projector = runtime.projector
        began = time.monotonic()
        status = await run_in_threadpool(runtime.rebuild_embedded)
        if status is not None:
            log.info(
                "embedded store at seq %d (%s): %d entries projected in %.2fs (%d parked)",
                status.projected_seq,
                "from the whole log" if runtime.snapshot_seq is None else "from its snapshot",
                runtime.projector.events_projected,
                time.monotonic() - began,
                status.parked,
            )
        # the projector, and the delivery of changes to their owners (issue 20: who to tell
        # from queries/audience.py; service/notifications.py)
        # and the watch of the policy's violations, into the audit trail (governance_watch.py)
        app.state.governance = runtime.governance
        app.state.notifier = runtime.start_background(
            audience,
            lambda store, decisions: observe(
                store, app.state.policy, decisions=decisions,
                max_nodes=settings.max_traversal_nodes,
            ),
        )  # fmt: skip
        try:
            yield
        finally:
            try:
                runtime.close()  # the projector stopped first, the log last
            finally:
                app.state.guard.close()

    app = FastAPI(title="lineage-kg", lifespan=lifespan)
    app.state.metrics = new_metrics(lambda: getattr(app.state, "projector", None))
    watch_governance(app.state, settings)  # the policy (an error in it stops the start), gauge
    app.add_exception_handler(AuthProblem, auth_problem_response)
    app.add_exception_handler(NotYet, not_yet_response)  # LKG-Min-Seq (api/consistency.py)

    # path, not prefix: the route's own path is the template the metrics label requests with
    app.include_router(
        BoundedGraphQLRouter(
            schema,
            path="/graphql",
            context_getter=graphql_context,
            deadline_seconds=settings.graphql_deadline_seconds,
        )
    )
    app.include_router(lineage_router)
    app.include_router(decisions_router)
    app.include_router(marquez_router)  # Marquez's read API (docs/marquez.md)
    mount_web(app)
    app.include_router(metrics_router)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"])
    async def readyz(request: Request) -> JSONResponse:
        """Readiness: the event log is sound (as far as its reads and writes tell) and the
        store answers now."""
        current: GraphStore = request.app.state.store
        if (fault := request.app.state.event_log.fault) is not None:
            return JSONResponse({"status": "unavailable", "log": "damaged", "error": fault}, 503)
        try:
            await run_in_threadpool(current.ping)
        except StoreUnavailable as exc:
            return JSONResponse(
                {"status": "unavailable", "store": current.name, "error": str(exc)}, status_code=503
            )
        return JSONResponse({"status": "ready", "store": current.name})

    app.add_middleware(
        BodyLimit,
        path="/graphql",
        limit=settings.graphql_max_body_bytes,
        seconds=settings.body_read_seconds,
    )
    # before anything reads a body: a write from another site's page (api/cross_site.py)
    app.add_middleware(CrossSiteWrites)
    # with auth off, a Host that does not name this service (DNS rebinding: api/host_check.py)
    app.add_middleware(HostCheck, bind_host=settings.host, allowed=settings.allowed_hosts)
    # added last, so outermost: every response (auth refusals too) gets an id and is measured
    app.add_middleware(RequestContextMiddleware, metrics=app.state.metrics)
    return app
