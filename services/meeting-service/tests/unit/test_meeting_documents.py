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


def test_shared_item_withholds_minute_and_decision_reason_from_each_agency(harness: Any) -> None:
    """Two agencies own actions on the same item, whose minute and decision name the other agency:
    neither agency's pack or minutes (PDF text) holds anything of the other."""
    h = harness
    h.emit(h.opened(1, "high", "Dean Marsh"), "asm-1")
    h.consume()
    mid = h.seed["next_meeting_id"]
    item = h.client.get(f"{API}/meetings/{mid}/agenda", headers=h.chair()).json()["kept"][0]["id"]
    url = f"{API}/meetings/{mid}/agenda/items/{item}"
    own = {
        "housing": ("Priya Shah", "Housing to confirm Dean's address by the 14th"),
        "probation": ("Grace Okafor", "Probation to share the licence conditions"),
    }
    for agency, (owner, text) in own.items():
        body = {"kind": "action", "description": text, "owner_name": owner, "owner_agency_id": agency}
        assert h.client.post(f"{url}/outcomes", json=body, headers=h.chair()).status_code == 201
    minute = "Probation Service reported a licence breach; Housing has a tenancy warning on file."
    assert h.client.patch(url, json={"minutes": minute}, headers=h.chair()).status_code == 200
    decision = {
        "kind": "decision",
        "decision": "adopt",
        "cohort": "hhpu",
        "decided_by": "Grace Okafor of Probation",
        "reason": "Probation's licence breach and the Housing tenancy warning",
    }
    r = h.client.post(f"{url}/outcomes", json=decision, headers=h.chair())
    assert r.status_code == 201, r.text
    full = pdf_text(
        h.client.get(f"{API}/meetings/{mid}/minutes", params={"format": "pdf"}, headers=h.chair()).content
    )
    assert "licence breach" in full and "Grace Okafor of Probation" in full  # the unit sees it all
    for agency, other in (("housing", "probation"), ("probation", "housing")):
        name, mine = own[agency][0], own[agency][1]
        theirs_owner, theirs = own[other]
        for doc in ("pack", "minutes"):
            r = h.client.get(
                f"{API}/meetings/{mid}/{doc}", params={"format": "pdf"}, headers=h.partner(agency)
            )
            assert r.status_code == 200, r.text
            text = pdf_text(r.content)
            assert mine in text and name in text and "Dean Marsh" in text, (agency, doc)
            for leak in (theirs, theirs_owner, other.capitalize(), "licence breach", "tenancy", "Grace"):
                if agency == "probation" and leak in ("Grace", "Probation"):
                    continue  # probation's own owner and name
                assert leak not in text, (agency, doc, leak)
            assert "adopt" in text and "withheld" in text.lower(), (agency, doc)


def test_long_pack_carries_the_marking_on_every_page(harness: Any) -> None:
    h = harness
    for n in range(1, 41):
        h.emit(h.opened(n, "normal", f"Person Number {n}"), f"asm-{n}")
    h.consume()
    mid = h.seed["next_meeting_id"]
    r = h.client.get(f"{API}/meetings/{mid}/pack", params={"format": "pdf"}, headers=h.chair())
    assert r.status_code == 200, r.text
    pages = pdf_text(r.content).split("\f")
    assert len(pages) >= 2, len(pages)
    for n, text in enumerate(pages, start=1):
        assert "OFFICIAL-SENSITIVE" in text, n
        assert f"Page {n} of {len(pages)}" in text, n


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
