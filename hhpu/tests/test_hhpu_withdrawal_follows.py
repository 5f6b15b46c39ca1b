"""A withdrawn referral's assessment and agenda item follow it, through the gateway of the
single-process system (every service, the durable embedded log and the same consumers as `make run`).

- The referral was the only reason for the assessment: the assessment closes undecided
  (`withdrawn`), its candidate case exits, and its item leaves the next meeting's agenda.
- Something else keeps the assessment open (a manual opening by staff): only the referral's trigger
  is withdrawn; the assessment stays open and its agenda item stays, with the withdrawal noted.
- The other assessment that closes undecided: a person merged into another whose assessment is open.
  The merged-away assessment's item leaves the agenda; the surviving one keeps one item.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hhpu.system import System, build_system
from hhpu.testing import bearer
from referral_api.schemas import REFERRAL_EXAMPLE

SUPERVISOR = bearer("unit_supervisor", sub="di-morgan", name="DI Morgan Hale")
CHAIR = bearer("meeting_chair", sub="chair-lou", name="DCI Lou Barnes")
ADMIN = bearer("administrator")


@pytest.fixture
def system(tmp_path: Path) -> Iterator[tuple[System, TestClient]]:
    sysm = build_system(tmp_path / "single")
    with TestClient(sysm.gateway, base_url="http://127.0.0.1") as client:
        yield sysm, client


def partner(client: TestClient) -> dict[str, str]:
    body = {"name": "Withdrawing Agency", "agency_type": "probation", "contact_name": "A. Contact"}
    agency = client.post("/api/v1/agencies", json=body, headers=ADMIN)
    assert agency.status_code == 201, agency.text
    key = client.post(f"/api/v1/agencies/{agency.json()['id']}/keys", json={"label": "t"}, headers=ADMIN)
    assert key.status_code == 201, key.text
    return {"X-API-Key": key.json()["key"]}


def refer(
    sysm: System, client: TestClient, key: dict[str, str], ref: str, **subject: str
) -> tuple[str, dict[str, Any]]:
    """Post a referral and wait for it to open an assessment: (referral id, its assessment)."""
    body = copy.deepcopy(REFERRAL_EXAMPLE)
    body["partner_reference"] = ref
    body["subject"].update(subject)
    r = client.post("/api/v1/referrals", json=body, headers=key)
    assert r.status_code == 201, r.text
    rid = str(r.json()["id"])
    sysm.settle()
    assert client.get(f"/api/v1/referrals/{rid}/status", headers=key).json()["status"] == "under_assessment"
    return rid, assessment_of(client, rid)


def assessment_of(client: TestClient, rid: str) -> dict[str, Any]:
    page = client.get("/api/v1/assessments", params={"limit": 100}, headers=SUPERVISOR).json()
    hits = [a for a in page["items"] if any(t["ref"] == rid for t in a["triggers"])]
    assert len(hits) == 1, page
    return dict(hits[0])


def agenda_items(client: TestClient, assessment_id: str) -> dict[str, list[dict[str, Any]]]:
    """The assessment's items on every meeting's agenda, by state: planned or removed."""
    out: dict[str, list[dict[str, Any]]] = {"planned": [], "removed": []}
    for m in client.get("/api/v1/meetings", headers=CHAIR).json()["items"]:
        agenda = client.get(f"/api/v1/meetings/{m['id']}/agenda", headers=CHAIR).json()
        planned = agenda["kept"] + [d["item"] for d in agenda["to_defer"]]
        out["planned"] += [i for i in planned if i.get("assessment_id") == assessment_id]
        out["removed"] += [i for i in agenda["removed"] if i.get("assessment_id") == assessment_id]
    return out


def withdraw(sysm: System, client: TestClient, key: dict[str, str], rid: str) -> None:
    why = {"reason_code": "no_longer_required"}
    r = client.post(f"/api/v1/referrals/{rid}/withdraw", json=why, headers=key)
    assert r.status_code == 200, r.text
    sysm.settle()


def test_withdrawing_the_only_referral_closes_the_assessment_and_clears_the_agenda(
    system: tuple[System, TestClient],
) -> None:
    sysm, client = system
    key = partner(client)
    rid, before = refer(sysm, client, key, "WD-ONLY-1")
    assert before["status"] == "open"
    assert len(agenda_items(client, before["id"])["planned"]) == 1

    withdraw(sysm, client, key, rid)

    after = assessment_of(client, rid)
    assert after["id"] == before["id"] and after["status"] == "withdrawn"
    (trigger,) = after["triggers"]
    assert trigger["withdrawn_at"] is not None and trigger["withdrawn_reason"] == "no_longer_required"
    items = agenda_items(client, before["id"])
    assert items["planned"] == [] and len(items["removed"]) == 1
    assert "withdrawn" in items["removed"][0]["notes"]
    case = client.get(f"/api/v1/cases/{before['case_id']}", headers=SUPERVISOR).json()
    assert case["status"] == "exited" and case["exit_reason"] == "referral_withdrawn"
    # Nothing is open for the person any more (a new trigger would open a new assessment).
    still = {"status": "open", "person_id": before["person_id"]}
    assert client.get("/api/v1/assessments", params=still, headers=SUPERVISOR).json()["total"] == 0


def test_withdrawing_one_of_two_triggers_keeps_the_assessment_and_its_item(
    system: tuple[System, TestClient],
) -> None:
    sysm, client = system
    key = partner(client)
    rid, before = refer(sysm, client, key, "WD-KEPT-1")
    manual = client.post(
        "/api/v1/assessments",
        json={"person_id": before["person_id"], "detail": "intelligence from the public protection unit"},
        headers=SUPERVISOR,
    )
    assert manual.status_code == 201 and manual.json()["id"] == before["id"], manual.text
    sysm.settle()

    withdraw(sysm, client, key, rid)

    after = assessment_of(client, rid)
    assert after["status"] == "open"
    by_source = {t["source"]: t for t in after["triggers"]}
    assert by_source["referral"]["withdrawn_at"] is not None
    assert by_source["manual"]["withdrawn_at"] is None
    items = agenda_items(client, before["id"])
    assert len(items["planned"]) == 1 and items["removed"] == []
    assert f"Trigger withdrawn: referral {rid}" in items["planned"][0]["notes"]


def test_a_merged_away_assessment_leaves_the_agenda_to_the_surviving_one(
    system: tuple[System, TestClient],
) -> None:
    sysm, client = system
    key = partner(client)
    rid_a, a = refer(sysm, client, key, "MG-A")
    other = {
        "given_name": "Olwen",
        "middle_names": "Mair",
        "family_name": "Trevithick",
        "date_of_birth": "1979-08-02",
    }
    rid_b, b = refer(sysm, client, key, "MG-B", **other)
    assert a["id"] != b["id"] and a["person_id"] != b["person_id"]
    assert len(agenda_items(client, b["id"])["planned"]) == 1

    merged = client.post(
        f"/api/v1/people/{a['person_id']}/merge",
        json={"merged_person_id": b["person_id"]},
        headers=SUPERVISOR,
    )
    assert merged.status_code == 200, merged.text
    sysm.settle()

    gone = client.get(f"/api/v1/assessments/{b['id']}", headers=SUPERVISOR).json()
    assert gone["status"] == "merged"
    gone_items = agenda_items(client, b["id"])
    assert gone_items["planned"] == [] and len(gone_items["removed"]) == 1
    kept = agenda_items(client, a["id"])
    assert len(kept["planned"]) == 1
    assert rid_b in (kept["planned"][0]["notes"] or "")  # the merged case's trigger travels with it
    survivor = assessment_of(client, rid_a)
    assert survivor["id"] == a["id"] and {t["ref"] for t in survivor["triggers"]} == {rid_a, rid_b}
