"""Every lifecycle transition, and every illegal one, through the routes and the consumed events."""

from __future__ import annotations

import itertools

import pytest
from hhpu_shared.events.contracts.case import AssessmentDecided, AssessmentOpened, AssessmentTriggerAdded
from hhpu_shared.events.contracts.common import Trigger
from hhpu_shared.testing.plugin import identity_headers
from referral_api.domain.lifecycle import (
    TRANSITIONS,
    Status,
    can_transition,
)

STAFF = {**identity_headers("offender_manager", subject="user:om1"), "X-Justification": "test: review"}
LEGAL = {
    ("submitted", "screened"),
    ("submitted", "withdrawn"),
    ("screened", "under_assessment"),
    ("screened", "accepted"),
    ("screened", "declined"),
    ("screened", "withdrawn"),
    ("under_assessment", "accepted"),
    ("under_assessment", "declined"),
    ("under_assessment", "withdrawn"),
}
ALL_PAIRS = list(itertools.product([s.value for s in Status], repeat=2))


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS)
def test_transition_table(current: str, target: str) -> None:
    legal = (current, target) in LEGAL
    assert can_transition(current, target) is legal


def test_final_statuses_have_no_way_out() -> None:
    assert all(not TRANSITIONS[s] for s in (Status.ACCEPTED, Status.DECLINED, Status.WITHDRAWN))


def _opened(assessment_id: str, *referral_ids: str) -> AssessmentOpened:
    return AssessmentOpened(
        assessment_id=assessment_id,
        person_id="person-1",
        person_label="D. M.",
        triggers=tuple(Trigger(source="referral", ref=r) for r in referral_ids)
        + (Trigger(source="ranking", ref="run-1"),),
    )


def _decided(decision: str, *referral_ids: str) -> AssessmentDecided:
    return AssessmentDecided(
        assessment_id="as-1",
        person_id="person-1",
        decision=decision,  # type: ignore[arg-type]
        decided_by="user:di",
        cohort="hhpu" if decision == "adopt" else None,
        referral_ids=referral_ids,
        reason="panel decision",
    )


@pytest.fixture
def screened(ref_env, make_body):  # type: ignore[no-untyped-def]
    agency = ref_env.agency()
    r = ref_env.submit(agency, make_body())
    assert r.json()["status"] == "screened"
    return agency, r.json()["id"]


def _withdraw(ref_env, agency, rid):  # type: ignore[no-untyped-def]
    return ref_env.client.post(
        f"/api/v1/referrals/{rid}/withdraw",
        json={"reason_code": "no_longer_required"},
        headers=agency.headers,
    )


def test_screened_to_under_assessment_to_accepted(ref_env, screened) -> None:
    agency, rid = screened
    assert ref_env.deliver(_opened("as-1", rid), "as-1") == 1
    assert ref_env.status(rid) == "under_assessment"
    ref_env.deliver(_decided("adopt", rid), "as-1")
    assert ref_env.status(rid) == "accepted"
    st = ref_env.client.get(f"/api/v1/referrals/{rid}/status", headers=agency.headers).json()
    assert st["outcome"] == {
        "decided": True,
        "summary": "Accepted: the person is managed by the High Harm Perpetrator Unit.",
        "reason_code": "adopted",
        "note": "panel decision",
    }
    assert [h["to_status"] for h in st["history"]] == [
        "submitted",
        "screened",
        "under_assessment",
        "accepted",
    ]


def test_under_assessment_to_declined(ref_env, screened) -> None:
    _, rid = screened
    ref_env.deliver(_opened("as-1", rid), "as-1")
    ref_env.deliver(_decided("decline", rid), "as-1")
    assert ref_env.status(rid) == "declined"


def test_trigger_added_to_an_open_assessment_puts_it_under_assessment(ref_env, screened) -> None:
    _, rid = screened
    ref_env.deliver(
        AssessmentTriggerAdded(
            assessment_id="as-9", person_id="p-9", trigger=Trigger(source="referral", ref=rid)
        ),
        "as-9",
    )
    assert ref_env.status(rid) == "under_assessment"


def test_screened_to_accepted_and_declined_directly(ref_env, make_body) -> None:
    agency = ref_env.agency()
    r1 = ref_env.submit(agency, make_body()).json()["id"]
    r2 = ref_env.submit(agency, make_body()).json()["id"]
    ref_env.deliver(_decided("adopt", r1), "as-1")
    ref_env.deliver(_decided("decline", r2), "as-2")
    assert (ref_env.status(r1), ref_env.status(r2)) == ("accepted", "declined")


def test_defer_keeps_the_status_and_adds_a_note(ref_env, screened) -> None:
    agency, rid = screened
    ref_env.deliver(_opened("as-1", rid), "as-1")
    before = ref_env.event_types(rid)
    ref_env.deliver(_decided("defer", rid), "as-1")
    assert ref_env.status(rid) == "under_assessment"
    hist = ref_env.client.get(f"/api/v1/referrals/{rid}/status", headers=agency.headers).json()["history"]
    assert hist[-1]["reason_code"] == "deferred"
    assert hist[-1]["from_status"] == hist[-1]["to_status"] == "under_assessment"
    assert ref_env.event_types(rid) == before  # no status change, no event


@pytest.mark.parametrize("stage", ["screened", "under_assessment"])
def test_referrer_withdraws(ref_env, screened, stage: str) -> None:
    agency, rid = screened
    if stage == "under_assessment":
        ref_env.deliver(_opened("as-1", rid), "as-1")
    r = _withdraw(ref_env, agency, rid)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "withdrawn"
    assert r.json()["status_reason"] == "no_longer_required"
    types = ref_env.event_types(rid)
    assert types.count("referral.withdrawn") == 1


def test_submitted_to_withdrawn_is_legal_in_the_service(ref_env, make_body) -> None:
    """Screening runs on receipt, so `submitted` is never seen from outside; the rule still holds."""
    from referral_api import repository as repo
    from referral_api.service import lifecycle

    agency = ref_env.agency()
    rid = ref_env.submit(agency, make_body()).json()["id"]
    with ref_env.runtime.unit_of_work() as uow:
        ref = repo.get_referral(uow.session, rid)
        assert ref is not None
        ref.status = "submitted"
        lifecycle.change_status(uow, ref, Status.WITHDRAWN, reason_code="other", justification="test")
    assert ref_env.status(rid) == "withdrawn"


@pytest.mark.parametrize("final", ["accepted", "declined", "withdrawn"])
def test_a_final_referral_cannot_be_withdrawn(ref_env, screened, final: str) -> None:
    agency, rid = screened
    if final == "withdrawn":
        assert _withdraw(ref_env, agency, rid).status_code == 200
    else:
        ref_env.deliver(_decided("adopt" if final == "accepted" else "decline", rid), "as-1")
    r = _withdraw(ref_env, agency, rid)
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "illegal_transition"
    assert r.json()["current_status"] == final
    assert ref_env.status(rid) == final


@pytest.mark.parametrize("final", ["accepted", "declined", "withdrawn"])
def test_decisions_on_a_final_referral_change_nothing(ref_env, screened, final: str) -> None:
    agency, rid = screened
    if final == "withdrawn":
        _withdraw(ref_env, agency, rid)
    else:
        ref_env.deliver(_decided("adopt" if final == "accepted" else "decline", rid), "as-1")
    before = ref_env.event_types(rid)
    ref_env.deliver(_opened("as-2", rid), "as-2")
    ref_env.deliver(_decided("adopt", rid), "as-2")
    ref_env.deliver(_decided("decline", rid), "as-2")
    assert ref_env.status(rid) == final
    assert ref_env.event_types(rid) == before


def test_a_repeated_decision_is_applied_once(ref_env, screened) -> None:
    _, rid = screened
    ref_env.deliver(_opened("as-1", rid), "as-1")
    ref_env.deliver(_opened("as-1", rid), "as-1")  # a new event id: the inbox does not catch it, state does
    ref_env.deliver(_decided("adopt", rid), "as-1")
    ref_env.deliver(_decided("adopt", rid), "as-1")
    types = ref_env.event_types(rid)
    assert types.count("referral.status_changed") == 3  # screened, under_assessment, accepted
    assert ref_env.status(rid) == "accepted"


def test_illegal_transition_in_the_service_is_a_409_problem(ref_env, screened) -> None:
    from hhpu_shared.errors import Conflict
    from referral_api import repository as repo
    from referral_api.service import lifecycle

    _, rid = screened
    with pytest.raises(Conflict) as exc, ref_env.runtime.unit_of_work() as uow:
        ref = repo.get_referral(uow.session, rid)
        assert ref is not None
        lifecycle.change_status(uow, ref, Status.SUBMITTED, reason_code="x", justification="test")
    assert exc.value.status == 409
    assert exc.value.code == "illegal_transition"
    assert ref_env.status(rid) == "screened"


def test_staff_cannot_withdraw_on_behalf_of_the_agency(ref_env, screened) -> None:
    _, rid = screened
    r = ref_env.client.post(f"/api/v1/referrals/{rid}/withdraw", json={"reason_code": "other"}, headers=STAFF)
    assert r.status_code == 403
    assert ref_env.status(rid) == "screened"


def test_events_about_unknown_referrals_are_ignored_not_dead_lettered(ref_env, screened) -> None:
    _, rid = screened
    assert ref_env.deliver(_opened("as-x", "no-such-referral"), "as-x") == 1
    assert ref_env.deliver(_decided("adopt", "no-such-referral", rid), "as-x") == 1
    assert ref_env.status(rid) == "accepted"  # the known referral in the same event still moves
    bus = ref_env.runtime.bus
    assert bus.messages("hhpu.assessment.events.DLT") == []
