"""Every query of the case-service."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, delete, event, insert, union
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select
from sqlmodel.sql.expression import SelectOfScalar

from case_service.domain.search import name_keys
from case_service.models import (
    Allocation,
    Assessment,
    AssessmentDecision,
    AssessmentTrigger,
    Case,
    CaseNote,
    CaseStatusChange,
    Intervention,
    Manager,
    Person,
    PersonHistory,
    PersonIdentifier,
    PersonSearchKey,
    RetentionReview,
    RiskAssessment,
    TrainingRecord,
    new_id,
)

T = TypeVar("T")


def _page(s: Session, q: SelectOfScalar[T], *order: Any, limit: int, offset: int) -> tuple[Sequence[T], int]:
    """One page of `q` in a stable order, and how many rows match in all."""
    total = s.exec(select(func.count()).select_from(q.subquery())).one()
    return s.exec(q.order_by(*order).offset(offset).limit(limit)).all(), int(total)


# -- people ----------------------------------------------------------------------------
def person(s: Session, person_id: str) -> Person | None:
    return s.get(Person, person_id)


def person_by_records_id(s: Session, records_id: str) -> Person | None:
    return s.exec(select(Person).where(Person.records_id == records_id)).first()


def person_by_identifier(s: Session, kind: str, value: str) -> Person | None:
    ident = s.exec(
        select(PersonIdentifier).where(PersonIdentifier.kind == kind, PersonIdentifier.value == value)
    ).first()
    return s.get(Person, ident.person_id) if ident else None


def identifiers(s: Session, person_id: str) -> Sequence[PersonIdentifier]:
    return s.exec(select(PersonIdentifier).where(PersonIdentifier.person_id == person_id)).all()


def identifier(s: Session, kind: str, value: str) -> PersonIdentifier | None:
    return s.exec(
        select(PersonIdentifier).where(PersonIdentifier.kind == kind, PersonIdentifier.value == value)
    ).first()


def person_history(s: Session, person_id: str) -> Sequence[PersonHistory]:
    q = select(PersonHistory).where(PersonHistory.person_id == person_id).order_by(col(PersonHistory.at))
    return s.exec(q).all()


def people(
    s: Session, *, limit: int, offset: int, include_merged: bool = False
) -> tuple[Sequence[Person], int]:
    q = select(Person)
    if not include_merged:
        q = q.where(col(Person.merged_into).is_(None))
    return _page(s, q, col(Person.created_at), col(Person.id), limit=limit, offset=offset)


# -- assessments -----------------------------------------------------------------------
def assessment(s: Session, assessment_id: str) -> Assessment | None:
    return s.get(Assessment, assessment_id)


def open_assessment(s: Session, person_id: str) -> Assessment | None:
    return s.exec(select(Assessment).where(Assessment.open_key == person_id)).first()


def triggers(s: Session, assessment_id: str) -> Sequence[AssessmentTrigger]:
    q = (
        select(AssessmentTrigger)
        .where(AssessmentTrigger.assessment_id == assessment_id)
        .order_by(col(AssessmentTrigger.received_at), col(AssessmentTrigger.id))
    )
    return s.exec(q).all()


def trigger(s: Session, assessment_id: str, source: str, ref: str) -> AssessmentTrigger | None:
    q = select(AssessmentTrigger).where(
        AssessmentTrigger.assessment_id == assessment_id,
        AssessmentTrigger.source == source,
        AssessmentTrigger.ref == ref,
    )
    return s.exec(q).first()


def open_triggers_by_ref(s: Session, source: str, ref: str) -> Sequence[AssessmentTrigger]:
    """The triggers from `source`/`ref` still counted on an open assessment."""
    q = (
        select(AssessmentTrigger)
        .join(Assessment, col(Assessment.id) == col(AssessmentTrigger.assessment_id))
        .where(
            AssessmentTrigger.source == source,
            AssessmentTrigger.ref == ref,
            col(AssessmentTrigger.withdrawn_at).is_(None),
            Assessment.status == "open",
        )
    )
    return s.exec(q).all()


def decisions(s: Session, assessment_id: str) -> Sequence[AssessmentDecision]:
    q = select(AssessmentDecision).where(AssessmentDecision.assessment_id == assessment_id)
    return s.exec(q.order_by(col(AssessmentDecision.at))).all()


def assessments(
    s: Session, *, status: str | None, person_id: str | None, limit: int, offset: int
) -> tuple[Sequence[Assessment], int]:
    q = select(Assessment)
    if status:
        q = q.where(Assessment.status == status)
    if person_id:
        q = q.where(Assessment.person_id == person_id)
    order = (col(Assessment.opened_at).desc(), col(Assessment.id))
    return _page(s, q, *order, limit=limit, offset=offset)


def assessments_for_person(s: Session, person_id: str) -> Sequence[Assessment]:
    return s.exec(select(Assessment).where(Assessment.person_id == person_id)).all()


def assessments_opened_since(s: Session, since: datetime) -> Sequence[Assessment]:
    q = select(Assessment).where(col(Assessment.opened_at) >= since).order_by(col(Assessment.opened_at))
    return s.exec(q).all()


# -- cases -----------------------------------------------------------------------------
def case(s: Session, case_id: str) -> Case | None:
    return s.get(Case, case_id)


def active_case(s: Session, person_id: str) -> Case | None:
    return s.exec(select(Case).where(Case.active_key == person_id)).first()


def cases_for_person(s: Session, person_id: str) -> Sequence[Case]:
    return s.exec(select(Case).where(Case.person_id == person_id).order_by(col(Case.created_at))).all()


def cases(
    s: Session,
    *,
    status: str | None = None,
    cohort: str | None = None,
    manager_id: str | None = None,
    limit: int,
    offset: int,
) -> tuple[Sequence[Case], int]:
    q = select(Case)
    if status:
        q = q.where(Case.status == status)
    if cohort:
        q = q.where(Case.cohort == cohort)
    if manager_id:
        q = q.where(Case.manager_id == manager_id)
    return _page(s, q, col(Case.created_at), col(Case.id), limit=limit, offset=offset)


def managed_cases(s: Session, manager_id: str | None = None) -> Sequence[Case]:
    q = select(Case).where(Case.status == "managed")
    if manager_id:
        q = q.where(Case.manager_id == manager_id)
    return s.exec(q.order_by(col(Case.created_at), col(Case.id))).all()


def adopted_cases(s: Session) -> Sequence[Case]:
    return s.exec(select(Case).where(col(Case.adopted_on).is_not(None))).all()


def status_changes(s: Session, case_id: str) -> Sequence[CaseStatusChange]:
    q = select(CaseStatusChange).where(CaseStatusChange.case_id == case_id)
    return s.exec(q.order_by(col(CaseStatusChange.at), col(CaseStatusChange.id))).all()


# -- risk, notes, interventions --------------------------------------------------------
_RISK_ORDER = (col(RiskAssessment.assessed_on), col(RiskAssessment.recorded_at), col(RiskAssessment.id))


def risk_history(s: Session, case_id: str, tool: str | None = None) -> Sequence[RiskAssessment]:
    q = select(RiskAssessment).where(RiskAssessment.case_id == case_id)
    if tool:
        q = q.where(RiskAssessment.tool == tool)
    return s.exec(q.order_by(*_RISK_ORDER)).all()


def risk_page(s: Session, case_id: str, *, limit: int, offset: int) -> tuple[Sequence[RiskAssessment], int]:
    q = select(RiskAssessment).where(RiskAssessment.case_id == case_id)
    return _page(s, q, *_RISK_ORDER, limit=limit, offset=offset)


def all_risk_assessments(s: Session) -> Sequence[RiskAssessment]:
    return s.exec(select(RiskAssessment)).all()


def note(s: Session, note_id: str) -> CaseNote | None:
    return s.get(CaseNote, note_id)


def notes(s: Session, case_id: str, *, limit: int, offset: int) -> tuple[Sequence[CaseNote], int]:
    q = select(CaseNote).where(CaseNote.case_id == case_id)
    return _page(s, q, col(CaseNote.at), col(CaseNote.id), limit=limit, offset=offset)


def corrections_of(s: Session, note_ids: Sequence[str]) -> Sequence[CaseNote]:
    """The notes that correct any of `note_ids`, in order."""
    if not note_ids:
        return []
    q = select(CaseNote).where(col(CaseNote.corrects_note_id).in_(list(note_ids)))
    return s.exec(q.order_by(col(CaseNote.at), col(CaseNote.id))).all()


def intervention(s: Session, intervention_id: str) -> Intervention | None:
    return s.get(Intervention, intervention_id)


def interventions(s: Session, case_id: str | None = None) -> Sequence[Intervention]:
    q = select(Intervention)
    if case_id:
        q = q.where(Intervention.case_id == case_id)
    return s.exec(q.order_by(col(Intervention.recorded_at))).all()


def case_interventions(
    s: Session, case_id: str, *, limit: int, offset: int
) -> tuple[Sequence[Intervention], int]:
    q = select(Intervention).where(Intervention.case_id == case_id)
    return _page(s, q, col(Intervention.recorded_at), col(Intervention.id), limit=limit, offset=offset)


# -- managers --------------------------------------------------------------------------
def manager(s: Session, manager_id: str) -> Manager | None:
    return s.get(Manager, manager_id)


def manager_by_staff_id(s: Session, staff_id: str) -> Manager | None:
    return s.exec(select(Manager).where(Manager.staff_id == staff_id)).first()


def managers(s: Session) -> Sequence[Manager]:
    return s.exec(select(Manager).order_by(col(Manager.name), col(Manager.id))).all()


def managers_page(s: Session, *, limit: int, offset: int) -> tuple[Sequence[Manager], int]:
    return _page(s, select(Manager), col(Manager.name), col(Manager.id), limit=limit, offset=offset)


def training(s: Session, manager_id: str | None = None) -> Sequence[TrainingRecord]:
    q = select(TrainingRecord)
    if manager_id:
        q = q.where(TrainingRecord.manager_id == manager_id)
    return s.exec(q.order_by(col(TrainingRecord.completed_on))).all()


def allocations(s: Session, case_id: str) -> Sequence[Allocation]:
    return s.exec(select(Allocation).where(Allocation.case_id == case_id).order_by(col(Allocation.at))).all()


def search_pool(
    s: Session, *, keys: set[str], identifiers: set[str], date_of_birth: date | None
) -> tuple[Sequence[Any], Sequence[PersonIdentifier]]:
    """The people a person search scores (id, names, aliases, date of birth and records id: enough to
    score, not whole records) and their identifiers: not merged, and sharing a name key, an
    identifier or the date of birth with the query. The database picks them (indexed lookups); the
    query's values are a few bound parameters, the people found a subquery, never a list."""
    found = []
    if keys:
        found.append(select(PersonSearchKey.person_id).where(col(PersonSearchKey.key).in_(sorted(keys))))
    if identifiers:
        ident = col(PersonIdentifier.search_value).in_(sorted(identifiers))
        found.append(select(PersonIdentifier.person_id).where(ident))
    if date_of_birth is not None:
        found.append(select(Person.id).where(Person.date_of_birth == date_of_birth))
    if not found:
        return [], []
    ids = select(Person.id).where(col(Person.merged_into).is_(None), col(Person.id).in_(union(*found)))
    fields = [
        col(f)
        for f in (Person.id, Person.given_name, Person.middle_names, Person.family_name, Person.aliases)
    ]
    people_q = sa_select(*fields, col(Person.date_of_birth), col(Person.records_id))
    people_q = people_q.where(col(Person.id).in_(ids))
    idents_q = select(PersonIdentifier).where(col(PersonIdentifier.person_id).in_(ids))
    return s.execute(people_q.order_by(col(Person.id))).all(), s.exec(idents_q).all()


def write_search_keys(conn: Connection, person_id: str, keys: set[str], *, new: bool = False) -> None:
    """Replace the person's search keys (on the flush's connection: see `_names_changed`); a `new`
    person has none to replace."""
    table = PersonSearchKey.__table__  # type: ignore[attr-defined]
    if not new:
        conn.execute(delete(table).where(table.c.person_id == person_id))
    if keys:
        conn.execute(
            insert(table), [{"id": new_id(), "person_id": person_id, "key": k} for k in sorted(keys)]
        )


NAME_FIELDS = ("given_name", "middle_names", "family_name", "aliases")


def person_names(p: Any) -> list[str]:
    """Full name first, then each alias (what a search compares)."""
    return [" ".join(n for n in (p.given_name, p.middle_names, p.family_name) if n), *p.aliases]


@event.listens_for(Person, "after_update")
def _names_changed(_mapper: Any, conn: Connection, target: Person) -> None:
    """Whenever a person's names change, however (an update, details added, an erasure), their
    search keys are rewritten in the same flush, so a search never finds a name no longer held."""
    state = sa_inspect(target)
    if any(state.attrs[f].history.has_changes() for f in NAME_FIELDS):
        write_search_keys(conn, target.id, name_keys(person_names(target)))


# -- MoPI review and retention ---------------------------------------------------------
def triggers_of_person(s: Session, person_id: str) -> Sequence[AssessmentTrigger]:
    """The triggers of every assessment about the person (one query)."""
    q = (
        select(AssessmentTrigger)
        .join(Assessment, col(Assessment.id) == col(AssessmentTrigger.assessment_id))
        .where(Assessment.person_id == person_id)
    )
    return s.exec(q).all()


def risk_tools_of(s: Session, case_ids: Sequence[str]) -> set[str]:
    if not case_ids:
        return set()
    q = select(RiskAssessment.tool).where(col(RiskAssessment.case_id).in_(list(case_ids))).distinct()
    return set(s.exec(q).all())


def person_for_update(s: Session, person_id: str) -> Person | None:
    """The person, locked until the transaction ends (PostgreSQL), so two decisions take turns."""
    return s.get(Person, person_id, with_for_update=True)


def review_queue(
    s: Session, *, due_before: date, groups: Sequence[int], limit: int, offset: int
) -> tuple[Sequence[Person], int]:
    """People (not merged, not disposed of) whose review is due on or before `due_before`, soonest first."""
    q = select(Person).where(
        col(Person.merged_into).is_(None),
        col(Person.mopi_review_on).is_not(None),
        col(Person.mopi_review_on) <= due_before,
    )
    if groups:
        q = q.where(col(Person.mopi_group).in_(list(groups)))
    return _page(s, q, col(Person.mopi_review_on), col(Person.id), limit=limit, offset=offset)


def reviews_overdue_by_group(s: Session, today: date) -> dict[int, int]:
    """How many people's review date has passed, by group (for the dashboards)."""
    q = (
        select(Person.mopi_group, func.count())
        .where(
            col(Person.merged_into).is_(None),
            col(Person.mopi_review_on).is_not(None),
            col(Person.mopi_review_on) < today,
        )
        .group_by(col(Person.mopi_group))
    )
    return {int(g): int(n) for g, n in s.exec(q).all()}


def retention_reviews(
    s: Session, person_id: str, *, limit: int, offset: int
) -> tuple[Sequence[RetentionReview], int]:
    q = select(RetentionReview).where(RetentionReview.person_id == person_id)
    return _page(s, q, col(RetentionReview.at), col(RetentionReview.id), limit=limit, offset=offset)
