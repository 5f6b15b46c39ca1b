"""Scheduled runs: `run_due(uow, settings, now)` makes the runs the current period still owes, and
`schedule_status(uow, settings, now)` says when the next one is due and whether one is overdue.

Each period (``domain.schedule``) gets one production run and one shadow run per configured shadow
model. A run's unique schedule key makes a second attempt (the same replica again, or another
replica) do nothing: an existing key is skipped, and a concurrent insert of the same key loses in a
savepoint without disturbing the caller's unit of work.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta
from typing import Any

from hhpu_shared.uow import UnitOfWork
from sqlalchemy.exc import IntegrityError

from ranking_service import metrics
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


def _at(d: Any) -> datetime:
    return datetime.combine(d, time(0, 0), tzinfo=UTC)


def schedule_status(uow: UnitOfWork, settings: RankingSettings, now: datetime) -> dict[str, Any]:
    """The schedule as the API and the dashboard show it (also refreshes the metrics)."""
    interval = settings.schedule_interval_days
    key, start = period_key(now.date(), interval)
    made = repo.run_by_schedule_key(uow.session, key)
    next_start = start + timedelta(days=interval)
    due_at = _at(next_start) if made is not None else _at(start)
    overdue = made is None and now >= _at(start) + timedelta(seconds=settings.schedule_overdue_after_s)
    last = repo.last_scheduled_production(uow.session)
    out = {
        "enabled": settings.schedule_on,
        "interval_days": interval,
        "production_model": settings.production_model,
        "shadow_models": list(settings.shadow_models),
        "checked_every_s": settings.schedule_check_s,
        "current_period": {
            "schedule_key": key,
            "starts": _at(start).isoformat(),
            "ends": _at(next_start).isoformat(),
            "production_run_id": made.id if made else None,
            "status": "done" if made is not None else ("overdue" if overdue else "due"),
        },
        "next_run_due_at": due_at.isoformat(),
        "overdue": overdue,
        "overdue_after_s": settings.schedule_overdue_after_s,
        "last_scheduled_run": None
        if last is None
        else {"run_id": last.id, "as_of": last.as_of.isoformat(), "created_at": _aware(last.created_at)},
    }
    svc = settings.service_name
    metrics.SCHEDULE_ENABLED.labels(svc).set(1 if settings.schedule_on else 0)
    metrics.NEXT_RUN_DUE.labels(svc).set(due_at.timestamp())
    metrics.RUN_OVERDUE.labels(svc).set(1 if overdue else 0)
    if last is not None:
        created = last.created_at if last.created_at.tzinfo else last.created_at.replace(tzinfo=UTC)
        metrics.LAST_SCHEDULED_RUN.labels(svc).set(created.timestamp())
    return out


def _aware(t: datetime) -> str:
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).isoformat()
