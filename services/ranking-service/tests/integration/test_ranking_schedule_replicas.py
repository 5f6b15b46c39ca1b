"""Two replicas on one PostgreSQL database: the schedule worker makes one production run per period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hhpu_shared.background import lock_key
from ranking_service import workers
from ranking_service.app import build_runtime
from ranking_service.domain.schedule import period_key
from ranking_service.models import RankRun
from sqlalchemy import text
from sqlmodel import select

pytestmark = pytest.mark.postgres


def test_one_production_run_per_period_across_replicas(
    rank_tools: Any, pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = rank_tools.settings_for(pg_url, tmp_path / "data", schedule_enabled=True)
    replicas = [build_runtime(settings, run_consumer=False) for _ in range(2)]
    now = datetime.now(UTC)
    _, start = period_key(now.date(), settings.schedule_interval_days)
    next_period = datetime.combine(start + timedelta(days=settings.schedule_interval_days), now.timetz())
    try:
        monkeypatch.setattr(workers, "clock", lambda: now)
        with replicas[0].engine.connect() as conn, conn.begin():  # replica 0 is running it
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key(workers.SCHEDULE.name)})
            assert workers.SCHEDULE.run_once(replicas[1]) is False  # so replica 1 does not
        # the clock advances: into the next period, then a day further (same period: nothing new)
        for clock in (now, next_period, next_period + timedelta(days=1)):
            monkeypatch.setattr(workers, "clock", lambda c=clock: c)
            ran = [workers.SCHEDULE.run_once(r) for r in replicas]
            assert ran == [True, True]  # one after the other: each got the lock in turn
        with replicas[1].unit_of_work() as uow:
            runs = uow.session.exec(select(RankRun).where(RankRun.kind == "production")).all()
    finally:
        for r in replicas:
            r.stop()
            r.engine.dispose()
    assert sorted(r.as_of for r in runs) == [now.date(), next_period.date()]
    assert all(r.trigger == "scheduled" and r.schedule_key for r in runs)
    assert len({r.schedule_key for r in runs}) == 2
