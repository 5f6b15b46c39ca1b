"""Defence in depth: every service grants exactly the roles the gateway's policy table grants.

Each public operation of the four services is called once per role, in-process on SQLite, with an
identity and nothing else (no X-Justification, a body that never validates, an out-of-range `limit`):
the roles a service does not refuse with 403 `forbidden` must be the roles of the gateway's rule for
that path, and the gateway must route the path to that service. The only differences allowed are
listed, one by one and commented, in `gateway.policy_check.ALLOWED` (administrators, whom the gateway
lets through by design and a service refuses where the work is not theirs). The probe is
`gateway/scripts/policy_vs_services.py`'s, which prints the same table.
"""

from __future__ import annotations

import pytest
from gateway.policy_check import ALLOWED, Operation, allowed, differences, probe

from gateway import policy


@pytest.fixture(scope="module")
def operations() -> list[Operation]:
    return probe()


def _op(ops: list[Operation], key: str) -> Operation:
    found = [o for o in ops if o.key == key]
    assert len(found) == 1, f"{key} is not an operation of the service (renamed?)"
    return found[0]


def test_every_service_grants_exactly_the_roles_of_the_gateway(operations: list[Operation]) -> None:
    unexpected = [d.line() for d in differences(operations) if not allowed(d)]
    assert not unexpected, (
        "the gateway's policy table (gateway/src/gateway/policy.py) and the services' own role checks "
        "disagree; tighten the service, or change both and say why:\n" + "\n".join(unexpected)
    )


def test_every_allowance_is_still_a_difference(operations: list[Operation]) -> None:
    """An allowance that matches nothing any more is removed, so the list stays the exact exceptions."""
    used = {d.key for d in differences(operations) if allowed(d)}
    assert sorted(ALLOWED - used) == []


def test_the_probe_reaches_every_service_and_sees_refusals(operations: list[Operation]) -> None:
    by_service = {o.service for o in operations}
    assert by_service == {"referral-api", "ranking-service", "case-service", "meeting-service"}
    assert len(operations) > 100
    # Partners never reach a case record, whatever the route.
    case_ops = [o for o in operations if o.service == "case-service"]
    assert case_ops and all(policy.P not in o.service_allows for o in case_ops)
    # Least privilege where the services used to grant every staff role.
    reviews = _op(operations, "referral-api POST /api/v1/match-reviews/{review_id}/confirm")
    assert reviews.service_allows == {policy.OM, policy.SUP, policy.AN, policy.AD}
    referrals = _op(operations, "referral-api GET /api/v1/referrals/{referral_id}")
    assert referrals.service_allows == {policy.P, policy.OM, policy.SUP, policy.AN, policy.AD}
    minute = _op(operations, "meeting-service PATCH /api/v1/meetings/{meeting_id}/agenda/items/{item_id}")
    assert minute.service_allows == {policy.CH, policy.SUP, policy.AD}
    agenda = _op(operations, "meeting-service GET /api/v1/meetings/{meeting_id}/agenda")
    assert policy.DPO not in agenda.service_allows and policy.AN in agenda.service_allows


@pytest.mark.parametrize("template", ["/api/v1/audit/{service}", "/api/v1/subject-access/{service}"])
def test_a_refused_role_is_403_before_the_missing_justification(
    operations: list[Operation], template: str
) -> None:
    """The data protection endpoints check the role before X-Justification: an analyst, an offender
    manager or a meeting chair gets 403, not 422, from every service."""
    for service in ("referral-api", "ranking-service", "case-service", "meeting-service"):
        op = _op(operations, f"{service} GET {template}")
        assert op.service_allows == {policy.DPO, policy.SUP}, service
        assert op.routed_to == service
