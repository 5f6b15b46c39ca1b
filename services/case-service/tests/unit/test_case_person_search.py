"""Person search on constructed near-miss names and identifiers: ranked, paged, audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from case_service.domain import search
from case_testing import client_for, headers
from fastapi.testclient import TestClient
from hhpu_shared.audit import AuditEntry
from hhpu_shared.runtime import ServiceRuntime
from sqlmodel import Session, select

OM = headers("offender_manager")
DEAN = search.Candidate(
    "p-dean", ["Dean John Marsh", "Deano Marsh"], date(1991, 3, 14), [("pnc", "91/12345A")]
)
DENTON = search.Candidate("p-carl", ["Carl Denton"], date(1985, 7, 2), [("records_id", "R-0042")])
SIOBHAN = search.Candidate("p-sio", ["Siobhán O'Neill-Price"], date(1979, 1, 30))


@pytest.mark.parametrize(
    ("typed", "expected", "reason"),
    [
        ("dean marsh", "p-dean", "name exact"),
        ("Deen Marsh", "p-dean", "name sounds alike"),  # a vowel slip
        ("Dean Marshe", "p-dean", "name sounds alike"),  # an extra letter
        ("Dean Mrash", "p-dean", "name"),  # transposed letters
        ("Dean Mqrsh", "p-dean", "name spelt alike"),  # a key next to the right one
        ("Deano", "p-dean", "name exact (alias)"),  # known by an alias
        ("Carl Dentan", "p-carl", "name sounds alike"),
        ("siobhan oneill price", "p-sio", "name exact"),  # accents, apostrophe and hyphen ignored
        ("Siobhan O'Neil", "p-sio", "name"),  # one letter short
    ],
)
def test_near_miss_names_find_the_person(typed: str, expected: str, reason: str) -> None:
    ranked = search.rank(search.Query(name=typed), [DEAN, DENTON, SIOBHAN])
    assert ranked and ranked[0].id == expected, ranked
    assert any(r.startswith(reason) for r in ranked[0].reasons), ranked[0].reasons


def test_unrelated_names_do_not_match() -> None:
    assert search.rank(search.Query(name="Priya Shah"), [DEAN, DENTON, SIOBHAN]) == []


def test_identifiers_match_in_any_written_form() -> None:
    for typed in ("91/12345A", "1991/0012345a", " 91 / 12345A", "9112345A"):
        ranked = search.rank(search.Query(identifier=typed), [DEAN, DENTON])
        assert [m.id for m in ranked] == ["p-dean"] and ranked[0].score == 1.0, typed
    assert search.rank(search.Query(identifier="r-0042"), [DEAN, DENTON])[0].id == "p-carl"
    assert search.rank(search.Query(identifier="91/12345B"), [DEAN, DENTON]) == []  # a near miss is not it


def test_date_of_birth_ranks_the_right_namesake_first() -> None:
    other = search.Candidate("p-dean2", ["Dean Marsh"], date(1960, 1, 1))
    ranked = search.rank(search.Query(name="Dean Marsh", date_of_birth=date(1991, 3, 14)), [other, DEAN])
    assert [m.id for m in ranked] == ["p-dean", "p-dean2"] and ranked[0].score > ranked[1].score
    assert "date of birth matches" in ranked[0].reasons
    only_dob = search.rank(search.Query(date_of_birth=date(1985, 7, 2)), [DEAN, DENTON])
    assert [m.id for m in only_dob] == ["p-carl"]


@pytest.fixture
def svc(sqlite_url: str) -> Iterator[tuple[TestClient, ServiceRuntime]]:
    with client_for(sqlite_url) as pair:
        yield pair


def test_search_over_the_api_is_ranked_paged_and_audited(svc: tuple[TestClient, ServiceRuntime]) -> None:
    client, rt = svc
    for body in (
        {
            "given_name": "Dean",
            "middle_names": "John",
            "family_name": "Marsh",
            "date_of_birth": "1991-03-14",
            "pnc_number": "91/12345A",
            "aliases": ["Deano Marsh"],
        },
        {"given_name": "Dean", "family_name": "Marsh", "date_of_birth": "1960-01-01"},
        {"given_name": "Dane", "family_name": "Marsch", "date_of_birth": "1991-03-14"},
        {"given_name": "Carl", "family_name": "Denton", "date_of_birth": "1985-07-02"},
    ):
        assert client.post("/api/v1/people", json=body, headers=OM).status_code == 201
    r = client.get("/api/v1/people", params={"q": "Dean Marsh", "date_of_birth": "1991-03-14"}, headers=OM)
    assert r.status_code == 200, r.text
    page = r.json()
    names = [(p["given_name"], p["family_name"], p["date_of_birth"]) for p in page["items"]]
    assert names[0] == ("Dean", "Marsh", "1991-03-14") and page["total"] == 3
    assert ("Carl", "Denton", "1985-07-02") not in names
    scores = [p["match"]["score"] for p in page["items"]]
    assert scores == sorted(scores, reverse=True)
    second = client.get(
        "/api/v1/people", params={"family_name": "Marsh", "limit": 1, "offset": 1}, headers=OM
    ).json()
    assert len(second["items"]) == 1 and second["total"] == 3 and second["offset"] == 1
    by_pnc = client.get("/api/v1/people", params={"pnc": "1991/0012345a"}, headers=OM).json()["items"]
    assert [p["middle_names"] for p in by_pnc] == ["John"] and by_pnc[0]["match"]["reasons"] == [
        "pnc matches"
    ]
    bad = client.get("/api/v1/people", params={"date_of_birth": "14/03/1991"}, headers=OM)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.date_of_birth"
    with Session(rt.engine) as s:
        searches = s.exec(select(AuditEntry).where(AuditEntry.subject_type == "person_search")).all()
        consulted = s.exec(select(AuditEntry).where(AuditEntry.subject_type == "person")).all()
    assert len(searches) == 3 and all(a.justification for a in searches)
    assert sum(1 for a in consulted if "search" in str(a.detail)) == 3 + 1 + 1
