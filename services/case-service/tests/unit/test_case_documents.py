"""Printable suitability report and case summary: rendered to PDF, text read back and checked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from case_testing import (
    DEAN,
    adopt_by_hand,
    candidate,
    client_for,
    consume,
    envelope,
    headers,
    publish,
    screened,
)
from fastapi.testclient import TestClient
from hhpu_shared.runtime import ServiceRuntime
from hhpu_shared.testing.documents import pdf_text

SUP = headers("unit_supervisor", subject="user:sup")


@pytest.fixture
def svc(sqlite_url: str) -> Iterator[tuple[TestClient, ServiceRuntime]]:
    with client_for(sqlite_url) as pair:
        yield pair


def test_case_suitability_report_pdf_names_agencies_and_offences(
    svc: tuple[TestClient, ServiceRuntime],
) -> None:
    client, rt = svc
    publish(
        rt,
        envelope(screened("ref-1", grade="certain", person_ref="R-1")),
        envelope(candidate("R-1", subject=DEAN)),
    )
    consume(rt)
    r = client.get("/api/v1/reports/suitability?format=pdf", headers=SUP)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = " ".join(pdf_text(r.content).split())
    assert "OFFICIAL-SENSITIVE" in text and "Suitability report" in text
    assert "Dean Marsh" in text and "From the algorithm and a referral (1)" in text
    assert "Drug and Alcohol Service" in text and "Stalking" in text  # names, not ids or bare codes
    assert "das" not in text.split()  # the agency id is not shown
    bad = client.get("/api/v1/reports/suitability?format=docx", headers=SUP)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"].endswith("format")


def test_case_summary_html_and_pdf(svc: tuple[TestClient, ServiceRuntime]) -> None:
    client, _rt = svc
    m = client.post("/api/v1/managers", json={"staff_id": "om-ann", "name": "PC Ann Lee"}, headers=SUP).json()
    p = client.post(
        "/api/v1/people",
        json={"given_name": "Vic", "family_name": "Sorrel", "date_of_birth": "1980-02-01"},
        headers=SUP,
    ).json()
    body = {"person_id": p["id"], "cohort": "hhpu", "identified_by": "mappa"}
    cid = client.post("/api/v1/cases", json=body, headers=SUP).json()["id"]
    assert adopt_by_hand(client, cid).status_code == 200
    assert (
        client.post(
            f"/api/v1/cases/{cid}/risk/iom", json={"likelihood": "high", "harm": "high"}, headers=SUP
        ).status_code
        == 201
    )
    iv = {"code": "home_address_check", "agency": "police"}
    assert client.post(f"/api/v1/cases/{cid}/interventions", json=iv, headers=SUP).status_code == 201
    note = {"kind": "assessment", "text": "Escalating contact with the victim's family."}
    assert client.post(f"/api/v1/cases/{cid}/notes", json=note, headers=SUP).status_code == 201
    html = client.get(f"/api/v1/cases/{cid}/summary", headers=SUP)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "Case summary: Vic Sorrel" in html.text
    r = client.get(f"/api/v1/cases/{cid}/summary?format=pdf", headers=SUP)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = " ".join(pdf_text(r.content).split())
    for expected in (
        "OFFICIAL-SENSITIVE",
        "Vic Sorrel",
        "01 Feb 1980",
        "PC Ann Lee",  # the manager's name, not her id
        "Home address check",  # the intervention's name, not its code
        "assessment (opinion)",
        "MAPPA panel",
        "under assessment",
    ):
        assert expected in text, expected
    assert m["id"] not in text
    assert client.get("/api/v1/cases/nope/summary", headers=SUP).status_code == 404
    assert (
        client.get(f"/api/v1/cases/{cid}/summary", headers=headers("unit_supervisor", why=None)).status_code
        == 422
    )


def test_case_suitability_report_prints_the_london_date_of_a_late_evening_opening() -> None:
    """Opened at 23:30 UTC on a summer evening is the next day in London: the PDF prints that day."""
    from case_service.domain.documents import render_suitability
    from hhpu_shared.documents import to_pdf

    row = {
        "person_label": "Dean Marsh",
        "records_id": "R-1",
        "opened_at": "2026-07-14T23:30:00+00:00",
        "urgency": "high",
        "status": "under_assessment",
        "triggers": [{"source": "referral", "detail": "Drug and Alcohol Service", "ref": "ref-1"}],
        "recommendation": "assess",
    }
    groups = {"both": [], "algorithm": [], "referral": [row], "manual": []}
    rep = {
        "total": 1,
        "since": "2026-07-01",
        "generated_on": "2026-07-15",
        "counts": {k: len(v) for k, v in groups.items()},
        "groups": groups,
    }
    text = " ".join(pdf_text(to_pdf(render_suitability(rep))).split())
    assert "Dean Marsh R-1 15 Jul 2026 high" in text and "14 Jul 2026" not in text
