"""Tables of the meeting-service (prefix ``mtg_``), on its own registry and MetaData (migrated by
``migrations/``)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from hhpu_shared.migrations import service_registry
from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

REGISTRY = service_registry("meeting")


class Table(SQLModel, registry=REGISTRY):
    """Base of every meeting-service table."""


def new_id() -> str:
    return str(uuid.uuid4())


def now() -> datetime:
    return datetime.now(UTC)


class MeetingType(Table, table=True):
    """A kind of meeting as data: monthly multi-agency meeting, daily briefing, ..."""

    __tablename__ = "mtg_meeting_type"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=1000)
    default_duration_minutes: int = 120
    agenda_limit_minutes: int = 120
    quorum_agencies: int = 0
    enforce_quorum: bool = False
    created_at: datetime = Field(default_factory=now)


class Agency(Table, table=True):
    """A partner agency and its single point of contact (SPOC)."""

    __tablename__ = "mtg_agency"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    spoc_name: str | None = Field(default=None, max_length=200)
    spoc_email: str | None = Field(default=None, max_length=254)
    spoc_phone: str | None = Field(default=None, max_length=50)
    active: bool = True


class Series(Table, table=True):
    __tablename__ = "mtg_series"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    meeting_type_id: str = Field(foreign_key="mtg_meeting_type.id", index=True, max_length=64)
    title: str = Field(max_length=200)
    recurrence: str = Field(max_length=16)
    weekday: int = 1
    ordinal: int = 1
    start_time: str = Field(default="10:00", max_length=5)
    duration_minutes: int = 120
    location: str | None = Field(default=None, max_length=200)
    invited_agency_ids: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))
    active: bool = True
    created_at: datetime = Field(default_factory=now)


class Meeting(Table, table=True):
    __tablename__ = "mtg_meeting"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    series_id: str | None = Field(default=None, foreign_key="mtg_series.id", index=True, max_length=36)
    meeting_type_id: str = Field(foreign_key="mtg_meeting_type.id", index=True, max_length=64)
    title: str = Field(max_length=200)
    scheduled_on: date = Field(index=True)
    start_time: str = Field(default="10:00", max_length=5)
    duration_minutes: int = 120
    agenda_limit_minutes: int = 120
    location: str | None = Field(default=None, max_length=200)
    chair_name: str | None = Field(default=None, max_length=200)
    status: str = Field(default="scheduled", max_length=16, index=True)
    agenda_finalised_at: datetime | None = None
    closed_at: datetime | None = None
    closed_by: str | None = Field(default=None, max_length=128)
    created_at: datetime = Field(default_factory=now)


class Invitation(Table, table=True):
    """An invited agency, its contact, apologies and attendance for one meeting."""

    __tablename__ = "mtg_invitation"
    __table_args__ = (UniqueConstraint("meeting_id", "agency_id", name="uq_mtg_invitation_agency"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    # No index of its own: the unique constraint's index starts with it (one less to write per row).
    meeting_id: str = Field(foreign_key="mtg_meeting.id", max_length=36)
    agency_id: str = Field(max_length=64)
    agency_name: str = Field(max_length=200)
    contact_name: str | None = Field(default=None, max_length=200)
    contact_email: str | None = Field(default=None, max_length=254)
    response: str = Field(default="invited", max_length=16)  # invited | accepted | apologies
    apology_reason: str | None = Field(default=None, max_length=500)
    attended: bool = False
    attendees: str | None = Field(default=None, max_length=1000)


class AgendaItem(Table, table=True):
    __tablename__ = "mtg_agenda_item"
    __table_args__ = (UniqueConstraint("meeting_id", "item_key", name="uq_mtg_agenda_item_key"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    # No index of its own: the unique constraint's index starts with it (one less to write per row).
    meeting_id: str = Field(foreign_key="mtg_meeting.id", max_length=36)
    item_key: str = Field(max_length=200)
    kind: str = Field(max_length=32)  # new_case | review | overdue_action | other
    title: str = Field(max_length=300)
    assessment_id: str | None = Field(default=None, index=True, max_length=64)
    person_id: str | None = Field(default=None, max_length=64)
    person_label: str | None = Field(default=None, max_length=200)
    action_id: str | None = Field(default=None, max_length=36)
    urgency: str = Field(default="normal", max_length=32)
    order_hint: int = 0
    planned_minutes: int = 5
    position: int | None = None
    pinned: bool = False
    source: str = Field(default="event", max_length=16)  # event | manual | carried
    status: str = Field(default="planned", max_length=16)  # planned | deferred | removed
    notes: str | None = Field(default=None, sa_column=Column(Text))
    minutes: str | None = Field(default=None, sa_column=Column(Text))
    deferred_reason_code: str | None = Field(default=None, max_length=64)
    deferred_reason: str | None = Field(default=None, max_length=500)
    deferred_to_meeting_id: str | None = Field(default=None, max_length=36)
    carried_from_meeting_id: str | None = Field(default=None, max_length=36)
    carried_reason: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=now)


class Outcome(Table, table=True):
    """What an item produced: information, a decision (at most one per item) or an action."""

    __tablename__ = "mtg_outcome"
    __table_args__ = (UniqueConstraint("decision_key", name="uq_mtg_outcome_decision"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    meeting_id: str = Field(foreign_key="mtg_meeting.id", index=True, max_length=36)
    item_id: str = Field(foreign_key="mtg_agenda_item.id", index=True, max_length=36)
    kind: str = Field(max_length=16)  # information | decision | action
    text: str | None = Field(default=None, sa_column=Column(Text))
    decision: str | None = Field(default=None, max_length=16)
    decided_by: str | None = Field(default=None, max_length=200)
    cohort: str | None = Field(default=None, max_length=32)
    reason: str | None = Field(default=None, max_length=1000)
    decision_key: str | None = Field(default=None, max_length=36)  # = item_id for decisions
    action_id: str | None = Field(default=None, max_length=36)
    recorded_by: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=now)


class Action(Table, table=True):
    __tablename__ = "mtg_action"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    meeting_id: str = Field(foreign_key="mtg_meeting.id", index=True, max_length=36)
    item_id: str | None = Field(default=None, max_length=36)
    review_meeting_id: str | None = Field(default=None, index=True, max_length=36)
    description: str = Field(max_length=1000)
    owner_name: str = Field(max_length=200)
    owner_agency_id: str = Field(index=True, max_length=64)
    owner_subject: str | None = Field(default=None, index=True, max_length=128)
    person_id: str | None = Field(default=None, max_length=64)
    due_date: date = Field(index=True)
    status: str = Field(default="open", max_length=16, index=True)
    status_note: str | None = Field(default=None, max_length=1000)
    completed_at: datetime | None = None
    overdue_detected_at: datetime | None = None
    carry_count: int = 0
    created_by: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=now)
    updated_at: datetime = Field(default_factory=now)


class ActionCarry(Table, table=True):
    """One carry-over of an action to a later meeting, with its reason."""

    __tablename__ = "mtg_action_carry"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    action_id: str = Field(foreign_key="mtg_action.id", index=True, max_length=36)
    from_meeting_id: str | None = Field(default=None, max_length=36)
    to_meeting_id: str = Field(max_length=36)
    reason_code: str = Field(max_length=32)
    reason: str = Field(max_length=500)
    previous_status: str = Field(max_length=16)
    previous_due_date: date
    carried_by: str = Field(max_length=128)
    carried_at: datetime = Field(default_factory=now)


class Addendum(Table, table=True):
    """A correction to a closed meeting's minutes (append-only)."""

    __tablename__ = "mtg_addendum"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    meeting_id: str = Field(foreign_key="mtg_meeting.id", index=True, max_length=36)
    item_id: str | None = Field(default=None, max_length=36)
    text: str = Field(sa_column=Column(Text, nullable=False))
    author: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=now)
