"""Recurrence, action rules (carry-over, due dates, transitions) and the pack renderer."""

from __future__ import annotations

from datetime import date

import pytest
from meeting_service.domain import actions as rules
from meeting_service.domain.pack import PackData, render_pack
from meeting_service.domain.recurrence import Rule, next_occurrence, nth_weekday, occurrences


def test_monthly_first_tuesday() -> None:
    rule = Rule("monthly", weekday=1, ordinal=1)
    assert next_occurrence(rule, date(2026, 11, 26)) == date(2026, 12, 1)
    assert next_occurrence(rule, date(2026, 12, 1)) == date(2027, 1, 5)
    assert occurrences(rule, date(2026, 12, 31), 2) == [date(2027, 1, 5), date(2027, 2, 2)]


def test_monthly_last_friday_and_bad_ordinal() -> None:
    assert nth_weekday(2026, 2, 4, -1) == date(2026, 2, 27)
    with pytest.raises(ValueError):
        nth_weekday(2026, 2, 4, 5)


def test_weekdays_and_weekly() -> None:
    friday = date(2026, 11, 27)
    assert next_occurrence(Rule("weekdays"), friday) == date(2026, 11, 30)
    assert next_occurrence(Rule("weekly", weekday=4), friday) == date(2026, 12, 4)
    with pytest.raises(ValueError):
        next_occurrence(Rule("yearly"), friday)


def test_default_due_date_is_the_day_before_the_next_meeting() -> None:
    assert rules.default_due_date(date(2027, 1, 5)) == date(2027, 1, 4)


def test_transitions() -> None:
    assert rules.can_transition("open", "done")
    assert rules.can_transition("not_done", "done")
    assert not rules.can_transition("done", "open")
    assert not rules.can_transition("not_possible", "done")


def test_carried_over_actions_at_review() -> None:
    today = date(2026, 12, 1)
    actions = [
        rules.ActionState("done", "done", date(2026, 11, 30)),
        rules.ActionState("impossible", "not_possible", date(2026, 11, 30)),
        rules.ActionState("not-done", "not_done", date(2026, 11, 20)),
        rules.ActionState("late", "open", date(2026, 11, 25)),
        rules.ActionState("running", "open", date(2026, 12, 20)),
    ]
    carried, closed = rules.review_for_carry_over(actions, today=today, next_meeting_on=date(2027, 1, 5))
    assert [a.id for a in closed] == ["done", "impossible"]
    by_id = {c.action_id: c for c in carried}
    assert set(by_id) == {"not-done", "late", "running"}
    assert by_id["not-done"].reason_code == "not_done_by_agency"
    assert by_id["not-done"].reason == "Not done by the agency"
    assert by_id["late"].reason_code == "overdue"
    assert by_id["running"].reason_code == "in_progress"
    assert all(c.new_due_date == date(2027, 1, 4) for c in carried)


def test_overdue() -> None:
    assert rules.is_overdue("open", date(2026, 1, 1), date(2026, 1, 2))
    assert not rules.is_overdue("open", date(2026, 1, 2), date(2026, 1, 2))
    assert not rules.is_overdue("done", date(2026, 1, 1), date(2026, 1, 2))


def test_pack_escapes_and_flags_overrun() -> None:
    meeting = {
        "title": "Monthly <meeting>",
        "scheduled_on": "2026-12-01",
        "start_time": "10:00",
        "status": "closed",
        "closed_at": "2026-12-01T12:00:00",
        "agenda_limit_minutes": 120,
        "invitations": [
            {"agency_name": "Housing", "contact_name": "P", "attended": True, "response": "accepted"},
            {
                "agency_name": "Adult Social Care",
                "attended": False,
                "response": "apologies",
                "apology_reason": "leave",
            },
        ],
        "agencies_attending": 1,
        "quorum_agencies": 3,
        "quorum_met": False,
    }
    html = render_pack(
        PackData(
            meeting=meeting,
            agency_names={"housing": "Housing Options"},
            agenda=[
                {
                    "planned_minutes": 8,
                    "kind": "new_case",
                    "title": "<script>x</script>",
                    "starts_at_minute": 0,
                }
            ],
            moved=[],
            decisions=[],
            actions=[
                {
                    "description": "Housing to confirm address",
                    "owner_name": "P",
                    "owner_agency_id": "housing",
                    "due_date": "2026-12-14",
                    "status": "open",
                    "carries": [{"reason": "Not done by the agency"}],
                }
            ],
            addenda=[],
            planned_minutes=130,
        )
    )
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "Monthly &lt;meeting&gt;" in html
    assert '<span class="over">130</span>' in html
    assert "apologies" in html and "leave" in html and "(not met)" in html
    assert "Not done by the agency" in html and "@page" in html and "OFFICIAL-SENSITIVE" in html
    assert "Housing Options" in html and "14 Dec 2026" in html
