"""Helpers of the case-service's tests (and the cross-service tests): events and a test client.

Test code, never shipped: it lives under tests/ (on the test path through the root pytest
configuration's ``pythonpath``). The generic event helpers come from ``hhpu_shared.testing.events``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from hhpu_shared.events.contracts.common import PersonDetails
from hhpu_shared.events.contracts.meeting import DecisionRecorded
from hhpu_shared.events.contracts.ranking import CandidateIdentified, Contribution
from hhpu_shared.events.contracts.referral import ReferralMatchResolved, ReferralScreened
from hhpu_shared.runtime import ServiceRuntime
from hhpu_shared.testing.events import consume, envelope, outbox_types, publish

__all__ = [
    "DEAN",
    "adopt_by_hand",
    "candidate",
    "client_for",
    "consume",
    "decision",
    "envelope",
    "headers",
    "outbox_types",
    "publish",
    "resolved",
    "screened",
]

DEAN = PersonDetails(given_name="Dean", family_name="Marsh", date_of_birth=date(1991, 3, 14))


def screened(
    referral_id: str = "ref-1",
    *,
    eligible: bool = True,
    grade: str = "none",
    person_ref: str | None = None,
    subject: PersonDetails = DEAN,
    urgency: str = "high",
    agency_id: str = "das",
    statutory_status: str = "unconvicted_suspect",
) -> ReferralScreened:
    return ReferralScreened(
        referral_id=referral_id,
        agency_id=agency_id,
        eligible=eligible,
        reasons=() if eligible else ("out_of_scope",),
        domains=("domestic_abuse", "stalking"),
        urgency=urgency,
        statutory_status=statutory_status,
        subject=subject,
        match_grade=grade,
        agency_name="Drug and Alcohol Service",
        matched_person_ref=person_ref,
    )


def resolved(
    referral_id: str, person_ref: str | None, subject: PersonDetails = DEAN
) -> ReferralMatchResolved:
    return ReferralMatchResolved(
        referral_id=referral_id,
        agency_id="das",
        resolved_by="user:reviewer",
        person_ref=person_ref,
        subject=subject,
        domains=("domestic_abuse",),
        urgency="high",
        statutory_status="unconvicted_suspect",
    )


def candidate(
    person_ref: str, run_id: str = "run-1", subject: PersonDetails | None = None
) -> CandidateIdentified:
    return CandidateIdentified(
        run_id=run_id,
        person_ref=person_ref,
        rank=3,
        score=812.5,
        as_of=date(2026, 11, 1),
        provisional=False,
        top_contributions=(
            Contribution(
                offence_code="008/66",
                offence_name="Stalking (serious alarm)",
                offence_date=date(2026, 6, 1),
                harm=252.0,
                weighted=230.1,
            ),
        ),
        subject=subject,
    )


def decision(
    assessment_id: str, person_id: str, decision: str = "adopt", cohort: str | None = "hhpu"
) -> DecisionRecorded:
    return DecisionRecorded(
        meeting_id="mtg-1",
        item_id="item-1",
        assessment_id=assessment_id,
        person_id=person_id,
        decision=decision,  # type: ignore[arg-type, unused-ignore]
        decided_by="DI Jane Hart",
        cohort=cohort,  # type: ignore[arg-type, unused-ignore]
        reason=None if decision == "adopt" else "not now",
    )


def headers(*roles: str, why: str | None = "test: case review", subject: str = "user:om1") -> dict[str, Any]:
    from hhpu_shared.testing.plugin import identity_headers

    h: dict[str, Any] = identity_headers(*roles, subject=subject)
    if why:
        h["X-Justification"] = why
    return h


def adopt_by_hand(client: TestClient, case_id: str, decided_by: str = "MAPPA panel") -> Any:
    """Move a hand-opened case to managed the only way there is: a supervisor records the adoption."""
    client.post(
        f"/api/v1/cases/{case_id}/transitions",
        json={"to": "under_assessment"},
        headers=headers("offender_manager"),
    )
    return client.post(
        f"/api/v1/cases/{case_id}/transitions",
        json={"to": "managed", "decided_by": decided_by},
        headers=headers("unit_supervisor", subject="user:sup"),
    )


@contextmanager
def client_for(database_url: str, **settings: Any) -> Iterator[tuple[TestClient, ServiceRuntime]]:
    """A TestClient on a fresh case-service (consumer driven by hand with `consume`)."""
    from case_service.app import create_app
    from case_service.migrations import MIGRATIONS
    from case_service.settings import CaseSettings
    from hhpu_shared.testing.databases import migrated

    app = create_app(
        CaseSettings(database_url=migrated(MIGRATIONS, database_url), **settings), run_consumer=False
    )
    with TestClient(app) as client:
        yield client, app.state.runtime
