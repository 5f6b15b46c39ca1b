"""The fortnightly schedule: `run_due(now)` starts the production (and shadow) runs of the
current period once; a thread calls it every few minutes. A unique schedule key per period makes
a second replica's attempt fail harmlessly."""

from __future__ import annotations

import logging
import threading
from datetime import date, datetime

from hhpu_shared.runtime import ServiceRuntime
from sqlalchemy.exc import IntegrityError

from ranking_service import repository as repo
from ranking_service.service.runs import RunRequest, execute_run
from ranking_service.settings import RankingSettings

log = logging.getLogger("ranking.scheduler")
ANCHOR = date(2024, 1, 1)  # a Monday: periods start every `interval` days from here


def period_key(today: date, interval_days: int) -> tuple[str, date]:
    n = (today - ANCHOR).days // interval_days
    start = date.fromordinal(ANCHOR.toordinal() + n * interval_days)
    return f"sched-{interval_days}d-{start.isoformat()}", start


def run_due(runtime: ServiceRuntime, settings: RankingSettings, now: datetime) -> list[str]:
    """Run whatever the schedule owes at `now`; return the ids of runs created."""
    key, _start = period_key(now.date(), settings.schedule_interval_days)
    jobs = [("production", settings.production_model)] + [("shadow", m) for m in settings.shadow_models]
    created = []
    for kind, model in jobs:
        job_key = key if kind == "production" else f"{key}-{model}"
        with runtime.unit_of_work() as uow:
            if repo.run_by_schedule_key(uow.session, job_key) is not None:
                continue
        try:
            with runtime.unit_of_work() as uow:
                req = RunRequest(
                    kind=kind, model=model, as_of=now.date(), trigger="scheduled", schedule_key=job_key
                )
                run = execute_run(uow, settings, req)
                created.append(getattr(run, "id", ""))
        except IntegrityError:
            log.info("scheduled run already made by another replica", extra={"schedule_key": job_key})
    return created


class Scheduler:
    def __init__(self, runtime: ServiceRuntime, settings: RankingSettings) -> None:
        self.runtime = runtime
        self.settings = settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                run_due(self.runtime, self.settings, datetime.now().astimezone())
            except Exception:
                log.exception("scheduled ranking run failed")
            self._stop.wait(self.settings.schedule_check_s)

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="ranking-scheduler", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
