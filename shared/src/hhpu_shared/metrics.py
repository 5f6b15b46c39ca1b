"""Prometheus metrics shared by every service; the `service` label tells them apart."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "hhpu_http_requests_total", "HTTP requests by route template", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "hhpu_http_request_duration_seconds",
    "HTTP request latency by route template",
    ["service", "method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
EVENTS_PUBLISHED = Counter(
    "hhpu_events_published_total", "Events published by the relay", ["service", "type"]
)
OUTBOX_PUBLISH_FAILURES = Counter(
    "hhpu_outbox_publish_failures_total", "Failed attempts to publish an outbox row", ["service"]
)
OUTBOX_PENDING = Gauge("hhpu_outbox_pending", "Outbox rows not yet published", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "hhpu_outbox_oldest_pending_age_seconds", "Age of the oldest unpublished outbox row", ["service"]
)
OUTBOX_HELD_AGGREGATES = Gauge(
    "hhpu_outbox_held_aggregates",
    "Aggregates whose next event the broker refused while it took others; their events wait in order",
    ["service"],
)
EVENTS_CONSUMED = Counter(
    "hhpu_events_consumed_total", "Events handled by a consumer", ["service", "group", "type", "outcome"]
)
EVENTS_FAILED = Counter(
    "hhpu_events_failed_total", "Handler attempts that raised", ["service", "group", "type"]
)
EVENTS_DEAD_LETTERED = Counter(
    "hhpu_events_dead_lettered_total", "Messages sent to a dead-letter topic", ["service", "group", "topic"]
)
CONSUMER_DUPLICATES = Counter(
    "hhpu_consumer_duplicates_total", "Redelivered events skipped by the inbox", ["service", "group"]
)
CONSUMER_LAG = Gauge("hhpu_consumer_lag", "Messages not yet consumed", ["service", "group"])
# Read from the broker by the service's API process (messaging/group_lag.py): seen while the consumer is dead.
CONSUMER_GROUP_LAG = Gauge(
    "hhpu_consumer_group_lag",
    "Messages in a consumer group's topics past its committed offsets, read from the broker",
    ["service", "group"],
)
CONSUMER_GROUP_MEMBERS = Gauge(
    "hhpu_consumer_group_members",
    "Live members of a consumer group, read from the broker",
    ["service", "group"],
)
AUDIT_ENTRIES = Counter("hhpu_audit_entries_total", "Audit trail entries written", ["service", "operation"])
HTTP_SHED = Counter(
    "hhpu_http_shed_total", "Requests answered 503 with Retry-After because of load", ["service", "reason"]
)
