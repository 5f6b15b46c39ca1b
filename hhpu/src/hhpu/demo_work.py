"""The demo's working unit, seeded through the gateway's public API: journeys 3, 4 and 5 start full.

- managed cases (journey 4): PC Ann Lee holds eleven, three of them ViSOR (MAPPA category 1,
  level 1) and two very high risk; the rest of the team holds fewer; each case has a risk
  assessment (some overdue for reassessment) and interventions of every category, adopted over
  the past year so the evaluation's month-by-month figures have a history (journey 5);
- meeting actions (journey 3): open ones owned by agencies and by Ann, and two already overdue;
- a webhook receiver for the drug and alcohol service (journey 1): the agency's webhook URL points
  at a loopback receiver that `hhpu run` starts, so its status changes can be watched.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx

WHY = {"X-Justification": "demo data for the HHPU demonstration"}

# (given, family, born, cohort, mappa, risk inputs, interventions, manager staff id, months ago adopted)
Row = tuple[str, str, str, str, int | None, dict[str, Any], tuple[str, ...], str, int]
CASES: tuple[Row, ...] = (
    ("Gary", "Pike", "1979-05-02", "visor", 1, {"likelihood": "high", "harm": "very_high"}, ("notification_compliance_visit", "sex_offender_programme"), "om-ann", 11),
    ("Lewis", "Crane", "1985-09-19", "visor", 1, {"likelihood": "medium", "harm": "high"}, ("notification_compliance_visit",), "om-ann", 9),
    ("Owen", "Tate", "1990-01-07", "visor", 1, {"likelihood": "low", "harm": "medium"}, ("home_address_check",), "om-ann", 7),
    ("Kyle", "Benson", "1994-12-12", "hhpu", None, {"likelihood": "high", "harm": "very_high"}, ("dvpn", "da_perpetrator_programme"), "om-ann", 10),
    ("Reece", "Holt", "1988-03-30", "hhpu", None, {"likelihood": "high", "harm": "high"}, ("restraining_order", "accommodation_support"), "om-ann", 8),
    ("Jason", "Lowe", "1983-07-21", "hhpu", None, {"likelihood": "medium", "harm": "high"}, ("home_address_check",), "om-ann", 6),
    ("Wayne", "Doyle", "1992-10-05", "iom_fixed", None, {"likelihood": "high", "harm": "medium"}, ("drug_alcohol_treatment", "home_address_check"), "om-ann", 5),
    ("Craig", "Sutton", "1987-02-14", "iom_fixed", None, {"likelihood": "medium", "harm": "medium"}, ("travel_warrant",), "om-ann", 4),
    ("Liam", "Porter", "1996-06-28", "iom_flex", None, {"likelihood": "medium", "harm": "medium"}, ("accommodation_support",), "om-ann", 3),
    ("Shane", "Walsh", "1981-11-11", "hhpu", None, {"likelihood": "high", "harm": "high"}, ("dvpn",), "om-ann", 2),
    ("Darren", "Fox", "1993-04-04", "iom_free", None, {"likelihood": "low", "harm": "low"}, ("drug_alcohol_treatment",), "om-ann", 1),
    ("Mark", "Ellis", "1978-08-08", "visor", 1, {"likelihood": "medium", "harm": "high"}, ("notification_compliance_visit",), "om-raj", 10),
    ("Neil", "Hart", "1989-09-09", "hhpu", None, {"likelihood": "medium", "harm": "high"}, ("restraining_order",), "om-sue", 9),
    ("Paul", "Reeves", "1991-01-01", "iom_fixed", None, {"likelihood": "high", "harm": "medium"}, ("drug_alcohol_treatment",), "om-sue", 5),
    ("Ross", "Kemp", "1986-05-05", "iom_flex", None, {"likelihood": "low", "harm": "medium"}, ("home_address_check",), "om-tom", 4),
)  # fmt: skip
OVERDUE_RISK = {"Owen", "Craig"}  # assessed over a year ago: reassessment overdue


def _ok(r: httpx.Response) -> Any:
    if r.status_code >= 400:
        raise RuntimeError(
            f"demo seed: {r.request.method} {r.request.url.path} -> {r.status_code} {r.text[:300]}"
        )
    return r.json()


def seed_caseload(client: httpx.Client, tokens: dict[str, str], today: date) -> dict[str, str]:
    """Managed cases with managers, risk and interventions; returns case ids by person's given name."""
    sup = {"Authorization": f"Bearer {tokens['unit_supervisor']}", **WHY}
    om = {"Authorization": f"Bearer {tokens['offender_manager']}", **WHY}
    team = {m["staff_id"]: m["id"] for m in _ok(client.get("/api/v1/managers", headers=sup))["items"]}
    ids: dict[str, str] = {}
    for given, family, born, cohort, mappa, risk, ivs, staff, months in CASES:
        p = _ok(
            client.post(
                "/api/v1/people",
                json={"given_name": given, "family_name": family, "date_of_birth": born},
                headers=sup,
            )
        )
        body: dict[str, Any] = {
            "person_id": p["id"],
            "cohort": cohort,
            "identified_by": "mappa" if mappa else "iom_meeting",
        }
        if mappa:
            body.update(
                mappa_category=mappa,
                mappa_level=1,
                subject_category="convicted",
                statutory_status="notification_requirements",
            )
        cid = _ok(client.post("/api/v1/cases", json=body, headers=sup))["id"]
        ids[given] = cid
        _ok(client.post(f"/api/v1/cases/{cid}/transitions", json={"to": "under_assessment"}, headers=sup))
        decided = {
            "to": "managed",
            "decided_by": "DI Morgan Hale (HHPU panel)",
            "reason": "demo: adopted at a past panel",
        }
        _ok(client.post(f"/api/v1/cases/{cid}/transitions", json=decided, headers=sup))
        alloc = {"manager_id": team[staff], "accept_over_capacity": True}
        _ok(client.post(f"/api/v1/cases/{cid}/allocation", json=alloc, headers=sup))
        assessed = today - timedelta(
            days=400 if given in OVERDUE_RISK else 30 * max(months - 1, 0) % 150 + 10
        )
        _ok(
            client.post(
                f"/api/v1/cases/{cid}/risk/iom",
                json={**risk, "assessed_on": assessed.isoformat()},
                headers=om,
            )
        )
        for code in ivs:
            iv = {
                "code": code,
                "agency": "police",
                "started_on": (today - timedelta(days=30 * months)).isoformat(),
            }
            _ok(client.post(f"/api/v1/cases/{cid}/interventions", json=iv, headers=om))
    review = {"next_review_on": (today - timedelta(days=5)).isoformat()}  # one review overdue
    _ok(client.patch(f"/api/v1/cases/{ids['Kyle']}", json=review, headers=sup))
    return ids


def adoption_months(today: date) -> dict[str, date]:
    """When each demo case was adopted (for the evaluation's month-by-month history)."""
    return {given: today - timedelta(days=30 * months) for given, *_, months in CASES}


def seed_actions(
    client: httpx.Client, tokens: dict[str, str], meeting_id: str, agencies: dict[str, str], today: date
) -> None:
    """Open actions on the next meeting, two of them already overdue, then the overdue sweep."""
    chair = {"Authorization": f"Bearer {tokens['meeting_chair']}", **WHY}
    rows = (
        ("Housing to confirm Kyle Benson's address", "Priya Shah", agencies["housing"], None, 7),
        (
            "Police to apply for a domestic violence protection notice",
            "PC Ann Lee",
            agencies["police_unit"],
            "om-ann",
            10,
        ),
        (
            "Children's services to share the strategy meeting outcome",
            "Tom Reid",
            agencies["childrens_services"],
            None,
            -6,
        ),
        (
            "Offender manager to update the risk management plan",
            "PC Ann Lee",
            agencies["police_unit"],
            "om-ann",
            -2,
        ),
        ("Probation to confirm licence conditions", "Grace Okafor", agencies["probation"], None, 14),
    )
    for text, owner, agency, subject, days in rows:
        body = {
            "description": text,
            "owner_name": owner,
            "owner_agency_id": agency,
            "owner_subject": subject,
            "due_date": (today + timedelta(days=days)).isoformat(),
        }
        _ok(client.post(f"/api/v1/meetings/{meeting_id}/actions", json=body, headers=chair))
    _ok(client.post("/api/v1/actions/overdue-sweep", headers=chair))


def register_webhook(client: httpx.Client, tokens: dict[str, str], agency_id: str, url: str) -> str:
    """Point the agency's webhooks at `url`; returns the signing secret (shown once)."""
    admin = {"Authorization": f"Bearer {tokens['administrator']}"}
    out = _ok(client.patch(f"/api/v1/agencies/{agency_id}", json={"webhook_url": url}, headers=admin))
    return str(out.get("webhook_secret") or "")
