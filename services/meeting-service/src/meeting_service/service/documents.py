"""The printable meeting pack and minutes: what they print, cut to a recipient agency, each person
shown audited (a disclosure when the document goes to an agency), fields withheld by role."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from hhpu_shared.http import PageParams
from hhpu_shared.uow import UnitOfWork
from hhpu_shared.visibility import redact_dict

from meeting_service.domain.pack import PackData, for_recipient, render_minutes, render_pack
from meeting_service.models import Meeting
from meeting_service.service import actions, agenda, meetings, outcomes
from meeting_service.service.views import action_public, agenda_public, audit_people, meeting_public


def pack_data(uow: UnitOfWork, meeting: Meeting) -> PackData:
    """Everything the pack and minutes print, agencies by name (cut to a recipient by `for_recipient`)."""
    rows = meetings.list_agencies(uow, PageParams(limit=10_000, offset=0))[0]
    names = {a.id: a.name for a in rows}
    plan = agenda_public(agenda.plan(uow, meeting))
    items = {i.id: i for i in agenda.all_items(uow, meeting)}
    decisions: list[dict[str, Any]] = []
    for o in outcomes.decisions(uow, meeting):
        it = items.get(o.item_id)
        label = {"item_title": it.title if it else "", "person_label": it.person_label if it else ""}
        decisions.append(o.model_dump() | label)
    return PackData(
        meeting=meeting_public(uow, meeting).model_dump(),
        agency_names=names,
        agenda=[i.model_dump() for i in plan.kept],
        moved=[i.model_dump() for i in plan.moved]
        + [d.item.model_dump() | {"deferred_reason": d.reason} for d in plan.to_defer],
        decisions=decisions,
        actions=[action_public(uow, a).model_dump() for a in actions.actions_of_meeting(uow, meeting.id)],
        addenda=[a.model_dump() for a in outcomes.all_addenda(uow, meeting)],
        planned_minutes=plan.planned_minutes,
        notes=list(plan.notes),
    )


def document_data(
    uow: UnitOfWork, meeting_id: str, recipient: str | None, why: str, kind: str
) -> tuple[PackData, Meeting]:
    """The document's data as the caller may see it (audited as `kind`), and its meeting."""
    meeting, scope = meetings.get_visible_meeting(uow, meeting_id)
    agency = scope or recipient  # a partner agency gets its own version, whatever it asks for
    data = pack_data(uow, meeting)
    if agency is not None:
        data = for_recipient(data, agency)
    # One entry per person the document shows (a disclosure when it goes to an agency).
    people = [i.get("person_id") for i in (*data.agenda, *data.moved, *data.actions)]
    audit_people(uow, people, subject_type=kind, subject_id=meeting.id, why=why, recipient=agency)
    return redacted(uow, data), meeting


def redacted(uow: UnitOfWork, data: PackData) -> PackData:
    """The document as the caller's role may see it (fields withheld per hhpu_shared.visibility)."""
    p = uow.principal

    def cut(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return [redact_dict(p, dict(r)) for r in rows]

    return replace(
        data,
        agenda=cut(data.agenda),
        moved=cut(data.moved),
        decisions=cut(data.decisions),
        actions=cut(data.actions),
        addenda=cut(data.addenda),
    )


def pack(uow: UnitOfWork, meeting_id: str, recipient: str | None, why: str) -> tuple[str, str]:
    """The meeting pack as HTML, and its file name (without extension)."""
    data, meeting = document_data(uow, meeting_id, recipient, why, "meeting_pack")
    return render_pack(data), f"meeting-pack-{meeting.scheduled_on}"


def minutes(uow: UnitOfWork, meeting_id: str, recipient: str | None, why: str) -> tuple[str, str]:
    """The minutes as HTML, and their file name (without extension)."""
    data, meeting = document_data(uow, meeting_id, recipient, why, "meeting_minutes")
    return render_minutes(data), f"minutes-{meeting.scheduled_on}"
