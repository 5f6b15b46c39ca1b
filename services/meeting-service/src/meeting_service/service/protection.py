"""What the meeting-service holds on a person (agenda items and actions, by case person id) and
how it erases them: the items and actions stay as records that the meeting discussed someone, with
the name, the free text about them (notes, minutes, deferral and carry-over reasons, outcomes,
addenda to the item, the actions' carry-over reasons) and the link to the person removed."""

from __future__ import annotations

from typing import Any

from hhpu_shared.uow import UnitOfWork
from sqlmodel import col, select

from meeting_service.models import Action, ActionCarry, Addendum, AgendaItem, Outcome

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
    item_ids = [i.id for i in items]
    for i in items:
        if any(r in i.item_key for r in refs):  # e.g. a big mover's "review:<records id>"
            i.item_key = f"erased:{i.id}"
        i.person_id = None
        i.person_label = None
        i.title = ERASED
        i.notes = i.minutes = None
        i.deferred_reason = i.carried_reason = None
        s.add(i)
    outcomes = s.exec(select(Outcome).where(col(Outcome.item_id).in_(item_ids))).all()
    for o in outcomes:
        o.text = None
        o.reason = None
        s.add(o)
    addenda = s.exec(select(Addendum).where(col(Addendum.item_id).in_(item_ids))).all()
    for ad in addenda:
        ad.text = ERASED
        s.add(ad)
    # The person's actions, and those raised on their items (an action may not name the person).
    actions = s.exec(
        select(Action).where(col(Action.person_id).in_(refs) | col(Action.item_id).in_(item_ids))
    ).all()
    for a in actions:
        a.person_id = None
        a.description = ERASED
        a.status_note = None
        s.add(a)
    carries = s.exec(select(ActionCarry).where(col(ActionCarry.action_id).in_([a.id for a in actions]))).all()
    for c in carries:
        c.reason = ERASED
        s.add(c)
    s.flush()
    return {
        "agenda_items": len(items),
        "outcomes": len(outcomes),
        "addenda": len(addenda),
        "actions": len(actions),
        "action_carries": len(carries),
    }
