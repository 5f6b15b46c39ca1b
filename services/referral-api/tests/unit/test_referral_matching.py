"""Person matching on constructed cases (pure), and the screening rules."""

from __future__ import annotations

import random
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


@pytest.mark.parametrize(
    "d",
    [
        date(1991, 3, 14),
        date(2000, 2, 29),
        date(1985, 12, 1),
        date(1979, 5, 5),
        date(1999, 9, 30),
        date(2012, 10, 31),
        date(1, 1, 1),
        date(1900, 2, 28),
    ],
)
def test_partial_dobs_are_exactly_the_dates_compared_as_partial(d: date) -> None:
    from calendar import isleap
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
    days = (date(y, 1, 1) + timedelta(days=i) for y in years for i in range(365 + isleap(y)))
    expected = {v for v in days if v.year in years and compare_dob(d, v) == "partial"}
    assert expected == set(variants)
    assert list(variants) == sorted(variants)


def _variant(rng: random.Random, name: str) -> str:
    """The name as another record might hold it: the same, one letter changed, added or dropped,
    its initial, another case or accent, a second part, or a different name."""
    i = rng.randrange(len(name))
    letter = rng.choice("abcdefghijklmnopqrstuvwxyz")
    return rng.choice(
        [
            name,
            name[:i] + letter + name[i + 1 :],
            name[:i] + letter + name[i:],
            name[:i] + name[i + 1 :] or name,
            name[0],
            name.upper(),
            name.replace("e", "ë"),
            f"{name}-{_made_up(rng)}",
            _made_up(rng),
        ]
    )


def _made_up(rng: random.Random) -> str:
    parts = ("ba", "ke", "lo", "mar", "sh", "dean", "th", "ri", "son", "ann", "e", "ly", "x", "o'")
    return "".join(rng.choice(parts) for _ in range(rng.randint(1, 4))).capitalize()


def _person(rng: random.Random, like: PersonRecord | None = None) -> PersonRecord:
    def name(of: str | None) -> str:
        return _variant(rng, of) if of and rng.random() < 0.8 else _made_up(rng)

    given = name(like.given_name if like else None)
    family = name(like.family_name if like else None)
    aliases = tuple(f"{name(given)} {name(family)}" if rng.random() < 0.7 else name(family)
                    for _ in range(rng.choice((0, 0, 1, 2))))  # fmt: skip
    other_dobs = [None, date(1991, 3, 15), date(1991, 4, 14), date(1960, 1, 1)]
    dob = DOB if rng.random() < 0.7 else rng.choice(other_dobs)
    pnc = rng.choice([None, None, "91/1234X", "1991/0001234x", "88/999Z"])
    records = rng.choice([None, None, "REC-1", "REC-2"])
    return PersonRecord(given, family, None, aliases, dob, pnc, records, person_ref="p")


def test_the_prefilter_never_rules_out_a_candidate_graded_above_none() -> None:
    """find_matches grades only the candidates the Prefilter lets through: over 20,000 constructed
    pairs (names changed by a letter, initials, accents, aliases, other people; identifiers and
    birth dates agreeing or not), every pair graded above none is let through, and most of the
    pairs graded none are not."""
    from referral_api.domain.matching import Prefilter

    rng = random.Random(20261201)
    above = ruled_out = none = 0
    for _ in range(20_000):
        subject = _person(rng)
        candidate = _person(rng, like=subject if rng.random() < 0.6 else None)
        graded = grade_pair(subject, candidate).grade
        let_through = Prefilter(subject).worth_grading(
            candidate.given_name, candidate.family_name, candidate.aliases,
            candidate.pnc_number, candidate.records_id,
        )  # fmt: skip
        if graded != Grade.NONE:
            above += 1
            assert let_through, (subject, candidate, graded)
        else:
            none += 1
            ruled_out += not let_through
    assert above > 3_000 and none > 3_000  # both kinds were tried
    assert ruled_out > none / 2  # and it does rule out


def test_the_prefilter_looks_at_identifiers_aliases_and_each_name() -> None:
    from referral_api.domain.matching import Prefilter

    pre = Prefilter(PersonRecord("Dean", "Marsh", aliases=("Smudge Jones",), pnc_number="91/1234X"))
    assert not pre.worth_grading("Ann", "Lee", (), None, None)
    assert pre.worth_grading("Ann", "Lee", (), "1991/0001234x", None)  # the same PNC number
    assert pre.worth_grading("Dean", "Lee", (), None, None)  # the same given name
    assert not pre.worth_grading("Deen", "Lee", (), None, None)  # one by sound, the other another name
    assert pre.worth_grading("Deen", "L", (), None, None)  # ... with an initial for the family name
    assert pre.worth_grading("Ann", "Marshe", (), None, None)  # family name similar
    assert pre.worth_grading("Ann", "Lee", ("Dean Other",), None, None)  # through the candidate's alias
    assert pre.worth_grading("Ann", "Jones", (), None, None)  # through the subject's alias
    with_records_id = Prefilter(PersonRecord("Dean", "Marsh", records_id="R1"))
    assert not with_records_id.worth_grading("Ann", "Lee", (), None, "R2")
    assert with_records_id.worth_grading("Ann", "Lee", (), None, "R1")


def test_compact_of_an_ascii_name_is_the_letters_tokens_gives() -> None:
    """compact() takes a shortcut for ASCII names; it must give what the Unicode path gives."""
    from referral_api.domain.matching import tokens

    rng = random.Random(7)
    alphabet = "abcOXYZ '-.,0\t"
    for _ in range(5_000):
        name = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert compact.__wrapped__(name) == "".join(tokens(name)), name
    assert compact("O'Brien-Smith Jr.") == "obriensmithjr"
    assert compact("Zoë Ångström") == "zoeangstrom"  # the Unicode path
