"""``python -m case_service.consumer``: the relay and the event consumer, until SIGTERM."""

from __future__ import annotations

import signal
import threading

from hhpu_shared.logging import configure_logging

from case_service.app import build_runtime
from case_service.settings import CaseSettings


def main() -> None:
    settings = CaseSettings()
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
