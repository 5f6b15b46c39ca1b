"""Person search over more people than the old scan's cap (50,000), looked up in the database, and a
referral's partner reference found as an identifier."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from case_service import repository
from case_service.domain import search
from case_service.models import Person, PersonSearchKey
from case_testing import client_for, consume, envelope, headers, publish, screened
from fastapi.testclient import TestClient
from hhpu_shared.runtime import ServiceRuntime
from sqlalchemy import event, insert
from sqlmodel import Session, func, select

OM = headers("offender_manager")
OLD_CAP = 50_000
SQLITE_MAX_VARIABLES = 32_766


@pytest.fixture
def svc(sqlite_url: str) -> Iterator[tuple[TestClient, ServiceRuntime]]:
    with client_for(sqlite_url) as pair:
        yield pair


def _crowd(rt: ServiceRuntime, n: int) -> None:
    """`n` namesakes "A B" whose ids sort before any other (the old scan took the first 50,000
    by id), with their search keys, inserted in bulk."""
    keys = sorted(search.name_keys(["A B"]))
    people = [
        {
            "id": f"0{i:031d}",
            "given_name": "A",
            "family_name": "B",
            "aliases": [],
            "mopi_group": 4,
            "mopi_basis": [],
            "date_of_birth": date(1990, 1, 1),
        }
        for i in range(n)
    ]
    rows = [{"id": uuid.uuid4().hex, "person_id": p["id"], "key": k} for p in people for k in keys]
    with rt.engine.begin() as conn:  # plain executemany (core), not the ORM
        conn.execute(insert(Person.__table__), people)  # type: ignore[attr-defined]
        conn.execute(insert(PersonSearchKey.__table__), rows)  # type: ignore[attr-defined]


@pytest.fixture
def any_db(db_url: str) -> Iterator[tuple[TestClient, ServiceRuntime]]:
    """SQLite and PostgreSQL."""
    with client_for(db_url) as pair:
        yield pair


def test_search_finds_a_person_among_more_than_the_old_cap(
    svc: tuple[TestClient, ServiceRuntime], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, rt = svc
    _crowd(rt, OLD_CAP)
    body = {
        "given_name": "Dean",
        "family_name": "Marsh",
        "date_of_birth": "1991-03-14",
        "pnc_number": "91/12345A",
        "aliases": ["Deano Marsh"],
    }
    assert client.post("/api/v1/people", json=body, headers=OM).status_code == 201
    with Session(rt.engine) as s:
        assert s.exec(select(func.count()).select_from(Person)).one() == OLD_CAP + 1
    # every statement's bound values are counted; the pool the database hands back is measured
    widest: list[int] = [0]

    def count(_conn: Any, _cursor: Any, _sql: str, params: Any, _ctx: Any, many: bool) -> None:
        if not many:
            widest[0] = max(widest[0], len(params or ()))

    pools: list[int] = []
    real_pool = repository.search_pool

    def measured(*args: Any, **kwargs: Any) -> Any:
        out = real_pool(*args, **kwargs)
        pools.append(len(out[0]) if isinstance(out, tuple) else len(out))
        return out

    monkeypatch.setattr(repository, "search_pool", measured)
    event.listen(rt.engine, "before_cursor_execute", count)
    try:
        for params in ({"q": "Dean Mrash"}, {"q": "Deano"}, {"pnc": "1991/0012345a"}):
            found = client.get("/api/v1/people", params=params, headers=OM).json()
            assert found["items"] and found["items"][0]["given_name"] == "Dean", params
        assert max(pools) < 10  # the database found the few worth scoring, not 50,001 people
        # a name shared by everyone: every one of them scored, paged, without a list of ids
        crowd = client.get("/api/v1/people", params={"q": "A B", "limit": 5}, headers=OM).json()
        assert crowd["total"] == OLD_CAP and len(crowd["items"]) == 5
    finally:
        event.remove(rt.engine, "before_cursor_execute", count)
    assert 0 < widest[0] < 200 < SQLITE_MAX_VARIABLES, widest[0]


def test_name_keys_follow_changes_and_erasure(any_db: tuple[TestClient, ServiceRuntime]) -> None:
    """A search finds a person by the names they hold now: not by a name changed or erased."""
    client, rt = any_db
    pid = client.post(
        "/api/v1/people", json={"given_name": "Vic", "family_name": "Sorrel"}, headers=OM
    ).json()["id"]
    r = client.patch(f"/api/v1/people/{pid}", json={"family_name": "Hartley"}, headers=OM)
    assert r.status_code == 200, r.text

    def names(q: str) -> list[str]:
        return [
            p["family_name"]
            for p in client.get("/api/v1/people", params={"q": q}, headers=OM).json()["items"]
        ]

    assert names("Vic Hartlie") == ["Hartley"] and names("Sorrel") == []

    def keys() -> set[str]:
        with Session(rt.engine) as s:
            return set(s.exec(select(PersonSearchKey.key).where(PersonSearchKey.person_id == pid)).all())

    assert "w:hartley" in keys() and not any("sorrel" in k for k in keys())  # rewritten with the name
    dpo = headers("data_protection_officer", subject="user:dpo")
    erase = {"reason_code": "erasure_request", "reason": "the data subject asked for erasure"}
    r = client.post(f"/api/v1/people/{pid}/erasure", json=erase, headers=dpo)
    assert r.status_code == 200, r.text
    assert names("Vic Hartley") == [] and names("Hartley") == []
    assert not any("hartl" in k or "vic" in k for k in keys())  # nothing of the erased names is kept


def test_a_referrals_partner_reference_finds_the_person(any_db: tuple[TestClient, ServiceRuntime]) -> None:
    client, rt = any_db
    event_data = screened("ref-77").model_copy(update={"partner_reference": "DAS-2026-0412"})
    publish(rt, envelope(event_data))
    consume(rt)
    for typed in ("DAS-2026-0412", "das 2026 0412"):
        found = client.get("/api/v1/people", params={"identifier": typed}, headers=OM).json()["items"]
        assert [p["family_name"] for p in found] == ["Marsh"], typed
        assert found[0]["match"]["reasons"] == ["partner_reference matches"]
    pid = found[0]["id"]
    idents = client.get(f"/api/v1/people/{pid}", headers=OM).json()["identifiers"]
    assert {"kind": "partner_reference", "value": "das/DAS-2026-0412"} in [
        {"kind": i["kind"], "value": i["value"]} for i in idents
    ]
    # another agency's same reference is its own identifier, not this person's
    other = screened("ref-78", agency_id="housing").model_copy(update={"partner_reference": "DAS-2026-0412"})
    other_subject = other.subject.model_copy(
        update={"given_name": "Ria", "family_name": "Lowe", "pnc_number": None}
    )
    publish(rt, envelope(other.model_copy(update={"subject": other_subject})))
    consume(rt)
    found = client.get("/api/v1/people", params={"identifier": "DAS-2026-0412"}, headers=OM).json()["items"]
    assert sorted(p["family_name"] for p in found) == ["Lowe", "Marsh"]
