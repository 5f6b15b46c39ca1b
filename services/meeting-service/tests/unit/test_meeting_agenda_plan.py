"""plan_agenda on constructed cases: under and over 120 minutes, journey 3, deferral reasons."""

from __future__ import annotations

import pytest
from hhpu_shared.events.contracts.common import URGENCIES as CONTRACT_URGENCIES
from hhpu_shared.events.contracts.common import urgency_rank
from meeting_service.domain.agenda import (
    REASON_LESS_URGENT_NEW_CASE,
    REASON_NEW_CASES_FIRST,
    REASON_TIME_LIMIT,
    PlanItem,
    plan_agenda,
)

URGENCIES = ["urgent", "high", "low", "normal", "high", "low", "urgent", "normal", "low"]


def new_cases(n: int, urgency: str = "normal") -> list[PlanItem]:
    return [PlanItem(id=f"new-{i}", kind="new_case", minutes=8, urgency=urgency, order=i) for i in range(n)]


def reviews(urgencies: list[str]) -> list[PlanItem]:
    return [
        PlanItem(id=f"rev-{i}", kind="review", minutes=5, urgency=u, order=i) for i, u in enumerate(urgencies)
    ]


def test_under_the_limit_everything_is_kept_new_cases_first() -> None:
    items = reviews(["low", "urgent"]) + new_cases(3)
    plan = plan_agenda(items)
    assert [i.id for i in plan.kept] == ["new-0", "new-1", "new-2", "rev-1", "rev-0"]
    assert plan.deferred == []
    assert plan.planned_minutes == plan.requested_minutes == 34
    assert not plan.over_limit
    assert plan.notes == []


def test_exactly_at_the_limit_is_kept() -> None:
    plan = plan_agenda(new_cases(15))  # 15 x 8 = 120
    assert len(plan.kept) == 15 and plan.deferred == []
    assert plan.planned_minutes == 120


def test_journey_3_twelve_new_cases_and_nine_reviews() -> None:
    items = new_cases(12) + reviews(URGENCIES)
    plan = plan_agenda(items, limit=120)
    assert plan.requested_minutes == 141
    assert plan.over_limit
    kept_ids = [i.id for i in plan.kept]
    # the 12 new cases (96 minutes) first, then the four most urgent reviews: 116 minutes in all
    assert kept_ids[:12] == [f"new-{i}" for i in range(12)]
    assert sum(i.minutes for i in plan.kept if i.kind == "new_case") == 96
    assert kept_ids[12:] == ["rev-0", "rev-6", "rev-1", "rev-4"]  # urgent, urgent, high, high
    assert plan.planned_minutes == 116
    # the other five reviews move to the next meeting, each with its reason
    assert [d.item.id for d in plan.deferred] == ["rev-3", "rev-7", "rev-2", "rev-5", "rev-8"]
    for d in plan.deferred:
        assert d.item.kind == "review"
        assert d.reason_code == REASON_NEW_CASES_FIRST
        assert "120 minutes" in d.reason and "116 planned" in d.reason and "next meeting" in d.reason
    assert "141" in plan.notes[0] and "moved 5" in plan.notes[0]


def test_new_cases_alone_over_the_limit_defer_the_least_urgent_new_cases_too() -> None:
    items = (
        new_cases(10, "normal")
        + [PlanItem(id="new-low-a", kind="new_case", minutes=8, urgency="low", order=20)]
        + [PlanItem(id="new-urgent", kind="new_case", minutes=8, urgency="urgent", order=21)]
        + [
            PlanItem(id=f"new-high-{i}", kind="new_case", minutes=8, urgency="high", order=30 + i)
            for i in range(5)
        ]
        + [PlanItem(id="new-low-b", kind="new_case", minutes=8, urgency="low", order=40)]
        + reviews(["urgent", "high"])
    )
    # 18 new cases = 144 minutes: only 15 fit
    plan = plan_agenda(items)
    kept_new = [i for i in plan.kept if i.kind == "new_case"]
    assert len(kept_new) == 15 and plan.planned_minutes == 120
    assert kept_new[0].id == "new-urgent"
    deferred = {d.item.id: d for d in plan.deferred}
    assert {"new-low-a", "new-low-b"} <= set(deferred)  # the least urgent new cases move
    assert sum(1 for d in plan.deferred if d.item.kind == "new_case") == 3
    for d in plan.deferred:
        if d.item.kind == "new_case":
            assert d.reason_code == REASON_LESS_URGENT_NEW_CASE
            assert "New cases alone need 144 minutes" in d.reason
        else:
            assert d.reason_code == REASON_NEW_CASES_FIRST
    # every review moves too
    assert {"rev-0", "rev-1"} <= set(deferred)


def test_less_urgent_item_never_jumps_a_more_urgent_one_that_did_not_fit() -> None:
    items = new_cases(14) + [
        PlanItem(id="big-review", kind="review", minutes=10, urgency="urgent"),
        PlanItem(id="small-review", kind="review", minutes=5, urgency="low"),
    ]
    plan = plan_agenda(items)  # 112 used; the urgent 10-minute review does not fit
    assert {d.item.id for d in plan.deferred} == {"big-review", "small-review"}


def test_overdue_actions_come_after_new_cases_before_reviews() -> None:
    items = reviews(["urgent"]) + [PlanItem(id="act", kind="overdue_action", minutes=3)] + new_cases(1)
    plan = plan_agenda(items)
    assert [i.id for i in plan.kept] == ["new-0", "act", "rev-0"]


def test_pinned_items_are_kept_first_and_others_give_way() -> None:
    items = new_cases(15) + [PlanItem(id="chair", kind="other", minutes=10, pinned=True)]
    plan = plan_agenda(items)
    assert plan.kept[0].id == "chair"
    assert len(plan.deferred) == 2
    assert all(d.reason_code == REASON_LESS_URGENT_NEW_CASE for d in plan.deferred)


def test_other_items_over_the_limit_get_the_generic_reason() -> None:
    items = new_cases(15) + [PlanItem(id="misc", kind="other", minutes=5)]
    plan = plan_agenda(items)
    assert plan.deferred[0].item.id == "misc"
    assert plan.deferred[0].reason_code == REASON_TIME_LIMIT


def test_manual_positions_order_the_kept_items() -> None:
    items = [
        PlanItem(id="a", kind="new_case", minutes=8, position=2),
        PlanItem(id="b", kind="review", minutes=5, position=0),
        PlanItem(id="c", kind="new_case", minutes=8, position=1),
    ]
    assert [i.id for i in plan_agenda(items).kept] == ["b", "c", "a"]


def test_smaller_limit_and_bad_limit() -> None:
    plan = plan_agenda(reviews(["low", "urgent", "high"]), limit=10)
    assert [i.id for i in plan.kept] == ["rev-1", "rev-2"]
    with pytest.raises(ValueError):
        plan_agenda([], limit=0)


def test_urgency_labels() -> None:
    assert urgency_rank("Urgent") > urgency_rank("high") > urgency_rank(None) > urgency_rank("low")
    assert urgency_rank("something-else") == urgency_rank("normal")


def test_new_cases_are_kept_in_the_contracts_urgency_order() -> None:
    """Every value a referral or an assessment carries (the contract's Urgency, least to most urgent),
    one new case each, least urgent announced first: the agenda keeps the most urgent."""
    assert CONTRACT_URGENCIES == ("low", "normal", "high", "urgent")
    items = [
        PlanItem(id=u, kind="new_case", minutes=10, urgency=u, order=n)
        for n, u in enumerate(CONTRACT_URGENCIES)
    ]
    plan = plan_agenda(items, limit=20)
    assert [i.id for i in plan.kept] == ["urgent", "high"]
    assert [d.item.id for d in plan.deferred] == ["normal", "low"]


def test_labels_the_contract_does_not_have_never_outrank_urgent() -> None:
    """ "critical", "very_high" or "routine" are not urgencies (nothing emits them): ranked as normal."""
    items = [
        PlanItem(id=u, kind="review", minutes=10, urgency=u) for u in ("critical", "very_high", "urgent")
    ]
    assert plan_agenda(items, limit=10).kept[0].id == "urgent"
