"""Gateway settings: env prefix ``GATEWAY_``; the internal secret is shared (``HHPU_INTERNAL_SECRET``)."""

from __future__ import annotations

from typing import Literal

from hhpu_shared.settings import DEV_INTERNAL_SECRET
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "dev-jwt-secret-not-for-production-0123456789"
DEV_JWT_ISSUER = "hhpu-dev-idp"
JWT_AUDIENCE = "hhpu-gateway"


class GatewaySettings(BaseSettings):
    """Everything the gateway needs; each field can be set as ``GATEWAY_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", populate_by_name=True)

    service_name: str = "gateway"
    environment: Literal["development", "test", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    forwarded_allow_ips: str = Field(default="", description="load balancers trusted for X-Forwarded-For")
    internal_secret: str = Field(
        default=DEV_INTERNAL_SECRET,
        validation_alias=AliasChoices("GATEWAY_INTERNAL_SECRET", "HHPU_INTERNAL_SECRET"),
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
    retry_backoff_s: float = 0.05
    breaker_threshold: int = 5
    breaker_cooldown_s: float = 5.0

    # Staff tokens (JWT)
    jwt_issuer: str = DEV_JWT_ISSUER
    jwt_audience: str = JWT_AUDIENCE
    jwt_jwks_url: str = ""
    jwt_jwks_file: str = ""
    jwt_dev_secret: str = Field(
        default=DEV_JWT_SECRET, description="HS256 development signer; empty disables"
    )
    jwt_leeway_s: int = 10
    jwt_cache_s: float = 30.0

    # Partner API keys
    key_cache_ttl_s: float = 30.0
    identity_cache_s: float = 10.0

    # Limits
    rate_limit_per_s: float = 50.0
    rate_limit_burst: int = 100
    max_body_bytes: int = 1_048_576
    cors_origins: list[str] = Field(default_factory=list)

    # Operations
    openapi_cache_s: float = 60.0
    readyz_timeout_s: float = 2.0
    docs_swagger_cdn: str = Field(
        default="",
        description="base URL serving swagger-ui-dist (swagger-ui.css, swagger-ui-bundle.js); "
        "empty: the built-in list of operations, which needs nothing from outside",
    )
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

    def check_production(self) -> None:
        """Refuse development secrets and signers outside development."""
        if self.environment != "production":
            return
        if self.internal_secret == DEV_INTERNAL_SECRET:
            raise ValueError("HHPU_INTERNAL_SECRET must be set in production")
        if self.jwt_dev_secret:
            raise ValueError("GATEWAY_JWT_DEV_SECRET must be empty in production (use a JWKS)")
        if not (self.jwt_jwks_url or self.jwt_jwks_file):
            raise ValueError("GATEWAY_JWT_JWKS_URL or GATEWAY_JWT_JWKS_FILE is required in production")
