"""Agendas built from events and by hand, over the API (SQLite + in-process bus)."""

from __future__ import annotations

from datetime import date
from typing import Any

from hhpu_shared.events.contracts.case import AssessmentTriggerAdded
from hhpu_shared.events.contracts.common import Trigger
from hhpu_shared.events.contracts.ranking import RankingRunCompleted

API = "/api/v1"


def agenda(h: Any, meeting_id: str) -> dict[str, Any]:
    r = h.client.get(f"{API}/meetings/{meeting_id}/agenda", headers=h.chair())
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def run_completed(run_id: str, movers: tuple[str, ...], kind: str = "production") -> RankingRunCompleted:
    return RankingRunCompleted(
        run_id=run_id,
        kind=kind,
        model="chi",
        model_version="1",
        weight_edition="2026",
        as_of=date(2026, 11, 20),
        people_scored=1000,
        top_bracket_size=50,
        provisional=False,
        fingerprint="f",
        big_movers=movers,
    )


def test_assessment_opened_adds_one_item_to_the_next_monthly_meeting_even_when_redelivered(
    harness: Any,
) -> None:
    h = harness
    first = h.opened(1, "high", "Dean Marsh").model_copy(update={"summary": "1 trigger: 1 referral"})
    env = h.emit(first, "asm-1")
    h.publish(env)  # redelivery of the same envelope
    h.emit(h.opened(1, "high", "Dean Marsh"), "asm-1")  # the same assessment announced again
    assert h.consume() == 3
    a = agenda(h, h.seed["next_meeting_id"])
    assert len(a["kept"]) == 1
    item = a["kept"][0]
    assert item["kind"] == "new_case" and item["planned_minutes"] == 8
    assert item["assessment_id"] == "asm-1" and item["person_label"] == "Dean Marsh"
    assert "Trigger: referral ref-1" in item["notes"]
    # trigger added: notes updated on the same item
    h.emit(
        AssessmentTriggerAdded(
            assessment_id="asm-1",
            person_id="per-1",
            trigger=Trigger(source="ranking", ref="run-7", detail="rank 12"),
            summary="2 triggers: 1 referral, 1 ranking candidate",
        ),
        "asm-1",
    )
    h.consume()
    notes = agenda(h, h.seed["next_meeting_id"])["kept"][0]["notes"]
    assert "Trigger: ranking run-7 (rank 12)" in notes
    # the summary line counts both triggers now, and the old one is gone
    assert notes.split("\n")[0] == "2 triggers: 1 referral, 1 ranking candidate"
    assert "1 trigger: 1 referral" not in notes and "Trigger: referral ref-1" in notes


def test_next_meeting_is_created_when_none_is_scheduled(harness: Any) -> None:
    h = harness
    for mid in h.seed["meeting_ids"]:
        assert h.client.post(f"{API}/meetings/{mid}/cancel", headers=h.chair()).status_code == 200
    h.emit(h.opened(5), "asm-5")
    h.consume()
    r = h.client.get(f"{API}/meetings", params={"status": "scheduled"}, headers=h.chair())
    meetings = r.json()["items"]
    assert len(meetings) == 1 and meetings[0]["id"] not in h.seed["meeting_ids"]
    assert len(agenda(h, meetings[0]["id"])["kept"]) == 1
    assert len(meetings[0]["invitations"]) == 7  # the series' agencies are invited


def test_journey_3_agenda_is_planned_and_five_reviews_move_with_reasons(harness: Any) -> None:
    h = harness
    for n in range(12):
        h.emit(h.opened(n, "urgent" if n < 2 else "normal"), f"asm-{n}")
    h.emit(run_completed("run-1", tuple(f"mover-{i}" for i in range(9))), "run-1")
    h.emit(run_completed("shadow-1", ("mover-x",), kind="shadow"), "shadow-1")  # ignored
    h.consume()
    mid = h.seed["next_meeting_id"]
    a = agenda(h, mid)
    assert a["requested_minutes"] == 141 and a["planned_minutes"] == 116 and a["over_limit"]
    kinds = [i["kind"] for i in a["kept"]]
    assert kinds == ["new_case"] * 12 + ["review"] * 4
    assert [i["person_id"] for i in a["kept"][12:]] == ["mover-0", "mover-1", "mover-2", "mover-3"]
    assert a["kept"][12]["starts_at_minute"] == 96
    assert len(a["to_defer"]) == 5
    assert all(d["reason_code"] == "time_limit_new_cases_first" for d in a["to_defer"])

    r = h.client.post(f"{API}/meetings/{mid}/agenda/finalise", headers=h.chair())
    assert r.status_code == 200, r.text
    fin = r.json()
    assert fin["planned_minutes"] == 116 and fin["to_defer"] == []
    assert len(fin["moved"]) == 5
    next_id = fin["moved_to_meeting_id"]
    assert next_id == h.seed["meeting_ids"][1]
    assert all(
        m["deferred_to_meeting_id"] == next_id and "120 minutes" in m["deferred_reason"] for m in fin["moved"]
    )
    nxt = agenda(h, next_id)
    assert len(nxt["kept"]) == 5
    assert all(i["carried_from_meeting_id"] == mid and i["carried_reason"] for i in nxt["kept"])
    # the big movers are not added twice when the next run names them again
    h.emit(run_completed("run-2", ("mover-4", "mover-0")), "run-2")
    h.consume()
    assert len(agenda(h, next_id)["kept"]) == 5
    assert len(agenda(h, mid)["kept"]) == 16


def test_items_added_reordered_and_removed_by_hand(harness: Any) -> None:
    h = harness
    mid = h.seed["next_meeting_id"]
    h.emit(h.opened(1), "asm-1")
    h.consume()
    r = h.client.post(
        f"{API}/meetings/{mid}/agenda/items",
        json={"title": "Partnership update", "planned_minutes": 10},
        headers=h.chair(),
    )
    assert r.status_code == 201, r.text
    manual = r.json()
    assert manual["pinned"] and manual["source"] == "manual"
    a = agenda(h, mid)
    assert [i["id"] for i in a["kept"]][0] == manual["id"]
    case_id = a["kept"][1]["id"]
    r = h.client.put(
        f"{API}/meetings/{mid}/agenda/order", json={"item_ids": [case_id, manual["id"]]}, headers=h.chair()
    )
    assert r.status_code == 200, r.text
    assert [i["id"] for i in agenda(h, mid)["kept"]] == [case_id, manual["id"]]
    bad = h.client.put(f"{API}/meetings/{mid}/agenda/order", json={"item_ids": [case_id]}, headers=h.chair())
    assert bad.status_code == 422 and bad.json()["errors"][0]["code"] == "not_a_permutation"
    r = h.client.delete(f"{API}/meetings/{mid}/agenda/items/{manual['id']}", headers=h.chair())
    assert r.status_code == 200 and r.json()["status"] == "removed"
    a = agenda(h, mid)
    assert [i["id"] for i in a["kept"]] == [case_id] and len(a["removed"]) == 1
    item_url = f"{API}/meetings/{mid}/agenda/items/{manual['id']}"
    assert h.client.patch(item_url, json={"urgency": "high"}, headers=h.chair()).status_code == 409
    restored = h.client.patch(item_url, json={"status": "planned"}, headers=h.chair())
    assert restored.status_code == 200 and restored.json()["status"] == "planned"
    assert len(agenda(h, mid)["kept"]) == 2


def test_agenda_needs_staff_and_changes_need_the_chair(harness: Any) -> None:
    h = harness
    mid = h.seed["next_meeting_id"]
    assert h.client.get(f"{API}/meetings/{mid}/agenda").status_code == 401
    assert h.client.get(f"{API}/meetings/{mid}/agenda", headers=h.partner("housing")).status_code == 403
    assert (
        h.client.get(f"{API}/meetings/{mid}/agenda", headers=h.staff("offender_manager")).status_code == 200
    )
    r = h.client.post(
        f"{API}/meetings/{mid}/agenda/items", json={"title": "x"}, headers=h.staff("offender_manager")
    )
    assert r.status_code == 403
    r = h.client.post(
        f"{API}/meetings/{mid}/agenda/items", json={"title": "x", "kind": "new_case"}, headers=h.chair()
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["code"] == "assessment_required"


def test_partner_sees_only_meetings_it_is_invited_to(harness: Any) -> None:
    h = harness
    r = h.client.post(
        f"{API}/meetings",
        json={
            "meeting_type_id": "case_conference",
            "scheduled_on": "2030-01-10",
            "invited_agency_ids": ["probation"],
        },
        headers=h.chair(),
    )
    assert r.status_code == 201, r.text
    conf = r.json()
    housing = h.client.get(f"{API}/meetings", headers=h.partner("housing")).json()
    assert conf["id"] not in [m["id"] for m in housing["items"]]
    assert all(
        len(m["invitations"]) == 1 and m["invitations"][0]["agency_id"] == "housing" for m in housing["items"]
    )
    assert h.client.get(f"{API}/meetings/{conf['id']}", headers=h.partner("housing")).status_code == 404
    assert h.client.get(f"{API}/meetings/{conf['id']}", headers=h.partner("probation")).status_code == 200


def test_a_more_urgent_trigger_raises_the_items_urgency_never_lowers_it(harness: Any) -> None:
    h = harness
    h.emit(h.opened(1, "normal", "Dean Marsh"), "asm-1")
    h.consume()

    def added(ref: str, urgency: str) -> AssessmentTriggerAdded:
        trig = Trigger(source="referral", ref=ref, detail=None)
        return AssessmentTriggerAdded(assessment_id="asm-1", person_id="per-1", trigger=trig, urgency=urgency)

    h.emit(added("ref-9", "high"), "asm-1")
    h.consume()
    assert agenda(h, h.seed["next_meeting_id"])["kept"][0]["urgency"] == "high"
    h.emit(added("ref-10", "low"), "asm-1")
    h.consume()
    assert agenda(h, h.seed["next_meeting_id"])["kept"][0]["urgency"] == "high"


def test_an_item_takes_only_the_contracts_urgencies(harness: Any) -> None:
    h = harness
    url = f"{API}/meetings/{h.seed['next_meeting_id']}/agenda/items"
    body = {"kind": "other", "title": "Partnership update"}
    r = h.client.post(url, json={**body, "urgency": "critical"}, headers=h.chair())
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"].endswith("urgency")
    r = h.client.post(url, json={**body, "urgency": "urgent"}, headers=h.chair())
    assert r.status_code == 201, r.text
    item = r.json()
    r = h.client.patch(f"{url}/{item['id']}", json={"urgency": "very_high"}, headers=h.chair())
    assert r.status_code == 422, r.text


def test_only_a_production_runs_big_movers_reach_the_agenda(harness: Any) -> None:
    h = harness
    for kind in ("shadow", "dry"):  # the ranking's other run kinds propose nothing
        h.emit(run_completed(f"{kind}-1", (f"mover-{kind}",), kind=kind), f"{kind}-1")
    h.emit(run_completed("run-1", ("mover-p",)), "run-1")
    h.consume()
    kept = agenda(h, h.seed["next_meeting_id"])["kept"]
    assert [i["person_id"] for i in kept if i["kind"] == "review"] == ["mover-p"]
