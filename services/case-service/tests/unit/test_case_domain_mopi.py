"""MoPI review groups and intervals (handbook domain.md s.5; APP review, retention and disposal)."""

from __future__ import annotations

from datetime import date

import pytest
from case_service.domain import mopi
from case_service.domain.mopi import Facts

GROUP_CASES = [
    # (facts, group, a reason that must be given)
    (Facts(cohorts=frozenset({"visor"})), 1, "ViSOR cohort"),
    (Facts(mappa_categories=frozenset({2})), 1, "MAPPA category 2"),
    (Facts(domains=frozenset({"serious_sexual_offending"})), 1, "concern: serious sexual offending"),
    (Facts(domains=frozenset({"child_abuse", "domestic_abuse"})), 1, "concern: child abuse"),
    (Facts(domains=frozenset({"domestic_abuse"})), 2, "concern: domestic abuse"),
    (Facts(domains=frozenset({"serious_violence"})), 2, "concern: serious violence"),
    (Facts(domains=frozenset({"hate_crime"})), 2, "concern: hate crime"),
    (Facts(domains=frozenset({"stalking"}), convicted=True), 2, "concern: stalking"),
    (Facts(risk_tools=frozenset({"rm2000"})), 2, "Risk Matrix 2000 assessment"),
    (Facts(risk_tools=frozenset({"arms", "iom"})), 2, "ARMS assessment"),
    (Facts(risk_tools=frozenset({"iom"}), convicted=True), 3, "convicted"),
    (Facts(offences_recorded=True), 3, "offences in police records (ranking candidate)"),
    (Facts(cohorts=frozenset({"hhpu", "iom_fixed"})), 4, "nothing proven"),
    (Facts(), 4, "nothing proven"),
]


@pytest.mark.parametrize(("facts", "group", "reason"), GROUP_CASES)
def test_group_from_facts(facts: Facts, group: int, reason: str) -> None:
    got = mopi.classify(facts)
    assert got.group == group
    assert reason in got.reasons


def test_only_the_deciding_groups_facts_are_its_basis() -> None:
    got = mopi.classify(
        Facts(
            cohorts=frozenset({"visor"}),
            domains=frozenset({"domestic_abuse"}),
            risk_tools=frozenset({"rm2000"}),
            convicted=True,
        )
    )
    assert got == mopi.Classification(1, ("ViSOR cohort",))


def test_intervals_and_the_six_year_minimum() -> None:
    assert mopi.REVIEW_YEARS == {1: 10, 2: 10, 3: 6, 4: 6}
    assert min(mopi.REVIEW_YEARS.values()) == mopi.MINIMUM_YEARS
    start = date(2026, 11, 29)
    assert [mopi.next_review(g, start) for g in (1, 2, 3, 4)] == [
        date(2036, 11, 29),
        date(2036, 11, 29),
        date(2032, 11, 29),
        date(2032, 11, 29),
    ]


def test_a_leap_day_moves_to_the_28th() -> None:
    assert mopi.add_years(date(2024, 2, 29), 6) == date(2030, 2, 28)
    assert mopi.add_years(date(2024, 2, 29), 4) == date(2028, 2, 29)


def test_group_one_is_reviewed_no_later_than_the_100th_birthday() -> None:
    assert mopi.next_review(1, date(2026, 1, 1), date(1930, 6, 1)) == date(2030, 6, 1)
    # already past 100: the ordinary interval
    assert mopi.next_review(1, date(2031, 1, 1), date(1930, 6, 1)) == date(2041, 1, 1)
    # the cap is for group 1 only
    assert mopi.next_review(2, date(2026, 1, 1), date(1930, 6, 1)) == date(2036, 1, 1)


def test_the_group_only_goes_up() -> None:
    assert mopi.raised(None, 3) == 3
    assert mopi.raised(4, 2) == 2
    assert mopi.raised(1, 4) == 1
    assert mopi.raised(2, 3) == 2


def test_news_never_brings_a_review_forward() -> None:
    today = date(2026, 11, 29)
    assert mopi.review_after_news(3, None, today) == date(2032, 11, 29)
    assert mopi.review_after_news(2, date(2030, 1, 1), today) == date(2036, 11, 29)
    assert mopi.review_after_news(3, date(2040, 1, 1), today) == date(2040, 1, 1)


def test_retain_moves_the_review_on_from_the_later_of_due_and_decision() -> None:
    # an overdue review: the interval counts from the decision
    assert mopi.review_after_retain(3, date(2026, 1, 1), date(2026, 11, 29)) == date(2032, 11, 29)
    # an early review: from the date that was due (a retain never shortens the period)
    assert mopi.review_after_retain(2, date(2027, 3, 1), date(2026, 11, 29)) == date(2037, 3, 1)
    assert mopi.review_after_retain(4, None, date(2026, 11, 29)) == date(2032, 11, 29)


def test_when_a_review_may_dispose() -> None:
    today = date(2026, 11, 29)
    assert mopi.disposal_refusal(3, date(2026, 11, 29), today, None) is None
    assert mopi.disposal_refusal(4, date(2020, 1, 1), today, date(1990, 1, 1)) is None
    refusal = mopi.disposal_refusal(3, date(2026, 12, 1), today, None)
    assert refusal is not None and refusal[0] == "review_not_due"
    assert mopi.disposal_refusal(2, None, today, None) == ("no_review_due", "this record has no review date")
    young = mopi.disposal_refusal(1, date(2026, 1, 1), today, date(1960, 1, 1))
    assert young is not None and young[0] == "retained_until_100"
    unknown_age = mopi.disposal_refusal(1, date(2026, 1, 1), today, None)
    assert unknown_age is not None and unknown_age[0] == "retained_until_100"
    assert mopi.disposal_refusal(1, date(2026, 1, 1), today, date(1926, 11, 29)) is None


def test_age_counts_the_birthday() -> None:
    assert mopi.age_on(date(1926, 11, 30), date(2026, 11, 29)) == 99
    assert mopi.age_on(date(1926, 11, 29), date(2026, 11, 29)) == 100


def test_reason_codes_fit_their_decision() -> None:
    assert mopi.reason_error("retain", "serious_harm_capacity") is None
    assert mopi.reason_error("dispose", "no_policing_purpose") is None
    assert "no_policing_purpose" in str(mopi.reason_error("dispose", "serious_harm_capacity"))
    assert "serious_harm_capacity" in str(mopi.reason_error("retain", "no_policing_purpose"))
    assert mopi.overdue_days(date(2026, 11, 1), date(2026, 11, 29)) == 28
    assert mopi.overdue_days(date(2026, 12, 1), date(2026, 11, 29)) == 0
    assert mopi.overdue_days(None, date(2026, 11, 29)) == 0
