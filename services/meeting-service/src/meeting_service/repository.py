"""Every query of the meeting-service."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlmodel import Session, col, select

from meeting_service.models import (
    Action,
    ActionCarry,
    Addendum,
    Agency,
    AgendaItem,
    Invitation,
    Meeting,
    MeetingType,
    Outcome,
    Series,
)

OPEN_MEETING = ("scheduled", "in_progress")


class Repository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, obj: object) -> None:
        self.session.add(obj)

    def flush(self) -> None:
        self.session.flush()

    # -- reference data ----------------------------------------------------------
    def meeting_type(self, type_id: str) -> MeetingType | None:
        return self.session.get(MeetingType, type_id)

    def meeting_types(self) -> Sequence[MeetingType]:
        return self.session.exec(select(MeetingType).order_by(col(MeetingType.id))).all()

    def agency(self, agency_id: str) -> Agency | None:
        return self.session.get(Agency, agency_id)

    def agencies(self) -> Sequence[Agency]:
        return self.session.exec(select(Agency).order_by(col(Agency.name))).all()

    def series(self, series_id: str) -> Series | None:
        return self.session.get(Series, series_id)

    def series_list(self, meeting_type_id: str | None = None) -> Sequence[Series]:
        q = select(Series).order_by(col(Series.created_at))
        if meeting_type_id:
            q = q.where(Series.meeting_type_id == meeting_type_id)
        return self.session.exec(q).all()

    # -- meetings ----------------------------------------------------------------
    def meeting(self, meeting_id: str) -> Meeting | None:
        return self.session.get(Meeting, meeting_id)

    def meetings(
        self,
        *,
        meeting_type_id: str | None = None,
        status: str | None = None,
        from_date: date | None = None,
        agency_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[Sequence[Meeting], int]:
        q = select(Meeting)
        if meeting_type_id:
            q = q.where(Meeting.meeting_type_id == meeting_type_id)
        if status:
            q = q.where(Meeting.status == status)
        if from_date:
            q = q.where(col(Meeting.scheduled_on) >= from_date)
        if agency_id:
            invited = select(Invitation.meeting_id).where(Invitation.agency_id == agency_id)
            q = q.where(col(Meeting.id).in_(invited))
        rows = self.session.exec(q.order_by(col(Meeting.scheduled_on), col(Meeting.start_time))).all()
        return rows[offset : offset + limit], len(rows)

    def next_open_meeting(self, meeting_type_id: str, *, on_or_after: date) -> Meeting | None:
        q = (
            select(Meeting)
            .where(Meeting.meeting_type_id == meeting_type_id)
            .where(col(Meeting.status).in_(OPEN_MEETING))
            .where(col(Meeting.scheduled_on) >= on_or_after)
            .order_by(col(Meeting.scheduled_on), col(Meeting.start_time))
        )
        return self.session.exec(q).first()

    def meeting_after(self, meeting: Meeting) -> Meeting | None:
        """The next not-closed meeting of the same series (or type, without a series)."""
        q = select(Meeting).where(col(Meeting.status).in_(OPEN_MEETING))
        if meeting.series_id:
            q = q.where(Meeting.series_id == meeting.series_id)
        else:
            q = q.where(Meeting.meeting_type_id == meeting.meeting_type_id)
        q = q.where(col(Meeting.scheduled_on) > meeting.scheduled_on).order_by(col(Meeting.scheduled_on))
        return self.session.exec(q).first()

    def last_meeting_of_series(self, series_id: str) -> Meeting | None:
        q = select(Meeting).where(Meeting.series_id == series_id).order_by(col(Meeting.scheduled_on).desc())
        return self.session.exec(q).first()

    def meeting_on(self, series_id: str, on: date) -> Meeting | None:
        q = select(Meeting).where(Meeting.series_id == series_id).where(Meeting.scheduled_on == on)
        return self.session.exec(q).first()

    def invitations(self, meeting_id: str) -> Sequence[Invitation]:
        q = (
            select(Invitation)
            .where(Invitation.meeting_id == meeting_id)
            .order_by(col(Invitation.agency_name))
        )
        return self.session.exec(q).all()

    def invitation(self, meeting_id: str, agency_id: str) -> Invitation | None:
        q = select(Invitation).where(Invitation.meeting_id == meeting_id, Invitation.agency_id == agency_id)
        return self.session.exec(q).first()

    # -- agenda ------------------------------------------------------------------
    def item(self, item_id: str) -> AgendaItem | None:
        return self.session.get(AgendaItem, item_id)

    def items(self, meeting_id: str, *, statuses: tuple[str, ...] | None = None) -> Sequence[AgendaItem]:
        q = select(AgendaItem).where(AgendaItem.meeting_id == meeting_id)
        if statuses:
            q = q.where(col(AgendaItem.status).in_(statuses))
        return self.session.exec(q.order_by(col(AgendaItem.created_at), col(AgendaItem.id))).all()

    def item_by_key(self, meeting_id: str, item_key: str) -> AgendaItem | None:
        q = select(AgendaItem).where(AgendaItem.meeting_id == meeting_id, AgendaItem.item_key == item_key)
        return self.session.exec(q).first()

    def open_items_for_key(self, item_key: str) -> Sequence[AgendaItem]:
        """Planned items with this key on meetings that are not closed."""
        q = (
            select(AgendaItem)
            .join(Meeting, col(Meeting.id) == col(AgendaItem.meeting_id))
            .where(AgendaItem.item_key == item_key, AgendaItem.status == "planned")
            .where(col(Meeting.status).in_(OPEN_MEETING))
        )
        return self.session.exec(q).all()

    def items_for_assessment(self, assessment_id: str) -> Sequence[AgendaItem]:
        q = select(AgendaItem).where(AgendaItem.assessment_id == assessment_id)
        return self.session.exec(q.order_by(col(AgendaItem.created_at))).all()

    # -- outcomes ----------------------------------------------------------------
    def outcomes(self, meeting_id: str) -> Sequence[Outcome]:
        q = select(Outcome).where(Outcome.meeting_id == meeting_id).order_by(col(Outcome.created_at))
        return self.session.exec(q).all()

    def decision_for_item(self, item_id: str) -> Outcome | None:
        return self.session.exec(select(Outcome).where(Outcome.decision_key == item_id)).first()

    def addenda(self, meeting_id: str) -> Sequence[Addendum]:
        q = select(Addendum).where(Addendum.meeting_id == meeting_id).order_by(col(Addendum.created_at))
        return self.session.exec(q).all()

    # -- actions -----------------------------------------------------------------
    def action(self, action_id: str) -> Action | None:
        return self.session.get(Action, action_id)

    def actions(
        self,
        *,
        agency_id: str | None = None,
        owner_subject: str | None = None,
        status: str | None = None,
        meeting_id: str | None = None,
        overdue_on: date | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[Sequence[Action], int]:
        q = select(Action)
        if agency_id:
            q = q.where(Action.owner_agency_id == agency_id)
        if owner_subject:
            q = q.where(Action.owner_subject == owner_subject)
        if status:
            q = q.where(Action.status == status)
        if meeting_id:
            q = q.where((Action.meeting_id == meeting_id) | (Action.review_meeting_id == meeting_id))
        if overdue_on:
            q = q.where(Action.status == "open", col(Action.due_date) < overdue_on)
        rows = self.session.exec(q.order_by(col(Action.due_date), col(Action.created_at))).all()
        return rows[offset : offset + limit], len(rows)

    def actions_reviewed_at(self, meeting_id: str) -> Sequence[Action]:
        q = select(Action).where(Action.review_meeting_id == meeting_id).order_by(col(Action.created_at))
        return self.session.exec(q).all()

    def overdue_unflagged(self, today: date, limit: int = 500) -> Sequence[Action]:
        q = (
            select(Action)
            .where(Action.status == "open", col(Action.due_date) < today)
            .where(col(Action.overdue_detected_at).is_(None))
            .order_by(col(Action.due_date))
            .limit(limit)
            .with_for_update(skip_locked=True)  # two replicas never flag the same action
        )
        return self.session.exec(q).all()

    def carries(self, action_id: str) -> Sequence[ActionCarry]:
        q = (
            select(ActionCarry)
            .where(ActionCarry.action_id == action_id)
            .order_by(col(ActionCarry.carried_at))
        )
        return self.session.exec(q).all()
