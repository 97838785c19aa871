"""Service settings, from the environment (`LKG_…`, `NEO4J_…`), a `.env` file and `lkg.toml`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from limits import parse
from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LKG_", env_file=".env", extra="ignore", toml_file="lkg.toml"
    )

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    log_level: str = "info"
    log_format: Literal["auto", "json", "text"] = Field(
        "auto", description="log lines as JSON, or text; auto: text on a terminal, else JSON"
    )
    demo: bool = Field(False, description="load the small demo graph at start")

    # Without a Neo4j URI the service runs on the embedded in-memory store.
    neo4j_uri: str | None = Field(None, validation_alias=AliasChoices("NEO4J_URI", "LKG_NEO4J_URI"))
    neo4j_user: str = Field("neo4j", validation_alias=AliasChoices("NEO4J_USER", "LKG_NEO4J_USER"))
    neo4j_password: SecretStr = Field(
        SecretStr(""), validation_alias=AliasChoices("NEO4J_PASSWORD", "LKG_NEO4J_PASSWORD")
    )
    neo4j_database: str = Field(
        "neo4j", validation_alias=AliasChoices("NEO4J_DATABASE", "LKG_NEO4J_DATABASE")
    )
    neo4j_pool_size: int = Field(20, ge=1, le=500)
    neo4j_query_timeout: float = Field(30.0, gt=0)
    # first contact with the store (connect, then its schema): a CLI command on an unreachable
    # Neo4j fails within about this long; `lkg serve` starts anyway and /readyz says why
    store_connect_timeout: float = Field(
        5.0,
        gt=0,
        le=300,
        description="seconds to reach the store at first contact before giving up (CLI) or "
        "serving without it until it answers (lkg serve)",
    )

    data_dir: Path = Field(Path("data"), description="where the durable event log lives")
    max_body_bytes: int = Field(10 * 1024 * 1024, ge=1024, description="intake body limit")
    projector_batch_size: int = Field(500, ge=1, le=50_000)
    record_cache: int = Field(
        20_000,
        ge=0,
        le=1_000_000,
        description="records the projector keeps of what it wrote to Neo4j, so that its next "
        "batches need not read them back (graph/record_cache.py; ~0.5-1 KB each; only with "
        "LKG_PROJECTOR=on; 0: none). Nothing but this service may write its Neo4j database",
    )
    # the embedded store's start-up snapshot (service/snapshots.py); Neo4j never uses one
    snapshot: bool = Field(
        True,
        description="keep a snapshot of the embedded store in the data dir and start from it, "
        "replaying only the log's tail (one that does not match the log is ignored, logged)",
    )
    snapshot_every: int = Field(
        10_000,
        ge=1,
        description="write a new snapshot once the store is this many log entries past the "
        "last one (checked in the background, after a start's replay and at a clean close)",
    )
    snapshot_after_seconds: float = Field(
        10.0,
        gt=0,
        description="or once the projector has spent this many seconds on the entries since "
        "the last one (what a start would replay)",
    )
    snapshot_check_seconds: float = Field(
        10.0, gt=0, description="how often the background writer checks whether one is due"
    )
    # Python's default (700) collects the youngest generation every 700 new containers: intake
    # and the questions allocate thousands a request, so the collector ran many times each
    # (2026-12-06: 10-20 % of intake's CPU; a decision trace on Neo4j 0.85-0.91x with it paused)
    gc_young_threshold: int = Field(
        10_000,
        ge=100,
        le=1_000_000,
        description="new container objects between two collections of the youngest generation "
        "(Python's gc threshold 0, 700 by default), set while the service runs",
    )

    # who may do what (api/auth.py, docs/security.md); unset: required when keys exist,
    # off on a loopback host without keys, and no start on other interfaces without keys
    auth: Literal["required", "off"] | None = Field(None, description="LKG_AUTH")
    # with auth off, the Host names answered besides loopback and LKG_HOST (api/host_check.py:
    # a page on a name re-pointed at this address, DNS rebinding, is refused)
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="extra Host names answered with auth off (comma-separated)",
    )
    rate_limit: str | None = Field(
        "6000/minute", description="requests per key, e.g. 600/minute; empty: no limit"
    )
    # one leaves the other cores to the service under a flood of wrong secrets; ~20 checks/s
    auth_secret_checks: int = Field(
        1, ge=1, le=64, description="scrypt checks of presented secrets at once (~16 MiB each)"
    )
    # a flood's waiting checks are requests held open: past this many, refuse at once (503)
    auth_secret_queue: int = Field(
        256, ge=1, le=100_000, description="secret checks waiting at most; then 503 at once"
    )
    max_bulk_events: int = Field(10_000, ge=1, description="events in one bulk request")
    max_traversal_nodes: int = Field(
        100_000, ge=1, description="nodes one traversal may reach before it stops (truncated)"
    )
    max_request_nodes: int | None = Field(
        None,
        ge=1,
        description="nodes all the walks of one GraphQL request may expand together (their "
        "answers' owner and alias look-ups included); unset: 3 x LKG_MAX_TRAVERSAL_NODES",
    )
    graphql_max_body_bytes: int = Field(
        1024 * 1024, ge=1024, description="/graphql body limit (413 past it)"
    )
    graphql_deadline_seconds: float = Field(
        30.0, gt=0, description="a GraphQL request past it answers DEADLINE_EXCEEDED"
    )
    body_read_seconds: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="a request body (intake, /graphql) must arrive whole within this long of "
        "its first read, else 408 and the connection is closed: a client that stops sending "
        "(a Content-Length it never fills, a chunked body without its end) held its connection "
        "and what it had sent for ever",
    )

    # governance (queries/governance): the policies `lkg check`, GraphQL `governance` and the
    # metrics evaluate; unset: every rule on, with its default parameters
    policy_file: str | None = Field(
        None, description="the governance policy file (YAML); unset: the default policy"
    )
    governance_metrics_seconds: float = Field(
        60.0,
        ge=0,
        description="the lkg_governance_violations gauge is re-evaluated at most this often, "
        "and only when the graph moved",
    )

    # the event log on a Kafka topic (ingest/kafka_log.py, docs/decisions/0004-kafka-as-the-log.md)
    log: str | None = Field(
        None,
        pattern=r"^kafka://[^/]+/[^/]+$",
        description="kafka://host:port[,host:port]/topic: the topic is the log of record, the "
        "data dir keeps a local copy; unset: the local SQLite log alone",
    )
    kafka_ack_timeout: float = Field(
        30.0, gt=0, le=600, description="seconds an append waits for the broker's ack (then 503)"
    )
    read_wait_seconds: float = Field(
        10.0,
        ge=0,
        le=60,
        description="a read sending LKG-Min-Seq waits at most this long for the graph to hold "
        "that log position, then 503",
    )
    # who writes the graph (ingest/projector.py, ingest/projector_lease.py, docs/scale.md)
    projector: Literal["on", "off", "group"] = Field(
        "on",
        description="on: this process writes the graph; off: it never does, it follows a shared "
        "Neo4j another writes (an API replica); group: it writes while it holds the projector "
        "lease of LKG_PROJECTOR_GROUP, and follows otherwise (needs LKG_LOG=kafka://…)",
    )
    projector_group: str = Field(
        "lkg-projector",
        min_length=1,
        description="the Kafka consumer group of one graph's projector candidates",
    )
    projector_session_seconds: float = Field(
        6.0,
        ge=6,  # the broker's group.min.session.timeout.ms by default
        le=300,
        description="a lease holder not heard from for this long is replaced by a standby",
    )

    # notifications of changes with downstream impact (service/notifications.py, issue 20)
    webhook_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="generic JSON webhooks (comma-separated or JSON list)"
    )
    webhook_secret: SecretStr = Field(SecretStr(""), description="HMAC-SHA256 key of bodies")
    slack_webhook_url: str | None = Field(None, description="a Slack incoming webhook")
    webhook_timeout: float = Field(10.0, gt=0, le=120, description="seconds per POST")
    notify_max_attempts: int = Field(12, ge=1, description="then the change is failed")
    notify_backoff_seconds: float = Field(2.0, gt=0, description="first retry after this")
    notify_max_backoff_seconds: float = Field(600.0, gt=0, description="retries at most apart")

    @model_validator(mode="after")
    def _projector_needs(self) -> Settings:
        if self.projector != "on" and not self.neo4j_uri:
            raise ValueError(
                f"LKG_PROJECTOR={self.projector} follows a graph another process writes: it "
                "needs a shared Neo4j (NEO4J_URI); the embedded store is each process's own"
            )
        if self.projector == "group" and not self.log:
            raise ValueError(
                "LKG_PROJECTOR=group holds its lease on the Kafka log: set LKG_LOG=kafka://…"
            )
        return self

    @property
    def request_node_budget(self) -> int:
        return self.max_request_nodes or 3 * self.max_traversal_nodes

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _allowed_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [h.strip() for h in value.split(",") if h.strip()]
        return value

    @field_validator("webhook_urls", mode="before")
    @classmethod
    def _webhook_urls(cls, value: object) -> object:
        if isinstance(value, str):
            if value.strip().startswith("["):
                return json.loads(value)
            return [u.strip() for u in value.split(",") if u.strip()]
        return value

    @field_validator("rate_limit")
    @classmethod
    def _rate_limit(cls, value: str | None) -> str | None:
        if value is None or not value.strip() or value.strip().lower() in {"off", "none"}:
            return None
        try:
            parse(value)
        except ValueError:
            raise ValueError(f"not a rate like '600/minute' or '10/second': {value!r}") from None
        return value.strip()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # explicit arguments > environment > .env > lkg.toml
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            TomlConfigSettingsSource(settings_cls),
            file_secret_settings,
        )


def env_name(field_or_alias: str) -> str:
    """The environment variable that sets a setting, from a field name or an alias."""
    field = Settings.model_fields.get(field_or_alias)
    if field is None:  # already an alias (pydantic reports aliased fields by their alias)
        return field_or_alias
    alias = field.validation_alias
    if isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
        return alias.choices[0]
    return f"{Settings.model_config.get('env_prefix', '')}{field_or_alias}".upper()


def settings_error_line(exc: ValidationError) -> str:
    """A settings refusal as one line: each setting named as it is set, its value, what is
    allowed (pydantic's own message), e.g. `LKG_PORT=99999: Input should be less than or equal
    to 65535`. Secrets' values are not repeated."""
    parts = []
    for error in exc.errors(include_url=False):
        message = str(error["msg"]).removeprefix("Value error, ")
        if not error["loc"]:  # a rule across settings: its message names them; the input is
            parts.append(message)  # every setting given, secrets included: never repeated
            continue
        name = env_name(str(error["loc"][0]))
        value = "***" if "PASSWORD" in name else repr(error.get("input"))
        parts.append(f"{name}={value}: {message}")
    return "invalid setting: " + "; ".join(parts)
