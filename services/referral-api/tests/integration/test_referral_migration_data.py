"""A referral-api database at the first revision, holding data, upgrades to head with the data intact:
every row of every table survives, the name-key revision derives each known person's blocking keys,
and the audit entries written before the hash chain are chained."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hhpu_shared.db import make_engine
from hhpu_shared.testing.migration_data import (
    audit_chain,
    changed_rows,
    first_revision_audit_rows,
    write_rows,
)
from referral_api.migrations import MIGRATIONS
from sqlalchemy import text

pytestmark = pytest.mark.postgres

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
ROWS = {
    "ref_agency": [
        {
            "id": "das",
            "name": "Drug and Alcohol Service",
            "agency_type": "drug_and_alcohol_service",
            "contact_name": "A. Key-worker",
            "active": True,
            "webhook_url": "https://das.example.org/hook",
            "webhook_secret": "s" * 32,
            "created_at": AT,
            "updated_at": AT,
        }
    ],
    "ref_api_key": [
        {
            "id": "key-1",
            "agency_id": "das",
            "secret_hash": "h" * 64,
            "scopes": ["referrals:write", "referrals:read"],
            "created_at": AT,
            "created_by": "user:admin",
        }
    ],
    "ref_known_person": [
        {
            "id": 1,
            "person_ref": "P-1",
            "source": "case",
            "source_id": "per-1",
            "given_name": "Zoë",
            "family_name": "O'Brien-Smith",
            "aliases": ["Zoe Smyth", "Jonno"],
            "date_of_birth": date(1990, 4, 5),
            "soundex_key": ",Z000:O165,",
            "updated_at": AT,
        },
        {
            "id": 2,
            "person_ref": "P-2",
            "source": "ranking",
            "source_id": "R-2",
            "given_name": "Dean",
            "family_name": "Marsh",
            "aliases": [],
            "soundex_key": ",D500:M620,",
            "updated_at": AT,
        },
    ],
    "ref_referral": [
        {
            "id": "ref-1",
            "agency_id": "das",
            "status": "screened",
            "subject_given_name": "Dean",
            "subject_family_name": "Marsh",
            "subject_dob": date(1991, 3, 14),
            "domains_key": "domestic_abuse,stalking",
            "urgency": "high",
            "route": "partner_referral",
            "statutory_status": "unconvicted_suspect",
            "legal_gateway": "cda1998_s115",
            "payload": {"subject": {"given_name": "Dean"}},
            "eligible": True,
            "screening_reasons": [],
            "match_grade": "probable",
            "submitted_by": "agency:das",
            "submitted_at": AT,
            "updated_at": AT,
        }
    ],
    "ref_status_history": [
        {"id": 1, "referral_id": "ref-1", "to_status": "received", "actor": "agency:das", "at": AT},
        {
            "id": 2,
            "referral_id": "ref-1",
            "from_status": "received",
            "to_status": "screened",
            "actor": "system",
            "at": AT,
        },
    ],
    "ref_match_review": [
        {
            "id": "rev-1",
            "referral_id": "ref-1",
            "candidate_person_ref": "P-2",
            "grade": "probable",
            "score": 9.5,
            "reasons": ["family name exact"],
            "status": "pending",
            "created_at": AT,
        }
    ],
    "ref_idempotency": [
        {
            "id": 1,
            "agency_id": "das",
            "key": "idem-1",
            "request_hash": "r" * 64,
            "referral_id": "ref-1",
            "status_code": 201,
            "response_body": '{"id": "ref-1"}',
            "created_at": AT,
        }
    ],
    "ref_webhook_attempt": [
        {
            "id": 1,
            "event_id": "evt-1",
            "agency_id": "das",
            "referral_id": "ref-1",
            "to_status": "screened",
            "url": "https://das.example.org/hook",
            "attempt": 1,
            "at": AT,
            "status_code": 204,
            "delivered": True,
            "duration_ms": 12.5,
        }
    ],
}


def test_a_database_at_the_first_revision_keeps_its_data_and_gets_its_name_keys(pg_url: str) -> None:
    MIGRATIONS.upgrade(pg_url, MIGRATIONS.base)
    engine = make_engine(pg_url)
    try:
        write_rows(engine, {**ROWS, "audit_log": first_revision_audit_rows("referral-api", 3, AT)})
        assert MIGRATIONS.upgrade(pg_url) == MIGRATIONS.head
        assert MIGRATIONS.differences(engine) == []
        assert changed_rows(engine, ROWS, gone={"ref_known_person": {"soundex_key"}}) == []
        with engine.connect() as conn:
            keys = conn.execute(
                text("SELECT person_id, key, date_of_birth FROM ref_known_person_key ORDER BY person_id, key")
            ).all()
        assert [tuple(k) for k in keys] == [
            (1, "Z000:O165", date(1990, 4, 5)),  # Zoë O'Brien-Smith
            (1, "Z000:S530", date(1990, 4, 5)),  # her alias Zoe Smyth (the one-word alias has no key)
            (2, "D500:M620", None),
        ]
        chain = audit_chain(engine)
        assert chain.ok and chain.checked == 3
    finally:
        engine.dispose()
