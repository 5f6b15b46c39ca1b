"""The intervention catalogue: exactly 46 types, 32 disruptive, 4 rehabilitative, 10 both."""

from __future__ import annotations

from case_service.domain import interventions


def test_case_catalogue_counts() -> None:
    assert len(interventions.CATALOGUE) == 46
    assert interventions.counts() == {"disruptive": 32, "rehabilitative": 4, "both": 10}


def test_case_catalogue_has_the_named_types() -> None:
    named = {
        "restraining_order": "disruptive",
        "dvpn": "disruptive",
        "dvpo": "disruptive",
        "shpo": "disruptive",
        "stalking_protection_order": "disruptive",
        "criminal_behaviour_order": "disruptive",
        "travel_warrant": "both",
        "home_address_check": "disruptive",
        "accommodation_support": "rehabilitative",
        "drug_alcohol_treatment": "rehabilitative",
    }
    for code, cat in named.items():
        t = interventions.get(code)
        assert t is not None, code
        assert t.category == cat


def test_case_catalogue_codes_and_names_are_unique() -> None:
    names = [t.name for t in interventions.CATALOGUE.values()]
    assert len(set(names)) == len(names) == 46
