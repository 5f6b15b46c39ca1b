"""Ranking-service metrics for the operations dashboard and the overdue-run alert."""

from __future__ import annotations

from prometheus_client import Gauge

SCHEDULE_ENABLED = Gauge(
    "hhpu_ranking_schedule_enabled", "1 when this process runs the fortnightly schedule", ["service"]
)
NEXT_RUN_DUE = Gauge(
    "hhpu_ranking_next_run_due_timestamp_seconds",
    "When the schedule's next production run is due (the current period's start while it is owed)",
    ["service"],
)
LAST_SCHEDULED_RUN = Gauge(
    "hhpu_ranking_last_scheduled_run_timestamp_seconds",
    "When the newest scheduled production run was made (0: never)",
    ["service"],
)
RUN_OVERDUE = Gauge(
    "hhpu_ranking_run_overdue", "1 when the current period's production run is overdue", ["service"]
)
