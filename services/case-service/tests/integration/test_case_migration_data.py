"""A case-service database at the first revision, holding data, upgrades to head with the data
intact: every row of every table survives, the MoPI revision derives each person's review group,
basis and next review, withdrawable triggers start not withdrawn, and the audit entries written
before the hash chain are chained."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from case_service.migrations import MIGRATIONS
from hhpu_shared.db import make_engine
from hhpu_shared.testing.migration_data import (
    audit_chain,
    changed_rows,
    first_revision_audit_rows,
    write_rows,
)
from sqlalchemy import text

pytestmark = pytest.mark.postgres


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=9, tzinfo=UTC)


def _person(pid: str, created: str, dob: date | None) -> dict[str, Any]:
    return {
        "id": pid,
        "records_id": f"R-{pid}",
        "given_name": "Test",
        "family_name": pid,
        "aliases": ["T. Person"],
        "date_of_birth": dob,
        "created_at": _at(created),
        "updated_at": _at(created),
    }


ROWS: dict[str, list[dict[str, Any]]] = {
    "case_person": [_person("p1", "2020-03-01", date(1950, 1, 1)), _person("p2", "2023-06-01", None)],
    "case_person_identifier": [
        {"id": "id1", "person_id": "p1", "kind": "pnc", "value": "91/123456X", "added_at": _at("2020-03-01")}
    ],
    "case_person_history": [
        {
            "id": "h1",
            "person_id": "p1",
            "at": _at("2020-03-01"),
            "actor": "user:om1",
            "action": "created",
            "detail": {"source": "manual"},
        }
    ],
    "case_manager": [
        {
            "id": "om1",
            "staff_id": "user:om1",
            "name": "PC Ruth Lane",
            "capacity_points": 20.0,
            "active": True,
            "created_at": _at("2020-01-01"),
        }
    ],
    "case_training": [
        {
            "id": "t1",
            "manager_id": "om1",
            "course": "mosovo",
            "completed_on": date(2021, 1, 5),
            "recorded_by": "sup",
        }
    ],
    "case_case": [
        {
            "id": "c1",
            "person_id": "p1",
            "status": "managed",
            "cohort": "visor",
            "mappa_category": 1,
            "mappa_level": 2,
            "identified_by": "mappa",
            "statutory_status": "notification_requirements",
            "subject_category": "convicted",
            "manager_id": "om1",
            "created_at": _at("2021-05-01"),
            "updated_at": _at("2021-05-01"),
        }
    ],
    "case_status_change": [
        {"id": "sc1", "case_id": "c1", "to_status": "managed", "actor": "user:sup", "at": _at("2021-05-01")}
    ],
    "case_allocation": [
        {
            "id": "al1",
            "case_id": "c1",
            "manager_id": "om1",
            "reasons": ["trained: mosovo"],
            "allocated_by": "user:sup",
            "at": _at("2021-05-01"),
        }
    ],
    "case_note": [
        {
            "id": "n1",
            "case_id": "c1",
            "kind": "fact",
            "text": "Home visit.",
            "author": "user:om1",
            "at": _at("2021-06-01"),
        }
    ],
    "case_intervention": [
        {
            "id": "iv1",
            "case_id": "c1",
            "code": "drug_treatment",
            "category": "rehabilitative",
            "cohort": "visor",
            "agency": "das",
            "status": "active",
            "recorded_by": "user:om1",
            "recorded_at": _at("2021-07-01"),
        }
    ],
    "case_risk_assessment": [
        {
            "id": "r1",
            "case_id": "c1",
            "tool": "rm2000",
            "inputs": {"age": 2},
            "result": {"band": "high"},
            "band": "high",
            "assessed_by": "user:om1",
            "assessed_on": date(2022, 3, 1),
            "next_due": date(2023, 3, 1),
            "recorded_at": _at("2022-03-01"),
        }
    ],
    "case_assessment": [
        {
            "id": "a2",
            "person_id": "p2",
            "open_key": "p2",
            "status": "open",
            "urgency": "high",
            "checklist": {"in_high_harm_scope": True},
            "opened_at": _at("2024-01-10"),
        }
    ],
    "case_assessment_trigger": [
        {
            "id": "tr2",
            "assessment_id": "a2",
            "source": "referral",
            "ref": "ref-2",
            "origin": "das",
            "urgency": "high",
            "data": {"domains": ["domestic_abuse"], "statutory_status": "unconvicted_suspect"},
            "received_at": _at("2024-01-10"),
        }
    ],
    "case_assessment_decision": [
        {
            "id": "d2",
            "assessment_id": "a2",
            "decision": "defer",
            "decided_by": "MAM",
            "recorded_by": "system",
            "source": "meeting",
            "at": _at("2024-02-01"),
        }
    ],
}


def test_a_database_at_the_first_revision_keeps_its_data_and_gets_its_review_groups(pg_url: str) -> None:
    MIGRATIONS.upgrade(pg_url, MIGRATIONS.base)
    engine = make_engine(pg_url)
    try:
        write_rows(
            engine, {**ROWS, "audit_log": first_revision_audit_rows("case-service", 4, _at("2024-01-01"))}
        )
        assert MIGRATIONS.upgrade(pg_url) == MIGRATIONS.head
        assert MIGRATIONS.differences(engine) == []
        assert changed_rows(engine, ROWS) == []
        with engine.connect() as conn:
            mopi = conn.execute(
                text("SELECT id, mopi_group, mopi_review_on, mopi_basis FROM case_person ORDER BY id")
            ).all()
            withdrawn = conn.execute(
                text("SELECT withdrawn_at, withdrawn_reason FROM case_assessment_trigger")
            ).all()
        assert [tuple(r) for r in mopi] == [
            # ViSOR, MAPPA 1: group 1, ten years after the last time they came to notice (the RM2000)
            ("p1", 1, date(2032, 3, 1), ["ViSOR cohort", "MAPPA category 1"]),
            # a referral for domestic abuse: group 2, ten years after it
            ("p2", 2, date(2034, 1, 10), ["concern: domestic abuse"]),
        ]
        assert [tuple(r) for r in withdrawn] == [(None, None)]
        chain = audit_chain(engine)
        assert chain.ok and chain.checked == 4
    finally:
        engine.dispose()
