"""The referral-api application: ``create_app(settings, bus=...)``."""

from __future__ import annotations

from fastapi import FastAPI
from hhpu_shared.http import build_service_app
from hhpu_shared.messaging.inprocess import InProcessBus
from sqlalchemy import Engine

from referral_api.routes import router as referral_router
from referral_api.routes_admin import internal_router
from referral_api.routes_admin import router as admin_router
from referral_api.runtime import ReferralRuntime
from referral_api.settings import ReferralSettings

DESCRIPTION = """Partner agencies refer people they believe cause or will cause serious harm.

Every referral is screened on receipt against the unit's terms of reference and matched against the
people the unit already knows; probable and possible matches wait for a reviewer. Retries are safe with
an `Idempotency-Key` header. The referring agency follows its referral on the status endpoint and by
signed webhooks (`X-HHPU-Signature: sha256=<HMAC-SHA256 of the body>`)."""

TAGS = [
    {"name": "referrals", "description": "Submit, follow and withdraw referrals."},
    {"name": "match reviews", "description": "Probable and possible person matches awaiting a reviewer."},
    {"name": "agencies", "description": "Partner agencies, their API keys and webhooks (administrators)."},
    {"name": "internal", "description": "Calls from the gateway only."},
]


def create_app(
    settings: ReferralSettings | None = None,
    *,
    bus: InProcessBus | None = None,
    engine: Engine | None = None,
    run_consumer: bool | None = None,
    run_webhooks: bool | None = None,
) -> FastAPI:
    settings = settings or ReferralSettings()
    settings.check_production()
    runtime = ReferralRuntime(
        settings, bus=bus, engine=engine, run_consumer=run_consumer, run_webhooks=run_webhooks
    )
    app = build_service_app(
        runtime,
        title="HHPU referral API",
        description=DESCRIPTION,
        routers=[referral_router, admin_router],
        openapi_tags=TAGS,
    )
    app.include_router(internal_router, prefix="/internal/v1")
    return app
