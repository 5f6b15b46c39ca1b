"""Background work: one thread-loop shape, one backoff rule, and elected periodic workers.

- :func:`backoff` is the one exponential-backoff rule (relay, consumer, webhooks, workers).
- :class:`ThreadLoop` runs ``step()`` on a daemon thread until stopped; ``step`` returns how long
  to wait before the next call, and :meth:`ThreadLoop.wake` cuts a wait short.
- :class:`BackgroundWorker` runs a task every interval (with jitter). Marked ``elected``, only one
  replica runs it at a time on PostgreSQL (a transaction-scoped advisory lock held while it runs).
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import text

from hhpu_shared.context import service_var

if TYPE_CHECKING:
    from hhpu_shared.runtime import ServiceRuntime

log = logging.getLogger("hhpu.background")


def backoff(attempt: int, *, base_s: float, cap_s: float, jitter: float = 0.0) -> float:
    """Delay before retry number `attempt` (1-based): base doubled each time, capped, jittered."""
    delay = float(min(cap_s, base_s * (2 ** min(max(attempt - 1, 0), 30))))
    if jitter:
        delay *= 1 + random.uniform(-jitter, jitter)
    return max(0.0, delay)


class ThreadLoop:
    """Call `step` on a daemon thread until stopped; `step` returns the seconds to wait next."""

    def __init__(self, name: str, step: Callable[[], float], *, service: str | None = None) -> None:
        self.name = name
        self.service = service  # the service its log lines name
        self._step = step
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        if self.service:
            service_var.set(self.service)  # this thread's own context
        while not self._stop.is_set():
            try:
                wait = self._step()
            except Exception:
                log.exception("background step failed", extra={"loop": self.name})
                wait = 1.0
            if wait > 0 and not self._stop.is_set():
                self._wake.wait(wait)
            self._wake.clear()

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


def lock_key(name: str) -> int:
    """A stable 63-bit advisory-lock key for a worker name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF


@dataclass
class BackgroundWorker:
    """A periodic task of a service: ``task(runtime)`` every `interval_s` seconds (0 = never).

    `interval_s` may be a callable of the runtime's settings, read at start. Workers run in every
    process that runs the service's background work (API and consumer); `elected` ones run on
    one replica at a time, so a task is never run twice at once by several replicas.
    """

    name: str
    task: Callable[[ServiceRuntime], object]
    interval_s: float | Callable[[object], float]
    jitter: float = 0.1
    elected: bool = True
    initial_delay_s: float = 0.0

    def interval(self, runtime: ServiceRuntime) -> float:
        value = self.interval_s(runtime.settings) if callable(self.interval_s) else self.interval_s
        return float(value)

    def run_once(self, runtime: ServiceRuntime) -> bool:
        """Run the task now unless another replica holds its lock; True if it ran."""
        engine = runtime.engine
        if not self.elected or engine.dialect.name != "postgresql":
            self.task(runtime)
            return True
        with engine.connect() as conn, conn.begin():
            got = conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": lock_key(self.name)})
            if not got.scalar():
                return False
            self.task(runtime)
            return True

    def loop(self, runtime: ServiceRuntime) -> ThreadLoop | None:
        """A thread loop running this worker, or None when its interval is 0 (off)."""
        interval = self.interval(runtime)
        if interval <= 0:
            return None
        first = [True]

        def step() -> float:
            if first[0] and self.initial_delay_s:
                first[0] = False
                return self.initial_delay_s
            first[0] = False
            try:
                self.run_once(runtime)
            except Exception:
                log.exception("background worker failed", extra={"worker": self.name})
            return interval * (1 + random.uniform(-self.jitter, self.jitter))

        return ThreadLoop(f"{runtime.service}-{self.name}", step, service=runtime.service)
