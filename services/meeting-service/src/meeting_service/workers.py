"""Background work of the meeting-service: the overdue-action sweep (listed in ``SERVICE.workers``)."""

from __future__ import annotations

import logging

from hhpu_shared.background import BackgroundWorker
from hhpu_shared.runtime import ServiceRuntime

from meeting_service.service import actions
from meeting_service.settings import MeetingSettings

log = logging.getLogger("meeting_service.workers")


def settings_of(runtime: ServiceRuntime) -> MeetingSettings:
    settings = runtime.settings
    assert isinstance(settings, MeetingSettings)
    return settings


def sweep_overdue_actions(runtime: ServiceRuntime) -> list[str]:
    """One overdue sweep in its own unit of work; the ids of the actions it flagged."""
    with runtime.unit_of_work() as uow:
        flagged = actions.overdue_sweep(uow, settings_of(runtime))
    if flagged:
        log.info("overdue actions flagged", extra={"count": len(flagged)})
    return flagged


def _interval(settings: object) -> float:
    assert isinstance(settings, MeetingSettings)
    return settings.overdue_sweep_interval_s


# Every MEETING_OVERDUE_SWEEP_INTERVAL_S (0: off), on one replica at a time on PostgreSQL.
OVERDUE_SWEEP = BackgroundWorker(
    name="overdue-sweep", task=sweep_overdue_actions, interval_s=_interval, elected=True
)
