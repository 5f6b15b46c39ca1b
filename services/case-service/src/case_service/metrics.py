"""Case-service metrics for the operations dashboard."""

from __future__ import annotations

from prometheus_client import Gauge

REVIEWS_OVERDUE = Gauge(
    "hhpu_case_reviews_overdue",
    "People whose MoPI review date has passed, by review group",
    ["mopi_group"],
)
