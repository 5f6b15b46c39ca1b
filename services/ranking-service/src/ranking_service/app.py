"""The ranking-service: harm ranking of offence records, explainable, reproducible, back-tested.

Declared once as a :class:`~hhpu_shared.service.ServiceSpec`; the shared skeleton builds the app,
the runtime (with the fortnightly schedule worker) and the
``python -m ranking_service [serve|consumer|migrate]`` entry point from it.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from hhpu_shared.runtime import ServiceRuntime
from hhpu_shared.service import ServiceSpec

from ranking_service.handlers import PROTECTION, handlers
from ranking_service.migrations import MIGRATIONS
from ranking_service.routes import ROUTERS
from ranking_service.settings import RankingSettings
from ranking_service.workers import WORKERS

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

SERVICE = ServiceSpec(
    package="ranking_service",
    settings_cls=RankingSettings,
    migrations=MIGRATIONS,
    title="HHPU ranking-service",
    description=DESCRIPTION,
    routers=ROUTERS,
    data_protection=PROTECTION,
    handlers=handlers,
    workers=WORKERS,
    openapi_tags=[{"name": "ranking", "description": "Harm ranking runs, comparisons and back-tests"}],
)


def build_runtime(settings: RankingSettings | None = None, **kwargs: Any) -> ServiceRuntime:
    return SERVICE.build_runtime(settings, **kwargs)


def create_app(settings: RankingSettings | None = None, **kwargs: Any) -> FastAPI:
    return SERVICE.create_app(settings, **kwargs)
