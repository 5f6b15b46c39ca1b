"""Agenda planning: keep the meeting under its time limit, new cases first.

Pure functions over plain data. Priority when the planned total would pass the limit:

1. items the chair added or pinned by hand (the chair's explicit choice);
2. new cases, most urgent first (the contract's ``Urgency`` order: urgent, high, normal, low);
3. overdue actions (short items: partners' accountability);
4. reviews, most urgent first;
5. anything else.

Items are taken in that order until the next one would pass the limit; from then on every
remaining item is deferred (moved to the next meeting) with its reason, so a less urgent item
never jumps ahead of a more urgent one that did not fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from hhpu_shared.events.contracts.common import urgency_rank

DEFAULT_LIMIT = 120

KIND_RANK = {"new_case": 1, "overdue_action": 2, "review": 3}
OTHER_RANK = 4

REASON_NEW_CASES_FIRST = "time_limit_new_cases_first"
REASON_LESS_URGENT_NEW_CASE = "time_limit_less_urgent_new_case"
REASON_TIME_LIMIT = "time_limit"


@dataclass(frozen=True)
class PlanItem:
    """One agenda item as the planner sees it."""

    id: str
    kind: str  # new_case | review | overdue_action | other
    minutes: int
    urgency: str = "normal"  # an Urgency (a row older than the contract: ranked as normal)
    order: int = 0  # tie-break: earlier (e.g. bigger mover, older item) first
    pinned: bool = False  # added or pinned by hand: always considered first
    position: int | None = None  # set when the chair reordered the agenda


@dataclass(frozen=True)
class DeferredItem:
    item: PlanItem
    reason_code: str
    reason: str


@dataclass(frozen=True)
class AgendaPlan:
    kept: list[PlanItem]
    deferred: list[DeferredItem]
    limit: int
    requested_minutes: int
    planned_minutes: int
    notes: list[str] = field(default_factory=list)

    @property
    def over_limit(self) -> bool:
        return self.requested_minutes > self.limit


def priority_key(item: PlanItem) -> tuple[int, int, int, str]:
    rank = 0 if item.pinned else KIND_RANK.get(item.kind, OTHER_RANK)
    return (rank, -urgency_rank(item.urgency), item.order, item.id)


def _reason(item: PlanItem, *, used: int, limit: int, new_case_minutes: int) -> DeferredItem:
    if item.kind == "new_case" and not item.pinned:
        code = REASON_LESS_URGENT_NEW_CASE
        text = (
            f"New cases alone need {new_case_minutes} minutes, more than the {limit}-minute limit; "
            f"this less urgent new case (urgency {item.urgency}) moves to the next meeting."
        )
    elif item.kind == "review" and not item.pinned:
        code = REASON_NEW_CASES_FIRST
        text = (
            f"The agenda would pass {limit} minutes ({used} planned); new cases and more urgent "
            f"reviews come first, so this review (urgency {item.urgency}) moves to the next meeting."
        )
    else:
        code = REASON_TIME_LIMIT
        text = (
            f"The agenda would pass {limit} minutes ({used} planned); this {item.kind.replace('_', ' ')} "
            "item moves to the next meeting."
        )
    return DeferredItem(item, code, text)


def plan_agenda(items: Sequence[PlanItem], limit: int = DEFAULT_LIMIT) -> AgendaPlan:
    """Split `items` into those kept (in meeting order) and those deferred, each with a reason."""
    if limit <= 0:
        raise ValueError("limit must be positive")
    requested = sum(i.minutes for i in items)
    new_case_minutes = sum(i.minutes for i in items if i.kind == "new_case" and not i.pinned)
    kept: list[PlanItem] = []
    deferred: list[DeferredItem] = []
    used = 0
    cut = False
    for item in sorted(items, key=priority_key):
        if not cut and used + item.minutes <= limit:
            kept.append(item)
            used += item.minutes
            continue
        cut = True
        deferred.append(_reason(item, used=used, limit=limit, new_case_minutes=new_case_minutes))
    if any(i.position is not None for i in kept):
        order = {i.id: n for n, i in enumerate(kept)}
        kept.sort(key=lambda i: (i.position is None, i.position or 0, order[i.id]))
    notes = []
    if requested > limit:
        notes.append(
            f"Requested {requested} minutes, over the {limit}-minute limit: kept {len(kept)} items "
            f"({used} minutes), moved {len(deferred)} to the next meeting."
        )
    return AgendaPlan(kept, deferred, limit, requested, used, notes)
