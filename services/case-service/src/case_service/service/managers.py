"""Offender managers: staff, training, capacity, weighted caseloads, equity, suggestions."""

from __future__ import annotations

from datetime import date
from typing import Any

from hhpu_shared.errors import Conflict
from hhpu_shared.http import Page, PageParams
from hhpu_shared.uow import UnitOfWork

from case_service import repository as repo
from case_service.domain import caseload
from case_service.models import Manager, TrainingRecord
from case_service.schemas_records import ManagerPublic, TrainingPublic
from case_service.service.common import alter, case_ids_in, collect, consult, get_or_404, today


def public(uow: UnitOfWork, m: Manager) -> ManagerPublic:
    """The API view of a manager, with training records."""
    out = ManagerPublic.model_validate(m)
    out.training = [TrainingPublic.model_validate(t) for t in repo.training(uow.session, m.id)]
    return out


def listing(uow: UnitOfWork, page: PageParams) -> Page[ManagerPublic]:
    """One page of the team (staff data, not a person's record: no consultation is audited)."""
    rows, total = repo.managers_page(uow.session, limit=page.limit, offset=page.offset)
    return Page[ManagerPublic].of([public(uow, m) for m in rows], total, page)


def create(uow: UnitOfWork, staff_id: str, name: str, capacity: float, why: str) -> Manager:
    if repo.manager_by_staff_id(uow.session, staff_id) is not None:
        raise Conflict("a manager with this staff id exists", code="manager_exists")
    m = Manager(staff_id=staff_id, name=name, capacity_points=capacity)
    uow.session.add(m)
    uow.session.flush()
    collect(uow, "manager", m.id, why)
    return m


def update(uow: UnitOfWork, manager_id: str, changes: dict[str, Any], why: str) -> Manager:
    m = get_or_404(repo.manager(uow.session, manager_id), "manager")
    for k, v in changes.items():
        setattr(m, k, v)
    alter(uow, "manager", m.id, why, fields=sorted(changes))
    return m


def add_training(
    uow: UnitOfWork, manager_id: str, course: str, completed_on: date, expires_on: date | None, why: str
) -> Manager:
    """Record a completed course; returns the manager."""
    m = get_or_404(repo.manager(uow.session, manager_id), "manager")
    t = TrainingRecord(
        manager_id=m.id,
        course=course,
        completed_on=completed_on,
        expires_on=expires_on,
        recorded_by=uow.principal.subject,
    )
    uow.session.add(t)
    uow.session.flush()
    collect(uow, "manager", m.id, why, training=course)
    return m


def team_loads(uow: UnitOfWork) -> list[caseload.ManagerLoad]:
    """Every manager with their managed cases and training, as plain data for the domain functions."""
    s = uow.session
    by_id: dict[str, caseload.ManagerLoad] = {}
    for m in repo.managers(s):
        by_id[m.id] = caseload.ManagerLoad(m.id, m.capacity_points, active=m.active)
    for t in repo.training(s):
        if t.manager_id in by_id:
            by_id[t.manager_id].training.append(caseload.Training(t.course, t.completed_on, t.expires_on))
    for c in repo.managed_cases(s):
        if c.manager_id in by_id:
            by_id[c.manager_id].cases.append(
                caseload.CaseLoadItem(c.id, c.cohort, c.risk_band, c.mappa_level)
            )
    return list(by_id.values())


def team_view(uow: UnitOfWork, page: PageParams, why: str) -> dict[str, Any]:
    """Weighted caseloads, equity and rebalancing over the whole team; `per_manager` is one page of
    it. Each case proposed for a move is consulted."""
    team = team_loads(uow)
    eq = caseload.equity(team)
    names = {m.id: m.name for m in repo.managers(uow.session)}
    per_manager: list[dict[str, Any]] = eq.pop("per_manager")  # type: ignore[assignment]
    for row in per_manager:
        row["name"] = names.get(row["manager_id"])
    on = today()
    eq["mosovo_trained"] = sum(1 for m in team if m.active and m.trained_for("visor", on))
    eq["rebalancing"] = caseload.rebalance(team, on)
    eq["per_manager"] = {
        "items": per_manager[page.offset : page.offset + page.limit],
        "total": len(per_manager),
        "limit": page.limit,
        "offset": page.offset,
    }
    shown = case_ids_in(eq)
    for case_id in shown:
        consult(uow, "case", case_id, why, view="team caseload")
    if not shown:
        consult(uow, "caseload", "team", why, view="team caseload")
    return eq


def suggestion_for(uow: UnitOfWork, case_id: str, why: str) -> caseload.Suggestion:
    """Which manager should take a case (an audited consultation of the case)."""
    c = get_or_404(repo.case(uow.session, case_id), "case")
    consult(uow, "case", c.id, why, view="allocation_suggestion")
    team = team_loads(uow)
    for m in team:
        m.cases = [x for x in m.cases if x.case_id != c.id]
    return caseload.suggest_allocation(
        team, caseload.CaseLoadItem(c.id, c.cohort, c.risk_band, c.mappa_level), today()
    )


def training_coverage(uow: UnitOfWork) -> dict[str, Any]:
    team = [m for m in team_loads(uow) if m.active]
    on = today()
    trained = sum(1 for m in team if m.trained_for("visor", on))
    return {
        "managers": len(team),
        "mosovo_trained": trained,
        "coverage": round(trained / len(team), 4) if team else 0.0,
    }
