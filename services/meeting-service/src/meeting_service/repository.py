"""Every query of the meeting-service: plain functions taking the session. Nothing else builds SQL.

List functions used by list endpoints take `limit` and `offset` and return ``(rows, total)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, TypeVar

from hhpu_shared.protection import ProtectionMark
from sqlalchemy import Insert, and_, bindparam, exists, func
from sqlalchemy import select as core_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

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

T = TypeVar("T")
OPEN_MEETING = ("scheduled", "in_progress")


def _paged(session: Session, q: SelectOfScalar[T], limit: int, offset: int) -> tuple[Sequence[T], int]:
    total = session.exec(select(func.count()).select_from(q.order_by(None).subquery())).one()
    return session.exec(q.limit(limit).offset(offset)).all(), int(total)


def add(session: Session, *rows: Any) -> None:
    for row in rows:
        session.add(row)


def flush(session: Session) -> None:
    session.flush()


# -- reference data ------------------------------------------------------------------
def meeting_type(session: Session, type_id: str) -> MeetingType | None:
    return session.get(MeetingType, type_id)


def meeting_types(session: Session, *, limit: int, offset: int) -> tuple[Sequence[MeetingType], int]:
    return _paged(session, select(MeetingType).order_by(col(MeetingType.id)), limit, offset)


def agency(session: Session, agency_id: str) -> Agency | None:
    return session.get(Agency, agency_id)


def agencies(session: Session, *, limit: int, offset: int) -> tuple[Sequence[Agency], int]:
    return _paged(session, select(Agency).order_by(col(Agency.name), col(Agency.id)), limit, offset)


def active_agency_ids(session: Session) -> list[str]:
    q = select(Agency.id).where(col(Agency.active).is_(True)).order_by(col(Agency.name), col(Agency.id))
    return list(session.exec(q).all())


def unknown_agencies(session: Session, agency_ids: Sequence[str]) -> list[str]:
    if not agency_ids:
        return []
    known = set(session.exec(select(Agency.id).where(col(Agency.id).in_(agency_ids))).all())
    return [a for a in agency_ids if a not in known]


def series(session: Session, series_id: str) -> Series | None:
    return session.get(Series, series_id)


def series_list(session: Session, *, limit: int, offset: int) -> tuple[Sequence[Series], int]:
    q = select(Series).order_by(col(Series.created_at), col(Series.id))
    return _paged(session, q, limit, offset)


def active_series_of_type(session: Session, meeting_type_id: str) -> Series | None:
    q = (
        select(Series)
        .where(Series.meeting_type_id == meeting_type_id, col(Series.active).is_(True))
        .order_by(col(Series.created_at), col(Series.id))
    )
    return session.exec(q).first()


# -- meetings ------------------------------------------------------------------------
def meeting(session: Session, meeting_id: str) -> Meeting | None:
    return session.get(Meeting, meeting_id)


def meetings(
    session: Session,
    *,
    meeting_type_id: str | None = None,
    status: str | None = None,
    from_date: date | None = None,
    agency_id: str | None = None,
    limit: int,
    offset: int,
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
    q = q.order_by(col(Meeting.scheduled_on), col(Meeting.start_time), col(Meeting.id))
    return _paged(session, q, limit, offset)


def next_open_meeting(session: Session, meeting_type_id: str, *, on_or_after: date) -> Meeting | None:
    q = (
        select(Meeting)
        .where(Meeting.meeting_type_id == meeting_type_id)
        .where(col(Meeting.status).in_(OPEN_MEETING))
        .where(col(Meeting.scheduled_on) >= on_or_after)
        .order_by(col(Meeting.scheduled_on), col(Meeting.start_time))
    )
    return session.exec(q).first()


def meeting_after(session: Session, m: Meeting) -> Meeting | None:
    """The next not-closed meeting of the same series (or type, without a series)."""
    q = select(Meeting).where(col(Meeting.status).in_(OPEN_MEETING))
    if m.series_id:
        q = q.where(Meeting.series_id == m.series_id)
    else:
        q = q.where(Meeting.meeting_type_id == m.meeting_type_id)
    q = q.where(col(Meeting.scheduled_on) > m.scheduled_on).order_by(col(Meeting.scheduled_on))
    return session.exec(q).first()


def last_meeting_of_series(session: Session, series_id: str) -> Meeting | None:
    q = select(Meeting).where(Meeting.series_id == series_id).order_by(col(Meeting.scheduled_on).desc())
    return session.exec(q).first()


def meeting_on(session: Session, series_id: str, on: date) -> Meeting | None:
    q = select(Meeting).where(Meeting.series_id == series_id).where(Meeting.scheduled_on == on)
    return session.exec(q).first()


def invitations(session: Session, meeting_id: str) -> Sequence[Invitation]:
    q = select(Invitation).where(Invitation.meeting_id == meeting_id).order_by(col(Invitation.agency_name))
    return session.exec(q).all()


def invitation(session: Session, meeting_id: str, agency_id: str) -> Invitation | None:
    q = select(Invitation).where(Invitation.meeting_id == meeting_id, Invitation.agency_id == agency_id)
    return session.exec(q).first()


# -- agenda --------------------------------------------------------------------------
def item(session: Session, item_id: str) -> AgendaItem | None:
    return session.get(AgendaItem, item_id)


def items(
    session: Session, meeting_id: str, *, statuses: tuple[str, ...] | None = None
) -> Sequence[AgendaItem]:
    q = select(AgendaItem).where(AgendaItem.meeting_id == meeting_id)
    if statuses:
        q = q.where(col(AgendaItem.status).in_(statuses))
    return session.exec(q.order_by(col(AgendaItem.created_at), col(AgendaItem.id))).all()


def item_by_key(session: Session, meeting_id: str, item_key: str) -> AgendaItem | None:
    q = select(AgendaItem).where(AgendaItem.meeting_id == meeting_id, AgendaItem.item_key == item_key)
    return session.exec(q).first()


# -- an event-born item on the next meeting, in one statement -------------------------------------
_ITEM, _MEETING = AgendaItem.__table__, Meeting.__table__  # type: ignore[attr-defined]
_MARK = ProtectionMark.__table__  # type: ignore[attr-defined]
# The item's own values (bound per call); meeting_id comes from the meeting the statement picks.
NEXT_ITEM_COLUMNS = (
    "id", "item_key", "kind", "title", "assessment_id", "person_id", "person_label", "action_id",
    "urgency", "order_hint", "planned_minutes", "pinned", "source", "status", "notes",
    "carried_from_meeting_id", "carried_reason", "created_at",
)  # fmt: skip


def _insert_on_next_meeting(dialect: Any) -> Insert:
    """``INSERT INTO mtg_agenda_item ... SELECT`` onto the next open meeting of a type (on or after
    :today, the earliest date then start time), only when no planned item with the key is on an open
    meeting and no protection mark has :mark_key; ``ON CONFLICT DO NOTHING`` for an item with the key
    on that meeting already; ``RETURNING meeting_id`` (nothing when any condition fails)."""
    m, other, om = _MEETING.alias("m"), _ITEM.alias("other"), _MEETING.alias("om")
    nxt = _MEETING.alias("nxt")
    next_id = (
        core_select(nxt.c.id)
        .where(nxt.c.meeting_type_id == bindparam("meeting_type_id"), nxt.c.status.in_(OPEN_MEETING))
        .where(nxt.c.scheduled_on >= bindparam("today", type_=nxt.c.scheduled_on.type))
        .order_by(nxt.c.scheduled_on, nxt.c.start_time)
        .limit(1)
        .scalar_subquery()
    )
    params = {c: bindparam(c, type_=_ITEM.c[c].type) for c in NEXT_ITEM_COLUMNS}
    open_item = exists().where(
        other.c.item_key == params["item_key"],
        other.c.status == "planned",
        and_(om.c.id == other.c.meeting_id, om.c.status.in_(OPEN_MEETING)),
    )
    marked = exists().where(_MARK.c.person_key == bindparam("mark_key"))
    values = [params[c].label(c) for c in NEXT_ITEM_COLUMNS]
    source = core_select(*values, m.c.id.label("meeting_id")).where(m.c.id == next_id, ~open_item, ~marked)
    stmt = dialect.insert(_ITEM).from_select([*NEXT_ITEM_COLUMNS, "meeting_id"], source)
    return stmt.on_conflict_do_nothing().returning(_ITEM.c.meeting_id)  # type: ignore[no-any-return]


_INSERT_ON_NEXT_MEETING = {
    "postgresql": _insert_on_next_meeting(postgresql),
    "sqlite": _insert_on_next_meeting(sqlite),
}


def insert_on_next_meeting(session: Session, values: dict[str, Any]) -> str | None:
    """Run the statement above with `values` (NEXT_ITEM_COLUMNS, meeting_type_id, today, mark_key);
    the meeting id of the new item, or None when nothing was inserted."""
    stmt = _INSERT_ON_NEXT_MEETING[session.get_bind().dialect.name]
    return session.connection().execute(stmt, values).scalar()


def open_items_for_key(session: Session, item_key: str) -> Sequence[AgendaItem]:
    """Planned items with this key on meetings that are not closed."""
    q = (
        select(AgendaItem)
        .join(Meeting, col(Meeting.id) == col(AgendaItem.meeting_id))
        .where(AgendaItem.item_key == item_key, AgendaItem.status == "planned")
        .where(col(Meeting.status).in_(OPEN_MEETING))
    )
    return session.exec(q).all()


def open_planned_items_for_assessment(session: Session, assessment_id: str) -> Sequence[AgendaItem]:
    """Planned items of an assessment on meetings that are not closed or cancelled."""
    q = (
        select(AgendaItem)
        .join(Meeting, col(Meeting.id) == col(AgendaItem.meeting_id))
        .where(AgendaItem.assessment_id == assessment_id, AgendaItem.status == "planned")
        .where(col(Meeting.status).in_(OPEN_MEETING))
    )
    return session.exec(q.order_by(col(AgendaItem.created_at), col(AgendaItem.id))).all()


def open_planned_items_for_people(session: Session, people: Sequence[str]) -> Sequence[AgendaItem]:
    """Planned items about these people on meetings that are not closed or cancelled."""
    q = (
        select(AgendaItem)
        .join(Meeting, col(Meeting.id) == col(AgendaItem.meeting_id))
        .where(col(AgendaItem.person_id).in_(people), AgendaItem.status == "planned")
        .where(col(Meeting.status).in_(OPEN_MEETING))
    )
    return session.exec(q.order_by(col(AgendaItem.created_at), col(AgendaItem.id))).all()


# -- outcomes ------------------------------------------------------------------------
def outcomes(session: Session, meeting_id: str) -> Sequence[Outcome]:
    q = select(Outcome).where(Outcome.meeting_id == meeting_id).order_by(col(Outcome.created_at))
    return session.exec(q).all()


def outcomes_page(
    session: Session, meeting_id: str, *, limit: int, offset: int
) -> tuple[Sequence[Outcome], int]:
    q = select(Outcome).where(Outcome.meeting_id == meeting_id)
    return _paged(session, q.order_by(col(Outcome.created_at), col(Outcome.id)), limit, offset)


def decision_for_item(session: Session, item_id: str) -> Outcome | None:
    return session.exec(select(Outcome).where(Outcome.decision_key == item_id)).first()


def addenda(session: Session, meeting_id: str) -> Sequence[Addendum]:
    q = select(Addendum).where(Addendum.meeting_id == meeting_id).order_by(col(Addendum.created_at))
    return session.exec(q).all()


def addenda_page(
    session: Session, meeting_id: str, *, limit: int, offset: int
) -> tuple[Sequence[Addendum], int]:
    q = select(Addendum).where(Addendum.meeting_id == meeting_id)
    return _paged(session, q.order_by(col(Addendum.created_at), col(Addendum.id)), limit, offset)


# -- actions -------------------------------------------------------------------------
def action(session: Session, action_id: str) -> Action | None:
    return session.get(Action, action_id)


def actions(
    session: Session,
    *,
    agency_id: str | None = None,
    owner_subject: str | None = None,
    status: str | None = None,
    meeting_id: str | None = None,
    overdue_on: date | None = None,
    limit: int,
    offset: int,
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
    q = q.order_by(col(Action.due_date), col(Action.created_at), col(Action.id))
    return _paged(session, q, limit, offset)


def actions_of_meeting(session: Session, meeting_id: str) -> Sequence[Action]:
    """Actions created at or reviewed at a meeting (the pack lists them all)."""
    q = select(Action).where((Action.meeting_id == meeting_id) | (Action.review_meeting_id == meeting_id))
    return session.exec(q.order_by(col(Action.due_date), col(Action.created_at))).all()


def actions_reviewed_at(session: Session, meeting_id: str) -> Sequence[Action]:
    q = select(Action).where(Action.review_meeting_id == meeting_id).order_by(col(Action.created_at))
    return session.exec(q).all()


def count_overdue(session: Session, today: date) -> int:
    q = select(func.count()).select_from(Action).where(Action.status == "open", col(Action.due_date) < today)
    return int(session.exec(q).one())


def overdue_unflagged(session: Session, today: date, limit: int = 500) -> Sequence[Action]:
    q = (
        select(Action)
        .where(Action.status == "open", col(Action.due_date) < today)
        .where(col(Action.overdue_detected_at).is_(None))
        .order_by(col(Action.due_date))
        .limit(limit)
        .with_for_update(skip_locked=True)  # two replicas never flag the same action
    )
    return session.exec(q).all()


def carries(session: Session, action_id: str) -> Sequence[ActionCarry]:
    q = select(ActionCarry).where(ActionCarry.action_id == action_id).order_by(col(ActionCarry.carried_at))
    return session.exec(q).all()


# -- data protection (subject access and erasure, by person reference) ---------------------
def items_of_people(session: Session, refs: Sequence[str]) -> Sequence[AgendaItem]:
    return session.exec(select(AgendaItem).where(col(AgendaItem.person_id).in_(refs))).all()


def outcomes_of_items(session: Session, item_ids: Sequence[str]) -> Sequence[Outcome]:
    return session.exec(select(Outcome).where(col(Outcome.item_id).in_(item_ids))).all()


def addenda_of_items(session: Session, item_ids: Sequence[str]) -> Sequence[Addendum]:
    return session.exec(select(Addendum).where(col(Addendum.item_id).in_(item_ids))).all()


def actions_of_people(session: Session, refs: Sequence[str]) -> Sequence[Action]:
    return session.exec(select(Action).where(col(Action.person_id).in_(refs))).all()


def actions_of_people_or_items(
    session: Session, refs: Sequence[str], item_ids: Sequence[str]
) -> Sequence[Action]:
    """The actions about these people, and those raised on these items (which may not name them)."""
    q = select(Action).where(col(Action.person_id).in_(refs) | col(Action.item_id).in_(item_ids))
    return session.exec(q).all()


def carries_of_actions(session: Session, action_ids: Sequence[str]) -> Sequence[ActionCarry]:
    return session.exec(select(ActionCarry).where(col(ActionCarry.action_id).in_(action_ids))).all()
