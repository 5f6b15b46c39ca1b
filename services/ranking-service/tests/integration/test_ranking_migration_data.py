"""A ranking-service database at the first revision, holding data, upgrades to head with the data
intact (every row of every table), and the audit entries written before the hash chain are chained."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from hhpu_shared.db import make_engine
from hhpu_shared.testing.migration_data import (
    audit_chain,
    changed_rows,
    first_revision_audit_rows,
    write_rows,
)
from ranking_service.migrations import MIGRATIONS

pytestmark = pytest.mark.postgres

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
ROWS = {
    "rank_import": [
        {
            "seq": 1,
            "id": "imp-1",
            "kind": "offences",
            "sha256": "a" * 64,
            "filename": "offences-2026-03.csv",
            "format": "csv",
            "store": "table",
            "rows_total": 3,
            "rows_accepted": 2,
            "rows_rejected": 1,
            "max_recorded_date": date(2026, 2, 28),
            "created_at": AT,
            "created_by": "user:analyst",
        }
    ],
    "rank_import_rejection": [
        {"id": 1, "import_id": "imp-1", "row_number": 3, "reasons": '["offence_date: not a date"]'}
    ],
    "rank_offence": [
        {
            "id": 1,
            "import_seq": 1,
            "row_no": 1,
            "person_id": "R-1",
            "offence_code": "008/66",
            "offence_date": date(2025, 6, 1),
            "recorded_date": date(2025, 6, 3),
            "outcome": "charged",
            "domestic_abuse": True,
            "hate_crime": False,
            "victim_ref": "V-1",
        }
    ],
    "rank_person": [
        {
            "records_id": "R-1",
            "given_name": "Dean",
            "family_name": "Marsh",
            "date_of_birth": date(1991, 3, 14),
            "sex": "male",
            "age_band": "35-44",
            "import_id": "imp-1",
            "updated_at": AT,
        }
    ],
    "rank_person_status": [
        {"records_id": "R-1", "managed": False, "open_assessment_id": "asm-1", "updated_at": AT}
    ],
    "rank_run": [
        {
            "id": "run-1",
            "kind": "production",
            "trigger": "scheduled",
            "schedule_key": "2026-03-a",
            "model": "total_harm",
            "model_version": "1",
            "params": json.dumps({"window_days": 365}),
            "weight_edition": "chi-2020",
            "weight_checksum": "c" * 64,
            "engine_version": "1.0",
            "as_of": date(2026, 3, 1),
            "import_ids": '["imp-1"]',
            "input_files": "[]",
            "fingerprint": "f" * 64,
            "people_fingerprint": "p" * 64,
            "rows_used": 1,
            "people_scored": 1,
            "top_n": 50,
            "top_bracket_size": 1,
            "provisional": False,
            "provisional_reasons": "[]",
            "data_quality": "{}",
            "fairness": "{}",
            "comparison": "{}",
            "candidates_emitted": 1,
            "created_at": AT,
            "created_by": "system",
        }
    ],
    "rank_run_entry": [
        {
            "id": 1,
            "run_id": "run-1",
            "person_ref": "R-1",
            "rank": 1,
            "score": 252.0,
            "harm_total": 252.0,
            "offence_count": 1,
            "in_top": True,
            "provisional": False,
            "components": "{}",
            "contributions": "[]",
            "candidate_event_id": "evt-1",
        }
    ],
    "rank_evaluation": [
        {
            "id": 1,
            "run_id": "run-1",
            "follow_up_days": 365,
            "result": '{"precision": 0.5}',
            "created_at": AT,
            "created_by": "user:analyst",
        }
    ],
}


def test_a_database_at_the_first_revision_keeps_its_data_when_upgraded(pg_url: str) -> None:
    MIGRATIONS.upgrade(pg_url, MIGRATIONS.base)
    engine = make_engine(pg_url)
    try:
        write_rows(engine, {**ROWS, "audit_log": first_revision_audit_rows("ranking-service", 2, AT)})
        assert MIGRATIONS.upgrade(pg_url) == MIGRATIONS.head
        assert MIGRATIONS.differences(engine) == []
        assert changed_rows(engine, ROWS) == []
        chain = audit_chain(engine)
        assert chain.ok and chain.checked == 2
    finally:
        engine.dispose()
