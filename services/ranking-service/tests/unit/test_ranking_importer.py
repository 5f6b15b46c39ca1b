"""Import: validation report with row numbers and reasons, idempotence, streaming formats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from hhpu_shared.audit import AuditEntry
from hhpu_shared.errors import ValidationProblem
from hhpu_shared.runtime import ServiceRuntime
from ranking_service.models import RankImport, RankImportRejection, RankOffence, RankPerson
from ranking_service.settings import RankingSettings
from ranking_service.synthetic import SyntheticForce, write_force
from sqlmodel import col, func, select

HEADER = "person_id,offence_code,offence_date,recorded_date,outcome,domestic_abuse,victim_ref\n"
ROWS = [
    "P-1,008/67,2025-01-02,2025-01-03,charged,true,V-1",  # 1 ok
    ",008/67,2025-01-02,2025-01-03,charged,true,V-1",  # 2 no person
    "P-2,8/67,2025-01-02,2025-01-03,charged,false,",  # 3 bad code
    "P-3,105/01,2025-13-02,2025-01-03,charged,no,",  # 4 bad date
    "P-4,105/01,2025-01-05,2025-01-03,Charged,no,",  # 5 recorded before offence
    "P-5,105/01,2025-01-02,2025-01-03,acquitted,no,",  # 6 bad outcome
    "P-6,105/01,2025-01-02,2025-01-03,charged,no,V-2,extra",  # 7 malformed
    "P-7,105/01,2025-01-02,2099-01-03,no further action,no,",  # 8 future recorded date
    "P-8,105/01,2025-01-02,2025-01-03,cautioned,maybe,",  # 9 bad boolean
    "P-9,046/00,2025-01-02,2025-01-02,under_investigation,,",  # 10 ok
]


def count(runtime: ServiceRuntime, model: type) -> int:
    with runtime.unit_of_work() as uow:
        return int(uow.session.exec(select(func.count()).select_from(model)).one())


def test_csv_validation_report_lists_every_rejected_row(
    rank_tools: Any, tmp_path: Path, rank_runtime: ServiceRuntime, rank_settings: RankingSettings
) -> None:
    f = tmp_path / "offences.csv"
    f.write_text(HEADER + "\n".join(ROWS) + "\n")
    rep = rank_tools.import_into(rank_runtime, f, settings=rank_settings)
    assert (rep.rows_total, rep.rows_accepted, rep.rows_rejected) == (10, 2, 8)
    codes = {r["row"]: sorted(e["code"] for e in r["errors"]) for r in rep.rejections}
    assert codes == {
        2: ["required"],
        3: ["invalid_code"],
        4: ["invalid_date"],
        5: ["recorded_before_offence"],
        6: ["invalid_choice"],
        7: ["malformed_row"],
        8: ["future_date"],
        9: ["invalid_boolean"],
    }
    assert count(rank_runtime, RankOffence) == 2
    assert count(rank_runtime, RankImportRejection) == 8
    with rank_runtime.unit_of_work() as uow:
        rows = uow.session.exec(select(RankOffence).order_by(col(RankOffence.row_no))).all()
        assert [(r.row_no, r.person_id, r.outcome, r.domestic_abuse) for r in rows] == [
            (1, "P-1", "charged", True),
            (10, "P-9", "under_investigation", False),
        ]
        audit = uow.session.exec(select(AuditEntry).where(AuditEntry.operation == "collect")).all()
        assert [a.subject_id for a in audit] == [rep.import_id]


def test_reimporting_the_same_file_changes_nothing(
    rank_tools: Any, tmp_path: Path, rank_runtime: ServiceRuntime, rank_settings: RankingSettings
) -> None:
    f = tmp_path / "offences.csv"
    f.write_text(HEADER + "\n".join(ROWS) + "\n")
    first = rank_tools.import_into(rank_runtime, f, settings=rank_settings)
    again = rank_tools.import_into(rank_runtime, f, settings=rank_settings)
    assert again.duplicate and again.import_id == first.import_id
    assert (count(rank_runtime, RankOffence), count(rank_runtime, RankImport)) == (2, 1)
    assert count(rank_runtime, RankImportRejection) == 8


def test_missing_column_imports_nothing(
    rank_tools: Any, tmp_path: Path, rank_runtime: ServiceRuntime, rank_settings: RankingSettings
) -> None:
    f = tmp_path / "bad.csv"
    f.write_text("person_id,offence_code,offence_date\nP-1,008/67,2025-01-01\n")
    with pytest.raises(ValidationProblem) as err:
        rank_tools.import_into(rank_runtime, f, settings=rank_settings)
    assert {e["field"] for e in err.value.extra["errors"]} == {"recorded_date", "outcome"}
    assert count(rank_runtime, RankImport) == 0


def test_ndjson_with_broken_lines(
    rank_tools: Any, tmp_path: Path, rank_runtime: ServiceRuntime, rank_settings: RankingSettings
) -> None:
    good = {
        "person_id": "P-1",
        "offence_code": "008/66",
        "offence_date": "2025-02-01",
        "recorded_date": "2025-02-01",
        "outcome": "convicted",
        "domestic_abuse": True,
    }
    lines = [json.dumps(good), "{not json", "[1, 2]", json.dumps({**good, "outcome": "x"})]
    f = tmp_path / "offences.ndjson"
    f.write_text("\n".join(lines) + "\n")
    rep = rank_tools.import_into(rank_runtime, f, settings=rank_settings, batch_rows=2)
    assert (rep.rows_total, rep.rows_accepted, rep.rows_rejected) == (4, 1, 3)
    assert {r["row"]: r["errors"][0]["code"] for r in rep.rejections} == {
        2: "invalid_json",
        3: "invalid_json",
        4: "invalid_choice",
    }


def test_parquet_into_the_columnar_store_and_people(
    rank_tools: Any,
    tmp_path: Path,
    rank_runtime: ServiceRuntime,
    rank_settings: RankingSettings,
    rank_force: SyntheticForce,
) -> None:
    settings = rank_settings.model_copy(update={"offence_store": "parquet"})
    people, offences = write_force(rank_force, tmp_path / "force")
    rep = rank_tools.import_into(rank_runtime, offences, settings=settings, batch_rows=1000)
    assert rep.rows_rejected == 0 and rep.rows_accepted == rank_force.offences.num_rows
    # 149/99 has no weight in the edition: every one of its rows is reported as unmapped, nothing else is.
    codes = rank_force.offences.column("offence_code").to_pylist()
    assert rep.unmapped_codes.get("149/99", 0) == codes.count("149/99")
    assert sum(rep.unmapped_codes.values()) == sum(codes.count(c) for c in rep.unmapped_codes)
    with rank_runtime.unit_of_work() as uow:
        imp = uow.session.exec(select(RankImport)).one()
    assert imp.store == "parquet" and imp.path is not None
    stored = pq.read_table(imp.path)
    assert stored.num_rows == rep.rows_accepted and stored["row_no"][0].as_py() == 1
    assert count(rank_runtime, RankOffence) == 0
    assert rank_tools.import_into(rank_runtime, offences, settings=settings).duplicate
    prep = rank_tools.import_into(rank_runtime, people, "people", settings=settings)
    assert prep.rows_accepted == rank_force.people.num_rows
    with rank_runtime.unit_of_work() as uow:
        dean = uow.session.get(RankPerson, "P-DEAN-MARSH")
        assert dean is not None and dean.middle_names == "John" and str(dean.date_of_birth) == "1991-03-14"


def test_people_upsert_and_validation(
    rank_tools: Any, tmp_path: Path, rank_runtime: ServiceRuntime, rank_settings: RankingSettings
) -> None:
    a = tmp_path / "people1.csv"
    a.write_text(
        "records_id,given_name,family_name,date_of_birth,sex,ethnicity\n"
        "P-1,Dean,Marsh,1991-03-14,male,White\nP-2,Amy,Hall,1990-02-30,F,Asian\nP-3,Zoe,Wood,,Q,\n"
    )
    rep = rank_tools.import_into(rank_runtime, a, "people", settings=rank_settings)
    assert rep.rows_accepted == 1
    assert {r["row"]: r["errors"][0]["code"] for r in rep.rejections} == {
        2: "invalid_date",
        3: "invalid_choice",
    }
    b = tmp_path / "people2.csv"
    b.write_text(
        "records_id,given_name,family_name,sex\nP-1,Dean,Marsh-Smith,M\nP-4,Lee,Pryce,\nP-4,Lee,Price,\n"
    )
    rank_tools.import_into(rank_runtime, b, "people", settings=rank_settings)
    with rank_runtime.unit_of_work() as uow:
        p1 = uow.session.get(RankPerson, "P-1")
        p4 = uow.session.get(RankPerson, "P-4")
        assert p1 is not None and p1.family_name == "Marsh-Smith" and p1.sex == "M"
        assert p4 is not None and p4.sex == "U"


def test_table_and_columnar_stores_give_the_same_inputs(
    rank_tools: Any, tmp_path: Path, rank_force: SyntheticForce
) -> None:
    from ranking_service.app import build_runtime
    from ranking_service.service.runs import DryRun, RunRequest, execute_run

    _, offences = write_force(rank_force, tmp_path / "force")
    results = []
    for store in ("table", "parquet"):
        settings = rank_tools.settings_for(
            f"sqlite:///{tmp_path}/{store}.db", tmp_path / store, offence_store=store
        )
        runtime = build_runtime(settings, run_consumer=False)
        rank_tools.import_into(runtime, offences, settings=settings, batch_rows=1500)
        with runtime.unit_of_work() as uow:
            out = execute_run(uow, settings, RunRequest(kind="dry", model="rfgv@1"))
        assert isinstance(out, DryRun)
        results.append((out.computation.fingerprint, out.computation.people, out.computation.scores.tolist()))
    assert results[0] == results[1]
