"""HTTP routes by area."""

from case_service.routes import (
    assessments,
    cases,
    interventions,
    managers,
    notes,
    people,
    protection,
    reports,
    retention,
    risk,
)

ROUTERS = [
    protection.router,
    protection.erasures,
    retention.router,
    people.router,
    cases.router,
    assessments.router,
    risk.router,
    notes.router,
    interventions.router,
    managers.router,
    reports.router,
]
