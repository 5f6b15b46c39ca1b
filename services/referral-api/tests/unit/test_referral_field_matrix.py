"""Must-show 2 for the referral-api: the role x route x field matrix.

For a referral, its status (history notes and the outcome's note), the match review queue and one
match review: which roles are refused, which see references only (identity and narrative withheld),
which see everything, and what a partner agency sees of its own subject and of another agency's.
Every checked field is filled by the setup and compared with what a supervisor sees, so a leak and
a wrongly withheld field both show."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from hhpu_shared.events.contracts.common import PersonDetails
from hhpu_shared.events.contracts.ranking import CandidateIdentified
from hhpu_shared.testing.plugin import identity_headers, unique
from hhpu_shared.visibility import WITHHELD
from referral_api.schemas import REFERRAL_EXAMPLE

API = "/api/v1"
WHY = {"X-Justification": "field matrix: referral review"}
ALL, REFS, REFUSED, OWN, OTHER = "all", "references only", "refused", "own agency", "another agency"
ROLES: dict[str, str] = {
    "offender_manager": ALL,
    "unit_supervisor": ALL,
    "administrator": ALL,
    "analyst": REFS,
    "meeting_chair": REFUSED,
    "data_protection_officer": REFUSED,  # subject access is their route (/subject-access)
    "partner:own": OWN,
    "partner:other": OTHER,
}


def fields_of(body: dict[str, Any], paths: tuple[str, ...]) -> dict[str, list[Any]]:
    """Each dotted path's values (`[]` walks a list), e.g. "history[].note"."""

    def walk(node: Any, parts: list[str]) -> list[Any]:
        if not parts:
            return [node]
        head, rest = parts[0], parts[1:]
        if head.endswith("[]"):
            return [v for x in (node.get(head[:-2]) or []) for v in walk(x, rest)]
        return walk(node.get(head) if isinstance(node, dict) else None, rest) if node is not None else [None]

    return {p: walk(body, p.split(".")) for p in paths}


SUBJECT = ("subject.given_name", "subject.family_name", "subject.middle_names", "subject.date_of_birth")
ROUTES: dict[str, tuple[Callable[[dict[str, str]], str], tuple[str, ...], dict[str, Any]]] = {
    "referral": (
        lambda c: f"{API}/referrals/{c['rid']}",
        (*SUBJECT, "subject.aliases", "concern.reason", "concern.evidence_summary", "risk_indicators"),
        {ALL: ALL, REFS: REFS, REFUSED: 403, OWN: ALL, OTHER: 404},
    ),
    "status": (
        lambda c: f"{API}/referrals/{c['rid']}/status",
        ("history[].note", "outcome.note"),
        {ALL: ALL, REFS: REFS, REFUSED: 403, OWN: ALL, OTHER: 404},
    ),
    "match reviews": (
        lambda c: f"{API}/match-reviews?status=confirmed",
        (
            "items[].note",
            *(f"items[].{p}" for p in SUBJECT),
            "items[].candidate.family_name",
            "items[].candidate.date_of_birth",
        ),
        {ALL: ALL, REFS: REFS, REFUSED: 403, OWN: 403, OTHER: 403},
    ),
    "match review": (
        lambda c: f"{API}/match-reviews/{c['review']}",
        ("note", *SUBJECT, "candidate.given_name", "candidate.family_name", "candidate.date_of_birth"),
        {ALL: ALL, REFS: REFS, REFUSED: 403, OWN: 403, OTHER: 403},
    ),
}


def _shown(v: Any) -> bool:
    return v not in (None, WITHHELD, "", [])


@pytest.fixture(scope="module")
def world(shared_ref_env: Any) -> tuple[Any, dict[str, Any]]:
    """A ranking candidate (Dean Marsh); agency `own` refers Dean, a reviewer confirms the match with
    a note, and the unit declines the referral with a note; agency `other` exists."""
    env = shared_ref_env
    env.deliver(
        CandidateIdentified(
            run_id="run-1",
            person_ref="person-77",
            rank=3,
            score=812.5,
            as_of=date(2026, 3, 1),
            provisional=False,
            subject=PersonDetails(
                given_name="Dean", middle_names="John", family_name="Marsh", date_of_birth=date(1991, 3, 14)
            ),
        ),
        "run-1",
    )
    own, other = env.agency(), env.agency()
    body = copy.deepcopy(REFERRAL_EXAMPLE)
    body["partner_reference"] = unique("DAS-")
    body["subject"]["aliases"] = ["Deano"]
    r = env.submit(own, body)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    sup = identity_headers("unit_supervisor", subject="user:sup") | WHY
    review = env.client.get(f"{API}/match-reviews", headers=sup).json()["items"][0]["id"]
    ok = env.client.post(
        f"{API}/match-reviews/{review}/confirm", json={"note": "Same DOB and address"}, headers=sup
    )
    assert ok.status_code == 200, ok.text
    withdraw = {"reason_code": "no_longer_required", "note": "Dean moved out of the area"}
    w = env.client.post(f"{API}/referrals/{rid}/withdraw", json=withdraw, headers=own.headers)
    assert w.status_code == 200, w.text
    return env, {"rid": rid, "review": review, "own": own, "other": other}


def headers(role: str, ctx: dict[str, Any]) -> dict[str, str]:
    if role.startswith("partner:"):
        return dict(ctx[role.split(":")[1]].headers)
    return identity_headers(role, subject=f"user:{role}") | WHY


@pytest.mark.parametrize("role", sorted(ROLES))
@pytest.mark.parametrize("route", sorted(ROUTES))
def test_role_route_field_matrix(world: tuple[Any, dict[str, Any]], route: str, role: str) -> None:
    env, ctx = world
    path, paths, expect = ROUTES[route]
    sup = identity_headers("unit_supervisor", subject="user:sup") | WHY
    full = fields_of(env.client.get(path(ctx), headers=sup).json(), paths)
    assert all(any(_shown(v) for v in vs) for vs in full.values()), (route, "setup fills every field", full)
    want = expect[ROLES[role]]
    r = env.client.get(path(ctx), headers=headers(role, ctx))
    if isinstance(want, int):
        assert r.status_code == want and r.headers["content-type"] == "application/problem+json", (
            route,
            role,
        )
        return
    assert r.status_code == 200, (route, role, r.text)
    got = fields_of(r.json(), paths)
    if want == ALL:
        assert got == full, (route, role)
        return
    assert {k: len(v) for k, v in got.items()} == {k: len(v) for k, v in full.items()}, (route, role)
    assert {k: v for k, v in got.items() if any(_shown(x) for x in v)} == {}, (route, role, "withheld")
    body = r.json()
    refs = (
        [i["referral_id"] for i in body["items"]]
        if "items" in body
        else [body.get("referral_id") or body["id"]]
    )
    assert refs == [ctx["rid"]], (route, role, "the reference is shown")
