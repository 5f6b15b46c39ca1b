"""Token-bucket rate limiting per client (API key, staff subject, or IP when unauthenticated)."""

from __future__ import annotations

import time


class RateLimiter:
    def __init__(self, rate_per_s: float, burst: int) -> None:
        self.rate = rate_per_s
        self.burst = float(max(1, burst))
        self._buckets: dict[str, list[float]] = {}

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take(self, client: str) -> float:
        """0 when allowed, else seconds until a token is available."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        b = self._buckets.get(client)
        if b is None:
            if len(self._buckets) > 50_000:
                self._prune(now)
            self._buckets[client] = [self.burst - 1, now]
            return 0.0
        tokens = min(self.burst, b[0] + (now - b[1]) * self.rate)
        b[1] = now
        if tokens >= 1:
            b[0] = tokens - 1
            return 0.0
        b[0] = tokens
        return (1 - tokens) / self.rate

    def _prune(self, now: float) -> None:
        full = [k for k, b in self._buckets.items() if b[0] + (now - b[1]) * self.rate >= self.burst]
        for k in full:
            del self._buckets[k]
        if len(self._buckets) > 50_000:
            self._buckets.clear()
