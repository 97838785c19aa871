"""Operability: JSON log lines that carry the request id, and Prometheus metrics at `/metrics`.

- Logs: `configure_logging` puts one handler on the root logger, so uvicorn's own loggers and
  ours write the same format (JSON by python-json-logger, or text on a terminal). A filter adds
  the current request's id to every record made while the request is served, threadpool work
  included: anyio runs each `run_in_threadpool` call in a copy of the caller's context.
- Request ids: `X-Request-ID` from the client when it is short and safe, else a new one; it is
  sent back in the response header and held in `request_id_var` for the log filter.
- Metrics: each app has its own `CollectorRegistry` (tests build many apps in one process).
  Label values come from closed sets (route templates, status codes, top-level GraphQL fields),
  so no client can grow the number of series. Projector figures are read at scrape time.
- Governance: `lkg_governance_violations{rule,severity}`, the policy's violations counted by
  rule (queries/governance). An evaluation walks the production chains, so it is not made on
  every scrape: it is kept and made again when the graph moved (the projector's position) and
  `LKG_GOVERNANCE_METRICS_SECONDS` have passed, or when it is ten times that old (rules that
  depend on the time, a check failing for N days, change without the graph moving). Once the
  service's governance watch (service/governance_watch.py) has evaluated, the gauge counts its
  latest evaluation instead of making its own: the same policy, evaluated once.
"""

from __future__ import annotations

import logging
import math
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any, Literal, TextIO

from fastapi import APIRouter, Request, Response
from graphql import FieldNode, GraphQLError, OperationDefinitionNode, parse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from pydantic import StringConstraints, TypeAdapter, ValidationError
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.fastapi import GraphQLRouter

if TYPE_CHECKING:
    from strawberry.http import GraphQLRequestData
    from strawberry.types import ExecutionResult

    from lineage_kg.ingest.projector import Projector
    from lineage_kg.queries.governance import Policy
    from lineage_kg.settings import Settings

log = logging.getLogger("lkg.observability")
access_log = logging.getLogger("lkg.access")

# ---- request ids --------------------------------------------------------------------------------
REQUEST_ID_HEADER = "X-Request-ID"
# it is echoed into headers and log lines: no spaces, quotes or control characters, and short
RequestId = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@/+=-]+$")
]
_request_id = TypeAdapter(RequestId)
request_id_var: ContextVar[str | None] = ContextVar("lkg_request_id", default=None)


def request_id_from(sent: str | None) -> str:
    """The id the client sent if it is valid, else a new random one."""
    if sent is not None:
        try:
            return _request_id.validate_python(sent)
        except ValidationError:
            log.debug("ignoring an unsafe X-Request-ID of %d characters", len(sent))
    return uuid.uuid4().hex


# ---- log format ---------------------------------------------------------------------------------
LogFormat = Literal["auto", "json", "text"]


class RequestIdFilter(logging.Filter):
    """Stamps each record with the id of the request being served, if any."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = request_id_var.get()
        if request_id is not None and not hasattr(record, "request_id"):
            record.request_id = request_id
        return True


def json_formatter() -> logging.Formatter:
    """One JSON object per line: time, level, logger, message, then any `extra` fields."""
    return JsonFormatter(
        "{levelname}{name}{message}",
        style="{",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",  # ISO 8601, UTC
        # uvicorn adds a copy of its message with terminal colour codes
        reserved_attrs=[*RESERVED_ATTRS, "color_message"],
    )


def text_formatter() -> logging.Formatter:
    return logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        defaults={"request_id": "-"},
    )


def configure_logging(
    log_format: LogFormat = "auto", level: str = "info", stream: TextIO | None = None
) -> logging.Handler:
    """Route every logger (uvicorn's too) through one handler on the root logger.

    "auto" is text when the stream is a terminal, JSON otherwise (a service under a supervisor
    or in a container, whose output is collected). Calling it again replaces the handler.
    """
    stream = stream or sys.stderr
    if log_format == "auto":
        log_format = "text" if stream.isatty() else "json"
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter() if log_format == "json" else text_formatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    return handler


# ---- metrics ------------------------------------------------------------------------------------
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@dataclass(frozen=True)
class Metrics:
    """The metrics of one app, in its own registry."""

    registry: CollectorRegistry
    events_accepted: Counter
    events_duplicate: Counter
    events_rejected: Counter
    http_duration: Histogram
    graphql_duration: Histogram


def new_metrics(projector_of: Callable[[], Projector | None]) -> Metrics:
    registry = CollectorRegistry()
    registry.register(ProjectorCollector(projector_of))
    return Metrics(
        registry=registry,
        events_accepted=Counter(
            "lkg_events_accepted",
            "Records newly stored in the durable event log by the HTTP intake",
            ["source"],
            registry=registry,
        ),
        events_duplicate=Counter(
            "lkg_events_duplicate",
            "Records sent again that the event log already held (answered 2xx, not stored twice)",
            ["source"],
            registry=registry,
        ),
        events_rejected=Counter(
            "lkg_events_rejected",
            "Records (or whole request bodies) the HTTP intake refused, by HTTP status code",
            ["source", "reason"],
            registry=registry,
        ),
        http_duration=Histogram(
            "lkg_http_request_duration_seconds",
            "HTTP request duration, by route template",
            ["method", "route", "status"],
            registry=registry,
        ),
        graphql_duration=Histogram(
            "lkg_graphql_operation_duration_seconds",
            "GraphQL operation duration, by top-level field ('multiple' when several)",
            ["operation", "outcome"],
            registry=registry,
        ),
    )


class ProjectorCollector(Collector):
    """The projector's position and counts, read when Prometheus scrapes."""

    def __init__(self, projector_of: Callable[[], Projector | None]) -> None:
        self.projector_of = projector_of

    def describe(self) -> Iterator[Metric]:
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        projector = self.projector_of()
        if projector is None:  # before the app's startup
            return
        families = self._families()
        lag, parked, log_seq, projected, batches = families
        projected.add_metric([], projector.events_projected)
        batches.add_metric([], projector.batches_applied)
        yield projected
        yield batches
        writing = GaugeMetricFamily(
            "lkg_projector_writing",
            "1 while this process writes the graph, 0 while it follows another's (LKG_PROJECTOR)",
        )
        writing.add_metric([], 1.0 if projector.writing else 0.0)
        yield writing
        try:
            status = projector.status()
        except Exception:  # the store or log is down: the counters still go out
            log.warning("projector status unavailable for /metrics", exc_info=True)
            return
        lag.add_metric([], status.lag)
        parked.add_metric([], status.parked)
        log_seq.add_metric([], status.log_seq)
        yield from (lag, parked, log_seq)

    @staticmethod
    def _families() -> tuple[
        GaugeMetricFamily,
        GaugeMetricFamily,
        GaugeMetricFamily,
        CounterMetricFamily,
        CounterMetricFamily,
    ]:
        return (
            GaugeMetricFamily(
                "lkg_projector_lag_events", "Log entries not yet applied to the graph"
            ),
            GaugeMetricFamily(
                "lkg_projector_parked_events", "Log entries set aside because they cannot be mapped"
            ),
            GaugeMetricFamily("lkg_event_log_seq", "Last position in the durable event log"),
            CounterMetricFamily(
                "lkg_projected_events",
                "Log entries this process applied to the graph (parked ones not counted)",
            ),
            CounterMetricFamily(
                "lkg_projector_batches", "Batches this process's projector applied to the graph"
            ),
        )


@dataclass(frozen=True)
class GovernanceInputs:
    """What an evaluation of the policy reads: the running service's store and side table."""

    store: Any  # GraphStore
    projector: Projector
    policy: Policy
    decisions: Any = None  # DecisionTable | None
    max_nodes: int = 100_000
    watched: Any = None  # the governance watch's latest Observation, if it has evaluated


class GovernanceCollector(Collector):
    """`lkg_governance_violations{rule,severity}` (module docstring: when it is evaluated).
    A scrape runs in the thread pool (`metrics_endpoint`), so the evaluation is off the loop."""

    STALE_FACTOR = 10

    def __init__(
        self,
        inputs_of: Callable[[], GovernanceInputs | None],
        min_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inputs_of, self.min_seconds, self.clock = inputs_of, min_seconds, clock
        # one evaluation at a time; a scrape meanwhile answers the last counts at once: waiting,
        # each held a thread of the pool every request shares (a flood of /metrics, which needs
        # no key, held them all for as long as an evaluation took)
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str], int] | None = None
        self._position: int | None = None
        self._at = -math.inf
        self.evaluations = 0

    def describe(self) -> Iterator[Metric]:
        yield self._family()

    def collect(self) -> Iterator[Metric]:
        inputs = self.inputs_of()
        if inputs is None:  # before the app's startup
            return
        if self._lock.acquire(blocking=False):
            try:
                counts = self._refresh(inputs)
            finally:
                self._lock.release()
        else:  # being evaluated: the counts it replaces (none before the first)
            counts = self._counts
        if counts is None:
            return
        family = self._family()
        for (rule, severity), count in sorted(counts.items()):
            family.add_metric([rule, severity], count)
        yield family

    def _refresh(self, inputs: GovernanceInputs) -> dict[tuple[str, str], int] | None:
        from lineage_kg.queries.governance import evaluate_all  # the queries only when scraped

        if inputs.watched is not None:  # the watch evaluated the same policy: count that
            counts = {(c.rule, c.severity.value): 0 for c in inputs.policy.enabled}
            for sighting in inputs.watched.sightings:
                key = (sighting.rule, sighting.severity)
                counts[key] = counts.get(key, 0) + 1
            self._counts = counts
            return counts
        now = self.clock()
        try:
            position = inputs.projector.status().projected_seq
        except Exception:  # the store or log is down: the last counts stand
            log.warning("projector status unavailable for the governance gauge", exc_info=True)
            return self._counts
        age = now - self._at
        moved = position != self._position
        if self._counts is not None and (
            age < self.min_seconds or (not moved and age < self.STALE_FACTOR * self.min_seconds)
        ):
            return self._counts
        try:
            found = evaluate_all(
                inputs.store, inputs.policy, decisions=inputs.decisions, max_nodes=inputs.max_nodes
            )
        except Exception:
            log.warning("governance evaluation failed for /metrics", exc_info=True)
            return self._counts
        counts = {(c.rule, c.severity.value): 0 for c in inputs.policy.enabled}
        for violation in found.violations:
            counts[violation.rule, violation.severity.value] += 1
        self._counts, self._position, self._at = counts, position, now
        self.evaluations += 1
        return counts

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "lkg_governance_violations",
            "Violations of the governance policy, by rule and severity (queries/governance)",
            labels=["rule", "severity"],
        )


def watch_governance(state: Any, settings: Settings) -> GovernanceCollector:
    """Read the policy (`LKG_POLICY_FILE`; a `PolicyError` names the mistake) into
    `state.policy` — GraphQL's `governance` asks it too — and register the governance gauge on
    `state.metrics`, reading the app's store, projector and decisions once it has started."""
    from lineage_kg.queries.governance import load_policy

    state.policy = load_policy(settings.policy_file)

    def inputs() -> GovernanceInputs | None:
        projector = getattr(state, "projector", None)
        if projector is None:
            return None
        settings = getattr(state, "settings", None)
        watch = getattr(getattr(state, "runtime", None), "governance_watch", None)
        return GovernanceInputs(
            state.store,
            projector,
            state.policy,
            getattr(state, "decisions", None),
            settings.max_traversal_nodes if settings is not None else 100_000,
            watch.latest if watch is not None else None,
        )

    collector = GovernanceCollector(inputs, settings.governance_metrics_seconds)
    state.metrics.registry.register(collector)
    state.governance_gauge = collector
    return collector


def _metrics(request: Request) -> Metrics | None:
    return getattr(request.app.state, "metrics", None)


def count_accepted(request: Request, source: str, accepted: int, duplicates: int = 0) -> None:
    if metrics := _metrics(request):
        metrics.events_accepted.labels(source).inc(accepted)
        metrics.events_duplicate.labels(source).inc(duplicates)


def count_rejected(request: Request, source: str, status: int, count: int = 1) -> None:
    """`status` is the HTTP status the records got: a small closed set chosen by the code."""
    if (metrics := _metrics(request)) and count:
        metrics.events_rejected.labels(source, str(status)).inc(count)


metrics_router = APIRouter(tags=["ops"])


@metrics_router.get("/metrics", response_class=Response)
async def metrics_endpoint(request: Request) -> Response:
    """Prometheus text exposition of this service's metrics."""
    metrics = _metrics(request)
    body = await run_in_threadpool(generate_latest, metrics.registry) if metrics else b""
    return Response(body, media_type=CONTENT_TYPE_LATEST)


# ---- the middleware -----------------------------------------------------------------------------
class RequestContextMiddleware:
    """Per HTTP request: the request id (context + response header), one access log line, and
    the duration histogram. Pure ASGI so it adds no task and the context reaches the endpoint."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), None
        )
        request_id = request_id_from(sent)
        token = request_id_var.set(request_id)
        status = 500  # unless a response starts
        began = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - began
            method = scope["method"] if scope["method"] in HTTP_METHODS else "other"
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.http_duration.labels(method, route, str(status)).observe(elapsed)
            access_log.info(
                "%s %s %d",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 3),
                },
            )
            request_id_var.reset(token)


# ---- GraphQL ------------------------------------------------------------------------------------
class MeasuredGraphQLRouter(GraphQLRouter[Any, Any]):
    """Strawberry's router, timing each operation by its top-level field."""

    async def execute_single(  # noqa: PLR0917 (the signature of the method it extends)
        self,
        request: Request,
        request_adapter: Any,
        sub_response: Any,
        context: Any,
        root_value: Any,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        began = time.perf_counter()
        outcome = "error"
        try:
            result = await super().execute_single(
                request=request,
                request_adapter=request_adapter,
                sub_response=sub_response,
                context=context,
                root_value=root_value,
                request_data=request_data,
            )
            outcome = "error" if result.errors else "ok"
            return result
        finally:
            if metrics := _metrics(request):
                operation = operation_label(
                    self._top_level_fields(), request_data.query or "", request_data.operation_name
                )
                metrics.graphql_duration.labels(operation, outcome).observe(
                    time.perf_counter() - began
                )

    def _top_level_fields(self) -> frozenset[str]:
        graphql_schema = self.schema._schema  # graphql-core's schema behind strawberry's
        roots = (graphql_schema.query_type, graphql_schema.mutation_type)
        return frozenset(name for root in roots if root for name in root.fields)


@lru_cache(maxsize=512)
def operation_label(known: frozenset[str], query: str, operation_name: str | None = None) -> str:
    """The top-level field an operation asks for: one of `known`, "introspection", "multiple"
    (several fields) or "invalid" (does not parse, or names no known field)."""
    try:
        document = parse(query)
    except GraphQLError:
        return "invalid"
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1:
        return "invalid"
    names = {
        s.name.value
        for s in operations[0].selection_set.selections
        if isinstance(s, FieldNode) and s.name.value != "__typename"
    }
    if names and names <= {"__schema", "__type"}:
        return "introspection"
    fields = names & known
    if len(fields) != len(names) or not fields:
        return "invalid"
    return next(iter(fields)) if len(fields) == 1 else "multiple"
