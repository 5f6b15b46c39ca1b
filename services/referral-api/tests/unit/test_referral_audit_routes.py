"""Must-show 1 for the referral-api: every route is in one of two tables. A route that returns (or
changes and returns) a person's data writes one audit entry per person shown, with actor, time,
justification and operation (`SHOWS`); every other route says why it shows no one (`NO_PERSON`)."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest
from hhpu_shared.events.contracts.common import PersonDetails
from hhpu_shared.events.contracts.ranking import CandidateIdentified
from hhpu_shared.testing.audit_routes import SKELETON_NO_PERSON, Shown, exercise, unlisted
from hhpu_shared.testing.plugin import identity_headers, unique
from referral_api.schemas import REFERRAL_EXAMPLE

API = "/api/v1"
WHY = "audit coverage: referral review"
PARTNER = "partner_agency"
DPO = "data_protection_officer"
CANDIDATE = "person-77"


def body(**subject: str) -> dict[str, Any]:
    b = copy.deepcopy(REFERRAL_EXAMPLE)
    b["partner_reference"] = unique("DAS-")
    b["subject"].update(subject)
    return b


def base(env: Any) -> dict[str, Any]:
    """A known person from the ranking (person-77, Dean Marsh) and a referral of Dean Marsh from one
    agency, waiting in the match review queue."""
    details = PersonDetails(
        given_name="Dean", middle_names="John", family_name="Marsh", date_of_birth=date(1991, 3, 14)
    )
    env.deliver(
        CandidateIdentified(
            run_id="run-1",
            person_ref=CANDIDATE,
            rank=3,
            score=812.5,
            as_of=date(2026, 3, 1),
            provisional=False,
            subject=details,
        ),
        "run-1",
    )
    agency = env.agency()
    r = env.submit(agency, body())
    assert r.status_code == 201, r.text
    review = env.client.get(f"{API}/match-reviews", headers=staff("unit_supervisor")).json()["items"][0]
    return {"agency": agency.id, "rid": r.json()["id"], "review": review["id"]}


def staff(role: str) -> dict[str, str]:
    return identity_headers(role, subject=f"user:{role}") | {"X-Justification": WHY}


RID = lambda c: {c["rid"]}  # noqa: E731
BOTH = lambda c: {c["rid"], CANDIDATE}  # noqa: E731
R = "/api/v1/referrals/{referral_id}"
MR = "/api/v1/match-reviews/{review_id}"

SHOWS: dict[str, Shown] = {
    "POST /api/v1/referrals": Shown(
        lambda c: f"{API}/referrals",
        lambda c: {c["response"]["id"]},
        PARTNER,
        "collect",
        body=lambda c: body(given_name="Zed", middle_names="Q", family_name="Quill"),
        status=201,
    ),
    "GET /api/v1/referrals": Shown(lambda c: f"{API}/referrals", RID, "offender_manager"),
    f"GET {R}": Shown(lambda c: f"{API}/referrals/{c['rid']}", RID, "analyst"),
    f"GET {R}/status": Shown(lambda c: f"{API}/referrals/{c['rid']}/status", RID, PARTNER, "disclose"),
    f"POST {R}/withdraw": Shown(
        lambda c: f"{API}/referrals/{c['rid']}/withdraw",
        RID,
        PARTNER,
        "alter",
        body=lambda c: {"reason_code": "no_longer_required"},
    ),
    "GET /api/v1/match-reviews": Shown(lambda c: f"{API}/match-reviews", BOTH, "unit_supervisor"),
    f"GET {MR}": Shown(lambda c: f"{API}/match-reviews/{c['review']}", BOTH, "analyst"),
    f"POST {MR}/confirm": Shown(
        lambda c: f"{API}/match-reviews/{c['review']}/confirm", BOTH, "offender_manager", "combine"
    ),
    f"POST {MR}/reject": Shown(
        lambda c: f"{API}/match-reviews/{c['review']}/reject", BOTH, "unit_supervisor", "alter"
    ),
    "GET /api/v1/audit/{service}": Shown(lambda c: f"{API}/audit/referral-api?person={c['rid']}", RID, DPO),
    "GET /api/v1/audit/{service}/references": Shown(
        lambda c: f"{API}/audit/referral-api/references?person={c['rid']}", RID, DPO
    ),
    "GET /api/v1/subject-access/{service}": Shown(
        lambda c: f"{API}/subject-access/referral-api?person={c['rid']}", RID, DPO, "disclose"
    ),
}

A = "/api/v1/agencies/{agency_id}"
NO_PERSON: dict[str, str] = {
    **SKELETON_NO_PERSON,
    "POST /api/v1/agencies": "a partner agency (an organisation and its contact)",
    "GET /api/v1/agencies": "partner agencies (organisations and their contacts)",
    f"GET {A}": "a partner agency",
    f"PATCH {A}": "a partner agency",
    f"POST {A}/deactivate": "a partner agency's state",
    f"POST {A}/activate": "a partner agency's state",
    f"POST {A}/webhook-secret": "a partner agency's webhook signing secret",
    f"GET {A}/webhook-attempts": "webhook deliveries: referral ids, statuses and times, no subject",
    f"POST {A}/keys": "an API key of an agency",
    f"GET {A}/keys": "an agency's API keys (ids, labels, scopes)",
    f"POST {A}/keys/{{key_id}}/rotate": "an API key of an agency",
    f"POST {A}/keys/{{key_id}}/revoke": "an API key of an agency",
    "POST /internal/v1/keys/verify": "the gateway's key check: the key's agency and scopes",
}


def test_every_route_is_classified(shared_ref_env: Any) -> None:
    assert unlisted(shared_ref_env.app, SHOWS, NO_PERSON) == {
        "unclassified": [],
        "stale": [],
        "both": [],
        "unexplained": [],
    }


@pytest.mark.parametrize("route", sorted(SHOWS))
def test_each_person_shown_is_audited_with_actor_time_justification_operation(
    ref_env: Any, route: str
) -> None:
    case = SHOWS[route]
    ctx = (case.setup or base)(ref_env)
    if case.role == PARTNER:
        actor = f"agency:{ctx['agency']}"
        headers = identity_headers(PARTNER, subject=actor, agency_id=ctx["agency"]) | {"X-Justification": WHY}
    else:
        actor = f"user:{case.role}"
        headers = staff(case.role)
    assert exercise(ref_env.client, ref_env.runtime.engine, route, case, ctx, headers, actor, WHY) == []
