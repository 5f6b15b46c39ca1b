"""Background work of the ranking-service: the fortnightly schedule.

``SCHEDULE`` runs in every process that runs the service's background work (API and consumer),
elected on PostgreSQL so one replica at a time checks the schedule; the schedule key makes any
further attempt in the same period do nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hhpu_shared.background import BackgroundWorker
from hhpu_shared.runtime import ServiceRuntime

from ranking_service.service.schedule import run_due
from ranking_service.settings import RankingSettings


def clock() -> datetime:
    """Now (tests move it)."""
    return datetime.now(UTC)


def scheduled_runs(runtime: ServiceRuntime) -> list[str]:
    """Make the runs the current period still owes; return their ids."""
    settings = runtime.settings
    assert isinstance(settings, RankingSettings)
    with runtime.unit_of_work() as uow:
        return run_due(uow, settings, clock())


def _interval(settings: object) -> float:
    assert isinstance(settings, RankingSettings)
    return settings.schedule_check_s if settings.schedule_enabled else 0.0


SCHEDULE = BackgroundWorker("ranking-schedule", scheduled_runs, interval_s=_interval, initial_delay_s=5.0)
WORKERS = [SCHEDULE]
