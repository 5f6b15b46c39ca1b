"""API models for risk assessments, notes, interventions, managers and reports."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from hhpu_shared.fields import Line, LineCheck, PastDate, PlanDate, Text
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    model_validator,
)

Rating = Literal["absent", "some", "present"]
Band = Literal["low", "medium", "high", "very_high"]
ItemName = Annotated[str, StringConstraints(max_length=64), LineCheck]


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Rm2000In(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "age": 22,
                    "sexual_appearances": 2,
                    "criminal_appearances": 6,
                    "violent_appearances": 1,
                    "burglary": False,
                    "male_victim": True,
                    "stranger_victim": True,
                }
            ]
        },
    )
    age: StrictInt = Field(ge=0, le=120)
    sexual_appearances: StrictInt = Field(ge=0, le=100)
    criminal_appearances: StrictInt = Field(ge=0, le=500)
    violent_appearances: StrictInt = Field(ge=0, le=500)
    burglary: StrictBool = False
    male_victim: StrictBool = False
    stranger_victim: StrictBool = False
    never_married: StrictBool = False
    non_contact_offence: StrictBool = False
    assessed_on: PastDate | None = None


class ArmsIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "risk": {
                        "opportunity_to_offend": "some",
                        "sexual_preoccupation": "absent",
                        "offence_related_sexual_interest": "absent",
                        "emotional_congruence_with_children": "absent",
                        "hostile_orientation": "some",
                        "poor_self_management": "present",
                        "negative_social_influences": "some",
                    },
                    "protective": {
                        "positive_routine": "some",
                        "social_investment": "absent",
                        "commitment_to_desist": "some",
                        "positive_social_influences": "absent",
                    },
                    "assessed_on": "2026-11-20",
                }
            ]
        },
    )
    risk: dict[ItemName, Rating]
    protective: dict[ItemName, Rating]
    assessed_on: PastDate | None = None


class IomIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"likelihood": "high", "harm": "high", "assessed_on": "2026-11-20"}]},
    )
    likelihood: Literal["low", "medium", "high"]
    harm: Band
    assessed_on: PastDate | None = None


class RiskPublic(_Out):
    id: str
    case_id: str
    tool: str
    inputs: dict[str, Any]
    result: dict[str, Any]
    band: str
    assessed_by: str
    assessed_on: date
    next_due: date
    recorded_at: datetime


class OverduePublic(BaseModel):
    """A managed case whose risk reassessment is overdue (or never assessed after four weeks)."""

    case_id: str
    due: date
    days_overdue: int
    never_assessed: bool


class NoteCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"kind": "assessment", "text": "Engagement appears superficial."}]},
    )
    kind: Literal["fact", "assessment"]
    text: Text = Field(min_length=1, max_length=20000)
    corrects_note_id: Line | None = Field(default=None, max_length=64)


class NotePublic(_Out):
    id: str
    case_id: str
    kind: str
    text: str
    author: str
    corrects_note_id: str | None
    at: datetime
    corrected_by: list[str] = []


class InterventionCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"code": "home_address_check", "agency": "police", "started_on": "2026-11-02"}]
        },
    )
    code: Line = Field(max_length=64)
    agency: Line = Field(min_length=1, max_length=64)
    started_on: PlanDate | None = None
    ended_on: PlanDate | None = None
    status: Literal["planned", "active", "completed", "ended_early"] = "active"
    outcome: Text | None = Field(default=None, max_length=4000)

    @model_validator(mode="after")
    def _dates(self) -> InterventionCreate:
        if self.started_on and self.ended_on and self.ended_on < self.started_on:
            raise ValueError("[before_start] an intervention cannot end before it started")
        return self


class InterventionUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"status": "completed", "ended_on": "2026-11-28", "outcome": "attended all sessions"}
            ]
        },
    )
    ended_on: PlanDate | None = None
    status: Literal["planned", "active", "completed", "ended_early"] | None = None
    outcome: Text | None = Field(default=None, max_length=4000)


class InterventionPublic(_Out):
    id: str
    case_id: str
    code: str
    category: str
    cohort: str
    agency: str
    started_on: date | None
    ended_on: date | None
    status: str
    outcome: str | None
    recorded_by: str
    recorded_at: datetime


class InterventionTypePublic(BaseModel):
    code: str
    name: str
    category: str


class ManagerCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"staff_id": "om-17", "name": "PC Ann Lee"}]}
    )
    staff_id: Line = Field(min_length=1, max_length=128)
    name: Line = Field(min_length=1, max_length=200)
    capacity_points: StrictFloat | None = Field(default=None, gt=0, le=500)


class ManagerUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"capacity_points": 30.0, "active": True}]}
    )
    capacity_points: StrictFloat | None = Field(default=None, gt=0, le=500)
    active: StrictBool | None = None


class TrainingCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"course": "mosovo", "completed_on": "2026-01-20"}]}
    )
    course: Literal["mosovo", "iom", "domestic_abuse", "arms", "rm2000"]
    completed_on: PastDate
    expires_on: PlanDate | None = None


class TrainingPublic(_Out):
    id: str
    course: str
    completed_on: date
    expires_on: date | None


class ManagerPublic(_Out):
    id: str
    staff_id: str
    name: str
    capacity_points: float
    active: bool
    training: list[TrainingPublic] = []


class SuggestionPublic(BaseModel):
    manager_id: str | None
    points_after: float | None
    utilisation_after: float | None
    reasons: list[str]
    considered: list[dict[str, Any]]
