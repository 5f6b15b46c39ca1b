"""Prometheus metrics of the referral-api (no personal data in labels)."""

from __future__ import annotations

from prometheus_client import Counter

REFERRALS_SCREENED = Counter(
    "hhpu_referrals_screened_total", "Referrals screened on receipt", ["eligible", "match_grade"]
)
IDEMPOTENT_REPLAYS = Counter(
    "hhpu_referral_idempotent_replays_total", "Retries answered with the stored response"
)
STATUS_CHANGES = Counter("hhpu_referral_status_changes_total", "Referral status changes", ["to_status"])
WEBHOOK_ATTEMPTS = Counter("hhpu_referral_webhook_attempts_total", "Webhook delivery attempts", ["outcome"])
