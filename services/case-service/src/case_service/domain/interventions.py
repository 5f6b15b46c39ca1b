"""The catalogue of 46 intervention types: 32 disruptive, 4 rehabilitative, 10 both, kept as data.

The split follows the evaluation's count [S]; the individual types come from the issue and from
common police and partner practice [I]. Codes are stable identifiers; names are for display.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Category = Literal["disruptive", "rehabilitative", "both"]
CATEGORIES: tuple[Category, ...] = ("disruptive", "rehabilitative", "both")


@dataclass(frozen=True)
class InterventionType:
    code: str
    name: str
    category: Category


_D: Category = "disruptive"
_R: Category = "rehabilitative"
_B: Category = "both"

_ROWS: tuple[tuple[str, str, Category], ...] = (
    # disruptive (32)
    ("restraining_order", "Restraining order", _D),
    ("dvpn", "Domestic violence protection notice", _D),
    ("dvpo", "Domestic violence protection order", _D),
    ("shpo", "Sexual harm prevention order", _D),
    ("sexual_risk_order", "Sexual risk order", _D),
    ("stalking_protection_order", "Stalking protection order", _D),
    ("criminal_behaviour_order", "Criminal behaviour order", _D),
    ("non_molestation_order_support", "Support for a victim's non-molestation order", _D),
    ("home_address_check", "Home address check", _D),
    ("notification_compliance_visit", "Sex offender notification compliance visit", _D),
    ("positive_arrest", "Arrest for new offending (positive action)", _D),
    ("warrant_execution", "Execution of an outstanding warrant", _D),
    ("recall_to_custody", "Recall to custody", _D),
    ("breach_proceedings", "Breach proceedings for an order or licence", _D),
    ("electronic_monitoring", "Electronic monitoring (tag)", _D),
    ("curfew_check", "Curfew check", _D),
    ("additional_licence_conditions", "Additional licence conditions", _D),
    ("bail_conditions", "Bail conditions", _D),
    ("search_warrant", "Premises search warrant", _D),
    ("anpr_marker", "Vehicle / ANPR marker", _D),
    ("pnc_warning_marker", "PNC warning marker", _D),
    ("dvds_disclosure", "Domestic violence disclosure scheme (Clare's law) disclosure", _D),
    ("csods_disclosure", "Child sex offender disclosure scheme disclosure", _D),
    ("targeted_patrols", "Targeted patrols", _D),
    ("financial_investigation", "Financial investigation (Proceeds of Crime Act)", _D),
    ("tenancy_enforcement", "Tenancy enforcement with the landlord", _D),
    ("closure_order", "Premises closure order", _D),
    ("community_protection_notice", "Community protection notice", _D),
    ("firearms_licence_review", "Firearms or shotgun licence review", _D),
    ("immigration_referral", "Referral to immigration enforcement", _D),
    ("intelligence_development", "Intelligence development / tasking", _D),
    ("target_hardening", "Victim target hardening and safety planning", _D),
    # rehabilitative (4)
    ("accommodation_support", "Accommodation support / referral", _R),
    ("drug_alcohol_treatment", "Drug and alcohol treatment", _R),
    ("education_training_employment", "Education, training and employment support", _R),
    ("mentoring", "Mentoring", _R),
    # both (10)
    ("travel_warrant", "Travel warrant", _B),
    ("da_perpetrator_programme", "Domestic abuse perpetrator programme", _B),
    ("sex_offender_programme", "Accredited sex offender programme", _B),
    ("mental_health_referral", "Mental health referral", _B),
    ("approved_premises", "Approved premises placement", _B),
    ("circles_of_support", "Circles of support and accountability", _B),
    ("polygraph_examination", "Polygraph examination", _B),
    ("drug_testing", "Drug testing on arrest / licence", _B),
    ("conditional_caution", "Conditional caution with rehabilitative conditions", _B),
    ("restorative_justice", "Restorative justice", _B),
)

CATALOGUE: dict[str, InterventionType] = {
    code: InterventionType(code, name, cat) for code, name, cat in _ROWS
}


def get(code: str) -> InterventionType | None:
    return CATALOGUE.get(code)


def counts() -> dict[str, int]:
    out: dict[str, int] = dict.fromkeys(CATEGORIES, 0)
    for t in CATALOGUE.values():
        out[t.category] += 1
    return out
