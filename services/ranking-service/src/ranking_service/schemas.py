"""API models of the ranking-service."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ranking_service.models import RankImport, RankRun

if TYPE_CHECKING:
    from ranking_service.service.runs import DryRun


class RunCreate(BaseModel):
    """Ask for a ranking run. Production uses the configured production model unless one is named."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"kind": "shadow", "model": "rfgv@1", "as_of": "2026-11-26", "top_n": 50}]
        },
    )

    kind: Literal["production", "shadow", "dry"] = "production"
    model: str | None = Field(default=None, max_length=64, description="catalogue model, name@version")
    params: dict[str, Any] | None = Field(default=None, description="overrides of the model's parameters")
    as_of: date | None = Field(default=None, description="score as known on this date (default today)")
    top_n: int | None = Field(default=None, ge=1, le=100_000)
    top_share: float | None = Field(default=None, gt=0, le=1)
    weight_edition: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _one_bracket(self) -> RunCreate:
        if self.top_n is not None and self.top_share is not None:
            raise ValueError("[bracket_conflict] give top_n or top_share, not both")
        return self


class RunPublic(BaseModel):
    id: str
    kind: str
    trigger: str
    model: str
    model_version: str
    params: dict[str, Any]
    weight_edition: str
    as_of: date
    import_ids: list[str]
    fingerprint: str
    rows_used: int
    people_scored: int
    top_n: int | None
    top_share: float | None
    top_bracket_size: int
    provisional: bool
    provisional_reasons: list[str]
    data_quality: dict[str, Any]
    comparison: dict[str, Any]
    previous_run_id: str | None
    candidates_emitted: int
    created_at: datetime
    created_by: str

    @classmethod
    def of(cls, r: RankRun) -> RunPublic:
        d = r.model_dump()
        for k in ("params", "import_ids", "provisional_reasons", "data_quality", "comparison"):
            d[k] = json.loads(d[k])
        d.pop("fairness", None)
        d.pop("schedule_key", None)
        d.pop("weight_checksum", None)
        return cls.model_validate(d)


class EntryPublic(BaseModel):
    rank: int
    person_ref: str
    score: float
    harm_total: float
    offence_count: int
    in_top: bool
    provisional: bool


class DryRunPublic(BaseModel):
    kind: Literal["dry"] = "dry"
    model: str
    as_of: date
    fingerprint: str
    people_scored: int
    top_bracket_size: int
    provisional_reasons: list[str]
    data_quality: dict[str, Any]
    comparison: dict[str, Any]
    top: list[EntryPublic]

    @classmethod
    def of(cls, dry: DryRun) -> DryRunPublic:
        c = dry.computation
        top = [
            EntryPublic(
                rank=i + 1,
                person_ref=p,
                score=float(c.scores[i]),
                harm_total=float(c.harm[i]),
                offence_count=int(c.counts[i]),
                in_top=True,
                provisional=bool(c.entry_provisional[i]),
            )
            for i, p in enumerate(c.people[: c.top_size])
        ]
        return cls(
            model=dry.model_ref,
            as_of=c.as_of,
            fingerprint=c.fingerprint,
            people_scored=len(c.people),
            top_bracket_size=c.top_size,
            provisional_reasons=c.provisional_reasons,
            data_quality=c.data_quality,
            comparison=dry.comparison,
            top=top,
        )


class EvaluationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"follow_up_days": 365}]})

    follow_up_days: int = Field(default=365, ge=1, le=3650)
    bootstrap_replicates: int = Field(default=1000, ge=100, le=10_000)
    seed: int = Field(default=20190201, ge=0)


class ImportPublic(BaseModel):
    id: str
    kind: str
    sha256: str
    filename: str
    format: str
    store: str
    rows_total: int
    rows_accepted: int
    rows_rejected: int
    max_recorded_date: date | None
    created_at: datetime
    created_by: str

    @classmethod
    def of(cls, i: RankImport) -> ImportPublic:
        return cls.model_validate(i.model_dump())


class ImportReportPublic(BaseModel):
    import_id: str
    kind: str
    sha256: str
    filename: str
    format: str
    duplicate: bool
    rows_total: int
    rows_accepted: int
    rows_rejected: int
    rejections: list[dict[str, Any]]
    rejections_truncated: bool
    unmapped_codes: dict[str, int]


class RejectionPublic(BaseModel):
    row: int
    errors: list[dict[str, str]]


class HistoryEvaluation(BaseModel):
    follow_up_days: int
    follow_up_complete: bool
    spearman_harm: dict[str, Any]
    spearman_count: dict[str, Any]
    auc_high_harm: float
    top_share_of_later_harm: float


class HistoryPoint(BaseModel):
    """One run in the ranking history: stability against the previous run, latest back-test."""

    run_id: str
    as_of: date
    model: str
    people_scored: int
    top_bracket_size: int
    provisional: bool
    previous_run_id: str | None
    top_jaccard_vs_previous: float | None
    kendall_tau_vs_previous: float | None
    top_churn_vs_previous: float | None
    evaluation: HistoryEvaluation | None


class TrajectoryPoint(BaseModel):
    """A person's place in one run (rank and score None: not scored by that run)."""

    run_id: str
    as_of: date
    model: str
    people_scored: int
    rank: int | None
    score: float | None
    in_top: bool
