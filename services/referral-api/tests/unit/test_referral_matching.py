"""Person matching on constructed cases (pure), and the screening rules."""

from __future__ import annotations

from datetime import date

import pytest
from referral_api.domain.matching import (
    Grade,
    PersonRecord,
    compact,
    compare_dob,
    compare_names,
    grade_pair,
    normalise_pnc,
    rank_candidates,
    soundex,
)
from referral_api.domain.screening import ScreeningInput, age_on, screen
from referral_api.settings import EligibilityRules

DOB = date(1991, 3, 14)
DEAN = PersonRecord("Dean", "Marsh", "Jon", date_of_birth=DOB)


def known(**kw) -> PersonRecord:  # type: ignore[no-untyped-def]
    base = {"given_name": "Dean", "family_name": "Marsh", "date_of_birth": DOB, "person_ref": "p-1"}
    base.update(kw)
    return PersonRecord(**base)


def test_dean_marsh_different_middle_name_spelling_same_dob_is_probable() -> None:
    r = grade_pair(DEAN, known(middle_names="John"))
    assert r.grade == Grade.PROBABLE
    assert "middle_names:phonetic" in r.reasons and "dob:exact" in r.reasons


@pytest.mark.parametrize(
    ("subject", "candidate", "grade"),
    [
        # shared identifiers are certain, whatever the spelling
        (
            PersonRecord("Dean", "Marsh", pnc_number="91/123456X"),
            known(given_name="D", pnc_number="1991/0123456x"),
            "certain",
        ),
        (
            PersonRecord("Dean", "Marsh", records_id="R-1"),
            known(records_id="R-1", date_of_birth=None),
            "certain",
        ),
        # ...unless the birth dates contradict each other: a person must look
        (
            PersonRecord("Dean", "Marsh", date_of_birth=date(1980, 1, 1), pnc_number="91/1X"),
            known(pnc_number="91/1X"),
            "probable",
        ),
        # exact name and birth date without an identifier is probable, never certain
        (PersonRecord("Dean", "Marsh", "Jon", date_of_birth=DOB), known(middle_names="Jon"), "probable"),
        # accents, case and hyphens do not matter
        (
            PersonRecord("zoë", "smith-jones", date_of_birth=DOB),
            known(given_name="Zoe", family_name="Smith Jones"),
            "probable",
        ),
        (
            PersonRecord("Sean", "O'Brien", date_of_birth=DOB),
            known(given_name="SEAN", family_name="OBrien"),
            "probable",
        ),
        # same sound, different spelling
        (PersonRecord("Dean", "Marsch", date_of_birth=DOB), known(), "probable"),
        # a known alias
        (PersonRecord("Danny", "Smith", aliases=("Dean Marsh",), date_of_birth=DOB), known(), "probable"),
        # a contradicting middle name weakens it to possible
        (PersonRecord("Dean", "Marsh", "Anthony", date_of_birth=DOB), known(middle_names="Paul"), "possible"),
        # birth date missing or a typo: possible
        (PersonRecord("Dean", "Marsh"), known(), "possible"),
        (PersonRecord("Dean", "Marsh", date_of_birth=date(1991, 3, 15)), known(), "possible"),
        (
            PersonRecord("Dean", "Marsh", date_of_birth=date(1991, 3, 14)),
            known(date_of_birth=date(1991, 3, 14)),
            "probable",
        ),
        # day and month swapped: possible
        (
            PersonRecord("Dean", "Marsh", date_of_birth=date(1991, 3, 4)),
            known(date_of_birth=date(1991, 4, 3)),
            "possible",
        ),
        # family name changed, same given name and birth date
        (PersonRecord("Dean", "Carter", date_of_birth=DOB), known(), "possible"),
        # initial only with same family name and birth date
        (PersonRecord("D", "Marsh", date_of_birth=DOB), known(), "possible"),
        # different people
        (PersonRecord("Dean", "Marsh", date_of_birth=date(1975, 8, 2)), known(), "none"),
        (PersonRecord("Peter", "Jones", date_of_birth=DOB), known(), "none"),
        (
            PersonRecord("Dean", "Marsh", date_of_birth=DOB, pnc_number="91/1A"),
            known(pnc_number="88/9Z"),
            "possible",
        ),
        (PersonRecord("Dean", "Marsh", pnc_number="91/1A"), known(pnc_number="88/9Z"), "none"),
    ],
)
def test_grading(subject: PersonRecord, candidate: PersonRecord, grade: str) -> None:
    assert grade_pair(subject, candidate).grade.value == grade


def test_day_and_month_swapped_counts_as_partial() -> None:
    assert compare_dob(date(1991, 3, 4), date(1991, 4, 3)) == "partial"
    assert compare_dob(date(1991, 3, 4), None) == "missing"
    assert compare_dob(date(1991, 3, 4), date(1961, 9, 30)) == "conflict"


def test_normalisation_and_soundex() -> None:
    assert compact("  Zoë  Smith-Jones ") == "zoesmithjones"
    assert compact("O’Brien") == "obrien"
    assert [soundex(n) for n in ("Robert", "Rupert", "Ashcraft", "Tymczak", "Pfister")] == [
        "R163",
        "R163",
        "A261",
        "T522",
        "P236",
    ]
    assert compare_names("Jon", "John") == "phonetic"
    assert compare_names("Dean", "Dene") == "phonetic"
    assert compare_names("Dean", "Peter") == "conflict"
    assert compare_names("D", "Dean") == "initial"
    assert compare_names(None, "Dean") == "missing"
    assert compare_names("Mohammed", "Muhammad") == "phonetic"
    assert normalise_pnc("2001/123a") == normalise_pnc("01/0000123A") == "01/0000123A"


def test_rank_candidates_keeps_the_best_per_person_and_drops_non_matches() -> None:
    people = [
        known(person_ref="p-1", middle_names="John"),
        known(person_ref="p-1", given_name="D"),
        known(person_ref="p-2", family_name="Marsch", date_of_birth=None),
        known(person_ref="p-3", given_name="Peter", family_name="Jones"),
    ]
    results = rank_candidates(DEAN, people)
    assert [(r.person_ref, r.grade.value) for r in results] == [("p-1", "probable"), ("p-2", "possible")]


# -- screening --------------------------------------------------------------------------------------
TODAY = date(2026, 6, 1)


def test_high_harm_domain_is_eligible_with_reasons() -> None:
    r = screen(
        ScreeningInput(domains=["domestic_abuse", "stalking"], date_of_birth=DOB), EligibilityRules(), TODAY
    )
    assert r.eligible
    assert r.reasons == ("domain_in_scope:domestic_abuse", "domain_in_scope:stalking")


def test_every_failed_rule_is_a_reason() -> None:
    rules = EligibilityRules(domains=["serious_violence"], min_age=18, areas=["Guildford"])
    r = screen(
        ScreeningInput(domains=["hate_crime"], date_of_birth=date(2010, 1, 1), area="Leeds"), rules, TODAY
    )
    assert not r.eligible
    assert r.reasons == ("domain_out_of_scope", "below_minimum_age", "area_out_of_scope")


def test_age_boundary_and_unknown_age() -> None:
    rules = EligibilityRules(min_age=18)
    assert age_on(date(2008, 6, 1), TODAY) == 18 and age_on(date(2008, 6, 2), TODAY) == 17
    assert screen(ScreeningInput(["stalking"], date_of_birth=date(2008, 6, 1)), rules, TODAY).eligible
    assert not screen(ScreeningInput(["stalking"], date_of_birth=date(2008, 6, 2)), rules, TODAY).eligible
    unknown = screen(ScreeningInput(["stalking"]), rules, TODAY)
    assert unknown.eligible and "age_not_verified" in unknown.reasons


def test_areas_and_excluded_offence_types() -> None:
    rules = EligibilityRules(areas=["Guildford", "Woking"], excluded_offence_types=["Shoplifting"])
    assert screen(ScreeningInput(["stalking"], area=" woking "), rules, TODAY).eligible
    assert screen(ScreeningInput(["stalking"]), rules, TODAY).reasons == ("area_unknown",)
    only_excluded = ScreeningInput(["exploitation"], offence_types=["shoplifting"], area="Woking")
    assert screen(only_excluded, rules, TODAY).reasons == ("offence_type_excluded",)
    mixed = ScreeningInput(["exploitation"], offence_types=["shoplifting", "county lines"], area="Woking")
    assert screen(mixed, rules, TODAY).eligible


def test_rules_come_from_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    from referral_api.settings import ReferralSettings

    monkeypatch.setenv("REFERRAL_ELIGIBILITY", '{"domains": ["stalking"], "min_age": 18}')
    s = ReferralSettings()
    assert s.eligibility.domains == ["stalking"] and s.eligibility.min_age == 18
    assert EligibilityRules().min_age == 10 and len(EligibilityRules().domains) == 7


def test_platform_wide_settings_apply_and_the_service_prefix_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    from referral_api.settings import ReferralSettings

    monkeypatch.setenv("HHPU_KAFKA_BOOTSTRAP", "kafka-a:9092")
    monkeypatch.setenv("HHPU_TOPIC_NAMESPACE", "shared.")
    monkeypatch.setenv("REFERRAL_TOPIC_NAMESPACE", "mine.")
    s = ReferralSettings()
    assert (s.kafka_bootstrap, s.topic_namespace, s.service_name) == ("kafka-a:9092", "mine.", "referral-api")


def test_name_keys_cover_every_name_pair_that_can_be_graded_without_birth_date_or_identifier() -> None:
    from referral_api.domain.matching import name_keys

    subject = PersonRecord("Dean", "Marsh", aliases=("Deen Smyth",))
    assert name_keys(subject) == {"D500:M620", "D500:S530"}
    # a phonetic match on the alias, birth dates one digit apart: possible, and the keys meet
    other = PersonRecord("Dene", "Smith", date_of_birth=date(1991, 3, 15), person_ref="x")
    assert grade_pair(
        PersonRecord("Dean", "Marsh", aliases=("Deen Smyth",), date_of_birth=DOB), other
    ).grade == (Grade.POSSIBLE)
    assert name_keys(subject) & name_keys(other)
    # a one-word alias has no given name, so it makes no key
    assert name_keys(PersonRecord("Dean", "Marsh", aliases=("Smudge",))) == {"D500:M620"}


@pytest.mark.parametrize("d", [date(1991, 3, 14), date(2000, 2, 29), date(1985, 12, 1), date(1979, 5, 5)])
def test_partial_dobs_are_exactly_the_dates_compared_as_partial(d: date) -> None:
    from datetime import timedelta

    from referral_api.domain.matching import partial_dobs

    variants = partial_dobs(d)
    assert variants and d not in variants
    assert all(compare_dob(d, v) == "partial" for v in variants)
    # a partial date has the same year or a year one digit off: every day of those years is checked
    years = {
        y
        for y in range(1, 10000)
        if sum(a != b for a, b in zip(f"{y:04d}", f"{d.year:04d}", strict=True)) <= 1
    }
    days = (date(y, 1, 1) + timedelta(days=i) for y in years for i in range(366))
    expected = {v for v in days if v.year in years and compare_dob(d, v) == "partial"}
    assert expected == variants
