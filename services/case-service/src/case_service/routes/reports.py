"""Reports: the fortnightly suitability report (JSON and printable HTML) and the evaluation figures."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Query
from hhpu_shared.documents import DocFormat, respond
from hhpu_shared.http import JustificationDep, PageDep, UoWDep

from case_service.domain import documents
from case_service.routes.common import AggregateUser, CaseSettingsDep, CaseUser
from case_service.schemas_caseload import EvaluationFigures, SuitabilityReport
from case_service.service import reports

router = APIRouter(prefix="/reports", tags=["reports"])


@router.get(
    "/suitability",
    response_model=SuitabilityReport,
    responses={200: {"content": {"text/html": {}, "application/pdf": {}}}},
)
def suitability(
    principal: CaseUser,
    uow: UoWDep,
    why: JustificationDep,
    settings: CaseSettingsDep,
    page: PageDep,
    since: date | None = None,
    format: str = Query("json", pattern="^(json|html|pdf)$", description="json (default), html or pdf"),
) -> Any:
    """People new to assess since a date (default: the last fortnight), by source; JSON, or the printable
    report as HTML or PDF (names, triggers in words, marked OFFICIAL-SENSITIVE). In JSON each source is
    one page (`limit`, `offset`); the printable report is always whole."""
    days = settings.suitability_report_days
    if format == "json":
        return reports.suitability(uow, since, days, why, page)
    rep = reports.suitability(uow, since, days, why)
    return respond(documents.render_suitability(rep), DocFormat(format), f"suitability-{rep['generated_on']}")


@router.get("/evaluation", response_model=EvaluationFigures)
def evaluation(
    principal: AggregateUser,
    uow: UoWDep,
    settings: CaseSettingsDep,
    start: date | None = None,
    end: date | None = None,
) -> dict[str, Any]:
    """The evaluation's figures, live: managed cases by month and cohort, interventions with chi-square,
    training coverage and indicative costs. Aggregate only."""
    return reports.evaluation(uow, settings, start, end)
