"""``python -m referral_api.consumer``: the consumer and relay with Kafka, until SIGTERM.

Webhook deliveries run in the API process, not here."""

from __future__ import annotations

from hhpu_shared.runtime import run_until_signalled

from referral_api.runtime import ReferralRuntime
from referral_api.settings import ReferralSettings


def main() -> None:
    settings = ReferralSettings()
    settings.check_production()
    run_until_signalled(ReferralRuntime(settings, run_consumer=True, run_webhooks=False))


if __name__ == "__main__":
    main()
