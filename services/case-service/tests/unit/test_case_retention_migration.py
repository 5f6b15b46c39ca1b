"""The MoPI revision back-fills every existing person (SQLite and PostgreSQL): the group from their
cases, referral triggers, ranking candidacies and risk assessments, the review a clear period after
they last came to notice, and no review for an erased person. The review queue then finds the one
already overdue."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from case_service.migrations import MIGRATIONS
from case_testing import client_for, headers
from hhpu_shared.db import make_engine
from hhpu_shared.protection import person_key

BEFORE = "01610a468fae"  # the revision before MoPI review groups
DPO = headers("data_protection_officer", subject="user:dpo", why="MoPI back-fill check")


def _at(d: str) -> datetime:
    return datetime.fromisoformat(d).replace(tzinfo=UTC)


def _table(name: str, *cols: tuple[str, Any]) -> sa.TableClause:
    return sa.table(name, *(sa.column(c, t) for c, t in cols))


PERSON = _table(
    "case_person",
    ("id", sa.String),
    ("given_name", sa.String),
    ("family_name", sa.String),
    ("aliases", sa.JSON),
    ("date_of_birth", sa.Date),
    ("created_at", sa.DateTime),
    ("updated_at", sa.DateTime),
)
CASE = _table(
    "case_case",
    ("id", sa.String),
    ("person_id", sa.String),
    ("status", sa.String),
    ("cohort", sa.String),
    ("mappa_category", sa.Integer),
    ("identified_by", sa.String),
    ("subject_category", sa.String),
    ("created_at", sa.DateTime),
    ("updated_at", sa.DateTime),
)
ASSESSMENT = _table(
    "case_assessment",
    ("id", sa.String),
    ("person_id", sa.String),
    ("status", sa.String),
    ("urgency", sa.String),
    ("checklist", sa.JSON),
    ("opened_at", sa.DateTime),
)
TRIGGER = _table(
    "case_assessment_trigger",
    ("id", sa.String),
    ("assessment_id", sa.String),
    ("source", sa.String),
    ("ref", sa.String),
    ("urgency", sa.String),
    ("data", sa.JSON),
    ("received_at", sa.DateTime),
    ("withdrawn_at", sa.DateTime),
)
RISK = _table(
    "case_risk_assessment",
    ("id", sa.String),
    ("case_id", sa.String),
    ("tool", sa.String),
    ("inputs", sa.JSON),
    ("result", sa.JSON),
    ("band", sa.String),
    ("assessed_by", sa.String),
    ("assessed_on", sa.Date),
    ("next_due", sa.Date),
    ("recorded_at", sa.DateTime),
)
MARK = _table(
    "protection_mark",
    ("person_key", sa.String),
    ("state", sa.String),
    ("at", sa.DateTime),
    ("decided_by", sa.String),
    ("reason_code", sa.String),
    ("decision_id", sa.String),
)


def _person(pid: str, created: str, dob: date | None = None) -> dict[str, Any]:
    at = _at(created)
    return {
        "id": pid,
        "given_name": "Test",
        "family_name": pid,
        "aliases": [],
        "date_of_birth": dob,
        "created_at": at,
        "updated_at": at,
    }


def _case(cid: str, pid: str, cohort: str, at: str, mappa: int | None = None, cat: str = "suspect") -> Any:
    return {
        "id": cid,
        "person_id": pid,
        "status": "managed",
        "cohort": cohort,
        "mappa_category": mappa,
        "identified_by": "mappa",
        "subject_category": cat,
        "created_at": _at(at),
        "updated_at": _at(at),
    }


def _trigger(tid: str, aid: str, source: str, at: str, data: dict[str, Any], withdrawn: bool = False) -> Any:
    return {
        "id": tid,
        "assessment_id": aid,
        "source": source,
        "ref": tid,
        "urgency": "normal",
        "data": data,
        "received_at": _at(at),
        "withdrawn_at": _at(at) if withdrawn else None,
    }


def test_existing_people_are_back_filled(db_url: str) -> None:
    MIGRATIONS.upgrade(db_url, BEFORE)
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                PERSON.insert(),
                [
                    _person("p1", "2020-03-01", date(1950, 1, 1)),
                    _person("p2", "2024-01-10"),
                    _person("p3", "2023-06-01"),
                    _person("p4", "2019-02-01"),
                    _person("p5", "2019-02-01"),
                    _person("p6", "2022-01-01"),
                ],
            )
            conn.execute(
                CASE.insert(),
                [
                    _case("c1", "p1", "visor", "2021-05-01", mappa=1),
                    _case("c3", "p3", "hhpu", "2023-06-01"),
                    _case("c6", "p6", "hhpu", "2022-01-01", cat="convicted"),
                ],
            )
            conn.execute(
                ASSESSMENT.insert(),
                [
                    {
                        "id": f"a{n}",
                        "person_id": f"p{n}",
                        "status": "open",
                        "urgency": "normal",
                        "checklist": {},
                    }
                    | {"opened_at": _at("2022-01-01")}
                    for n in (2, 3, 6)
                ],
            )
            conn.execute(
                TRIGGER.insert(),
                [
                    _trigger("t2", "a2", "referral", "2024-01-10", {"domains": ["domestic_abuse"]}),
                    _trigger("t3", "a3", "ranking", "2023-06-01", {"rank": 3}),
                    _trigger(
                        "t6", "a6", "referral", "2022-01-01", {"domains": ["child_abuse"]}, withdrawn=True
                    ),
                ],
            )
            conn.execute(
                RISK.insert(),
                {
                    "id": "r6",
                    "case_id": "c6",
                    "tool": "rm2000",
                    "inputs": {},
                    "result": {},
                    "band": "low",
                    "assessed_by": "om",
                    "assessed_on": date(2022, 3, 1),
                    "next_due": date(2023, 3, 1),
                    "recorded_at": _at("2022-03-01"),
                },
            )
            conn.execute(
                MARK.insert(),
                {
                    "person_key": person_key("p5"),
                    "state": "erased",
                    "at": _at("2024-01-01"),
                    "decided_by": "dpo",
                    "reason_code": "erasure_request",
                    "decision_id": "d5",
                },
            )
        MIGRATIONS.upgrade(db_url)
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT id, mopi_group, mopi_review_on, mopi_basis FROM case_person ORDER BY id")
            ).all()
    finally:
        engine.dispose()
    got = {
        pid: (group, str(due) if due else None, basis if isinstance(basis, list) else json.loads(basis))
        for pid, group, due, basis in rows
    }
    assert got == {
        "p1": (1, "2031-05-01", ["ViSOR cohort", "MAPPA category 1"]),
        "p2": (2, "2034-01-10", ["concern: domestic abuse"]),
        "p3": (3, "2029-06-01", ["offences in police records (ranking candidate)"]),
        "p4": (4, "2025-02-01", ["nothing proven"]),
        "p5": (4, None, ["nothing proven"]),
        "p6": (2, "2032-03-01", ["Risk Matrix 2000 assessment"]),
    }
    with client_for(db_url) as (client, _rt):
        queue = client.get(
            "/api/v1/retention-reviews", params={"due_before": "2026-01-01"}, headers=DPO
        ).json()
    assert [x["person_id"] for x in queue["items"]] == ["p4"]
