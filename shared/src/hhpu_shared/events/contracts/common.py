"""Value types shared by several contracts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict

HarmDomain = Literal[
    "domestic_abuse",
    "serious_sexual_offending",
    "serious_violence",
    "child_abuse",
    "hate_crime",
    "exploitation",
    "stalking",
]
# How soon the unit should look at a referral or an assessment, least to most urgent: the order is
# part of the contract (an assessment takes its most urgent trigger's; agendas put the most urgent first).
Urgency = Literal["low", "normal", "high", "urgent"]
URGENCIES: tuple[Urgency, ...] = get_args(Urgency)
Decision = Literal["adopt", "decline", "defer"]
Cohort = Literal["iom_fixed", "iom_flex", "iom_free", "visor", "hhpu"]


def urgency_rank(value: str | None) -> int:
    """0 (low) .. 3 (urgent); a missing or unknown value (a row older than the contract) ranks as normal."""
    label = (value or "").strip().lower()
    return URGENCIES.index(label) if label in URGENCIES else URGENCIES.index("normal")


def most_urgent(values: Iterable[str | None]) -> Urgency:
    """The most urgent of `values` (normal when there are none, or none is known)."""
    return URGENCIES[max((urgency_rank(v) for v in values), default=urgency_rank(None))]


class PersonDetails(BaseModel):
    """Identifying details a receiving service needs to find or create a person."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    given_name: str
    family_name: str
    middle_names: str | None = None
    aliases: tuple[str, ...] = ()
    date_of_birth: date | None = None
    pnc_number: str | None = None
    records_id: str | None = None
    area: str | None = None


class Trigger(BaseModel):
    """Why an assessment exists: a referral or a ranking candidate."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    source: Literal["referral", "ranking", "manual"]
    ref: str
    detail: str | None = None
