"""'My caseload': the signed-in offender manager's cases, what is due on each, and her load.

The manager is the one whose staff id is the caller's subject (the `sub` of her token). Each case
shows the person's name, cohort (MAPPA category and level for ViSOR), risk band and the latest
result of each risk tool, the next review and the next risk-assessment due date, and the case's
own open work (reviews and risk assessments due or overdue, interventions still running).

Meeting actions are not here: they belong to the meeting-service, and its events carry no case or
person, so the case-service cannot know them. `open_actions` says so and gives the address of her
open actions (`GET /api/v1/actions?mine=true&status=open`); `hhpu caseload` shows both together.
"""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import date, timedelta
from typing import Any

from hhpu_shared.errors import NotFound
from hhpu_shared.http import PageParams
from hhpu_shared.uow import UnitOfWork

from case_service import repository as repo
from case_service.domain import caseload
from case_service.models import Case, Manager
from case_service.service import managers
from case_service.service.common import consult, get_or_404, today

DUE_SOON_DAYS = 14  # a review or risk assessment due within a fortnight is listed as due
ACTIONS_URL = "/api/v1/actions?mine=true&status=open"


def manager_for(uow: UnitOfWork, subject: str) -> Manager:
    """The offender manager record of the caller (staff id = the token's subject)."""
    s = uow.session
    for staff_id in (subject, subject.removeprefix("user:")):
        m = repo.manager_by_staff_id(s, staff_id)
        if m is not None:
            return m
    raise NotFound("you have no offender manager record (staff id = your sign-in)", code="not_a_manager")


def _due(kind: str, on: date | None, day: date) -> dict[str, Any] | None:
    if on is None or on > day + timedelta(days=DUE_SOON_DAYS):
        return None
    return {"kind": kind, "due_on": on.isoformat(), "overdue": on < day}


def _case_row(uow: UnitOfWork, c: Case, day: date) -> dict[str, Any]:
    s = uow.session
    person = repo.person(s, c.person_id)
    latest: dict[str, Any] = {}
    for ra in repo.risk_history(s, c.id):  # oldest first: the last one per tool wins
        latest[ra.tool] = {
            "band": ra.band,
            "assessed_on": ra.assessed_on.isoformat(),
            "next_due": ra.next_due,
        }
    ra_due = min((v["next_due"] for v in latest.values()), default=None)
    for v in latest.values():
        v["next_due"] = v["next_due"].isoformat()
    running = [i for i in repo.interventions(s, c.id) if i.status == "active"]
    work = [
        x
        for x in (_due("review", c.next_review_on, day), _due("risk_assessment", ra_due, day))
        if x is not None
    ]
    return {
        "case_id": c.id,
        "person_id": c.person_id,
        "name": person.label if person else None,
        "date_of_birth": person.date_of_birth.isoformat() if person and person.date_of_birth else None,
        "cohort": c.cohort,
        "mappa_category": c.mappa_category,
        "mappa_level": c.mappa_level,
        "risk_band": c.risk_band,
        "risk_tools": latest,
        "subject_category": c.subject_category,
        "adopted_on": c.adopted_on.isoformat() if c.adopted_on else None,
        "next_review_on": c.next_review_on.isoformat() if c.next_review_on else None,
        "risk_assessment_due_on": ra_due.isoformat() if ra_due else None,
        "active_interventions": len(running),
        "open_work": work,
        "points": caseload.case_points(c.cohort, c.risk_band, c.mappa_level),
    }


def _load(uow: UnitOfWork, m: Manager) -> dict[str, Any]:
    team = [x for x in managers.team_loads(uow) if x.active]
    me = next((x for x in team if x.manager_id == m.id), None)
    points = me.points if me else 0.0
    util = points / m.capacity_points if m.capacity_points > 0 else None
    median = statistics.median([x.utilisation for x in team]) if team else None
    return {
        "points": points,
        "capacity_points": m.capacity_points,
        "utilisation": round(util, 4) if util is not None else None,
        "over_capacity": bool(util is not None and util > 1.0),
        "team_median_utilisation": round(median, 4) if median is not None else None,
        "ratio_to_team_median": round(util / median, 3) if util is not None and median else None,
    }


def my_caseload(uow: UnitOfWork, page: PageParams, why: str) -> dict[str, Any]:
    """The caller's caseload: one page of cases (each an audited consultation), totals over all."""
    return caseload_view(uow, manager_for(uow, str(uow.principal.subject)), page, why, mine=True)


def caseload_of(uow: UnitOfWork, manager_id: str, page: PageParams, why: str) -> dict[str, Any]:
    """One manager's caseload as she reads it herself (a supervisor's view of her team member)."""
    m = get_or_404(repo.manager(uow.session, manager_id), "manager")
    return caseload_view(uow, m, page, why, mine=False)


def caseload_view(uow: UnitOfWork, m: Manager, page: PageParams, why: str, *, mine: bool) -> dict[str, Any]:
    """A manager's caseload: one page of cases (each an audited consultation), totals over all."""
    day = today()
    cases = list(repo.managed_cases(uow.session, manager_id=m.id))
    shown = cases[page.offset : page.offset + page.limit]
    rows = []
    for c in shown:
        view = "my_caseload" if mine else "manager_caseload"
        consult(uow, "case", c.id, why, view=view, person_id=c.person_id)
        rows.append(_case_row(uow, c, day))
    summary = {
        "cases": len(cases),
        "by_cohort": dict(sorted(Counter(c.cohort for c in cases).items())),
        "visor": sum(1 for c in cases if c.cohort == "visor"),
        "high_or_very_high_risk": sum(1 for c in cases if c.risk_band in caseload.HIGH_RISK),
        "very_high_risk": sum(1 for c in cases if c.risk_band == "very_high"),
        "reviews_overdue": sum(1 for c in cases if c.next_review_on and c.next_review_on < day),
    }
    actions = {
        "source": "meeting-service",
        "url": ACTIONS_URL,
        "note": "meeting actions are kept by the meeting-service, whose events name no case; "
        "this list shows each case's own due reviews, risk assessments and running interventions",
    }
    return {
        "manager": {"id": m.id, "staff_id": m.staff_id, "name": m.name},
        "on": day.isoformat(),
        "load": _load(uow, m),
        "summary": summary,
        "open_actions": actions if mine else None,
        "cases": {"items": rows, "total": len(cases), "limit": page.limit, "offset": page.offset},
    }
