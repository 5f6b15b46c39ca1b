"""Per-upstream circuit breaker and the upstream failure types (each maps to a problem status)."""

from __future__ import annotations

import time

from . import metrics


class UpstreamError(Exception):
    status = 502
    code = "bad_gateway"
    title = "Bad gateway"

    def __init__(self, upstream: str, detail: str, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.upstream = upstream
        self.detail = detail
        self.retry_after = retry_after


class BadGateway(UpstreamError):
    pass


class UpstreamUnavailable(UpstreamError):
    status, code, title = 503, "upstream_unavailable", "Service unavailable"


class CircuitOpen(UpstreamUnavailable):
    code = "circuit_open"


class UpstreamTimeout(UpstreamError):
    status, code, title = 504, "upstream_timeout", "Gateway timeout"


class ResponseBroken(Exception):
    """The upstream broke off a response already being relayed: the client connection is dropped."""

    def __init__(self, upstream: str, detail: str) -> None:
        super().__init__(detail)
        self.upstream = upstream


class BodyTooLarge(Exception):
    """The request body grew past the limit while streaming."""


class CircuitBreaker:
    """Open after `threshold` consecutive failures; after a wait, let one probe through (half-open).

    The wait is `cooldown_s` after a failure that reached the upstream (a timeout, an invalid answer:
    it may be struggling, so it is spared), and the shorter `unreachable_probe_s` after one that never
    reached it (connection refused or not accepted: a probe costs the upstream nothing). So a
    restarted upstream serves through the gateway within that interval of its being ready, not up to
    a whole cool-down later. The last failure decides."""

    CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"

    def __init__(
        self, name: str, threshold: int, cooldown_s: float, unreachable_probe_s: float | None = None
    ) -> None:
        self.name = name
        self.threshold = max(1, threshold)
        self.cooldown_s = cooldown_s
        self.unreachable_probe_s = (
            cooldown_s if unreachable_probe_s is None else min(cooldown_s, unreachable_probe_s)
        )
        self.wait_s = cooldown_s
        self.failures = 0
        self.state = self.CLOSED
        self.opened_at = 0.0
        metrics.breaker_state(name, 0)  # exported at 0 from the start: the dashboard has data at once

    def allow(self) -> bool:
        if self.state == self.CLOSED:
            return True
        now = time.monotonic()
        if now - self.opened_at >= self.wait_s:
            # The single probe; in half-open, another one when the last probe never reported back
            # (its caller left, or it was cancelled), so the breaker can never stay shut for good.
            self.state = self.HALF_OPEN
            self.opened_at = now
            return True
        return False

    def retry_after(self) -> int:
        return max(1, int(self.wait_s - (time.monotonic() - self.opened_at) + 0.999))

    def success(self) -> None:
        if self.state != self.CLOSED:
            metrics.breaker_state(self.name, 0)
        self.failures = 0
        self.state = self.CLOSED

    def failure(self, *, unreachable: bool = False) -> None:
        """A failed call; `unreachable`: nothing reached the upstream (see the class)."""
        self.failures += 1
        if self.state == self.HALF_OPEN or self.failures >= self.threshold:
            if self.state != self.OPEN:
                metrics.breaker_state(self.name, 1)
            self.state = self.OPEN
            self.opened_at = time.monotonic()
            self.wait_s = self.unreachable_probe_s if unreachable else self.cooldown_s
