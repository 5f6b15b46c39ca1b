"""People: create, read (audited), change with history, merge."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status
from hhpu_shared.events.contracts.common import PersonDetails
from hhpu_shared.fields import Line
from hhpu_shared.http import JustificationDep, Page, PageDep, UoWDep

from case_service.domain.search import Query as Query_
from case_service.routes.common import CaseSettingsDep, CaseUser, Supervisor
from case_service.schemas import MergeRequest, PersonCreate, PersonPublic, PersonUpdate
from case_service.service import people

router = APIRouter(prefix="/people", tags=["people"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PersonPublic)
def create_person(
    body: PersonCreate, principal: CaseUser, uow: UoWDep, why: JustificationDep
) -> PersonPublic:
    """Record a person (matched first by records id or PNC number; never by name alone)."""
    details = PersonDetails(**body.model_dump(exclude={"records_id"}), records_id=body.records_id)
    p = people.record(uow, details, records_id=body.records_id, source=f"api:{principal.subject}", why=why)
    return people.public(uow, p)


@router.get("", response_model=Page[PersonPublic])
def list_people(
    principal: CaseUser,
    uow: UoWDep,
    why: JustificationDep,
    page: PageDep,
    settings: CaseSettingsDep,
    include_merged: bool = False,
    q: Annotated[
        Line | None, Query(max_length=200, description="a name: spelling and sound tolerant, aliases too")
    ] = None,
    family_name: Annotated[Line | None, Query(max_length=100)] = None,
    given_name: Annotated[Line | None, Query(max_length=100)] = None,
    date_of_birth: date | None = None,
    pnc: Annotated[Line | None, Query(max_length=32, description="PNC number, e.g. 91/12345A")] = None,
    identifier: Annotated[
        Line | None, Query(max_length=128, description="records id or a partner's reference")
    ] = None,
) -> Page[PersonPublic]:
    """Search people by name, date of birth, PNC number or identifier, strongest match first (each with
    its score and reasons); with no criteria, list them. The search and each record are audited."""
    name = " ".join(x for x in (q, given_name, family_name) if x)
    query = Query_(name=name, date_of_birth=date_of_birth, identifier=pnc or identifier or "")
    if query.empty:
        return people.listing(uow, page, include_merged=include_merged, why=why)
    return people.search(uow, page, query, why=why, term_key=settings.internal_secret)


@router.get("/{person_id}", response_model=PersonPublic)
def get_person(person_id: str, principal: CaseUser, uow: UoWDep, why: JustificationDep) -> PersonPublic:
    """A person's record with identifiers, history and cases."""
    return people.public(uow, people.get(uow, person_id, why))


@router.patch("/{person_id}", response_model=PersonPublic)
def update_person(
    person_id: str, body: PersonUpdate, principal: CaseUser, uow: UoWDep, why: JustificationDep
) -> PersonPublic:
    """Change a person's details; the old values stay in the history."""
    return people.public(uow, people.update(uow, person_id, body.model_dump(exclude_unset=True), why))


@router.post("/{person_id}/merge", response_model=PersonPublic)
def merge_person(
    person_id: str, body: MergeRequest, principal: Supervisor, uow: UoWDep, why: JustificationDep
) -> PersonPublic:
    """Merge another record into this one; both are kept and the merge is announced."""
    return people.public(uow, people.merge(uow, person_id, body.merged_person_id, why))
