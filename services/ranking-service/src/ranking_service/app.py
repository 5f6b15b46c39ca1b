"""FastAPI application of the ranking-service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from hhpu_shared.db import service_tables
from hhpu_shared.http import build_service_app
from hhpu_shared.messaging.inprocess import InProcessBus
from hhpu_shared.runtime import ServiceRuntime
from sqlalchemy import Engine

from ranking_service import models  # noqa: F401 - registers the rank_ tables
from ranking_service.handlers import handlers
from ranking_service.routes import router
from ranking_service.scheduler import Scheduler
from ranking_service.settings import RankingSettings

DESCRIPTION = """
Harm ranking of people in police offence records (Cambridge Crime Harm Index weights), re-run
every two weeks and on demand, explainable (per-person breakdown), reproducible (stored
inputs fingerprint and parameters), compared across runs and back-tested against later offending.

**A ranking never decides anything by itself.** Its output only proposes people for a human
suitability assessment by the unit (Data Protection Act 2018 Part 3, s.49 and s.50: no
significant decision based solely on automated processing). Candidate events
(`ranking.candidate_identified`) are inputs to that assessment, never decisions.

Consultations of a person's breakdown or trajectory are recorded in the audit trail (s.62), with the
justification given in the `X-Justification` header.
"""


def build_runtime(
    settings: RankingSettings,
    *,
    bus: InProcessBus | None = None,
    engine: Engine | None = None,
    run_consumer: bool | None = None,
) -> ServiceRuntime:
    return ServiceRuntime(
        settings,
        tables=service_tables("rank_"),
        handlers=handlers,
        bus=bus,
        engine=engine,
        run_consumer=run_consumer,
    )


def create_app(
    settings: RankingSettings | None = None,
    *,
    bus: InProcessBus | None = None,
    engine: Engine | None = None,
    run_consumer: bool | None = None,
    run_scheduler: bool | None = None,
) -> FastAPI:
    settings = settings or RankingSettings()
    settings.check_production()
    runtime = build_runtime(settings, bus=bus, engine=engine, run_consumer=run_consumer)
    app = build_service_app(
        runtime,
        title="HHPU ranking-service",
        description=DESCRIPTION,
        routers=[router],
        openapi_tags=[{"name": "ranking", "description": "Harm ranking runs, comparisons and back-tests"}],
    )
    scheduler = Scheduler(runtime, settings)
    app.state.scheduler = scheduler
    inner = app.router.lifespan_context
    with_scheduler = settings.schedule_enabled if run_scheduler is None else run_scheduler

    @asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[None]:
        async with inner(a):
            if with_scheduler:
                scheduler.start()
            try:
                yield
            finally:
                scheduler.stop()

    app.router.lifespan_context = lifespan
    return app
