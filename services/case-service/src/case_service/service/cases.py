"""Cases: lifecycle with coded exits, cohorts (ViSOR with MAPPA), s.38 category, manager allocation."""

from __future__ import annotations

from typing import Any

from hhpu_shared.errors import Conflict, ValidationProblem, field_error
from hhpu_shared.events.contracts.case import CaseAdopted, CaseExited, ManagerAllocated
from hhpu_shared.http import Page, PageParams
from hhpu_shared.uow import UnitOfWork

from case_service import repository as repo
from case_service.domain import caseload, lifecycle, suitability
from case_service.models import Allocation, Assessment, Case, CaseStatusChange, Person, now
from case_service.schemas import CasePublic, StatusChangePublic
from case_service.service import retention
from case_service.service.common import (
    actor,
    alter,
    collect,
    consult,
    created_here,
    get_or_404,
    insert_or_existing,
    person_ref,
    today,
)


def check_cohort(cohort: str, mappa_category: int | None, mappa_level: int | None, *, strict: bool) -> None:
    errs = []
    if cohort == "visor":
        if strict and mappa_category is None:
            errs.append(field_error("mappa_category", "required", "a ViSOR case has a MAPPA category (1-4)"))
        if strict and mappa_level is None:
            errs.append(field_error("mappa_level", "required", "a ViSOR case has a MAPPA level (1-3)"))
    else:
        if mappa_category is not None or mappa_level is not None:
            errs.append(
                field_error("mappa_category", "not_allowed", "MAPPA category and level are for ViSOR")
            )
    if errs:
        raise ValidationProblem(errs)


def _record(uow: UnitOfWork, c: Case, to: str, reason: str | None) -> None:
    uow.session.add(
        CaseStatusChange(
            case_id=c.id, from_status=c.status, to_status=to, reason_code=reason, actor=actor(uow)
        )
    )
    c.status = to
    c.updated_at = now()


def transition(uow: UnitOfWork, c: Case, to: str, reason_code: str | None, why: str) -> Case:
    """Move a case; illegal moves are refused with 409."""
    if to == "exited" and reason_code not in lifecycle.EXIT_REASONS:
        codes = ", ".join(sorted(lifecycle.EXIT_REASONS))
        raise ValidationProblem(
            [field_error("reason_code", "invalid_choice", f"an exit needs one of: {codes}")]
        )
    err = lifecycle.transition_error(c.status, to, reason_code)
    if err:
        raise Conflict(err, code="illegal_transition", extra={"from": c.status, "to": to})
    if to == "managed":
        check_cohort(c.cohort, c.mappa_category, c.mappa_level, strict=True)
    _record(uow, c, to, reason_code if to == "exited" else None)
    alter(uow, "case", c.id, why, status=to)
    if to == "managed":
        c.adopted_on = c.adopted_on or today()
        _emit_adopted(uow, c)
    if to == "exited":
        c.exit_reason, c.exited_on, c.active_key = reason_code, today(), None
        person = repo.person(uow.session, c.person_id)
        uow.emit(
            CaseExited(
                case_id=c.id,
                person_id=c.person_id,
                records_id=person.records_id if person else None,
                reason_code=reason_code or "other",
            ),
            aggregate_id=c.id,
            subject=person_ref(c.person_id),
        )
    return c


def _emit_adopted(uow: UnitOfWork, c: Case) -> None:
    person = repo.person(uow.session, c.person_id)
    uow.emit(
        CaseAdopted(
            case_id=c.id,
            person_id=c.person_id,
            records_id=person.records_id if person else None,
            cohort=c.cohort,  # type: ignore[arg-type, unused-ignore]
            identified_by=c.identified_by,
        ),
        aggregate_id=c.id,
        subject=person_ref(c.person_id),
    )


def ensure_candidate(
    uow: UnitOfWork,
    person: Person,
    a: Assessment,
    *,
    source_key: str,
    why: str,
    statutory_status: str | None = None,
) -> Case:
    """The person's active case, or a new candidate case linked to the assessment (with the
    referral's `statutory_status` when there is one)."""
    s = uow.session
    found = None if created_here(uow, person.id) else repo.active_case(s, person.id)
    if found is not None:
        return found
    row = Case(
        person_id=person.id,
        active_key=person.id,
        status="candidate",
        identified_by=suitability.identified_by([source_key]),
        assessment_id=a.id,
    )
    if statutory_status is not None:
        row.statutory_status = statutory_status
        row.subject_category = suitability.subject_category(statutory_status)
    c, created = insert_or_existing(uow, row, lambda: repo.active_case(s, person.id), ["active_key"])
    if created:
        s.add(CaseStatusChange(case_id=c.id, from_status=None, to_status="candidate", actor=actor(uow)))
        collect(uow, "case", c.id, why, person_id=person.id)
    return c


def start_assessment(uow: UnitOfWork, a: Assessment, why: str) -> None:
    c = repo.active_case(uow.session, a.person_id)
    if c is not None and c.status == "candidate":
        transition(uow, c, "under_assessment", None, why)


def adopt(
    uow: UnitOfWork, person: Person, a: Assessment, *, cohort: str, sources: list[str], why: str
) -> Case:
    s = uow.session
    c = repo.active_case(s, person.id) or ensure_candidate(
        uow, person, a, source_key=sources[0] if sources else "", why=why
    )
    if c.status == "managed":
        return c
    c.cohort = cohort
    if any(not x.startswith("manual:") for x in sources):  # a hand adoption keeps how the case came
        c.identified_by = suitability.identified_by(sources)
    c.assessment_id = a.id
    if c.status == "candidate":
        transition(uow, c, "under_assessment", None, why)
    # A ViSOR adoption from a meeting may lack MAPPA details: they are added on the case later.
    err = lifecycle.transition_error(c.status, "managed", None)
    if err:
        raise Conflict(err, code="illegal_transition")
    _record(uow, c, "managed", None)
    c.adopted_on = today()
    alter(uow, "case", c.id, why, status="managed", cohort=cohort)
    retention.refresh(uow, person)
    _emit_adopted(uow, c)
    allocate(uow, c, manager_id=None, why=why)
    return c


def decline(uow: UnitOfWork, a: Assessment, why: str) -> None:
    c = repo.active_case(uow.session, a.person_id)
    if c is not None and c.status in ("candidate", "under_assessment"):
        transition(uow, c, "exited", "not_adopted", why)


def withdraw(uow: UnitOfWork, a: Assessment, why: str) -> None:
    """The assessment closed without a decision (its referrals withdrawn): a candidate case raised
    for it leaves; a managed case, or one raised by something else, stays as it is."""
    c = repo.active_case(uow.session, a.person_id)
    if c is not None and c.assessment_id == a.id and c.status in ("candidate", "under_assessment"):
        transition(uow, c, "exited", "referral_withdrawn", why)


def create(uow: UnitOfWork, data: dict[str, Any], why: str) -> Case:
    """A case opened by hand (e.g. a MAPPA nominal or an IOM meeting's choice)."""
    s = uow.session
    person = get_or_404(repo.person(s, data["person_id"]), "person")
    if person.merged_into:
        raise Conflict("this record was merged; use the surviving record", code="person_merged")
    if repo.active_case(s, person.id) is not None:
        raise Conflict("the person already has an active case", code="active_case_exists")
    check_cohort(data["cohort"], data.get("mappa_category"), data.get("mappa_level"), strict=True)
    c = Case(active_key=person.id, status="candidate", **data)
    s.add(c)
    s.flush()
    s.add(CaseStatusChange(case_id=c.id, from_status=None, to_status="candidate", actor=actor(uow)))
    collect(uow, "case", c.id, why, person_id=person.id)
    retention.refresh(uow, person)
    return c


def get(uow: UnitOfWork, case_id: str, why: str) -> Case:
    c = get_or_404(repo.case(uow.session, case_id), "case")
    consult(uow, "case", c.id, why, person_id=c.person_id)
    return c


def public(uow: UnitOfWork, c: Case, *, full: bool = True) -> CasePublic:
    """The API view of a case; `full` adds its status history."""
    out = CasePublic.model_validate(c)
    if full:
        out.history = [StatusChangePublic.model_validate(x) for x in repo.status_changes(uow.session, c.id)]
    return out


def listing(
    uow: UnitOfWork,
    page: PageParams,
    *,
    status: str | None,
    cohort: str | None,
    manager_id: str | None,
    why: str,
) -> Page[CasePublic]:
    """One page of cases; each listed case is an audited consultation."""
    rows, total = repo.cases(
        uow.session, status=status, cohort=cohort, manager_id=manager_id, limit=page.limit, offset=page.offset
    )
    for c in rows:
        consult(uow, "case", c.id, why, view="list")
    return Page[CasePublic].of([public(uow, c, full=False) for c in rows], total, page)


def change_status(uow: UnitOfWork, case_id: str, to: str, reason_code: str | None, why: str) -> Case:
    """A transition asked for through the API (404 for an unknown case)."""
    c = get_or_404(repo.case(uow.session, case_id), "case")
    return transition(uow, c, to, reason_code, why)


def allocate_manager(
    uow: UnitOfWork, case_id: str, manager_id: str | None, why: str, *, accept_over_capacity: bool = False
) -> Case:
    """Allocate the named manager (checked for training) or the suggested one; an exited case is 409."""
    c = get_or_404(repo.case(uow.session, case_id), "case")
    if c.status == "exited":
        raise Conflict("an exited case is not allocated", code="case_exited")
    allocate(uow, c, manager_id=manager_id, why=why, accept_over_capacity=accept_over_capacity)
    return c


def update(uow: UnitOfWork, case_id: str, changes: dict[str, Any], why: str) -> Case:
    c = get_or_404(repo.case(uow.session, case_id), "case")
    if c.status == "exited":
        raise Conflict("an exited case is closed to changes", code="case_exited")
    merged = {k: changes.get(k, getattr(c, k)) for k in ("cohort", "mappa_category", "mappa_level")}
    if merged["cohort"] != "visor" and "cohort" in changes:
        merged["mappa_category"] = changes.get("mappa_category")
        merged["mappa_level"] = changes.get("mappa_level")
    check_cohort(
        merged["cohort"], merged["mappa_category"], merged["mappa_level"], strict=c.status == "managed"
    )
    fields = {**changes, **merged}
    for k, v in fields.items():
        setattr(c, k, v)
    c.updated_at = now()
    alter(uow, "case", c.id, why, fields=sorted(changes))
    retention.refresh_person(uow, c.person_id)
    return c


def allocate(
    uow: UnitOfWork, c: Case, *, manager_id: str | None, why: str, accept_over_capacity: bool = False
) -> Allocation | None:
    """Allocate a manager: the named one (checked for training and capacity: going over it needs
    `accept_over_capacity`, and the warning stays in the reasons) or the suggested one."""
    from case_service.service import managers  # local: managers reads cases

    team = managers.team_loads(uow)
    item = caseload.CaseLoadItem(c.id, c.cohort, c.risk_band, c.mappa_level)
    for m in team:  # the case does not count against its current manager when reallocating
        m.cases = [x for x in m.cases if x.case_id != c.id]
    if manager_id is None:
        sug = caseload.suggest_allocation(team, item, today())
        if sug.manager_id is None:
            return None
        manager_id, reasons = sug.manager_id, list(sug.reasons)
    else:
        named = next((x for x in team if x.manager_id == manager_id), None)
        if named is None:
            raise ValidationProblem([field_error("manager_id", "unknown", "no active manager with this id")])
        if not named.trained_for(c.cohort, today()):
            course = caseload.REQUIRED_TRAINING[c.cohort]
            raise Conflict(
                f"the manager has no valid {course} training for a {c.cohort} case", code="untrained"
            )
        after = named.points + item.points
        util = after / named.capacity if named.capacity > 0 else float("inf")
        reasons = [f"chosen by {actor(uow)}", f"load after allocation {after:.2f} of {named.capacity} points"]
        if util > 1.0:
            pct = f"{util * 100:.0f}%" if named.capacity > 0 else "no capacity"
            if not accept_over_capacity:
                raise Conflict(
                    f"this allocation would take the manager to {pct} of capacity; "
                    "choose another manager or confirm with accept_over_capacity",
                    code="over_capacity",
                    extra={"utilisation_after": round(util, 4) if named.capacity > 0 else None},
                )
            reasons.append(f"warning: over capacity ({pct}), accepted by {actor(uow)}")
    c.manager_id = manager_id
    c.updated_at = now()
    alloc = Allocation(case_id=c.id, manager_id=manager_id, reasons=reasons, allocated_by=actor(uow))
    uow.session.add(alloc)
    alter(uow, "case", c.id, why, manager_id=manager_id)
    uow.emit(
        ManagerAllocated(case_id=c.id, manager_id=manager_id, reasons=tuple(reasons)),
        aggregate_id=c.id,
        subject=person_ref(c.person_id),
    )
    return alloc
