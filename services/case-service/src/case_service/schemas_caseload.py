"""API models of caseloads (a manager's, the team's) and of the reports (suitability, evaluation)."""

from __future__ import annotations

from typing import Any

from hhpu_shared.http import Page
from pydantic import BaseModel, Field


class CaseloadManager(BaseModel):
    id: str
    staff_id: str
    name: str


class CaseloadLoad(BaseModel):
    points: float
    capacity_points: float
    utilisation: float | None
    over_capacity: bool
    team_median_utilisation: float | None
    ratio_to_team_median: float | None


class CaseloadSummary(BaseModel):
    """Totals over every case of the caseload (not only the page shown)."""

    cases: int
    by_cohort: dict[str, int]
    visor: int
    high_or_very_high_risk: int
    very_high_risk: int
    reviews_overdue: int


class RiskToolResult(BaseModel):
    band: str
    assessed_on: str
    next_due: str


class DueWork(BaseModel):
    kind: str = Field(examples=["review", "risk_assessment"])
    due_on: str
    overdue: bool


class CaseloadRow(BaseModel):
    """One managed case as its manager reads it: the person by name, cohort, risk, what is due."""

    case_id: str
    person_id: str
    name: str | None
    date_of_birth: str | None
    cohort: str
    mappa_category: int | None
    mappa_level: int | None
    risk_band: str | None
    risk_tools: dict[str, RiskToolResult] = Field(description="the latest result of each risk tool")
    subject_category: str | None
    adopted_on: str | None
    next_review_on: str | None
    risk_assessment_due_on: str | None
    active_interventions: int
    open_work: list[DueWork] = Field(description="reviews and risk assessments due within 14 days or overdue")
    points: float


class OpenActionsLink(BaseModel):
    source: str
    url: str
    note: str


class ManagerCaseload(BaseModel):
    """A manager's caseload: one page of cases, the totals over all of them and the load."""

    manager: CaseloadManager
    on: str
    load: CaseloadLoad
    summary: CaseloadSummary
    open_actions: OpenActionsLink | None = Field(
        default=None, description="where the signed-in manager's own meeting actions are listed"
    )
    cases: Page[CaseloadRow]


class ManagerLoadRow(BaseModel):
    manager_id: str
    name: str | None = None
    points: float
    capacity: float
    utilisation: float
    ratio_to_median: float | None
    cases: int
    high_risk_cases: int


class RebalancingMove(BaseModel):
    case_id: str
    from_manager_id: str
    to_manager_id: str
    points: float
    cv_before: float
    cv_after: float
    reason: str


class TeamCaseload(BaseModel):
    """The team's equity over every active manager; `per_manager` is one page of managers."""

    managers: int
    median_utilisation: float
    coefficient_of_variation: float
    gini: float
    max_to_min: float | None
    mosovo_trained: int
    per_manager: Page[ManagerLoadRow]
    rebalancing: list[RebalancingMove] = Field(description="at most five suggested moves, in order")


class TriggerRow(BaseModel):
    source: str
    ref: str
    detail: str | None


class SuitabilityRow(BaseModel):
    assessment_id: str
    person_id: str
    person_label: str
    records_id: str | None
    opened_at: str
    urgency: str
    status: str
    decision: str | None
    recommendation: str | None
    triggers: list[TriggerRow]


class SuitabilityGroups(BaseModel):
    """Each source's people, one page each (the same `limit` and `offset`, each its own total)."""

    both: Page[SuitabilityRow]
    algorithm: Page[SuitabilityRow]
    referral: Page[SuitabilityRow]
    manual: Page[SuitabilityRow]


class SuitabilityReport(BaseModel):
    since: str
    generated_on: str
    counts: dict[str, int]
    total: int
    groups: SuitabilityGroups


class Period(BaseModel):
    start: str
    end: str


class TeamCapacity(BaseModel):
    managers: int
    managed_cases: int
    capacity_points: float
    load_points: float
    utilisation: float | None
    median_manager_utilisation: float | None
    managers_over_capacity: int


class ChiSquare(BaseModel):
    statistic: float
    dof: int
    p_value: float
    rows: list[str]
    columns: list[str]
    expected: list[list[float]]
    note: str


class InterventionTypeCount(BaseModel):
    cohort_group: str
    code: str
    count: int


class InterventionMix(BaseModel):
    groups: list[str]
    categories: list[str]
    counts: list[list[int]]
    by_type: list[InterventionTypeCount]
    chi_square: ChiSquare | None


class TrainingCoverage(BaseModel):
    managers: int
    mosovo_trained: int
    coverage: float


class EvaluationFigures(BaseModel):
    """The evaluation's live figures; aggregate only, no person identified."""

    period: Period
    capacity: TeamCapacity
    managed_by_month: list[dict[str, Any]] = Field(
        description="one row per month: month and count per cohort"
    )
    interventions: InterventionMix
    training: TrainingCoverage
    costs: dict[str, float] = Field(description="indicative costs in GBP (training and supervision)")
