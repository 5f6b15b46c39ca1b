"""Gateway metrics: plain dict counters on the hot path, Prometheus families built at scrape time.

Series: ``hhpu_gateway_http_requests_total{method,route,status}``,
``hhpu_gateway_http_request_duration_seconds{route}`` (route = policy template, never a raw path),
``hhpu_gateway_upstream_requests_total{upstream,outcome}``,
``hhpu_gateway_upstream_duration_seconds{upstream}``, ``hhpu_gateway_rejected_total{reason}`` and
``hhpu_gateway_circuit_open{upstream}``. A prometheus_client ``.labels().inc()`` costs several locks per
request; a dict increment does not.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterator

from prometheus_client.core import REGISTRY, CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_N = len(BUCKETS) + 1  # last slot is +Inf


class _Histogram:
    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * _N
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(BUCKETS, value)] += 1
        self.total += value

    def buckets(self) -> list[tuple[str, float]]:
        out, acc = [], 0
        for bound, c in zip((*[str(b) for b in BUCKETS], "+Inf"), self.counts, strict=True):
            acc += c
            out.append((bound, float(acc)))
        return out


requests: defaultdict[tuple[str, str, str], int] = defaultdict(int)
latency: defaultdict[str, _Histogram] = defaultdict(_Histogram)
upstream_requests: defaultdict[tuple[str, str], int] = defaultdict(int)
upstream_latency: defaultdict[str, _Histogram] = defaultdict(_Histogram)
# Every reason the gateway refuses a request for, exported at 0 until it happens (a series first seen
# at 1 shows no increase() to Prometheus, and a dashboard panel over it would show no data).
REJECTION_REASONS = ("auth_unavailable", "body_too_large", "forbidden", "rate_limited", "unauthenticated")
rejections: defaultdict[str, int] = defaultdict(int, dict.fromkeys(REJECTION_REASONS, 0))
circuit_open: dict[str, int] = {}


def observe_request(method: str, route: str, status: int, elapsed: float) -> None:
    requests[(method, route, str(status))] += 1
    latency[route].observe(elapsed)


def observe_upstream(upstream: str, outcome: str, elapsed: float | None = None) -> None:
    upstream_requests[(upstream, outcome)] += 1
    if elapsed is not None:
        upstream_latency[upstream].observe(elapsed)


def rejected(reason: str) -> None:
    rejections[reason] += 1


def breaker_state(upstream: str, is_open: int) -> None:
    circuit_open[upstream] = is_open


class GatewayCollector(Collector):
    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily]:
        c = CounterMetricFamily(
            "hhpu_gateway_http_requests", "Requests by route template", labels=["method", "route", "status"]
        )
        for key, n in list(requests.items()):
            c.add_metric(list(key), n)
        yield c
        h = HistogramMetricFamily(
            "hhpu_gateway_http_request_duration_seconds",
            "Gateway latency by route template",
            labels=["route"],
        )
        for route, hist in list(latency.items()):
            h.add_metric([route], hist.buckets(), hist.total)
        yield h
        u = CounterMetricFamily(
            "hhpu_gateway_upstream_requests",
            "Forwarded requests by upstream and outcome",
            labels=["upstream", "outcome"],
        )
        for ukey, n in list(upstream_requests.items()):
            u.add_metric(list(ukey), n)
        yield u
        uh = HistogramMetricFamily(
            "hhpu_gateway_upstream_duration_seconds",
            "Time to the upstream's response headers",
            labels=["upstream"],
        )
        for name, hist in list(upstream_latency.items()):
            uh.add_metric([name], hist.buckets(), hist.total)
        yield uh
        r = CounterMetricFamily(
            "hhpu_gateway_rejected", "Requests refused by the gateway itself", labels=["reason"]
        )
        for reason, n in list(rejections.items()):
            r.add_metric([reason], n)
        yield r
        g = GaugeMetricFamily(
            "hhpu_gateway_circuit_open", "1 while the upstream's circuit is open", labels=["upstream"]
        )
        for name, v in list(circuit_open.items()):
            g.add_metric([name], v)
        yield g


_collector = GatewayCollector()
REGISTRY.register(_collector)
