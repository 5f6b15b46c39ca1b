"""``python -m referral_api.consumer``: the consumer and relay with Kafka, until SIGTERM."""

from __future__ import annotations

import logging
import signal
import threading

from referral_api.runtime import ReferralRuntime
from referral_api.settings import ReferralSettings

log = logging.getLogger("referral_api.consumer")


def main() -> None:
    settings = ReferralSettings()
    settings.check_production()
    runtime = ReferralRuntime(settings, run_consumer=True, run_webhooks=False)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    runtime.start()
    log.info("referral-api consumer running")
    try:
        stop.wait()
    finally:
        runtime.stop()


if __name__ == "__main__":
    main()
