"""The case-service: people, cases, suitability and risk assessments, caseloads.

Declared once as a :class:`~hhpu_shared.service.ServiceSpec`; the shared skeleton builds the app,
the runtime and the ``python -m case_service [serve|consumer|migrate]`` entry point from it.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from hhpu_shared.runtime import ServiceRuntime
from hhpu_shared.service import ServiceSpec

from case_service.handlers import configure, handlers
from case_service.migrations import MIGRATIONS
from case_service.routes import ROUTERS
from case_service.service.protection import HOOKS
from case_service.settings import CaseSettings
from case_service.workers import OVERDUE_REVIEWS

DESCRIPTION = (
    "People and their identifiers, cases in cohorts (IOM fixed/flex/free, ViSOR with MAPPA, HHPU), "
    "suitability assessments opened from referrals and ranking candidates (one open per person), "
    "risk assessments (ARMS, Risk Matrix 2000, IOM matrix), append-only case notes, the 46-type "
    "intervention catalogue, offender managers' weighted caseloads and the evaluation's figures. "
    "Every read of a person's record needs the header X-Justification and is audited."
)

SERVICE = ServiceSpec(
    package="case_service",
    settings_cls=CaseSettings,
    migrations=MIGRATIONS,
    title="HHPU case-service",
    description=DESCRIPTION,
    routers=ROUTERS,
    handlers=handlers,
    data_protection=HOOKS,
    prepare=configure,
    workers=[OVERDUE_REVIEWS],
)


def build_runtime(settings: CaseSettings | None = None, **kwargs: Any) -> ServiceRuntime:
    return SERVICE.build_runtime(settings, **kwargs)


def create_app(settings: CaseSettings | None = None, **kwargs: Any) -> FastAPI:
    return SERVICE.create_app(settings, **kwargs)
