"""The fortnightly schedule: run_due(now) runs each period once, production and shadows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from ranking_service.models import RankRun
from ranking_service.scheduler import period_key, run_due
from ranking_service.settings import RankingSettings
from ranking_service.synthetic import SyntheticForce
from sqlmodel import col, select


def test_period_keys_change_every_interval() -> None:
    k1, s1 = period_key(datetime(2026, 11, 26).date(), 14)
    k2, _ = period_key(s1 + timedelta(days=13), 14)
    k3, s3 = period_key(s1 + timedelta(days=14), 14)
    assert k1 == k2 != k3 and (s3 - s1).days == 14
    assert period_key(datetime(2026, 11, 26).date(), 7)[0] != k1


def test_run_due_runs_once_per_period(
    rank_tools: Any, rank_client: TestClient, rank_force: SyntheticForce, tmp_path: Path
) -> None:
    rank_tools.load_force(rank_client, rank_force, tmp_path)
    runtime = rank_client.app.state.runtime  # type: ignore[attr-defined]
    settings: RankingSettings = runtime.settings.model_copy(update={"shadow_models": ["rfgv@1"]})
    now = datetime.now(UTC)
    first = run_due(runtime, settings, now)
    assert len(first) == 2
    assert run_due(runtime, settings, now + timedelta(hours=1)) == []
    _, start = period_key(now.date(), settings.schedule_interval_days)
    next_period = datetime.combine(start + timedelta(days=14), now.timetz())
    assert len(run_due(runtime, settings, next_period)) == 2
    with runtime.unit_of_work() as uow:
        runs = uow.session.exec(select(RankRun).order_by(col(RankRun.as_of))).all()
    assert [(r.kind, r.trigger) for r in runs].count(("production", "scheduled")) == 2
    assert {r.model for r in runs if r.kind == "shadow"} == {"rfgv"}
    assert runs[-1].as_of == next_period.date()


def test_scheduler_thread_starts_with_the_app(rank_settings: RankingSettings) -> None:
    from ranking_service.app import create_app

    settings = rank_settings.model_copy(update={"schedule_enabled": True, "schedule_check_s": 3600})
    app = create_app(settings, run_consumer=False)
    with TestClient(app):
        assert app.state.scheduler._thread is not None
    assert app.state.scheduler._thread is None
