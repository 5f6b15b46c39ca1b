"""The meeting pack and minutes as PDF: names not ids, local times, the marking, recipients' versions."""

from __future__ import annotations

from typing import Any

from hhpu_shared.testing.documents import pdf_text

API = "/api/v1"


def _meeting_with_two_agencies_actions(h: Any) -> str:
    h.emit(h.opened(1, "high", "Dean Marsh"), "asm-1")
    h.emit(h.opened(2, "normal", "Carl Denton"), "asm-2")
    h.consume()
    mid = h.seed["next_meeting_id"]
    kept = h.client.get(f"{API}/meetings/{mid}/agenda", headers=h.chair()).json()["kept"]
    by_person = {i["person_label"]: i["id"] for i in kept}
    url = f"{API}/meetings/{mid}/agenda/items"
    for person, agency, owner, text in (
        ("Dean Marsh", "housing", "Priya Shah", "Housing to confirm Dean's address by the 14th"),
        ("Carl Denton", "probation", "Grace Okafor", "Probation to share the licence conditions"),
    ):
        body = {"kind": "action", "description": text, "owner_name": owner, "owner_agency_id": agency}
        r = h.client.post(f"{url}/{by_person[person]}/outcomes", json=body, headers=h.chair())
        assert r.status_code == 201, r.text
    r = h.client.patch(
        f"{url}/{by_person['Carl Denton']}",
        json={"minutes": "Probation reported a breach."},
        headers=h.chair(),
    )
    assert r.status_code == 200, r.text
    h.client.patch(
        f"{API}/meetings/{mid}/invitations/adult_social_care",
        json={"response": "apologies", "apology_reason": "staff shortage"},
        headers=h.chair(),
    )
    return str(mid)


def test_full_pack_pdf_names_agencies_and_carries_the_marking(harness: Any) -> None:
    h = harness
    mid = _meeting_with_two_agencies_actions(h)
    r = h.client.get(f"{API}/meetings/{mid}/pack", params={"format": "pdf"}, headers=h.chair())
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"].startswith('inline; filename="meeting-pack-')
    text = pdf_text(r.content)
    assert text.count("OFFICIAL-SENSITIVE") >= 2  # running header and footer on each page
    assert "Dean Marsh" in text and "Carl Denton" in text
    assert "Housing" in text and "Probation Service" in text  # agencies by name...
    assert "housing " not in text.replace("Housing ", "")  # ...never by their ids
    assert "(UK time)" in text and "staff shortage" in text and "Page 1 of" in text


def test_recipient_version_holds_nothing_of_other_agencies(harness: Any) -> None:
    h = harness
    mid = _meeting_with_two_agencies_actions(h)
    for headers, params in (
        (h.chair(), {"format": "pdf", "recipient": "housing"}),
        # a partner fetches its own version, whatever recipient it names
        (h.partner("housing"), {"format": "pdf", "recipient": "probation"}),
    ):
        r = h.client.get(f"{API}/meetings/{mid}/pack", params=params, headers=headers)
        assert r.status_code == 200, r.text
        text = pdf_text(r.content)
        assert "Recipient version for Housing" in text
        assert "Housing to confirm Dean's address by the 14th" in text and "Dean Marsh" in text
        for other in (
            "Carl Denton",
            "Probation",
            "licence conditions",
            "staff shortage",
            "Adult Social Care",
        ):
            assert other not in text, other
    minutes = h.client.get(
        f"{API}/meetings/{mid}/minutes", params={"format": "pdf"}, headers=h.partner("housing")
    )
    text = pdf_text(minutes.content)
    assert "Minutes:" in text and "breach" not in text and "Carl Denton" not in text


def test_minutes_pdf_holds_each_items_minute(harness: Any) -> None:
    h = harness
    mid = _meeting_with_two_agencies_actions(h)
    r = h.client.get(f"{API}/meetings/{mid}/minutes", params={"format": "pdf"}, headers=h.chair())
    text = pdf_text(r.content)
    assert "Probation reported a breach." in text and "No minute recorded." in text
    assert "Probation to share the licence conditions" in text and "OFFICIAL-SENSITIVE" in text


def test_uninvited_partner_gets_404_and_bad_format_is_a_field_problem(harness: Any) -> None:
    h = harness
    mid = _meeting_with_two_agencies_actions(h)
    assert h.client.get(f"{API}/meetings/{mid}/pack", headers=h.partner("not_invited")).status_code in (
        403,
        404,
    )
    r = h.client.get(f"{API}/meetings/{mid}/pack", params={"format": "docx"}, headers=h.chair())
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.format"
