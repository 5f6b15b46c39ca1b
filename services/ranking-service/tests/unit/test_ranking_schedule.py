"""The fortnightly schedule: run_due(now) runs each period once (production and shadows), and the
schedule worker runs only when enabled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hhpu_shared.runtime import ServiceRuntime
from ranking_service import workers
from ranking_service.domain.schedule import jobs, period_key
from ranking_service.models import RankRun
from ranking_service.service.schedule import run_due
from ranking_service.settings import RankingSettings
from ranking_service.synthetic import SyntheticForce
from sqlmodel import col, func, select


def test_period_keys_change_every_interval() -> None:
    k1, s1 = period_key(datetime(2026, 11, 26).date(), 14)
    k2, _ = period_key(s1 + timedelta(days=13), 14)
    k3, s3 = period_key(s1 + timedelta(days=14), 14)
    assert k1 == k2 != k3 and (s3 - s1).days == 14
    assert period_key(datetime(2026, 11, 26).date(), 7)[0] != k1
    assert jobs(k1, "a@1", ["b@1"]) == [("production", "a@1", k1), ("shadow", "b@1", f"{k1}-b@1")]


def test_run_due_runs_once_per_period(
    rank_tools: Any, rank_client: TestClient, rank_force: SyntheticForce, tmp_path: Path
) -> None:
    rank_tools.load_force(rank_client, rank_force, tmp_path)
    runtime = rank_client.app.state.runtime  # type: ignore[attr-defined]
    settings: RankingSettings = runtime.settings.model_copy(update={"shadow_models": ["rfgv@1"]})
    now = datetime.now(UTC)
    with runtime.unit_of_work() as uow:
        first = run_due(uow, settings, now)
    assert len(first) == 2
    with runtime.unit_of_work() as uow:
        assert run_due(uow, settings, now + timedelta(hours=1)) == []
    _, start = period_key(now.date(), settings.schedule_interval_days)
    next_period = datetime.combine(start + timedelta(days=14), now.timetz())
    with runtime.unit_of_work() as uow:
        assert len(run_due(uow, settings, next_period)) == 2
    with runtime.unit_of_work() as uow:
        runs = uow.session.exec(select(RankRun).order_by(col(RankRun.as_of))).all()
    assert [(r.kind, r.trigger) for r in runs].count(("production", "scheduled")) == 2
    assert {r.model for r in runs if r.kind == "shadow"} == {"rfgv"}
    assert runs[-1].as_of == next_period.date()


def test_a_concurrent_duplicate_loses_in_a_savepoint(rank_runtime: ServiceRuntime) -> None:
    """Another replica made the period's run after this one looked: the insert fails, the unit of
    work carries on and commits what it did besides."""
    settings = rank_runtime.settings
    assert isinstance(settings, RankingSettings)
    now = datetime.now(UTC)
    with rank_runtime.unit_of_work() as uow:
        assert len(run_due(uow, settings, now)) == 1
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("ranking_service.repository.run_by_schedule_key", lambda s, key: None)
        with rank_runtime.unit_of_work() as uow:
            assert run_due(uow, settings, now) == []
    with rank_runtime.unit_of_work() as uow:
        assert uow.session.exec(select(func.count()).select_from(RankRun)).one() == 1


def test_schedule_worker_runs_only_when_enabled(rank_settings: RankingSettings) -> None:
    from ranking_service.app import create_app

    off = create_app(rank_settings, run_consumer=False)
    with TestClient(off):
        assert workers.SCHEDULE.interval(off.state.runtime) == 0
        assert not [t for t in off.state.runtime._worker_loops if t.name.endswith("ranking-schedule")]
    settings = rank_settings.model_copy(update={"schedule_enabled": True, "schedule_check_s": 3600})
    app = create_app(settings, run_consumer=False)
    with TestClient(app):
        loops = app.state.runtime._worker_loops
        assert [t.name for t in loops] == ["ranking-service-ranking-schedule"] and loops[0].running
    assert app.state.runtime._worker_loops == []
