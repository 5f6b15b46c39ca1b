"""Meeting-service metrics for the operations dashboard."""

from __future__ import annotations

from prometheus_client import Gauge

ACTIONS_OVERDUE = Gauge("hhpu_meeting_actions_overdue", "Open meeting actions past their due date")
