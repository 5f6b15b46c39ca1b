"""Settings base: every service subclasses it with its own environment prefix."""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import Field, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

DEV_INTERNAL_SECRET = "dev-internal-secret-change-me-0123456789"
DEVELOPMENT_MODES = frozenset({"development", "test"})
SHARED_FIELDS = frozenset(
    {
        "environment",
        "transport",
        "kafka_bootstrap",
        "kafka_instance_id",
        "kafka_session_timeout_ms",
        "kafka_log_level",
        "kafka_lag_interval_s",
        "kafka_ready_cache_s",
        "topic_namespace",
        "internal_secret",
        "log_level",
        "data_dir",
        "metrics_port",
        "metrics_addr",
        "outbox_retention_days",
        "outbox_prune_interval_s",
    }
)


class _SharedEnv(EnvSettingsSource):
    """``HHPU_<FIELD>`` for the values every service shares (never a service's database URL)."""

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in super().__call__().items() if k in SHARED_FIELDS}


class ServiceSettings(BaseSettings):
    """Common settings. A service subclass sets `env_prefix`, e.g. ``REFERRAL_``.

    Values shared by every service (the Kafka address, the internal identity secret) can also
    be given once with the ``HHPU_`` prefix; the service prefix wins.
    """

    model_config = SettingsConfigDict(env_prefix="HHPU_", extra="ignore")

    service_name: str = "service"
    environment: Literal["development", "test", "production"] = Field(
        default="production",
        description="production unless a developer's machine or the test suite says otherwise (fail closed)",
    )
    database_url: str = ""
    host: str = Field(default="127.0.0.1", description="address the API binds (loopback unless told)")
    port: int = Field(default=8000, ge=0, le=65535)
    transport: Literal["kafka", "inprocess"] = "inprocess"
    kafka_bootstrap: str = "127.0.0.1:19092"
    kafka_instance_id: str = Field(
        default="",
        description="static consumer-group membership (group.instance.id) of this consumer process, unique "
        "per replica (e.g. the pod name): a restarted process takes its partitions back at once instead of "
        "after the session timeout. Empty: dynamic membership",
    )
    kafka_session_timeout_ms: int = Field(
        default=6000,
        ge=6000,
        description="how long the broker waits for a silent consumer (6 s: its minimum)",
    )
    kafka_log_level: str = Field(default="INFO", description="level of the Kafka client's own logs (JSON)")
    kafka_lag_interval_s: float = Field(
        default=15.0,
        ge=0,
        description="how often an API process reads its service's consumer groups' lag and live members "
        "from the broker (hhpu_consumer_group_lag/_members: seen while a consumer is dead); 0: never",
    )
    topic_namespace: str = Field(default="", description="prefix for every topic (isolates test runs)")
    internal_secret: str = DEV_INTERNAL_SECRET
    relay_interval_s: float = 0.2
    relay_batch_size: int = 200
    relay_linger_s: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="the relay waits this long before reading the outbox, so events committed together "
        "(a busy API's referrals) go out in one batch: one outbox read and mark, one Kafka produce request",
    )
    outbox_retention_days: float = Field(
        default=7.0,
        gt=0,
        description="published outbox rows (whole events, personal data included) are deleted after this "
        "many days; Kafka's topic retention governs the copies already sent",
    )
    outbox_prune_interval_s: float = Field(
        default=3600.0, ge=0, description="how often the outbox retention runs (0: never, e.g. a test)"
    )
    consumer_max_attempts: int = 4
    consumer_backoff_s: float = 0.05
    max_concurrent_requests: int | None = Field(
        default=None,
        ge=0,
        description="API requests in flight at once; more wait in line, then 503 (0: no limit; unset: "
        "4 on SQLite, whose write lock serialises requests anyway, 16 on PostgreSQL)",
    )
    kafka_ready_cache_s: float = Field(
        default=5.0,
        ge=0,
        description="/readyz: how long a successful check of the broker stands (a failed one is "
        "checked again at once); each check opens a client, which a loaded machine pays seconds for",
    )
    queue_timeout_s: float = Field(
        default=5.0, gt=0, description="how long a request waits for a slot before 503 + Retry-After"
    )
    db_pool_timeout_s: float = Field(
        default=10.0, gt=0, description="wait for a pooled connection, then 503 (never a hang)"
    )
    sqlite_busy_timeout_s: float = Field(
        default=10.0, gt=0, description="SQLite: wait for the write lock, then 503 (consumers retry)"
    )
    log_level: str = "INFO"
    metrics_port: int = Field(
        default=0, description="serve /metrics on this port (consumer processes); 0: off"
    )
    metrics_addr: str = "127.0.0.1"
    data_dir: str = Field(default=".run/data", description="where the default SQLite file lives")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        shared = _SharedEnv(settings_cls, env_prefix="HHPU_", case_sensitive=False)
        return (init_settings, env_settings, shared, dotenv_settings, file_secret_settings)

    def effective_database_url(self) -> str:
        """The configured URL, or a SQLite file named after the service."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir}/{self.service_name}.db"

    def request_limit(self) -> int:
        """API requests admitted at once (the rest wait in line, fairly, up to `queue_timeout_s`)."""
        if self.max_concurrent_requests is not None:
            return self.max_concurrent_requests
        return 4 if self.effective_database_url().startswith("sqlite") else 16

    @model_validator(mode="after")
    def _fail_closed(self) -> Self:
        """Refuse development secrets outside an explicit development or test mode.

        A validator, so no process can build its settings without this check."""
        if self.environment not in DEVELOPMENT_MODES and self.internal_secret == DEV_INTERNAL_SECRET:
            raise ValueError(
                "the development internal secret is refused outside development: set HHPU_INTERNAL_SECRET "
                "(or HHPU_ENVIRONMENT=development on a developer's machine)"
            )
        if len(self.internal_secret) < 32:
            raise ValueError("internal_secret must be at least 32 characters")
        return self

    @property
    def development(self) -> bool:
        return self.environment in DEVELOPMENT_MODES
