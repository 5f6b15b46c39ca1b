"""Statement budgets of the plain paths for a referral about a person the unit knows and for ranking
candidates (new or known), alone and through the real runner in one poll batch; on SQLite and
PostgreSQL. On the general (ORM) path, through the runner in batches of 50 on PostgreSQL
(bench/pipeline/case_prof.py --compare), a known person's second referral ran 17 statements per
event, a new candidate 18 and a known one 14; now 8, 9 and 6."""

from __future__ import annotations

from typing import Any

from case_service import handlers
from case_service.models import Assessment, AssessmentTrigger, Case, Person
from case_testing import candidate, envelope, screened
from hhpu_shared.audit import verify_chain
from hhpu_shared.auth import system_principal
from hhpu_shared.events.contracts.common import PersonDetails
from hhpu_shared.events.registry import EventData, dlt_topic, event_spec
from hhpu_shared.messaging.consumer import ConsumerRunner
from hhpu_shared.messaging.inprocess import InProcessBus
from hhpu_shared.messaging.transport import OutboundMessage
from hhpu_shared.testing.statements import Statements
from hhpu_shared.uow import unit_of_work
from sqlalchemy import Engine
from sqlmodel import Session, select


def person(i: int) -> PersonDetails:
    return PersonDetails(given_name="Alan", family_name=f"Pryce{i}", records_id=f"R-{i}")


def known_referral(i: int, referral_id: str, **kw: Any) -> EventData:
    return screened(referral_id, grade="certain", person_ref=f"R-{i}", subject=person(i), **kw)


def _apply(engine: Engine, data: EventData) -> None:
    handler = handlers.on_candidate if hasattr(data, "run_id") else handlers.on_referral_screened
    with unit_of_work(engine, service="case-service", principal=system_principal("case-service")) as uow:
        handler(uow, data, envelope(data))  # type: ignore[arg-type]


def _run_batch(engine: Engine, events: list[EventData]) -> Statements:
    """The events through the real runner in one poll batch; the statements it ran."""
    bus = InProcessBus()
    topic = event_spec(type(events[0])).topic
    bus.append([OutboundMessage(topic, b"k", envelope(e).to_bytes(), []) for e in events])
    runner = ConsumerRunner(
        service="case-service",
        group="case-known-budget",
        engine=engine,
        source=bus.source("case-known-budget", [topic]),
        registry=handlers.handlers,
        dlt_publisher=bus.publisher(),
    )
    runner.batch_size = len(events)
    seen = Statements(engine)
    assert runner.run_once(0) == len(events)
    assert runner.processed == len(events) and not bus.messages(dlt_topic(topic))
    return seen


def test_case_referral_about_a_known_person_within_budget(engine: Engine) -> None:
    """A candidate's person: the referral adds its trigger, raises the urgency, records its statutory
    status on the case and raises the MoPI group: three changed rows, one UPDATE on PostgreSQL."""
    _apply(engine, candidate("R-1", subject=person(1)))
    seen = Statements(engine)
    _apply(engine, known_referral(1, "ref-b", statutory_status="convicted"))
    assert seen.count("SAVEPOINT") == 0
    assert sum(s.startswith("INSERT INTO audit_log") for s in seen.statements) == 1  # one audit flush
    # The lookup, then the person's context (mark, open assessment, triggers, cases, risk tools).
    assert sum(s.startswith("SELECT") and "case_" in s for s in seen.statements) == 2
    updates = seen.count("UPDATE") + seen.count("WITH changed_")
    # lookup, context, identifier, history, trigger, update(s), outbox, the audit's insert (linked at
    # commit): 9 on PostgreSQL; SQLite: 3 UPDATEs, BEGIN, the chain's head and links: 13.
    if engine.dialect.name == "postgresql":
        assert updates == 1 and len(seen.statements) <= 9, "\n".join(seen.statements)
    else:
        assert updates == 3 and len(seen.statements) <= 13, "\n".join(seen.statements)
    with Session(engine) as s:
        (a,) = s.exec(select(Assessment)).all()
        assert a.urgency == "high" and len(s.exec(select(AssessmentTrigger)).all()) == 2
        case = s.exec(select(Case)).one()
        assert (case.statutory_status, case.subject_category) == ("convicted", "convicted")
        assert s.exec(select(Person)).one().mopi_group == 2  # domestic abuse: up from 3
        assert verify_chain(s).ok


def test_case_a_batch_of_referrals_about_known_people_within_budget(engine: Engine) -> None:
    """Per event 2 reads, identifier, history, trigger, outbox (4) and at most one UPDATE on
    PostgreSQL, no savepoint (every handler succeeds); per batch the inbox claim and the audit flush."""
    n = 20
    for i in range(n):
        _apply(engine, known_referral(i, f"ref-a{i}", urgency="normal"))
    seen = _run_batch(engine, [known_referral(i, f"ref-b{i}") for i in range(n)])
    assert seen.count("SAVEPOINT") == 0
    assert sum(s.startswith("INSERT INTO audit_log") for s in seen.statements) == 1
    per_event = 7 if engine.dialect.name == "postgresql" else 8  # SQLite: urgency and MoPI apart
    per_batch = 2 if engine.dialect.name == "postgresql" else 5  # SQLite: BEGIN, chain head, links
    assert len(seen.statements) <= per_event * n + per_batch, "\n".join(seen.statements[:24])
    with Session(engine) as s:
        assert len(s.exec(select(AssessmentTrigger)).all()) == 2 * n
        assert {a.urgency for a in s.exec(select(Assessment))} == {"high"}
        assert verify_chain(s).ok and verify_chain(s).checked == 3 * n + n  # opened, then extended


def test_case_a_batch_of_candidates_within_budget(engine: Engine) -> None:
    """A ranking run's candidates: new people as a new person's referral (the read and 7 INSERTs on
    PostgreSQL); then the next run's, now known (2 reads, trigger, outbox); no savepoints."""
    n = 20
    seen = _run_batch(engine, [candidate(f"R-{i}", "run-1", person(i)) for i in range(n)])
    per_event = 7 if engine.dialect.name == "postgresql" else 10  # SQLite: 4 INSERTs for the opening
    per_batch = 2 if engine.dialect.name == "postgresql" else 5  # SQLite: BEGIN, chain head, links
    assert len(seen.statements) <= per_event * n + per_batch, "\n".join(seen.statements[:24])
    assert seen.count("UPDATE") == 0
    again = _run_batch(engine, [candidate(f"R-{i}", "run-2", person(i)) for i in range(n)])
    assert len(again.statements) <= 4 * n + per_batch, "\n".join(again.statements[:24])
    assert again.count("UPDATE") == 0 and again.count("WITH") == 0  # group 3 already: nothing changes
    with Session(engine) as s:
        assert len(s.exec(select(Person)).all()) == n
        assert len(s.exec(select(AssessmentTrigger)).all()) == 2 * n
        assert {p.mopi_group for p in s.exec(select(Person))} == {3}  # offences in police records
        assert verify_chain(s).ok and verify_chain(s).checked == 3 * n + n


def test_case_rows_the_session_holds_are_read_again_after_the_plain_update(engine: Engine) -> None:
    """A consumer batch shares one session: a row an earlier event loaded on the general path is not
    served stale from its identity map after the plain path changed it."""
    _apply(engine, candidate("R-1", subject=person(1)))
    data = known_referral(1, "ref-b", statutory_status="convicted")
    with unit_of_work(engine, service="case-service", principal=system_principal("case-service")) as uow:
        held = uow.session.exec(select(Person)).one()
        held_assessment = uow.session.exec(select(Assessment)).one()
        held_case = uow.session.exec(select(Case)).one()
        assert (held.mopi_group, held_assessment.urgency, held_case.statutory_status) == (3, "normal", None)
        handlers.on_referral_screened(uow, data, envelope(data))
        assert (held.mopi_group, held_assessment.urgency) == (2, "high")
        assert held_case.statutory_status == "convicted"
