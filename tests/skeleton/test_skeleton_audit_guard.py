"""The audit log is append-only in the database itself: on PostgreSQL, every service's migrations
install a trigger that refuses UPDATE and DELETE on `audit_log`, whoever sends them (plain SQL, not
only the application's ORM), while new entries are still written and the chain still verifies."""

from __future__ import annotations

import pytest
from hhpu.services import SERVICES, spec
from hhpu_shared.audit import AuditEntry, AuditOperation, verify_chain, write_audit
from hhpu_shared.auth import Principal
from hhpu_shared.db import make_engine
from hhpu_shared.testing.databases import migrated
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

pytestmark = pytest.mark.postgres
DPO = Principal(subject="dpo-sam", kind="staff", roles=frozenset({"data_protection_officer"}))


@pytest.mark.parametrize("name", list(SERVICES))
def test_postgres_refuses_update_and_delete_of_an_audit_entry(name: str, pg_url: str) -> None:
    engine = make_engine(migrated(spec(name).migrations, pg_url))
    try:
        with Session(engine) as s:
            write_audit(
                s,
                service=name,
                operation=AuditOperation.CONSULT,
                principal=DPO,
                subject_type="person",
                subject_id="per-1",
                person_ref="per-1",
                justification="SAR-2026-014",
            )
            s.commit()
        for statement in (
            "UPDATE audit_log SET justification = 'rewritten'",
            "DELETE FROM audit_log",
            "UPDATE audit_log SET person_ref = NULL WHERE person_ref = 'per-1'",
        ):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text(statement))
        with Session(engine) as s:
            rows = s.exec(select(AuditEntry)).all()
            assert [(r.person_ref, r.justification) for r in rows] == [("per-1", "SAR-2026-014")]
            assert verify_chain(s).ok
    finally:
        engine.dispose()
