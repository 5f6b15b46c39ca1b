"""API models of the ranking's catalogue, schedule, comparisons, back-tests and reports.

They describe the figures the service layer computes (for /docs and for clients); each allows
fields beyond those named (`extra="allow"`), so a figure added by the service is passed on, never
dropped, and only the names documented here are promised.
"""

from __future__ import annotations

from typing import Any

from hhpu_shared.http import Page
from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ModelPublic(BaseModel):
    """A versioned scoring model of the catalogue."""

    ref: str = Field(examples=["hh_recency_harm@2"], description="name@version")
    algorithm: str | None = Field(default=None, examples=["recency_harm", "rfg"])
    description: str | None = None
    params: dict[str, Any] = Field(description="the model's resolved parameters")


class EditionName(BaseModel):
    edition: str = Field(examples=["cchi-2020"])


class WeightRow(_Open):
    code: str = Field(examples=["008/06"])
    days: float
    label: str
    domains: list[str]
    default_of: list[str] = Field(default_factory=list)


class WeightEdition(_Open):
    edition: str
    name: str
    source: str
    checksum: str = Field(description="SHA-256 of the edition file")
    fallback_days: float
    serious_days: float
    weights: list[WeightRow]


class SchedulePeriod(_Open):
    schedule_key: str
    starts: str
    ends: str
    production_run_id: str | None
    status: str = Field(examples=["done", "due", "overdue"])


class SchedulePublic(_Open):
    enabled: bool
    interval_days: int
    production_model: str
    shadow_models: list[str]
    checked_every_s: float
    current_period: SchedulePeriod
    next_run_due_at: str
    overdue: bool
    overdue_after_s: float
    last_scheduled_run: dict[str, Any] | None


class Contribution(_Open):
    offence_code: str
    offence_name: str | None = None
    offence_date: str
    harm: float
    weighted: float


class BreakdownPublic(_Open):
    """One person's place in a run and the offences that contribute most."""

    run_id: str
    person_ref: str
    rank: int
    score: float
    harm_total: float
    offence_count: int
    in_top: bool
    provisional: bool
    components: dict[str, Any] = Field(default_factory=dict)
    top_contributions: list[Contribution] = Field(
        description="the offences that weigh most in the score (RANKING_BREAKDOWN_TOP of them), for the "
        "people in the top bracket; empty below it (the breakdown is computed for the people a run shows)"
    )
    candidate_event_id: str | None = None


class ReproducePublic(_Open):
    """A stored run recomputed from its stored inputs: what matches and what differs."""

    run_id: str
    identical: bool
    checks: dict[str, bool]
    fingerprint_match: bool
    entries_compared: int
    differences: int
    first_differences: list[dict[str, Any]] = Field(default_factory=list)
    missing_imports: list[Any] = Field(default_factory=list)


class Entrant(_Open):
    person_ref: str
    rank_after: int | None
    rank_before: int | None


class Mover(_Open):
    person_ref: str
    rank_before: int
    rank_after: int
    change: int = Field(description="places gained (positive) or lost")


class ComparisonPublic(_Open):
    """Two runs compared; entrants, leavers and big movers are each one page (the same `limit` and
    `offset`, each with its own total)."""

    before_run_id: str
    after_run_id: str
    people_before: int
    people_after: int
    people_in_both: int
    kendall_tau: float | None
    kendall_p_value: float | None
    top_jaccard: float
    top_churn: float
    entrants: Page[Entrant] = Field(description="in the top bracket now, not before")
    leavers: Page[Entrant] = Field(description="in the top bracket before, not now")
    big_movers: Page[Mover]


class FairnessGroup(_Open):
    group: str
    population: int
    top: int
    statement: str | None = None


class FairnessPublic(_Open):
    """The top bracket by recorded sex, age band and ethnicity against the scored population."""

    run_id: str
    as_of: str
    scored: int
    top_bracket: int
    method: str
    dimensions: dict[str, list[FairnessGroup]]
    flagged_groups: list[Any]
    people_without_demographics: int
    outcomes: dict[str, list[dict[str, Any]]] | None = None
    outcomes_follow_up_days: int | None = None


class Correlation(_Open):
    rho: float | None
    p_value: float | None = None
    ci95: list[float] | None = None


class Decile(_Open):
    decile: int
    people: int
    later_harm: float
    harm_share: float | None = None
    lift: float | None = None


class EvaluationPublic(_Open):
    """A run's back-test on the follow-up window after its as-of date."""

    run_id: str
    as_of: str
    follow_up_days: int
    follow_up_complete: bool
    people: int
    top_bracket: int
    later_offenders: int
    later_harm_total: float
    spearman_harm: Correlation
    spearman_count: Correlation
    top_share_of_later_harm: float | None
    auc_high_harm: float | None
    deciles: list[Decile]
    calibration: list[dict[str, Any]] = Field(default_factory=list)
    baselines: dict[str, dict[str, Any]] = Field(default_factory=dict)
    fairness: dict[str, Any] | None = None
    evaluation_id: int | None = None
    created_at: str | None = None


class HistorySummary(_Open):
    """Each back-test and stability figure across runs: per run, the mean and the trend."""

    kind: str
    runs: int
    evaluated_runs: int = 0
    first_as_of: str | None = None
    last_as_of: str | None = None
    provisional_runs: int = 0
    method: str | None = None
    figures: dict[str, dict[str, Any]] = Field(default_factory=dict)


class ModelComparisonPublic(_Open):
    """Several models and the baselines back-tested on one population (nothing stored)."""

    as_of: str
    follow_up_days: int
    follow_up_complete: bool
    population: dict[str, Any]
    top_bracket: int
    reference_model: str
    models: dict[str, dict[str, Any]]
    baselines: dict[str, dict[str, Any]]
    weight_edition: str | None = None


class UnmappedCode(BaseModel):
    offence_code: str
    rows: int


class DataQualityPublic(_Open):
    """Offence codes in the stored records the weight edition does not map."""

    edition: str
    fallback_days: float
    rows: int
    unmapped_rows: int
    unmapped_codes: list[UnmappedCode]
