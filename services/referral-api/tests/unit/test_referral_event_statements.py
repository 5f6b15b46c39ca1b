"""The consumer's work per referral on SQLite and PostgreSQL, with a statement budget per handler
(issue 17: assessment.opened was a locked ORM read, an UPDATE at flush and the rest, 8 statements
with the claim; a status webhook opened a session of its own and read the agency, then the referral,
then the attempts)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hhpu_shared.audit import verify_chain
from hhpu_shared.auth import system_principal
from hhpu_shared.events.contracts.case import AssessmentDecided, AssessmentOpened
from hhpu_shared.events.contracts.common import Trigger
from hhpu_shared.events.contracts.referral import ReferralStatusChanged
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.events.registry import EventData, event_spec
from hhpu_shared.messaging.outbox import OutboxRecord
from hhpu_shared.testing.statements import Statements
from hhpu_shared.uow import unit_of_work
from referral_api import handlers
from referral_api.models import Referral, StatusHistory, WebhookAttempt
from referral_api.service import webhooks
from referral_rows import insert_agency, insert_referral, webhook_engine
from sqlalchemy import Engine
from sqlmodel import Session, col, select

PRINCIPAL = system_principal("referral-api-consumer")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    with webhook_engine(db_url, webhook_attempts=1) as eng:
        yield eng


def _envelope(data: EventData, aggregate_id: str) -> Envelope:
    spec = event_spec(data)
    return Envelope(
        type=spec.name, version=spec.version, producer="test", correlation_id=str(uuid.uuid4()),
        aggregate_type=spec.aggregate_type, aggregate_id=aggregate_id, data=data.model_dump(mode="json"),
    )  # fmt: skip


def _handle(engine: Engine, fn: Any, data: EventData, env: Envelope, *, read_only: bool = False) -> Any:
    with unit_of_work(engine, service="referral-api", principal=PRINCIPAL, read_only=read_only) as uow:
        return fn(uow, data, env)


def _opened(referral_id: str) -> AssessmentOpened:
    return AssessmentOpened(
        assessment_id="as-1", person_id="person-1", person_label="D. M.",
        triggers=(Trigger(source="referral", ref=referral_id), Trigger(source="ranking", ref="run-1")),
    )  # fmt: skip


def test_referral_assessment_opened_within_budget(engine: Engine) -> None:
    rid = insert_referral(engine, insert_agency(engine), "screened", "kept")
    seen = Statements(engine, with_begin=False)
    data = _opened(rid)
    _handle(engine, handlers.on_assessment_opened, data, _envelope(data, "as-1"))
    # UPDATE guarded by the status, history, outbox, audit flush (lock on PostgreSQL, head, insert)
    assert len(seen.statements) <= 6, "\n".join(seen.statements)
    assert seen.reads_of("ref_referral") == 0
    with Session(engine) as s:
        ref = s.get(Referral, rid)
        assert ref is not None
        assert (ref.status, ref.status_reason, ref.outcome_note) == (
            "under_assessment", "assessment_opened", "assessment as-1",
        )  # fmt: skip
        (hist,) = s.exec(select(StatusHistory).where(StatusHistory.referral_id == rid)).all()
        assert (hist.from_status, hist.to_status, hist.actor) == (
            "screened",
            "under_assessment",
            PRINCIPAL.subject,
        )
        (out,) = s.exec(select(OutboxRecord)).all()
        assert out.type == "referral.status_changed" and out.aggregateid == rid
        assert verify_chain(s).ok and verify_chain(s).checked == 1

    seen.statements.clear()  # a second trigger of the same referral (already under assessment)
    _handle(engine, handlers.on_assessment_opened, data, _envelope(data, "as-1"))
    assert len(seen.statements) == 1 and seen.statements[0].startswith("UPDATE ref_referral")
    with Session(engine) as s:
        assert len(s.exec(select(StatusHistory)).all()) == 1
        assert len(s.exec(select(OutboxRecord)).all()) == 1


def test_referral_assessment_without_referral_trigger_reads_nothing(engine: Engine) -> None:
    seen = Statements(engine, with_begin=False)
    data = AssessmentOpened(
        assessment_id="as-2",
        person_id="p",
        person_label="D. M.",
        triggers=(Trigger(source="ranking", ref="r"),),
    )
    _handle(engine, handlers.on_assessment_opened, data, _envelope(data, "as-2"))
    assert seen.statements == []


@pytest.mark.parametrize(
    ("decision", "status", "note"), [("adopt", "accepted", "panel"), ("defer", "under_assessment", "kept")]
)
def test_referral_decision_within_budget(engine: Engine, decision: str, status: str, note: str) -> None:
    rid = insert_referral(engine, insert_agency(engine), status="under_assessment", outcome_note="kept")
    seen = Statements(engine, with_begin=False)
    data = AssessmentDecided(
        assessment_id="as-1", person_id="p", decision=decision, decided_by="user:di",  # type: ignore[arg-type]
        cohort="hhpu" if decision == "adopt" else None, referral_ids=(rid,), reason="panel",
    )  # fmt: skip
    _handle(engine, handlers.on_assessment_decided, data, _envelope(data, "as-1"))
    # mark, locked status read, UPDATE, history, (outbox, audit flush: adopt only)
    assert len(seen.statements) <= (8 if decision == "adopt" else 4), "\n".join(seen.statements)
    with Session(engine) as s:
        ref = s.get(Referral, rid)
        assert ref is not None and (ref.status, ref.outcome_note) == (status, note)
        (hist,) = s.exec(select(StatusHistory)).all()
        assert (hist.to_status, hist.note) == (status, "panel")
        assert len(s.exec(select(OutboxRecord)).all()) == (1 if decision == "adopt" else 0)


def _status_changed(agency_id: str, referral_id: str) -> tuple[ReferralStatusChanged, Envelope]:
    data = ReferralStatusChanged(
        referral_id=referral_id, agency_id=agency_id, from_status="submitted", to_status="screened",
        reason_code="eligible",
    )  # fmt: skip
    return data, _envelope(data, referral_id)


def test_referral_status_webhook_without_webhook_is_one_read(engine: Engine) -> None:
    agency = insert_agency(engine)
    data, env = _status_changed(agency, insert_referral(engine, agency, "screened", "kept"))
    seen = Statements(engine, with_begin=False)
    assert _handle(engine, webhooks.deliver_status_change, data, env, read_only=True) is False
    assert len(seen.statements) == 1, "\n".join(seen.statements)
    assert seen.reads_of("ref_agency") == 1 and "ref_referral" in seen.statements[0]


def test_referral_status_webhook_delivered_before_is_not_posted_again(engine: Engine) -> None:
    # The URL refuses connections: a post would fail and raise.
    agency = insert_agency(engine, webhook_url="http://127.0.0.1:9/webhook")
    rid = insert_referral(engine, agency, "screened", "kept")
    data, env = _status_changed(agency, rid)
    with Session(engine) as s:
        s.add(WebhookAttempt(event_id=str(env.event_id), agency_id=agency, referral_id=rid,
                             to_status="screened", url="http://127.0.0.1:9/webhook", attempt=1,
                             status_code=204, delivered=True))  # fmt: skip
        s.commit()
    seen = Statements(engine, with_begin=False)
    assert _handle(engine, webhooks.deliver_status_change, data, env, read_only=True) is True
    assert len(seen.statements) == 1, "\n".join(seen.statements)


def test_referral_status_webhook_failure_is_recorded_and_raises(engine: Engine) -> None:
    agency = insert_agency(engine, webhook_url="http://127.0.0.1:9/webhook")
    rid = insert_referral(engine, agency, "screened", "kept")
    data, env = _status_changed(agency, rid)
    for tried in (1, 2):  # the runner's next try numbers its attempt after the first
        with pytest.raises(webhooks.WebhookNotDelivered):
            _handle(engine, webhooks.deliver_status_change, data, env, read_only=True)
        with Session(engine) as s:
            rows = s.exec(select(WebhookAttempt).order_by(col(WebhookAttempt.attempt))).all()
            assert [r.attempt for r in rows] == list(range(1, tried + 1))
            assert not any(r.delivered for r in rows) and rows[-1].referral_id == rid
