"""Control characters, implausible dates and bools or strings posing as numbers are refused in every
case-service input with problem+json, a code for the field, and nothing stored."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from case_testing import adopt_by_hand, client_for, headers
from fastapi.testclient import TestClient
from hhpu_shared.fields import today
from hhpu_shared.runtime import ServiceRuntime
from hhpu_shared.testing.databases import row_counts

CC = "control_character"
H = headers("unit_supervisor", "offender_manager")
TOMORROW = str(today() + timedelta(days=1))


@dataclass
class Svc:
    client: TestClient
    runtime: ServiceRuntime
    ids: dict[str, str]


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Svc]:
    url = f"sqlite:///{tmp_path_factory.mktemp('case-hygiene')}/case.db"
    with client_for(url) as (client, runtime):
        person = client.post("/api/v1/people", json={"given_name": "Sam", "family_name": "Hill"}, headers=H)
        pid = person.json()["id"]
        case = client.post(
            "/api/v1/cases", json={"person_id": pid, "cohort": "hhpu", "identified_by": "mappa"}, headers=H
        ).json()["id"]
        assert adopt_by_hand(client, case).status_code == 200
        asm = client.post("/api/v1/assessments", json={"person_id": pid}, headers=H)
        mgr = client.post("/api/v1/managers", json={"staff_id": "om-9", "name": "PC Ann Lee"}, headers=H)
        assert asm.status_code == 201 and mgr.status_code == 201, (asm.text, mgr.text)
        yield Svc(
            client, runtime, {"person": pid, "case": case, "asm": asm.json()["id"], "mgr": mgr.json()["id"]}
        )


PERSON = {"given_name": "Dean", "family_name": "Marsh"}
RM2000 = {"age": 30, "sexual_appearances": 1, "criminal_appearances": 2, "violent_appearances": 0}
NOTE = {"kind": "fact", "text": "Seen at home."}
INTERVENTION = {"code": "home_address_check", "agency": "police"}

# (label, method, path with {ids}, body, field, code)
CASES: list[tuple[str, str, str, Any, str, str]] = [
    ("NUL in a name", "POST", "/people", PERSON | {"given_name": "De\x00an"}, "given_name", CC),
    ("tab in a name", "POST", "/people", PERSON | {"family_name": "Marsh\tX"}, "family_name", CC),
    ("newline in a name", "POST", "/people", PERSON | {"family_name": "Ma\nrsh"}, "family_name", CC),
    ("escape in an alias", "POST", "/people", PERSON | {"aliases": ["D", "a\x1bb"]}, "aliases.1", CC),
    ("bidi override", "POST", "/people", PERSON | {"middle_names": "\u202eJon"}, "middle_names", CC),
    (
        "born before 1900",
        "POST",
        "/people",
        PERSON | {"date_of_birth": "1899-12-31"},
        "date_of_birth",
        "date_too_early",
    ),
    (
        "born tomorrow",
        "POST",
        "/people",
        PERSON | {"date_of_birth": TOMORROW},
        "date_of_birth",
        "date_in_future",
    ),
    ("name changed to NUL", "PATCH", "/people/{person}", {"family_name": "x\x00"}, "family_name", CC),
    (
        "birth date changed",
        "PATCH",
        "/people/{person}",
        {"date_of_birth": "0176-01-01"},
        "date_of_birth",
        "date_too_early",
    ),
    ("NUL in a search", "GET", "/people?q=De%00an", None, "query", CC),
    ("bidi override in a search", "GET", "/people?family_name=M%E2%80%AEarsh", None, "query.family_name", CC),
    ("NUL in a person id", "GET", "/people/p%00x", None, "path", CC),
    ("tab in a case id", "PATCH", "/cases/c%09x", {"statutory_status": "x"}, "path", CC),
    (
        "MAPPA category true",
        "POST",
        "/cases",
        {
            "person_id": "{person}",
            "cohort": "visor",
            "identified_by": "mappa",
            "mappa_category": True,
            "mappa_level": 1,
        },
        "mappa_category",
        "not_an_integer",
    ),
    (
        "review in 2999",
        "PATCH",
        "/cases/{case}",
        {"next_review_on": "2999-01-01"},
        "next_review_on",
        "date_too_late",
    ),
    (
        "NUL in a status",
        "PATCH",
        "/cases/{case}",
        {"statutory_status": "on\x00licence"},
        "statutory_status",
        CC,
    ),
    (
        "NUL in a reason",
        "POST",
        "/cases/{case}/transitions",
        {"to": "exited", "reason": "x\x00"},
        "reason",
        CC,
    ),
    ("NUL in a note", "POST", "/cases/{case}/notes", NOTE | {"text": "seen\x00"}, "text", CC),
    ("bell in a note", "POST", "/cases/{case}/notes", NOTE | {"text": "seen\x07"}, "text", CC),
    (
        "NUL in an assessment",
        "POST",
        "/assessments",
        {"person_id": "{person}", "detail": "x\x00"},
        "detail",
        CC,
    ),
    (
        "checklist yes",
        "PUT",
        "/assessments/{asm}/checklist",
        {"items": {"in_high_harm_scope": "yes"}},
        "items.in_high_harm_scope",
        "not_a_boolean",
    ),
    (
        "NUL in a recommendation",
        "PUT",
        "/assessments/{asm}/recommendation",
        {"recommendation": "adopt", "note": "\x00"},
        "note",
        CC,
    ),
    (
        "NUL in a decider",
        "POST",
        "/assessments/{asm}/decision",
        {"decision": "adopt", "decided_by": "DI\x00"},
        "decided_by",
        CC,
    ),
    (
        "NUL in an outcome",
        "POST",
        "/cases/{case}/interventions",
        INTERVENTION | {"outcome": "\x00"},
        "outcome",
        CC,
    ),
    (
        "newline in an agency",
        "POST",
        "/cases/{case}/interventions",
        INTERVENTION | {"agency": "po\nlice"},
        "agency",
        CC,
    ),
    (
        "intervention in 1900",
        "POST",
        "/cases/{case}/interventions",
        INTERVENTION | {"started_on": "1900-01-01"},
        "started_on",
        "date_too_early",
    ),
    ("age true", "POST", "/cases/{case}/risk/rm2000", RM2000 | {"age": True}, "age", "not_an_integer"),
    ("age as text", "POST", "/cases/{case}/risk/rm2000", RM2000 | {"age": "30"}, "age", "not_an_integer"),
    (
        "burglary 1",
        "POST",
        "/cases/{case}/risk/rm2000",
        RM2000 | {"burglary": 1},
        "burglary",
        "not_a_boolean",
    ),
    (
        "assessed in 176",
        "POST",
        "/cases/{case}/risk/rm2000",
        RM2000 | {"assessed_on": "0176-05-01"},
        "assessed_on",
        "date_too_early",
    ),
    (
        "assessed tomorrow",
        "POST",
        "/cases/{case}/risk/iom",
        {"likelihood": "low", "harm": "low", "assessed_on": TOMORROW},
        "assessed_on",
        "date_in_future",
    ),
    ("NUL in a manager", "POST", "/managers", {"staff_id": "om-10", "name": "PC\x00"}, "name", CC),
    (
        "capacity as text",
        "PATCH",
        "/managers/{mgr}",
        {"capacity_points": "50"},
        "capacity_points",
        "not_a_number",
    ),
    (
        "course done tomorrow",
        "POST",
        "/managers/{mgr}/training",
        {"course": "mosovo", "completed_on": TOMORROW},
        "completed_on",
        "date_in_future",
    ),
]


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids) if "{" in value else value
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize(
    ("label", "method", "path", "body", "field", "code"), CASES, ids=[c[0] for c in CASES]
)
def test_refused_with_field_code_and_nothing_stored(
    svc: Svc, label: str, method: str, path: str, body: Any, field: str, code: str
) -> None:
    before = row_counts(svc.runtime.engine)
    r = svc.client.request(method, "/api/v1" + _fill(path, svc.ids), json=_fill(body, svc.ids), headers=H)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert (field, code) in [(e["field"], e["code"]) for e in r.json()["errors"]], r.json()["errors"]
    assert row_counts(svc.runtime.engine) == before


def test_multi_line_free_text_keeps_tabs_and_newlines(svc: Svc) -> None:
    text = "Visit 1:\n\tseen at home.\r\nVisit 2: not seen."
    r = svc.client.post(f"/api/v1/cases/{svc.ids['case']}/notes", json=NOTE | {"text": text}, headers=H)
    assert r.status_code == 201, r.text
    assert r.json()["text"] == text


def test_plausible_values_still_pass(svc: Svc) -> None:
    body = PERSON | {"given_name": "Zoë", "aliases": ["Ngọc Anh"], "date_of_birth": "1900-01-01"}
    assert svc.client.post("/api/v1/people", json=body, headers=H).status_code == 201
    review = str(date.today() + timedelta(days=90))
    r = svc.client.patch(f"/api/v1/cases/{svc.ids['case']}", json={"next_review_on": review}, headers=H)
    assert r.status_code == 200 and r.json()["next_review_on"] == review


def test_405_names_every_method_of_the_path(svc: Svc) -> None:
    r = svc.client.delete(f"/api/v1/people/{svc.ids['person']}", headers=H)
    assert r.status_code == 405 and r.headers["content-type"] == "application/problem+json"
    assert r.headers["allow"] == "GET, PATCH"  # two routes at this path; Starlette alone names the first
    assert svc.client.put("/api/v1/people", headers=H).headers["allow"] == "GET, POST"
