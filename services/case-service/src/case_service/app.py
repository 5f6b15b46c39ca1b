"""The case-service application: people, cases, suitability and risk assessments, caseloads."""

from __future__ import annotations

from fastapi import FastAPI
from hhpu_shared.db import service_tables
from hhpu_shared.http import build_service_app
from hhpu_shared.messaging.inprocess import InProcessBus
from hhpu_shared.runtime import ServiceRuntime
from sqlalchemy import Engine

from case_service import models  # noqa: F401 - registers the tables
from case_service.handlers import handlers
from case_service.routes import ROUTERS
from case_service.settings import CaseSettings

DESCRIPTION = (
    "People and their identifiers, cases in cohorts (IOM fixed/flex/free, ViSOR with MAPPA, HHPU), "
    "suitability assessments opened from referrals and ranking candidates (one open per person), "
    "risk assessments (ARMS, Risk Matrix 2000, IOM matrix), append-only case notes, the 46-type "
    "intervention catalogue, offender managers' weighted caseloads and the evaluation's figures. "
    "Every read of a person's record needs the header X-Justification and is audited."
)


def build_runtime(
    settings: CaseSettings | None = None,
    *,
    bus: InProcessBus | None = None,
    engine: Engine | None = None,
    run_consumer: bool | None = None,
) -> ServiceRuntime:
    return ServiceRuntime(
        settings or CaseSettings(),
        tables=service_tables("case_"),
        handlers=handlers,
        bus=bus,
        engine=engine,
        run_consumer=run_consumer,
    )


def create_app(
    settings: CaseSettings | None = None,
    *,
    bus: InProcessBus | None = None,
    engine: Engine | None = None,
    run_consumer: bool | None = None,
) -> FastAPI:
    runtime = build_runtime(settings, bus=bus, engine=engine, run_consumer=run_consumer)
    app: FastAPI = build_service_app(
        runtime, title="HHPU case-service", description=DESCRIPTION, routers=ROUTERS
    )
    return app
