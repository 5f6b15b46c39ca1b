"""The referral-api: partner referrals, screened and matched on receipt, followed by status and webhooks.

Declared once as a :class:`~hhpu_shared.service.ServiceSpec`; the shared skeleton builds the app,
the runtime and the ``python -m referral_api [serve|consumer|migrate]`` entry point from it.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from hhpu_shared.runtime import ServiceRuntime
from hhpu_shared.service import ServiceSpec

from referral_api.handlers import PROTECTION, handlers, webhook_handlers
from referral_api.migrations import MIGRATIONS
from referral_api.routes import INTERNAL_ROUTERS, ROUTERS
from referral_api.service.webhooks import configure
from referral_api.settings import ReferralSettings

DESCRIPTION = """Partner agencies refer people they believe cause or will cause serious harm.

Every referral is screened on receipt against the unit's terms of reference and matched against the
people the unit already knows; probable and possible matches wait for a reviewer. Retries are safe with
an `Idempotency-Key` header. Staff give the reason for reading or changing a person's data in
`X-Justification`.

**Webhooks.** The referring agency follows its referral on the status endpoint and by webhooks: each
status change is POSTed as JSON (`id`, `type`, `occurred_at`, `referral_id`, `partner_reference`,
`from_status`, `to_status`, `reason_code`; no personal data) to the agency's `webhook_url`, with
`X-HHPU-Timestamp: <unix seconds>` and
`X-HHPU-Signature: sha256=<hex HMAC-SHA256(webhook secret, "<timestamp>.<raw body>")>`.
Verify the signature over the timestamp and the raw body, compare in constant time, and refuse a
timestamp more than 300 seconds from your clock. Answer 2xx within 5 seconds; anything else is
retried with exponential backoff, then held for replay. The `id` is the same on every retry and
replay: use it to ignore repeats. Delivery history: `GET /api/v1/agencies/{agency_id}/webhook-attempts`.
See docs/webhooks.md."""

TAGS = [
    {"name": "referrals", "description": "Submit, follow and withdraw referrals."},
    {"name": "match reviews", "description": "Probable and possible person matches awaiting a reviewer."},
    {
        "name": "agencies",
        "description": "Partner agencies, their API keys, webhook secrets and webhook delivery history.",
    },
    {"name": "internal", "description": "Calls from the gateway only."},
]

SERVICE = ServiceSpec(
    package="referral_api",
    settings_cls=ReferralSettings,
    migrations=MIGRATIONS,
    title="HHPU referral API",
    description=DESCRIPTION,
    routers=ROUTERS,
    data_protection=PROTECTION,
    handlers=handlers,
    extra_consumers={"webhooks": webhook_handlers},
    internal_routers=INTERNAL_ROUTERS,
    openapi_tags=TAGS,
    prepare=configure,
)


def build_runtime(settings: ReferralSettings | None = None, **kwargs: Any) -> ServiceRuntime:
    return SERVICE.build_runtime(settings, **kwargs)


def create_app(settings: ReferralSettings | None = None, **kwargs: Any) -> FastAPI:
    return SERVICE.create_app(settings, **kwargs)
