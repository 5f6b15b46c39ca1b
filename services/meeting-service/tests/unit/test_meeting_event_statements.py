"""assessment.opened on SQLite and PostgreSQL: once the next meeting exists, the new-case item is one
INSERT ... SELECT (mark, open items and the next meeting checked in it) plus the audit flush, within
a statement budget (issue 17: 8 statements before, with a mark read, the open items, the next
meeting, the item on it, then the insert)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from hhpu_shared import clock
from hhpu_shared.audit import AuditEntry, verify_chain
from hhpu_shared.auth import system_principal
from hhpu_shared.db import make_engine
from hhpu_shared.events.contracts.case import AssessmentOpened
from hhpu_shared.events.contracts.common import Trigger
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.protection import MarkState, set_mark
from hhpu_shared.testing.databases import migrated
from hhpu_shared.testing.statements import Statements
from hhpu_shared.uow import unit_of_work
from meeting_service.handlers import on_assessment_opened
from meeting_service.migrations import MIGRATIONS
from meeting_service.models import AgendaItem, Meeting
from meeting_service.settings import MeetingSettings
from sqlalchemy import Engine
from sqlmodel import Session, col, select

PRINCIPAL = system_principal("meeting-service-consumer")
SETTINGS = MeetingSettings.model_construct()  # the defaults, as the module's `handlers` use


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(migrated(MIGRATIONS, db_url))
    yield eng
    eng.dispose()


def _apply(engine: Engine, n: int) -> None:
    data = AssessmentOpened(
        assessment_id=f"asm-{n}", person_id=f"per-{n}", person_label=f"Person {n}", urgency="high",
        triggers=(Trigger(source="referral", ref=f"ref-{n}"),),
    )  # fmt: skip
    env = Envelope(
        type="assessment.opened", version=1, producer="test", correlation_id="c-1",
        aggregate_type="assessment", aggregate_id=data.assessment_id, data=data.model_dump(mode="json"),
    )  # fmt: skip
    with unit_of_work(engine, service="meeting-service", principal=PRINCIPAL) as uow:
        on_assessment_opened(uow, SETTINGS, data, env)


def _items(engine: Engine) -> list[AgendaItem]:
    with Session(engine) as s:
        return list(s.exec(select(AgendaItem).order_by(col(AgendaItem.created_at))).all())


def test_meeting_new_case_item_within_budget(engine: Engine) -> None:
    _apply(engine, 1)  # the first one schedules the next new-case meeting
    (first,) = _items(engine)
    with Session(engine) as s:  # an earlier closed meeting and a later open one are not chosen
        nxt = s.get(Meeting, first.meeting_id)
        assert nxt is not None
        for days, status in ((-1, "closed"), (30, "scheduled")):
            on = max(nxt.scheduled_on + timedelta(days=days), clock.today())
            s.add(Meeting(meeting_type_id=nxt.meeting_type_id, title="other", status=status, scheduled_on=on))
        s.commit()
    seen = Statements(engine, with_begin=False)
    _apply(engine, 2)
    # the item's INSERT ... SELECT, then the audit flush (lock on PostgreSQL, chain head, insert)
    assert len(seen.statements) <= 4, "\n".join(seen.statements)
    assert seen.statements[0].startswith("INSERT INTO mtg_agenda_item")
    second = _items(engine)[1]
    assert second.meeting_id == first.meeting_id
    assert (second.item_key, second.kind, second.urgency, second.planned_minutes, second.status) == (
        "assessment:asm-2", "new_case", "high", SETTINGS.new_case_minutes, "planned",
    )  # fmt: skip
    assert second.notes == "Trigger: referral ref-2" and second.person_id == "per-2"
    with Session(engine) as s:
        audit = s.exec(select(AuditEntry).where(AuditEntry.subject_id == "per-2")).one()
        assert json.loads(audit.detail or "{}") == {"meeting_id": first.meeting_id, "assessment_id": "asm-2"}
        assert verify_chain(s).ok


def test_meeting_new_case_not_added_twice_nor_for_a_marked_person(engine: Engine) -> None:
    _apply(engine, 1)
    _apply(engine, 1)  # the same assessment again (another event): on the agenda already
    with Session(engine) as s:
        set_mark(
            s, ["per-3"], MarkState.RESTRICTED, decided_by="dpo", reason_code="objection", decision_id="d1"
        )
        s.commit()
    _apply(engine, 3)
    assert [i.item_key for i in _items(engine)] == ["assessment:asm-1"]
    with Session(engine) as s:
        assert len(s.exec(select(AuditEntry)).all()) == 1
