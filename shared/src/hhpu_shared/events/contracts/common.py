"""Value types shared by several contracts."""

from __future__ import annotations

from datetime import date
from typing import Literal

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
# How soon the unit should look at a referral or an assessment.
Urgency = Literal["low", "normal", "high", "urgent"]
Decision = Literal["adopt", "decline", "defer"]
Cohort = Literal["iom_fixed", "iom_flex", "iom_free", "visor", "hhpu"]


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
