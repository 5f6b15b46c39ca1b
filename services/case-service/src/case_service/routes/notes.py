"""Case notes: append-only (there is no update or delete route); corrections point at the old note."""

from __future__ import annotations

from fastapi import APIRouter, status
from hhpu_shared.http import JustificationDep, Page, PageDep, UoWDep

from case_service.routes.common import CaseUser
from case_service.schemas_records import NoteCreate, NotePublic
from case_service.service import records

router = APIRouter(tags=["case notes"])


@router.post("/cases/{case_id}/notes", status_code=status.HTTP_201_CREATED, response_model=NotePublic)
def add_note(
    case_id: str, body: NoteCreate, principal: CaseUser, uow: UoWDep, why: JustificationDep
) -> NotePublic:
    """Add a note marked fact or assessment; a correction names the note it corrects."""
    return NotePublic.model_validate(
        records.add_note(uow, case_id, body.kind, body.text, body.corrects_note_id, why)
    )


@router.get("/cases/{case_id}/notes", response_model=Page[NotePublic])
def list_notes(
    case_id: str, principal: CaseUser, uow: UoWDep, why: JustificationDep, page: PageDep
) -> Page[NotePublic]:
    """A case's notes in order, each showing the notes that correct it."""
    return records.notes(uow, case_id, page, why)
