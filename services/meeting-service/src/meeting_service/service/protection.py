"""What the meeting-service holds on a person (agenda items and actions, by case person id) and
how it erases them: the items and actions stay as records that the meeting discussed someone, with
the name, the free text about them (notes, minutes, deferral and carry-over reasons, outcomes,
addenda to the item, the actions' carry-over reasons) and the link to the person removed."""

from __future__ import annotations

from typing import Any

from hhpu_shared.uow import UnitOfWork

from meeting_service import repository as repo

ERASED = "[erased]"


def export(uow: UnitOfWork, refs: list[str]) -> dict[str, Any]:
    s = uow.session
    items = repo.items_of_people(s, refs)
    outcomes = repo.outcomes_of_items(s, [i.id for i in items])
    actions = repo.actions_of_people(s, refs)
    return {
        "agenda_items": [i.model_dump(mode="json") for i in items],
        "outcomes": [o.model_dump(mode="json") for o in outcomes],
        "actions": [a.model_dump(mode="json") for a in actions],
    }


def erase(uow: UnitOfWork, refs: list[str]) -> dict[str, int]:
    s = uow.session
    items = repo.items_of_people(s, refs)
    item_ids = [i.id for i in items]
    for i in items:
        if any(r in i.item_key for r in refs):  # e.g. a big mover's "review:<records id>"
            i.item_key = f"erased:{i.id}"
        i.person_id = None
        i.person_label = None
        i.title = ERASED
        i.notes = i.minutes = None
        i.deferred_reason = i.carried_reason = None
        repo.add(s, i)
    outcomes = repo.outcomes_of_items(s, item_ids)
    for o in outcomes:
        o.text = None
        o.reason = None
        repo.add(s, o)
    addenda = repo.addenda_of_items(s, item_ids)
    for ad in addenda:
        ad.text = ERASED
        repo.add(s, ad)
    # The person's actions, and those raised on their items (an action may not name the person).
    actions = repo.actions_of_people_or_items(s, refs, item_ids)
    for a in actions:
        a.person_id = None
        a.description = ERASED
        a.status_note = None
        repo.add(s, a)
    carries = repo.carries_of_actions(s, [a.id for a in actions])
    for c in carries:
        c.reason = ERASED
        repo.add(s, c)
    repo.flush(s)
    return {
        "agenda_items": len(items),
        "outcomes": len(outcomes),
        "addenda": len(addenda),
        "actions": len(actions),
        "action_carries": len(carries),
    }
