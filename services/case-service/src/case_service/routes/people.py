"""People: create, read (audited), change with history, merge."""

from __future__ import annotations

from fastapi import APIRouter, Query, status
from hhpu_shared.events.contracts.common import PersonDetails
from hhpu_shared.http import UoWDep
from hhpu_shared.uow import UnitOfWork

from case_service import repository as repo
from case_service.models import Person
from case_service.routes.common import CaseUser, Justification, Supervisor
from case_service.schemas import (
    IdentifierPublic,
    MergeRequest,
    PersonCreate,
    PersonHistoryPublic,
    PersonPage,
    PersonPublic,
    PersonUpdate,
)
from case_service.service import people
from case_service.service.common import consult

router = APIRouter(prefix="/people", tags=["people"])


def person_out(uow: UnitOfWork, p: Person, *, full: bool = True) -> PersonPublic:
    out = PersonPublic.model_validate(p)
    if full:
        s = uow.session
        out.identifiers = [IdentifierPublic.model_validate(x) for x in repo.identifiers(s, p.id)]
        out.history = [PersonHistoryPublic.model_validate(h) for h in repo.person_history(s, p.id)]
        out.case_ids = [c.id for c in repo.cases_for_person(s, p.id)]
    return out


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PersonPublic)
def create_person(body: PersonCreate, principal: CaseUser, uow: UoWDep, why: Justification) -> PersonPublic:
    """Record a person (matched first by records id or PNC number; never by name alone)."""
    details = PersonDetails(**body.model_dump(exclude={"records_id"}), records_id=body.records_id)
    p = people.find_or_create(
        uow, details, records_id=body.records_id, source=f"api:{principal.subject}", why=why
    )
    consult(uow, "person", p.id, why, view="create_or_match")  # the answer shows the record
    return person_out(uow, p)


@router.get("", response_model=PersonPage)
def list_people(
    principal: CaseUser,
    uow: UoWDep,
    why: Justification,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0),
    include_merged: bool = False,
) -> PersonPage:
    """List people (each listed record is an audited consultation)."""
    rows, total = repo.people(uow.session, limit=limit, offset=offset, include_merged=include_merged)
    for p in rows:
        consult(uow, "person", p.id, why, view="list")
    return PersonPage(
        items=[person_out(uow, p, full=False) for p in rows], total=total, limit=limit, offset=offset
    )


@router.get("/{person_id}", response_model=PersonPublic)
def get_person(person_id: str, principal: CaseUser, uow: UoWDep, why: Justification) -> PersonPublic:
    """A person's record with identifiers, history and cases."""
    return person_out(uow, people.get(uow, person_id, why))


@router.patch("/{person_id}", response_model=PersonPublic)
def update_person(
    person_id: str, body: PersonUpdate, principal: CaseUser, uow: UoWDep, why: Justification
) -> PersonPublic:
    """Change a person's details; the old values stay in the history."""
    p = people.update(uow, person_id, body.model_dump(exclude_unset=True), why)
    return person_out(uow, p)


@router.post("/{person_id}/merge", response_model=PersonPublic)
def merge_person(
    person_id: str, body: MergeRequest, principal: Supervisor, uow: UoWDep, why: Justification
) -> PersonPublic:
    """Merge another record into this one; both are kept and the merge is announced."""
    return person_out(uow, people.merge(uow, person_id, body.merged_person_id, why))
