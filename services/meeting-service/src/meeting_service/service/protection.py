"""What the meeting-service holds on a person (agenda items and actions, by case person id) and
how it erases them: the items and actions stay as records that the meeting discussed someone, with
the name, the free text about them and the link to the person removed."""

from __future__ import annotations

from typing import Any

from hhpu_shared.uow import UnitOfWork
from sqlmodel import col, select

from meeting_service.models import Action, AgendaItem, Outcome

ERASED = "[erased]"


def export(uow: UnitOfWork, refs: list[str]) -> dict[str, Any]:
    s = uow.session
    items = s.exec(select(AgendaItem).where(col(AgendaItem.person_id).in_(refs))).all()
    outcomes = s.exec(select(Outcome).where(col(Outcome.item_id).in_([i.id for i in items]))).all()
    actions = s.exec(select(Action).where(col(Action.person_id).in_(refs))).all()
    return {
        "agenda_items": [i.model_dump(mode="json") for i in items],
        "outcomes": [o.model_dump(mode="json") for o in outcomes],
        "actions": [a.model_dump(mode="json") for a in actions],
    }


def erase(uow: UnitOfWork, refs: list[str]) -> dict[str, int]:
    s = uow.session
    items = s.exec(select(AgendaItem).where(col(AgendaItem.person_id).in_(refs))).all()
    for i in items:
        i.person_id = None
        i.person_label = None
        i.title = ERASED
        i.notes = i.minutes = None
        s.add(i)
    outcomes = s.exec(select(Outcome).where(col(Outcome.item_id).in_([i.id for i in items]))).all()
    for o in outcomes:
        o.text = None
        o.reason = None
        s.add(o)
    actions = s.exec(select(Action).where(col(Action.person_id).in_(refs))).all()
    for a in actions:
        a.person_id = None
        a.description = ERASED
        a.status_note = None
        s.add(a)
    s.flush()
    return {"agenda_items": len(items), "outcomes": len(outcomes), "actions": len(actions)}
