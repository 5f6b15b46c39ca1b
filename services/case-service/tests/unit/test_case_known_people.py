"""A referral about a person the unit already knows, and a ranking candidate (new or known), take
the plain-statement paths (`service.known`, `service.newcomers.candidate`): each must write exactly
what the general path (people.find_or_create, assessments.add_trigger, cases.ensure_candidate,
retention.refresh) writes for the same event after the same history, row for row, audit entries and
event included; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from case_rows import written
from case_service import handlers
from case_service.models import Assessment
from case_service.service import known, newcomers
from case_testing import candidate, decision, envelope, screened
from hhpu_shared.auth import system_principal
from hhpu_shared.events.contracts.common import PersonDetails
from hhpu_shared.events.contracts.referral import ReferralWithdrawn
from hhpu_shared.uow import UnitOfWork, unit_of_work
from sqlalchemy import Engine
from sqlmodel import select

Step = Callable[[UnitOfWork], None]

BEA = PersonDetails(
    given_name="Bea",
    middle_names="Ann",
    family_name="Ng",
    aliases=("Bee Ng",),
    date_of_birth=date(1984, 2, 29),
    records_id="R-9",
    pnc_number="2001/0012345A",
    area="north",
)
NO_RECORDS = BEA.model_copy(update={"records_id": None})  # known by the PNC number only


def referral(referral_id: str, *, partner: str | None = None, **kw: Any) -> Step:
    data = screened(referral_id, **kw)
    if partner:
        data = data.model_copy(update={"partner_reference": partner})
    return lambda uow: handlers.on_referral_screened(uow, data, envelope(data))


def known_referral(referral_id: str, **kw: Any) -> Step:
    return referral(referral_id, grade="certain", person_ref="R-9", subject=BEA, **kw)


def ranked(person_ref: str = "R-9", run_id: str = "run-1", subject: PersonDetails | None = BEA) -> Step:
    data = candidate(person_ref, run_id, subject)
    return lambda uow: handlers.on_candidate(uow, data, envelope(data))


def withdrawn(referral_id: str) -> Step:
    data = ReferralWithdrawn(referral_id=referral_id, agency_id="das", reason_code="duplicate")
    return lambda uow: handlers.on_referral_withdrawn(uow, data, envelope(data))


def decided(what: str) -> Step:
    def step(uow: UnitOfWork) -> None:
        a = uow.session.exec(select(Assessment).where(Assessment.status == "open")).one()
        data = decision(a.id, a.person_id, what, "hhpu" if what == "adopt" else None)
        handlers.on_decision(uow, data, envelope(data))

    return step


# name: (the history, the event compared, the plain path that must take it)
CASES: dict[str, tuple[list[Step], Step, tuple[Any, str]]] = {
    "referral-extends-a-candidate": (
        [ranked()],  # an open assessment, a case without a statutory status, group 3
        known_referral("ref-b", statutory_status="convicted", partner="P-1"),
        (known, "referral"),
    ),
    "referral-extends-a-referral": (
        [known_referral("ref-a", urgency="normal")],
        known_referral("ref-b", statutory_status="on_licence"),
        (known, "referral"),
    ),
    "referral-after-a-decline": (
        [known_referral("ref-a"), decided("decline")],  # the case exited: a new one
        known_referral("ref-b", urgency="normal"),
        (known, "referral"),
    ),
    "referral-after-an-adoption": (
        [known_referral("ref-a"), decided("adopt")],  # the managed case stays the active one
        known_referral("ref-b"),
        (known, "referral"),
    ),
    "referral-again-with-a-partner-reference": (
        [referral("ref-a")],
        referral("ref-a", partner="P-7"),
        (known, "referral"),
    ),
    "referral-by-pnc": (
        [referral("ref-a", subject=NO_RECORDS)],
        referral("ref-b", subject=NO_RECORDS, statutory_status="convicted"),
        (known, "referral"),
    ),
    "candidate-new-without-details": ([], ranked("R-44", subject=None), (newcomers, "candidate")),
    "candidate-new": ([], ranked(), (newcomers, "candidate")),
    "candidate-extends-a-referral": ([known_referral("ref-a")], ranked(), (known, "candidate")),
    "candidate-after-a-decline": (
        [known_referral("ref-a"), decided("decline")],
        ranked(run_id="run-2"),
        (known, "candidate"),
    ),
    "candidate-again": ([ranked()], ranked(), (known, "candidate")),
    "candidate-after-a-withdrawn-referral": (  # still in the summary, no longer in the MoPI facts
        [ranked(), known_referral("ref-a"), withdrawn("ref-a")],
        ranked(run_id="run-2"),
        (known, "candidate"),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_case_a_known_person_or_candidate_is_written_as_the_general_path_writes_it(
    engine: Engine, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    history, event, (module, function) = CASES[name]
    for step in history:
        with unit_of_work(engine, service="case-service", principal=system_principal("case-service")) as uow:
            step(uow)
    plain = getattr(module, function)
    taken: list[bool] = []

    def spy(*args: Any, **kwargs: Any) -> bool:
        taken.append(plain(*args, **kwargs))
        return taken[-1]

    monkeypatch.setattr(module, function, spy)
    fast, fast_statements = written(engine, event)
    assert taken == [True]  # the plain path took the event
    monkeypatch.setattr(module, function, lambda *_a, **_k: False)  # as if it had declined it
    general, general_statements = written(engine, event)
    assert fast == general
    assert fast["case_person"] and fast["case_assessment"] and fast["audit_log"]  # something compared
    assert len(fast_statements) < len(general_statements)


# What the plain path leaves to the general one (nothing written first): a person the event fills in.
FALLBACKS: dict[str, tuple[list[Step], Step]] = {
    "placeholder-gets-details": ([ranked("R-9", subject=None)], known_referral("ref-b")),
    "records-id-set": ([referral("ref-a", subject=NO_RECORDS)], known_referral("ref-b")),  # by PNC
}


@pytest.mark.parametrize("name", sorted(FALLBACKS))
def test_case_a_person_the_event_fills_in_goes_the_general_way(
    engine: Engine, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    history, event = FALLBACKS[name]
    for step in history:
        with unit_of_work(engine, service="case-service", principal=system_principal("case-service")) as uow:
            step(uow)
    plain = known.referral
    taken: list[bool] = []

    def spy(*args: Any, **kwargs: Any) -> bool:
        taken.append(plain(*args, **kwargs))
        return taken[-1]

    monkeypatch.setattr(known, "referral", spy)
    rows, _ = written(engine, event)
    assert taken == [False]
    (person,) = rows["case_person"]
    assert (person["given_name"], person["records_id"]) == ("Bea", "R-9")  # filled in by the general path
    assert len(rows["case_assessment_trigger"]) == 2
