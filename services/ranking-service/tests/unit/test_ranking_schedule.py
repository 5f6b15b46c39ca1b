"""The fortnightly schedule: run_due(now) runs each period once (production and shadows), and the
schedule worker runs only when enabled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hhpu_shared.runtime import ServiceRuntime
from hhpu_shared.testing.plugin import identity_headers
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
        # a later check in the same period (kept on the same day: an hour later may be the next
        # period when the test runs just before midnight)
        later = min(now + timedelta(hours=1), now.replace(hour=23, minute=59, second=59))
        assert run_due(uow, settings, later) == []
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


def test_schedule_is_on_by_default_wherever_deployed() -> None:
    secret = "s" * 40
    assert RankingSettings(environment="production", internal_secret=secret).schedule_on
    assert RankingSettings(environment="development").schedule_on
    assert not RankingSettings(environment="test").schedule_on  # the test suite switches it on when needed
    assert RankingSettings(environment="test", schedule_enabled=True).schedule_on
    assert not RankingSettings(
        environment="production", internal_secret=secret, schedule_enabled=False
    ).schedule_on


def test_schedule_worker_runs_only_when_enabled(rank_settings: RankingSettings) -> None:
    from ranking_service.app import create_app

    def schedule_loops(app: Any) -> list[Any]:
        return [t for t in app.state.runtime._worker_loops if t.name.endswith("ranking-schedule")]

    off = create_app(rank_settings, run_consumer=False)
    with TestClient(off):
        assert workers.SCHEDULE.interval(off.state.runtime) == 0
        assert not schedule_loops(off)
    settings = rank_settings.model_copy(update={"schedule_enabled": True, "schedule_check_s": 3600})
    app = create_app(settings, run_consumer=False)
    with TestClient(app):
        loops = app.state.runtime._worker_loops
        assert sorted(t.name for t in loops) == [
            "ranking-service-outbox-retention",  # every runtime's
            "ranking-service-ranking-schedule",
            "ranking-service-ranking-schedule-status",
        ]
        assert all(t.running for t in loops)
    assert app.state.runtime._worker_loops == []


def test_next_run_is_visible_and_an_owed_run_becomes_overdue(
    rank_tools: Any, rank_client: TestClient, rank_force: SyntheticForce, tmp_path: Path, monkeypatch: Any
) -> None:
    """With the clock advanced: the period's run is due, then overdue; the worker makes it once; the
    next run is then due at the start of the next period (API and metrics)."""
    from prometheus_client import REGISTRY

    rank_tools.load_force(rank_client, rank_force, tmp_path)
    runtime = rank_client.app.state.runtime  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    _, start = period_key(now.date(), 14)
    period_start = datetime.combine(start, datetime.min.time(), tzinfo=UTC)
    monkeypatch.setattr(workers, "clock", lambda: period_start + timedelta(hours=1))
    workers.refresh_status(runtime)
    got = rank_client.get("/api/v1/ranking-runs/schedule", headers=identity_headers("offender_manager"))
    assert got.status_code == 200, got.text
    assert got.json()["enabled"] is False and got.json()["next_run_due_at"] == period_start.isoformat()
    with runtime.unit_of_work() as uow:
        from ranking_service.service.schedule import schedule_status

        due = schedule_status(uow, runtime.settings, period_start + timedelta(hours=1))
        late = schedule_status(uow, runtime.settings, period_start + timedelta(hours=7))
    assert due["current_period"]["status"] == "due" and not due["overdue"]
    assert due["next_run_due_at"] == period_start.isoformat()
    assert late["overdue"] and late["current_period"]["status"] == "overdue"
    svc = {"service": "ranking-service"}
    assert (
        REGISTRY.get_sample_value("hhpu_ranking_next_run_due_timestamp_seconds", svc)
        == period_start.timestamp()
    )
    monkeypatch.setattr(workers, "clock", lambda: period_start + timedelta(hours=7))
    assert workers.SCHEDULE.run_once(runtime) and workers.SCHEDULE.run_once(runtime)  # clock still: one run
    with runtime.unit_of_work() as uow:
        runs = uow.session.exec(select(RankRun).where(RankRun.trigger == "scheduled")).all()
        after = schedule_status(uow, runtime.settings, period_start + timedelta(hours=8))
    assert len(runs) == 1 and runs[0].kind == "production"
    assert after["current_period"]["status"] == "done" and not after["overdue"]
    assert after["next_run_due_at"] == (period_start + timedelta(days=14)).isoformat()
    assert after["last_scheduled_run"]["run_id"] == runs[0].id
    assert REGISTRY.get_sample_value("hhpu_ranking_run_overdue", svc) == 0
