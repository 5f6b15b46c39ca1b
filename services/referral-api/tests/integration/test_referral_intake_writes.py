"""What one intake writes, on SQLite and PostgreSQL: every row, event and audit entry, in order.

The intake writes with Core statements built once (``repository``), several rows per INSERT; these
tests pin the records themselves (the events' order and data, the audit entries and their chain,
the status history, the stored answer, the known person and the review queue) and the candidate
lookup's branches (an IN list on SQLite, ``= ANY(array)`` on PostgreSQL).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from hhpu_shared.audit import AuditEntry, verify_chain
from hhpu_shared.auth import Principal
from hhpu_shared.db import make_engine
from hhpu_shared.events.contracts.common import PersonDetails
from hhpu_shared.messaging.outbox import OutboxRecord
from hhpu_shared.protection import MarkState, set_mark
from hhpu_shared.testing.databases import migrated
from hhpu_shared.testing.statements import Statements
from hhpu_shared.uow import unit_of_work
from referral_api import repository as repo
from referral_api.domain.matching import PersonRecord, name_keys, normalise_pnc
from referral_api.migrations import MIGRATIONS
from referral_api.models import (
    Agency,
    IdempotencyRecord,
    KnownPerson,
    KnownPersonKey,
    MatchReview,
    StatusHistory,
)
from referral_api.schemas import REFERRAL_EXAMPLE, ReferralCreate
from referral_api.service import intake, matching
from referral_api.settings import ReferralSettings
from sqlalchemy import Engine
from sqlmodel import Session, col, select

SETTINGS = ReferralSettings()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(migrated(MIGRATIONS, db_url))
    yield eng
    eng.dispose()


def _agency(engine: Engine) -> Principal:
    aid = str(uuid.uuid4())
    with Session(engine) as s:
        s.add(Agency(id=aid, name="Probation North", agency_type="probation", contact_name="Lead"))
        s.commit()
    roles = frozenset({"partner_agency"})
    return Principal(subject=f"agency:{aid}", kind="agency", roles=roles, agency_id=aid)


def _body(**subject: Any) -> ReferralCreate:
    data = {**REFERRAL_EXAMPLE, "subject": {**REFERRAL_EXAMPLE["subject"], **subject}}
    return ReferralCreate.model_validate({**data, "partner_reference": f"R-{uuid.uuid4().hex[:12]}"})


def _submit(engine: Engine, principal: Principal, body: ReferralCreate, key: str | None) -> intake.Submitted:
    with unit_of_work(engine, service="referral-api", principal=principal) as uow:
        return intake.submit(uow, SETTINGS, body, idempotency_key=key, justification="partner: a referral")


def _events(s: Session, rid: str) -> list[tuple[str, dict[str, Any]]]:
    rows = s.exec(select(OutboxRecord).where(OutboxRecord.aggregateid == rid).order_by(col(OutboxRecord.seq)))
    return [(r.type, json.loads(r.payload)["data"]) for r in rows]


def _audit(s: Session, rid: str) -> list[AuditEntry]:
    return list(s.exec(select(AuditEntry).where(AuditEntry.subject_id == rid).order_by(col(AuditEntry.id))))


def test_a_declined_referral_writes_each_record_once_in_order(engine: Engine) -> None:
    principal = _agency(engine)
    body = _body(date_of_birth="2020-01-01")
    out = _submit(engine, principal, body, "key-1")
    rid = out.body["id"]
    assert out.status_code == 201
    assert (out.body["status"], out.body["status_reason"]) == ("declined", "not_eligible")
    with Session(engine) as s:
        events = _events(s, rid)
        assert [t for t, _ in events] == [
            "referral.submitted",
            "referral.status_changed",
            "referral.screened",
            "referral.status_changed",
        ]
        assert [(d["from_status"], d["to_status"]) for t, d in events if t == "referral.status_changed"] == [
            ("submitted", "screened"),
            ("screened", "declined"),
        ]
        screened = events[2][1]
        assert screened["eligible"] is False and screened["reasons"] == ["below_minimum_age"]
        assert screened["agency_name"] == "Probation North" and screened["match_grade"] == "none"
        assert screened["subject"]["date_of_birth"] == "2020-01-01"
        entries = _audit(s, rid)
        assert [e.operation for e in entries] == ["collect", "alter", "alter"]
        assert {e.person_ref for e in entries} == {rid}
        assert json.loads(entries[2].detail or "{}") == {
            "from": "screened",
            "to": "declined",
            "reason_code": "not_eligible",
        }
        assert verify_chain(s).ok
        of_rid = select(StatusHistory).where(StatusHistory.referral_id == rid)
        history = s.exec(of_rid.order_by(col(StatusHistory.id)))
        assert [(h.from_status, h.to_status, h.reason_code, h.actor) for h in history] == [
            (None, "submitted", "received", principal.subject),
            ("submitted", "screened", "not_eligible", principal.subject),
            ("screened", "declined", "not_eligible", principal.subject),
        ]
        claim = s.exec(select(IdempotencyRecord).where(IdempotencyRecord.referral_id == rid)).one()
        assert (claim.status_code, json.loads(claim.response_body)) == (201, out.body)
        person = s.exec(select(KnownPerson).where(KnownPerson.source_id == rid)).one()
        assert (person.person_ref, person.date_of_birth) == (f"referral:{rid}", date(2020, 1, 1))
        keys = s.exec(select(KnownPersonKey.key).where(KnownPersonKey.person_id == person.id)).all()
        assert sorted(keys) == sorted(name_keys(PersonRecord(person.given_name, person.family_name)))
    again = _submit(engine, principal, body, "key-1")
    assert again.replayed and again.body == out.body


def test_a_referral_matching_an_earlier_subject_is_combined_and_queued(engine: Engine) -> None:
    principal = _agency(engine)
    first = _submit(engine, principal, _body(), None).body["id"]
    second = _submit(engine, principal, _body(), None).body["id"]
    with Session(engine) as s:
        entries = _audit(s, second)
        assert [e.operation for e in entries] == ["collect", "combine", "combine", "alter"]
        # One combination entry per person combined: the referral's subject, then the candidate.
        assert [e.person_ref for e in entries[1:3]] == [second, f"referral:{first}"]
        combine = json.loads(entries[1].detail or "{}")
        assert combine == {"grade": "probable", "candidates": [f"referral:{first}"]}
        assert [t for t, _ in _events(s, second)][-1] == "referral.screened"
        reviews = s.exec(select(MatchReview).where(MatchReview.referral_id == second)).all()
        assert [(r.candidate_person_ref, r.grade, r.status) for r in reviews] == [
            (f"referral:{first}", "probable", "pending")
        ]
        assert verify_chain(s).ok


def test_a_matched_intake_queues_its_reviews_with_the_known_person(engine: Engine) -> None:
    """PostgreSQL: the candidate lookup says which candidates are marked (no second read) and the
    reviews go in the known person's statement: a subject matching someone costs no more round trips
    than one matching nobody. Elsewhere each is a statement of its own. Both candidates queued."""
    principal = _agency(engine)
    first = _submit(engine, principal, _body(), None).body["id"]
    second = _submit(engine, principal, _body(), None).body["id"]
    statements = Statements(engine, with_begin=False)
    third = _submit(engine, principal, _body(), None).body["id"]
    own_insert = statements.count("INSERT INTO ref_match_review")
    marks_read = sum("FROM protection_mark" in s for s in statements.statements)
    if engine.dialect.name == "postgresql":
        assert (own_insert, marks_read) == (0, 1)  # the one read is inside the candidate lookup
        # agency, candidates (and their marks), referral, history + known person + keys + reviews,
        # audit, outbox
        assert len(statements.statements) == 6, statements.statements
    else:
        assert (own_insert, marks_read) == (1, 1)
    with Session(engine) as s:
        rows = s.exec(select(MatchReview).where(MatchReview.referral_id == third)).all()
        assert {(r.candidate_person_ref, r.grade, r.status) for r in rows} == {
            (f"referral:{first}", "probable", "pending"),
            (f"referral:{second}", "probable", "pending"),
        }
        assert all(r.reasons and r.score > 0 and r.resolved_at is None for r in rows)


def _person(engine: Engine, ref: str, **details: Any) -> None:
    principal = Principal(subject="system:test", kind="system", roles=frozenset({"system"}))
    with unit_of_work(engine, service="referral-api", principal=principal) as uow:
        matching.remember_referral_subject(uow, ref, PersonDetails(**details), ref)


def test_candidate_lookup_takes_every_blocking_key_and_nothing_else(engine: Engine) -> None:
    dob = date(1991, 3, 14)
    _person(engine, "exact", given_name="Dean", family_name="Marsh", date_of_birth=dob, pnc_number="91/1234X")
    _person(engine, "no-dob", given_name="Dean", family_name="Marsch")
    _person(engine, "partial", given_name="Dean", family_name="Marsh", date_of_birth=date(1991, 3, 15))
    _person(engine, "same-dob", given_name="Ann", family_name="Lee", date_of_birth=dob)
    _person(engine, "far-dob", given_name="Dean", family_name="Marsh", date_of_birth=date(1960, 6, 1))
    _person(engine, "records", given_name="Zed", family_name="Zulu", records_id="REC-9")
    keys = sorted(name_keys(PersonRecord("Dean", "Marsh")))

    def refs(**kw: Any) -> set[str]:
        args: dict[str, Any] = {"dob": None, "pnc": None, "records_id": None, "name_keys": [], **kw}
        with Session(engine) as s:
            found = [r.person_ref for r in repo.candidate_people(s, **args)]
        assert len(found) == len(set(found)), found  # each person once, whichever keys they share
        return set(found)

    assert refs(dob=dob, name_keys=keys) == {"exact", "no-dob", "partial", "same-dob"}
    # the birth date's people are read apart from the other keys': a person on both comes once
    pnc = normalise_pnc("91/1234X")
    assert refs(dob=dob, pnc=pnc, name_keys=keys) == {"exact", "no-dob", "partial", "same-dob"}
    # born on the 15th: "partial" by the date, "exact" by its identifier and by a partial date
    assert refs(dob=date(1991, 3, 15), pnc=pnc, name_keys=keys) == {"exact", "no-dob", "partial"}
    with_records = refs(dob=date(1991, 3, 15), name_keys=keys, records_id="REC-9")
    assert with_records == {"exact", "no-dob", "partial", "records"}
    assert refs(dob=dob) == {"exact", "same-dob"}
    assert refs(name_keys=keys) == {"exact", "no-dob", "partial", "far-dob"}
    assert refs(pnc=normalise_pnc("91/1234X")) == {"exact"}
    assert refs(records_id="REC-9", dob=date(2001, 1, 1)) == {"records"}
    assert refs() == set()


def test_a_marked_person_is_no_match_under_any_of_their_references(engine: Engine) -> None:
    """Restricted or erased people are never matched against (DPA 2018 s.47), whichever reference
    the mark names: on PostgreSQL the candidate lookup says so itself, elsewhere a second read."""
    dob = date(1991, 3, 14)
    dean = {"given_name": "Dean", "family_name": "Marsh", "date_of_birth": dob}
    _person(engine, "P-OWN", **dean)
    _person(engine, "referral:rid-7", **dean)  # a referral's own subject: marked by the referral's id
    _person(engine, "P-REC", **dean, records_id="REC-9")
    _person(engine, "P-FREE", **dean, records_id="REC-1")
    with Session(engine) as s:
        decision = {"decided_by": "dpo", "reason_code": "t", "decision_id": "d1"}
        set_mark(s, ["P-OWN", "rid-7"], MarkState.RESTRICTED, **decision)
        set_mark(s, ["REC-9"], MarkState.ERASED, **decision)
        s.commit()
    principal = Principal(subject="system:test", kind="system", roles=frozenset({"system"}))
    with unit_of_work(engine, service="referral-api", principal=principal) as uow:
        found = matching.find_matches(uow, PersonRecord("Dean", "Marsh", date_of_birth=dob))
    assert [(m.person_ref, m.grade.value) for m in found] == [("P-FREE", "probable")]


def test_the_agency_check_and_the_key_claim_go_together(engine: Engine) -> None:
    """One statement on PostgreSQL: an inactive agency claims no key (and is refused); an active one
    claims it once, and the same key again replays (or, with another body, is refused)."""
    from hhpu_shared.errors import Forbidden, Unprocessable

    principal = _agency(engine)
    with Session(engine) as s:
        agency = s.get(Agency, principal.agency_id)
        assert agency is not None
        agency.active = False
        s.add(agency)
        s.commit()
    with pytest.raises(Forbidden):
        _submit(engine, principal, _body(), "key-inactive")
    with Session(engine) as s:
        assert s.exec(select(IdempotencyRecord)).all() == []
        agency = s.get(Agency, principal.agency_id)
        assert agency is not None
        agency.active = True
        s.add(agency)
        s.commit()
    body = _body()
    first = _submit(engine, principal, body, "key-inactive")
    again = _submit(engine, principal, body, "key-inactive")
    assert (first.status_code, first.replayed, again.replayed, again.body) == (201, False, True, first.body)
    with pytest.raises(Unprocessable):
        _submit(engine, principal, _body(), "key-inactive")
    with Session(engine) as s:
        claims = s.exec(select(IdempotencyRecord)).all()
        assert [(c.key, c.referral_id) for c in claims] == [("key-inactive", first.body["id"])]
