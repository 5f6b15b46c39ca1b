"""Scheduled runs: `run_due(uow, settings, now)` makes the runs the current period still owes.

Each period (``domain.schedule``) gets one production run and one shadow run per configured shadow
model. A run's unique schedule key makes a second attempt (the same replica again, or another
replica) do nothing: an existing key is skipped, and a concurrent insert of the same key loses in a
savepoint without disturbing the caller's unit of work.
"""

from __future__ import annotations

import logging
from datetime import datetime

from hhpu_shared.uow import UnitOfWork
from sqlalchemy.exc import IntegrityError

from ranking_service import repository as repo
from ranking_service.domain.schedule import jobs, period_key
from ranking_service.models import RankRun
from ranking_service.service.runs import RunRequest, execute_run
from ranking_service.settings import RankingSettings

log = logging.getLogger("ranking.schedule")


def run_due(uow: UnitOfWork, settings: RankingSettings, now: datetime) -> list[str]:
    """Run whatever the schedule owes at `now`; return the ids of the runs created."""
    key, _start = period_key(now.date(), settings.schedule_interval_days)
    created = []
    for kind, model, job_key in jobs(key, settings.production_model, settings.shadow_models):
        if repo.run_by_schedule_key(uow.session, job_key) is not None:
            continue
        req = RunRequest(kind=kind, model=model, as_of=now.date(), trigger="scheduled", schedule_key=job_key)
        try:
            with uow.session.begin_nested():
                run = execute_run(uow, settings, req)
        except IntegrityError:
            log.info("scheduled run already made by another replica", extra={"schedule_key": job_key})
            continue
        assert isinstance(run, RankRun)
        created.append(run.id)
    return created
