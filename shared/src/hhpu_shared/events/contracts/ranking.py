"""Events produced by the ranking-service (aggregate `ranking_run`)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

from hhpu_shared.events.base import EventData, register
from hhpu_shared.events.contracts.common import PersonDetails

# A ranking run's kind: ``production`` proposes candidates and review items; ``shadow`` (another model
# alongside, for comparison) and ``dry`` (computed, never saved) propose nothing.
RunKind = Literal["production", "shadow", "dry"]


class Contribution(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    offence_code: str
    offence_date: date
    harm: float
    weighted: float
    offence_name: str | None = None  # the weight edition's label of the code (added: optional)


@register("ranking.run_completed", aggregate="ranking_run")
class RankingRunCompleted(EventData):
    run_id: str
    kind: RunKind
    model: str
    model_version: str
    weight_edition: str
    as_of: date
    people_scored: int
    top_bracket_size: int
    provisional: bool
    fingerprint: str
    big_movers: tuple[str, ...] = ()


@register("ranking.candidate_identified", aggregate="ranking_run")
class CandidateIdentified(EventData):
    """A top-bracket person: input to human assessment, never a decision (DPA 2018 s.49)."""

    run_id: str
    person_ref: str
    rank: int
    score: float
    as_of: date
    provisional: bool
    top_contributions: tuple[Contribution, ...] = ()
    subject: PersonDetails | None = None
