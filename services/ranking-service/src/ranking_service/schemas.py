"""API models of the ranking-service."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from hhpu_shared.events.contracts.ranking import RunKind
from hhpu_shared.fields import Line, LineCheck, PastDate
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StringConstraints, model_validator

from ranking_service.models import RankImport, RankRun

if TYPE_CHECKING:
    from ranking_service.service.runs import DryRun


class RunCreate(BaseModel):
    """Ask for a ranking run. Production uses the configured production model unless one is named."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"kind": "shadow", "model": "rfgv@2", "as_of": "2026-11-26", "top_n": 50}]
        },
    )

    kind: RunKind = "production"
    model: Line | None = Field(default=None, max_length=64, description="catalogue model, name@version")
    params: dict[Annotated[str, StringConstraints(max_length=64), LineCheck], Any] | None = Field(
        default=None, description="overrides of the model's parameters"
    )
    as_of: PastDate | None = Field(default=None, description="score as known on this date (default today)")
    top_n: StrictInt | None = Field(default=None, ge=1, le=100_000)
    top_share: StrictFloat | None = Field(default=None, gt=0, le=1)
    weight_edition: Line | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _one_bracket(self) -> RunCreate:
        if self.top_n is not None and self.top_share is not None:
            raise ValueError("[bracket_conflict] give top_n or top_share, not both")
        return self


class RunPublic(BaseModel):
    """A stored run. Everything needed to reproduce it: the engine version, the weight edition and its
    checksum, every input file (offences and people) by SHA-256, the fingerprint of the offence rows
    used and of the demographics behind the fairness view, and the fully resolved parameters."""

    id: str
    kind: str
    trigger: str
    model: str
    model_version: str
    params: dict[str, Any]
    weight_edition: str
    weight_checksum: str = Field(description="SHA-256 of the weight edition file")
    engine_version: str = Field(
        description="engine that computed the run: package version + SHA-256 prefix of the scoring sources"
    )
    as_of: date
    import_ids: list[str]
    input_files: list[dict[str, Any]] = Field(description="every offence and people file, by SHA-256")
    fingerprint: str = Field(description="SHA-256 of the offence rows the run used")
    people_fingerprint: str = Field(description="SHA-256 of the demographics behind the fairness view")
    rows_used: int
    people_scored: int
    top_n: int | None
    top_share: float | None
    top_bracket_size: int
    provisional: bool
    provisional_reasons: list[str] = Field(
        description="why the run is provisional: stale_data, unmapped_codes_possible_serious_harm (codes in "
        "data_quality.unmapped_codes_possible_serious_harm), unmapped_codes (share above the limit), "
        "rejected_rows, rejected_codes_possible_serious_harm (rows the imports rejected for a code whose "
        "class may hide serious harm: data_quality.rejected_codes_possible_serious_harm), "
        "no_offences_in_window"
    )
    data_quality: dict[str, Any] = Field(
        description="unmapped codes (rows, people, what their class may hide), codes scored by their default "
        "variant, rows rejected for their code (per code, what its class may hide), ties at the top-bracket "
        "boundary, engine version"
    )
    comparison: dict[str, Any]
    previous_run_id: str | None
    candidates_emitted: int
    created_at: datetime
    created_by: str

    @classmethod
    def of(cls, r: RankRun) -> RunPublic:
        d = r.model_dump()
        for k in ("params", "import_ids", "input_files", "provisional_reasons", "data_quality", "comparison"):
            d[k] = json.loads(d[k])
        d.pop("fairness", None)
        d.pop("schedule_key", None)
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


class ModelComparisonCreate(BaseModel):
    """Back-test several models and the baselines on ONE population as of a date (nothing stored)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"as_of": "2025-11-26", "models": ["hh_recency_harm@2", "rfgv@2"], "follow_up_days": 365}
            ]
        },
    )

    as_of: PastDate = Field(description="score as known on this date; outcomes come from the days after it")
    models: list[Annotated[str, StringConstraints(max_length=64), LineCheck]] = Field(
        min_length=1, max_length=8, description="catalogue models; the first is the reference"
    )
    follow_up_days: StrictInt = Field(default=365, ge=1, le=3650)
    top_n: StrictInt | None = Field(
        default=None, ge=1, le=100_000, description="default: the configured bracket"
    )
    bootstrap_replicates: StrictInt = Field(default=1000, ge=100, le=10_000)
    seed: StrictInt = Field(default=20190201, ge=0)


class EvaluationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"follow_up_days": 365}]})

    follow_up_days: StrictInt = Field(default=365, ge=1, le=3650)
    bootstrap_replicates: StrictInt = Field(default=1000, ge=100, le=10_000)
    seed: StrictInt = Field(default=20190201, ge=0)


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
    rejected_codes: dict[str, int] = Field(
        default_factory=dict,
        description="rows rejected for their offence code, per code as spelt in the file (after "
        "normalising NNNNN to NNN/NN and lower-casing a variant suffix); every run using this import "
        "reports them in data_quality.rejected_codes",
    )


class RejectionPublic(BaseModel):
    row: int
    errors: list[dict[str, str]]


class HistoryEvaluation(BaseModel):
    """A run's latest back-test, with its intervals and the prior-offence-count baseline."""

    follow_up_days: int
    follow_up_complete: bool
    spearman_harm: dict[str, Any]
    spearman_count: dict[str, Any]
    auc_high_harm: float
    auc_ci95: list[float] | None = None
    top_share_of_later_harm: float
    top_share_ci95: list[float] | None = None
    top_precision_any_later_offence: float | None = None
    top_precision_ci95: list[float] | None = None
    prior_count_baseline_top_share: float | None = Field(
        default=None, description="the prior-offence-count baseline's top share on the same people"
    )
    versus_prior_offence_count: dict[str, Any] | None = Field(
        default=None, description="model minus baseline top share, with its paired bootstrap interval"
    )


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
