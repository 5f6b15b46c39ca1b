"""API models of the meeting-service (pydantic 2); lists return ``hhpu_shared.http.Page[XPublic]``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from hhpu_shared.events.contracts.common import Cohort, Decision, Urgency
from hhpu_shared.fields import Line, PlanDate, Text
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator, model_validator

from meeting_service.schema_examples import examples

ItemKind = Literal["new_case", "review", "overdue_action", "other"]
CarryReason = Literal["not_done_by_agency", "overdue", "in_progress", "awaiting_information", "other"]
TIME_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d$"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class MeetingTypeUpsert(_In):
    model_config = ConfigDict(json_schema_extra=examples("MeetingTypeUpsert"))

    name: Line = Field(min_length=1, max_length=200, examples=["Monthly multi-agency meeting"])
    description: Text | None = Field(default=None, max_length=1000)
    default_duration_minutes: StrictInt = Field(default=120, ge=5, le=600)
    agenda_limit_minutes: StrictInt = Field(default=120, ge=5, le=600, examples=[120])
    quorum_agencies: StrictInt = Field(default=0, ge=0, le=50, examples=[3])
    enforce_quorum: StrictBool = False


class MeetingTypePublic(_Out):
    id: str
    name: str
    description: str | None
    default_duration_minutes: int
    agenda_limit_minutes: int
    quorum_agencies: int
    enforce_quorum: bool


class AgencyUpsert(_In):
    model_config = ConfigDict(json_schema_extra=examples("AgencyUpsert"))

    name: Line = Field(min_length=1, max_length=200, examples=["Housing"])
    spoc_name: Line | None = Field(default=None, max_length=200, examples=["Priya Shah"])
    spoc_email: Line | None = Field(default=None, max_length=254)
    spoc_phone: Line | None = Field(default=None, max_length=50)
    active: StrictBool = True


class AgencyPublic(_Out):
    id: str
    name: str
    spoc_name: str | None
    spoc_email: str | None
    spoc_phone: str | None
    active: bool


class SeriesCreate(_In):
    model_config = ConfigDict(json_schema_extra=examples("SeriesCreate"))

    meeting_type_id: Line = Field(min_length=1, max_length=64, examples=["monthly_mam"])
    title: Line = Field(min_length=1, max_length=200, examples=["HHPU monthly multi-agency meeting"])
    recurrence: Literal["monthly", "weekly", "weekdays"] = "monthly"
    weekday: StrictInt = Field(default=1, ge=0, le=6, description="0 = Monday")
    ordinal: StrictInt = Field(default=1, ge=-1, le=4, description="monthly: nth weekday, -1 = last")
    start_time: str = Field(default="10:00", pattern=TIME_PATTERN)
    duration_minutes: StrictInt | None = Field(default=None, ge=5, le=600)
    location: Line | None = Field(default=None, max_length=200)
    invited_agency_ids: list[Line] = Field(default_factory=list, examples=[["probation", "housing"]])

    @field_validator("ordinal")
    @classmethod
    def _ordinal(cls, v: int) -> int:
        if v == 0:
            raise ValueError("[invalid_ordinal] ordinal is 1..4 or -1 (last)")
        return v


class SeriesPublic(_Out):
    id: str
    meeting_type_id: str
    title: str
    recurrence: str
    weekday: int
    ordinal: int
    start_time: str
    duration_minutes: int
    location: str | None
    invited_agency_ids: list[str]
    active: bool


class ScheduleRequest(_In):
    model_config = ConfigDict(json_schema_extra=examples("ScheduleRequest"))

    count: StrictInt = Field(default=1, ge=1, le=24)


class MeetingCreate(_In):
    model_config = ConfigDict(json_schema_extra=examples("MeetingCreate"))

    meeting_type_id: Line = Field(min_length=1, max_length=64, examples=["case_conference"])
    title: Line | None = Field(default=None, max_length=200)
    scheduled_on: PlanDate
    start_time: str = Field(default="10:00", pattern=TIME_PATTERN)
    duration_minutes: StrictInt | None = Field(default=None, ge=5, le=600)
    agenda_limit_minutes: StrictInt | None = Field(default=None, ge=5, le=600)
    location: Line | None = Field(default=None, max_length=200)
    chair_name: Line | None = Field(default=None, max_length=200)
    invited_agency_ids: list[Line] = Field(default_factory=list)


class MeetingUpdate(_In):
    model_config = ConfigDict(json_schema_extra=examples("MeetingUpdate"))

    title: Line | None = Field(default=None, max_length=200)
    scheduled_on: PlanDate | None = None
    start_time: str | None = Field(default=None, pattern=TIME_PATTERN)
    duration_minutes: StrictInt | None = Field(default=None, ge=5, le=600)
    agenda_limit_minutes: StrictInt | None = Field(default=None, ge=5, le=600)
    location: Line | None = Field(default=None, max_length=200)
    chair_name: Line | None = Field(default=None, max_length=200)


class InvitationPublic(_Out):
    agency_id: str
    agency_name: str
    contact_name: str | None
    contact_email: str | None
    response: str
    apology_reason: str | None
    attended: bool
    attendees: str | None


class InvitationUpdate(_In):
    model_config = ConfigDict(json_schema_extra=examples("InvitationUpdate"))

    response: Literal["invited", "accepted", "apologies"] | None = None
    apology_reason: Text | None = Field(default=None, max_length=500)
    attended: StrictBool | None = None
    attendees: Text | None = Field(default=None, max_length=1000)
    contact_name: Line | None = Field(default=None, max_length=200)


class InviteRequest(_In):
    model_config = ConfigDict(json_schema_extra=examples("InviteRequest"))

    agency_id: Line = Field(min_length=1, max_length=64)


class MeetingPublic(_Out):
    id: str
    series_id: str | None
    meeting_type_id: str
    title: str
    scheduled_on: date
    start_time: str
    duration_minutes: int
    agenda_limit_minutes: int
    location: str | None
    chair_name: str | None = None
    status: str
    agenda_finalised_at: datetime | None = None
    closed_at: datetime | None = None
    invitations: list[InvitationPublic] = Field(default_factory=list)
    agencies_attending: int = 0
    quorum_agencies: int = 0
    quorum_met: bool = False


class AgendaItemCreate(_In):
    model_config = ConfigDict(json_schema_extra=examples("AgendaItemCreate"))

    kind: ItemKind = "other"
    title: Line = Field(min_length=1, max_length=300, examples=["Partnership update: housing"])
    assessment_id: Line | None = Field(default=None, max_length=64)
    person_id: Line | None = Field(default=None, max_length=64)
    person_label: Line | None = Field(default=None, max_length=200)
    urgency: Urgency = "normal"
    planned_minutes: StrictInt | None = Field(default=None, ge=1, le=120)
    notes: Text | None = Field(default=None, max_length=5000)
    pinned: StrictBool = True

    @model_validator(mode="after")
    def _case_needs_assessment(self) -> AgendaItemCreate:
        if self.kind == "new_case" and not (self.assessment_id and self.person_id):
            raise ValueError("[assessment_required] a new case item needs assessment_id and person_id")
        return self


class AgendaItemUpdate(_In):
    model_config = ConfigDict(json_schema_extra=examples("AgendaItemUpdate"))

    title: Line | None = Field(default=None, min_length=1, max_length=300)
    urgency: Urgency | None = None
    planned_minutes: StrictInt | None = Field(default=None, ge=1, le=120)
    notes: Text | None = Field(default=None, max_length=5000)
    minutes: Text | None = Field(default=None, max_length=20000, description="the minute of this item")
    pinned: StrictBool | None = None
    status: Literal["planned"] | None = Field(default=None, description="restore a removed item")


class AgendaItemPublic(_Out):
    id: str
    meeting_id: str
    kind: str
    title: str
    assessment_id: str | None
    person_id: str | None
    person_label: str | None
    action_id: str | None
    urgency: str
    planned_minutes: int
    position: int | None
    pinned: bool
    source: str
    status: str
    notes: str | None
    minutes: str | None
    deferred_reason_code: str | None
    deferred_reason: str | None
    deferred_to_meeting_id: str | None
    carried_from_meeting_id: str | None
    carried_reason: str | None
    starts_at_minute: int | None = None


class DeferredPublic(BaseModel):
    item: AgendaItemPublic
    reason_code: str
    reason: str


class AgendaPublic(BaseModel):
    meeting_id: str
    limit_minutes: int
    requested_minutes: int
    planned_minutes: int
    over_limit: bool
    kept: list[AgendaItemPublic]
    to_defer: list[DeferredPublic] = Field(description="items that move to the next meeting when finalised")
    moved: list[AgendaItemPublic] = Field(default_factory=list, description="items already deferred")
    removed: list[AgendaItemPublic] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    moved_to_meeting_id: str | None = None


class ReorderRequest(_In):
    model_config = ConfigDict(json_schema_extra=examples("ReorderRequest"))

    item_ids: list[Line] = Field(min_length=1)


class OutcomeCreate(_In):
    model_config = ConfigDict(json_schema_extra=examples("OutcomeCreate"))

    kind: Literal["information", "decision", "action"]
    text: Text | None = Field(default=None, max_length=20000)
    decision: Decision | None = None
    decided_by: Line | None = Field(default=None, max_length=200, examples=["DI Sarah Cole"])
    cohort: Cohort | None = None
    reason: Text | None = Field(default=None, max_length=1000)
    description: Text | None = Field(default=None, max_length=1000)
    owner_name: Line | None = Field(default=None, max_length=200)
    owner_agency_id: Line | None = Field(default=None, max_length=64)
    owner_subject: Line | None = Field(default=None, max_length=128)
    due_date: PlanDate | None = None

    @model_validator(mode="after")
    def _by_kind(self) -> OutcomeCreate:
        if self.kind == "information" and not self.text:
            raise ValueError("[text_required] information needs text")
        if self.kind == "decision" and not (self.decision and self.decided_by):
            raise ValueError("[decision_required] a decision needs decision and decided_by (a named person)")
        if self.kind == "action" and not (self.description and self.owner_name and self.owner_agency_id):
            raise ValueError("[action_required] an action needs description, owner_name and owner_agency_id")
        return self


class OutcomePublic(_Out):
    id: str
    meeting_id: str
    item_id: str
    kind: str
    text: str | None
    decision: str | None
    decided_by: str | None
    cohort: str | None
    reason: str | None
    action_id: str | None
    recorded_by: str
    created_at: datetime


class ActionCreate(_In):
    model_config = ConfigDict(json_schema_extra=examples("ActionCreate"))

    description: Text = Field(min_length=1, max_length=1000, examples=["Housing to confirm the address"])
    owner_name: Line = Field(min_length=1, max_length=200)
    owner_agency_id: Line = Field(min_length=1, max_length=64, examples=["housing"])
    owner_subject: Line | None = Field(default=None, max_length=128)
    person_id: Line | None = Field(default=None, max_length=64)
    due_date: PlanDate | None = None


class ActionCarryPublic(_Out):
    from_meeting_id: str | None
    to_meeting_id: str
    reason_code: str
    reason: str
    previous_status: str
    previous_due_date: date
    carried_at: datetime


class ActionPublic(_Out):
    id: str
    meeting_id: str
    item_id: str | None
    review_meeting_id: str | None
    description: str
    owner_name: str
    owner_agency_id: str
    owner_subject: str | None
    person_id: str | None
    due_date: date
    status: str
    status_note: str | None
    overdue: bool = False
    carry_count: int
    carries: list[ActionCarryPublic] = Field(default_factory=list)


class ActionStatusUpdate(_In):
    model_config = ConfigDict(json_schema_extra=examples("ActionStatusUpdate"))

    status: Literal["done", "not_possible", "not_done"]
    note: Text | None = Field(default=None, max_length=1000)


class CarryOverRequest(_In):
    model_config = ConfigDict(json_schema_extra=examples("CarryOverRequest"))

    reason_code: CarryReason = "not_done_by_agency"
    reason: Text | None = Field(default=None, max_length=500)


class AddendumCreate(_In):
    model_config = ConfigDict(json_schema_extra=examples("AddendumCreate"))

    text: Text = Field(min_length=1, max_length=20000)
    item_id: Line | None = None


class AddendumPublic(_Out):
    id: str
    meeting_id: str
    item_id: str | None
    text: str
    author: str
    created_at: datetime


class CloseResult(BaseModel):
    meeting: MeetingPublic
    items_moved: int = Field(description="over-limit items and undecided new cases moved to the next meeting")
    actions_carried: int


class SweepResult(BaseModel):
    flagged: list[str]
