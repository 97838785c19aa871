"""Service settings, from the environment (`LKG_…`, `NEO4J_…`), a `.env` file and `lkg.toml`."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
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

    data_dir: Path = Field(Path("data"), description="where the durable event log lives")
    max_body_bytes: int = Field(10 * 1024 * 1024, ge=1024, description="intake body limit")
    projector_batch_size: int = Field(500, ge=1, le=50_000)

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
