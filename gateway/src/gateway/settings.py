"""Gateway settings: env prefix ``GATEWAY_``; the internal secret is shared (``HHPU_INTERNAL_SECRET``).

Fail closed: the committed development secrets (the HS256 staff-token signer and the internal secret)
are only accepted in a development mode (``development`` or ``test``, the services' DEVELOPMENT_MODES),
which must be asked for explicitly (``GATEWAY_ENVIRONMENT`` or ``HHPU_ENVIRONMENT``; ``make run`` and
the tests do). Any other environment, the default included, refuses to build the settings without a
real internal secret and a JWKS: a validator, so no process can construct a gateway that skips the check.
"""

from __future__ import annotations

from typing import Literal, Self

from hhpu_shared.settings import DEV_INTERNAL_SECRET, DEVELOPMENT_MODES
from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "dev-jwt-secret-not-for-production-0123456789"
DEV_JWT_ISSUER = "hhpu-dev-idp"
JWT_AUDIENCE = "hhpu-gateway"


class GatewaySettings(BaseSettings):
    """Everything the gateway needs; each field can be set as ``GATEWAY_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", populate_by_name=True)

    service_name: str = "gateway"
    environment: Literal["development", "test", "production"] = Field(
        default="production",
        validation_alias=AliasChoices("GATEWAY_ENVIRONMENT", "HHPU_ENVIRONMENT"),
        description="development or test: the committed development secrets are accepted; production: never",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    forwarded_allow_ips: str = Field(
        default="", description="proxies trusted for X-Forwarded-For (comma-separated); empty: none"
    )
    internal_secret: str = Field(
        default="",
        validation_alias=AliasChoices("GATEWAY_INTERNAL_SECRET", "HHPU_INTERNAL_SECRET"),
        description="signs identity assertions; empty: the development secret (development only)",
    )
    identity_ttl_s: int = Field(
        default=30,
        ge=1,
        le=120,
        description="lifetime of an identity assertion (services accept up to 120 s)",
    )

    # Upstreams (distributed mode). `create_app(upstreams=...)` overrides these.
    referral_api_url: str = "http://127.0.0.1:8001"
    ranking_service_url: str = "http://127.0.0.1:8002"
    case_service_url: str = "http://127.0.0.1:8003"
    meeting_service_url: str = "http://127.0.0.1:8004"
    upstream_client: Literal["builtin", "aiohttp"] = Field(
        default="builtin", description="builtin: the gateway's HTTP/1.1 client (fastest, plain http://)"
    )
    connect_timeout_s: float = 2.0
    read_timeout_s: float = 30.0
    pool_size: int = 200
    upstream_idle_s: float = Field(
        default=4.0, description="drop idle upstream connections before their keep-alive ends"
    )
    retries: int = 1
    retry_backoff_s: float = 0.05  # the first retry's wait; doubled each retry (hhpu_shared's backoff)
    retry_backoff_max_s: float = 1.0
    breaker_threshold: int = 5
    breaker_cooldown_s: float = 5.0
    breaker_unreachable_probe_s: float = Field(
        default=0.5,
        description="an open breaker's probe interval while nothing reaches the upstream (<= cool-down)",
    )

    # Staff tokens (JWT)
    jwt_issuer: str = DEV_JWT_ISSUER
    jwt_audience: str = JWT_AUDIENCE
    jwt_jwks_url: str = ""
    jwt_jwks_file: str = ""
    jwt_dev_secret: str | None = Field(
        default=None,
        description="HS256 development signer (development only); unset: the committed one in "
        "development, none otherwise; empty: none",
    )
    jwt_leeway_s: int = 10
    jwt_cache_s: float = 30.0
    jwt_max_lifetime_s: int = Field(
        default=4 * 3600, ge=60, description="staff tokens whose exp-iat or exp-now exceeds this are refused"
    )

    # Partner API keys
    key_cache_ttl_s: float = 30.0

    # Limits
    rate_limit_per_s: float = 50.0
    rate_limit_burst: int = 100
    max_body_bytes: int = 1_048_576
    cors_origins: list[str] = Field(default_factory=list)
    # The request head (server side; `gateway.server`): a slow or oversized head is cut off
    max_header_count: int = Field(default=100, ge=10)
    max_head_bytes: int = Field(default=32_768, ge=4096, description="request line plus all headers")
    max_line_bytes: int = Field(default=8192, ge=1024, description="request target, or one header line")
    head_timeout_s: float = Field(default=10.0, gt=0, description="to receive a complete request head")
    keep_alive_s: float = Field(default=5.0, gt=0, description="idle client connection kept open")
    limit_concurrency: int = Field(default=2000, ge=0, description="connections+tasks; 0: unlimited")

    # Operations
    openapi_cache_s: float = 60.0
    readyz_timeout_s: float = 2.0
    access_log: bool = True
    manage_asgi_lifespans: bool = Field(
        default=True, description="single-process mode: run the in-process services' startup/shutdown"
    )

    def upstream_urls(self) -> dict[str, str]:
        return {
            "referral-api": self.referral_api_url,
            "ranking-service": self.ranking_service_url,
            "case-service": self.case_service_url,
            "meeting-service": self.meeting_service_url,
        }

    @model_validator(mode="after")
    def _validated(self) -> Self:
        self._fail_closed()
        return self

    def _fail_closed(self) -> None:
        if self.environment in DEVELOPMENT_MODES:  # the same modes the services accept
            if not self.internal_secret:
                self.internal_secret = DEV_INTERNAL_SECRET
            if self.jwt_dev_secret is None:
                self.jwt_dev_secret = DEV_JWT_SECRET
            return
        env = self.environment
        if not self.internal_secret or self.internal_secret == DEV_INTERNAL_SECRET:
            raise ValueError(f"HHPU_INTERNAL_SECRET must be set to a real secret (environment={env})")
        if len(self.internal_secret) < 32:
            raise ValueError("HHPU_INTERNAL_SECRET must be at least 32 characters")
        if self.jwt_dev_secret:
            raise ValueError(
                f"GATEWAY_JWT_DEV_SECRET is for development only (environment={env}); use a JWKS"
            )
        self.jwt_dev_secret = ""
        if not (self.jwt_jwks_url or self.jwt_jwks_file):
            raise ValueError(f"GATEWAY_JWT_JWKS_URL or GATEWAY_JWT_JWKS_FILE is required (environment={env})")

    def check_production(self) -> None:
        """Kept for callers: the checks already ran when the settings were built (`_fail_closed`)."""
        self._fail_closed()
