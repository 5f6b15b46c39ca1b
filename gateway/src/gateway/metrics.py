"""Gateway metrics: requests by route template (shared series, service="gateway") and by upstream."""

from __future__ import annotations

from typing import Any

from hhpu_shared import metrics as shared
from prometheus_client import Counter, Gauge, Histogram

SERVICE = "gateway"

UPSTREAM_REQUESTS = Counter(
    "hhpu_gateway_upstream_requests_total",
    "Requests forwarded by upstream and outcome",
    ["upstream", "outcome"],
)
UPSTREAM_LATENCY = Histogram(
    "hhpu_gateway_upstream_duration_seconds",
    "Time to the upstream's response headers",
    ["upstream"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
REJECTED = Counter("hhpu_gateway_rejected_total", "Requests refused by the gateway itself", ["reason"])
CIRCUIT_OPEN = Gauge("hhpu_gateway_circuit_open", "1 while the upstream's circuit is open", ["upstream"])

_children: dict[tuple[Any, ...], Any] = {}


def _child(metric: Any, *labels: str) -> Any:
    key = (id(metric), *labels)
    c = _children.get(key)
    if c is None:
        c = _children[key] = metric.labels(*labels)
    return c


def observe_request(method: str, route: str, status: int, elapsed: float) -> None:
    _child(shared.HTTP_REQUESTS, SERVICE, method, route, str(status)).inc()
    _child(shared.HTTP_LATENCY, SERVICE, method, route).observe(elapsed)


def observe_upstream(upstream: str, outcome: str, elapsed: float | None = None) -> None:
    _child(UPSTREAM_REQUESTS, upstream, outcome).inc()
    if elapsed is not None:
        _child(UPSTREAM_LATENCY, upstream).observe(elapsed)


def rejected(reason: str) -> None:
    _child(REJECTED, reason).inc()


def breaker_state(upstream: str, is_open: int) -> None:
    CIRCUIT_OPEN.labels(upstream).set(is_open)
