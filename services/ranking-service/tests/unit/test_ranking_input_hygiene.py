"""Run requests and import metadata refuse control characters, implausible dates and bools or strings
posing as numbers (problem+json, a code for the field, nothing stored); imported files report the
rows whose names or identifiers hold control characters like any other bad row."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from hhpu_shared.fields import today
from hhpu_shared.runtime import ServiceRuntime
from hhpu_shared.testing.databases import row_counts
from hhpu_shared.testing.plugin import identity_headers
from ranking_service.models import RankOffence, RankPerson
from ranking_service.settings import RankingSettings
from sqlmodel import select

ANALYST = identity_headers("analyst", subject="user:ana") | {"X-Justification": "test: ranking review"}
RUNS = "/api/v1/ranking-runs"
TOMORROW = str(today() + timedelta(days=1))
COMPARE = {"as_of": "2025-11-26", "models": ["rfgv@2"]}
CMP = f"{RUNS}/model-comparisons"
NOT_INT = "not_an_integer"
CC = "control_character"

# (label, path, body, field, code)
CASES: list[tuple[str, str, dict[str, Any], str, str]] = [
    ("as_of in year 176", RUNS, {"as_of": "0176-11-26"}, "as_of", "date_too_early"),
    ("as_of tomorrow", RUNS, {"as_of": TOMORROW}, "as_of", "date_in_future"),
    ("top_n true", RUNS, {"top_n": True}, "top_n", NOT_INT),
    ("top_n as text", RUNS, {"top_n": "50"}, "top_n", NOT_INT),
    ("top_n 50.0", RUNS, {"top_n": 50.0}, "top_n", NOT_INT),
    ("top_share true", RUNS, {"top_share": True}, "top_share", "not_a_number"),
    ("top_share as text", RUNS, {"top_share": "0.1"}, "top_share", "not_a_number"),
    ("NUL in a model", RUNS, {"model": "rfgv@1\x00"}, "model", CC),
    ("newline in an edition", RUNS, {"weight_edition": "2024\nx"}, "weight_edition", CC),
    ("comparison tomorrow", CMP, COMPARE | {"as_of": TOMORROW}, "as_of", "date_in_future"),
    ("comparison in 1066", CMP, COMPARE | {"as_of": "1066-10-14"}, "as_of", "date_too_early"),
    ("NUL in a compared model", CMP, COMPARE | {"models": ["rfgv@2\x00"]}, "models.0", CC),
    ("follow-up true", CMP, COMPARE | {"follow_up_days": True}, "follow_up_days", NOT_INT),
    ("seed as text", CMP, COMPARE | {"seed": "7"}, "seed", NOT_INT),
    (
        "replicates true",
        f"{RUNS}/r-1/evaluations",
        {"bootstrap_replicates": True},
        "bootstrap_replicates",
        NOT_INT,
    ),
]


@pytest.mark.parametrize(("label", "path", "body", "field", "code"), CASES, ids=[c[0] for c in CASES])
def test_run_requests_refused_with_field_code_and_nothing_stored(
    rank_client: TestClient,
    rank_runtime: ServiceRuntime,
    label: str,
    path: str,
    body: Any,
    field: str,
    code: str,
) -> None:
    before = row_counts(rank_runtime.engine)
    r = rank_client.post(path, json=body, headers=ANALYST)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert (field, code) in [(e["field"], e["code"]) for e in r.json()["errors"]], r.json()["errors"]
    assert row_counts(rank_runtime.engine) == before


@pytest.mark.parametrize(
    ("filename", "field", "code"),
    [
        ("off%00ences.csv", "query", CC),  # C0 controls: refused before any route (hhpu_shared.http)
        ("off%0Aences.csv", "query", CC),
        ("a%09b.csv", "query", CC),
        ("off%C2%85ences.csv", "query.filename", CC),  # C1 and bidi controls: the Line check
        ("off%E2%80%AEvsc.exe", "query.filename", CC),
        ("x.exe", "query.filename", "invalid_format"),
    ],
)
def test_import_file_name_refused(
    rank_client: TestClient, rank_runtime: ServiceRuntime, filename: str, field: str, code: str
) -> None:
    before = row_counts(rank_runtime.engine)
    body = b"person_id,offence_code,offence_date,recorded_date,outcome\nP-1,008/67,2025-01-02,2025-01-03,x\n"
    r = rank_client.post(f"/api/v1/imports/offences?filename={filename}", content=body, headers=ANALYST)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", r.text
    assert (r.json()["errors"][0]["field"], r.json()["errors"][0]["code"]) == (field, code)
    assert row_counts(rank_runtime.engine) == before


PEOPLE = [
    {"records_id": "P-1", "given_name": "Dean", "family_name": "Marsh", "date_of_birth": "1991-03-14"},
    {"records_id": "P-2", "given_name": "Amy\x00", "family_name": "Hall"},
    {"records_id": "P-3", "given_name": "Zoë", "family_name": "Wo\tod"},
    {"records_id": "P-4", "given_name": "Lee", "middle_names": "Jon\u202e", "family_name": "Price"},
    {"records_id": "P\x1b-5", "given_name": "Sam", "family_name": "Hill"},
    {"records_id": "P-6", "given_name": "Ann", "family_name": "Lee", "date_of_birth": "1850-01-01"},
    {"records_id": "P-7", "given_name": "Ngọc Anh", "family_name": "O’Brien", "date_of_birth": "1900-01-01"},
]
EXPECTED = {
    2: [("given_name", CC)],
    3: [("family_name", CC)],
    4: [("middle_names", CC)],
    5: [("records_id", CC)],
    6: [("date_of_birth", "date_too_early")],
}


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    if path.suffix == ".ndjson":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        names = ["records_id", "given_name", "middle_names", "family_name", "date_of_birth"]
        table = pa.table({n: [r.get(n) for r in rows] for n in names})
        pq.write_table(table, path)
    return path


@pytest.mark.parametrize("suffix", [".ndjson", ".parquet"])
def test_people_with_control_characters_are_reported_rows(
    rank_tools: Any, tmp_path: Path, rank_runtime: ServiceRuntime, rank_settings: RankingSettings, suffix: str
) -> None:
    f = _write(tmp_path / f"people{suffix}", PEOPLE)
    rep = rank_tools.import_into(rank_runtime, f, "people", settings=rank_settings)
    assert (rep.rows_total, rep.rows_accepted, rep.rows_rejected) == (7, 2, 5)
    got = {r["row"]: [(e["field"], e["code"]) for e in r["errors"]] for r in rep.rejections}
    assert got == EXPECTED
    with rank_runtime.unit_of_work() as uow:
        kept = uow.session.exec(select(RankPerson.records_id).order_by(RankPerson.records_id)).all()
    assert list(kept) == ["P-1", "P-7"]


def test_offences_with_control_characters_in_identifiers_are_reported_rows(
    rank_tools: Any, tmp_path: Path, rank_runtime: ServiceRuntime, rank_settings: RankingSettings
) -> None:
    f = tmp_path / "offences.csv"
    f.write_bytes(
        b"person_id,offence_code,offence_date,recorded_date,outcome,victim_ref\n"
        b"P-1,008/67,2025-01-02,2025-01-03,charged,V-1\n"
        b"P\x01-2,008/67,2025-01-02,2025-01-03,charged,\n"
        b"P-3,008/67,2025-01-02,2025-01-03,charged,V\x7f-3\n"
        b"P-4,008/67,2025-01-02,2025-01-03,charged,V-\xc2\x854\n"
    )
    rep = rank_tools.import_into(rank_runtime, f, settings=rank_settings)
    got = {r["row"]: [(e["field"], e["code"]) for e in r["errors"]] for r in rep.rejections}
    assert got == {2: [("person_id", CC)], 3: [("victim_ref", CC)], 4: [("victim_ref", CC)]}
    with rank_runtime.unit_of_work() as uow:
        assert list(uow.session.exec(select(RankOffence.person_id)).all()) == ["P-1"]
