"""Background work of the ranking-service: the fortnightly schedule and its status.

``SCHEDULE`` runs in every process that runs the service's background work (API and consumer),
elected on PostgreSQL so one replica at a time checks the schedule; the schedule key makes any
further attempt in the same period do nothing. It is on wherever the service is deployed
(``RANKING_SCHEDULE_ENABLED`` unset or true), off in the test environment unless switched on.

``SCHEDULE_STATUS`` runs in every process, elected or not, and refreshes the schedule metrics
(next run due, overdue) that the dashboard shows and the overdue-run alert watches.

:func:`hold_schedule` holds the schedule of one runtime for a while without switching it off: the
worker keeps running and its status stays enabled, but it makes no run until the hold is released
(``make run`` holds it while it seeds the demo force, so no scheduled run lands in the middle).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from hhpu_shared.background import BackgroundWorker
from hhpu_shared.runtime import ServiceRuntime

from ranking_service.service.schedule import run_due, schedule_status
from ranking_service.settings import RankingSettings


def clock() -> datetime:
    """Now (tests move it)."""
    return datetime.now(UTC)


_HELD: weakref.WeakSet[ServiceRuntime] = weakref.WeakSet()


@contextmanager
def hold_schedule(runtime: ServiceRuntime) -> Iterator[None]:
    """Make no scheduled run in this runtime until the block ends (the schedule stays on)."""
    _HELD.add(runtime)
    try:
        yield
    finally:
        _HELD.discard(runtime)


def schedule_held(runtime: ServiceRuntime) -> bool:
    return runtime in _HELD


def scheduled_runs(runtime: ServiceRuntime) -> list[str]:
    """Make the runs the current period still owes (none while held); return their ids."""
    settings = runtime.settings
    assert isinstance(settings, RankingSettings)
    if schedule_held(runtime):
        refresh_status(runtime)
        return []
    with runtime.unit_of_work() as uow:
        created = run_due(uow, settings, clock())
    refresh_status(runtime)
    return created


def refresh_status(runtime: ServiceRuntime) -> None:
    settings = runtime.settings
    assert isinstance(settings, RankingSettings)
    with runtime.unit_of_work() as uow:
        schedule_status(uow, settings, clock())


def _interval(settings: object) -> float:
    assert isinstance(settings, RankingSettings)
    return settings.schedule_check_s if settings.schedule_on else 0.0


SCHEDULE = BackgroundWorker("ranking-schedule", scheduled_runs, interval_s=_interval, initial_delay_s=60.0)
SCHEDULE_STATUS = BackgroundWorker("ranking-schedule-status", refresh_status, interval_s=60.0, elected=False)
WORKERS = [SCHEDULE, SCHEDULE_STATUS]
