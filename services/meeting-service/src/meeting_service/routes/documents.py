"""HTTP: the printable meeting pack and minutes, as HTML or PDF, for the unit or one partner agency."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from hhpu_shared.documents import DocFormat, respond
from hhpu_shared.http import JustificationDep, UoWDep

from meeting_service.routes.common import Participant
from meeting_service.service import documents

router = APIRouter(tags=["outcomes and actions"])

Recipient = Annotated[
    str | None,
    Query(
        max_length=64,
        description="agency id: that agency's version only (a partner always gets its own version)",
    ),
]
Format = Annotated[DocFormat, Query(alias="format", description="html (default) or pdf")]
PDF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {}, "application/pdf": {}}, "description": "the document"}
}


@router.get("/meetings/{meeting_id}/pack", response_class=Response, responses=PDF_RESPONSE)
def meeting_pack(
    meeting_id: str,
    _: Participant,
    uow: UoWDep,
    why: JustificationDep,
    recipient: Recipient = None,
    fmt: Format = DocFormat.html,
) -> Response:
    """The printable meeting pack (attendance, agenda, decisions, actions) as HTML or PDF; audited."""
    html, filename = documents.pack(uow, meeting_id, recipient, why)
    return respond(html, fmt, filename)


@router.get("/meetings/{meeting_id}/minutes", response_class=Response, responses=PDF_RESPONSE)
def meeting_minutes(
    meeting_id: str,
    _: Participant,
    uow: UoWDep,
    why: JustificationDep,
    recipient: Recipient = None,
    fmt: Format = DocFormat.html,
) -> Response:
    """The minutes (each item's minute, decisions, actions, addenda) as HTML or PDF; audited."""
    html, filename = documents.minutes(uow, meeting_id, recipient, why)
    return respond(html, fmt, filename)
