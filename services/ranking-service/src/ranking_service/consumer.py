"""`python -m ranking_service.consumer`: consume case-service events and relay our outbox."""

from __future__ import annotations

import signal
import threading

from hhpu_shared.logging import configure_logging

from ranking_service.app import build_runtime
from ranking_service.settings import RankingSettings


def main() -> None:
    settings = RankingSettings()
    configure_logging(settings.service_name, settings.log_level)
    runtime = build_runtime(settings, run_consumer=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    runtime.start()
    try:
        stop.wait()
    finally:
        runtime.stop()


if __name__ == "__main__":
    main()
