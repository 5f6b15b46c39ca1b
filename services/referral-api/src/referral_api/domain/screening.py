"""Screening against the unit's terms of reference: eligible or not, always with reasons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from referral_api.settings import EligibilityRules


@dataclass(frozen=True)
class ScreeningInput:
    domains: Sequence[str]
    offence_types: Sequence[str] = ()
    date_of_birth: date | None = None
    area: str | None = None


@dataclass(frozen=True)
class ScreeningResult:
    eligible: bool
    reasons: tuple[str, ...] = field(default_factory=tuple)


def age_on(dob: date, on: date) -> int:
    return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))


def screen(item: ScreeningInput, rules: EligibilityRules, today: date) -> ScreeningResult:
    """Apply every rule; the result lists each rule that failed, or why the referral is in scope."""
    failed: list[str] = []
    in_scope = [d for d in item.domains if d in rules.domains]
    if not in_scope:
        failed.append("domain_out_of_scope")
    if item.date_of_birth is not None and age_on(item.date_of_birth, today) < rules.min_age:
        failed.append("below_minimum_age")
    if rules.areas:
        served = {a.strip().casefold() for a in rules.areas}
        if item.area is None:
            failed.append("area_unknown")
        elif item.area.strip().casefold() not in served:
            failed.append("area_out_of_scope")
    excluded = {o.strip().casefold() for o in rules.excluded_offence_types}
    offences = [o.strip().casefold() for o in item.offence_types]
    if excluded and offences and all(o in excluded for o in offences):
        failed.append("offence_type_excluded")
    if failed:
        return ScreeningResult(False, tuple(failed))
    reasons = tuple(f"domain_in_scope:{d}" for d in in_scope)
    if item.date_of_birth is None:
        reasons += ("age_not_verified",)
    return ScreeningResult(True, reasons)
