"""Erasure in the ranking-service: a person only in the people file is erased by records id (the
reference erasure of people the case-service never held), and a later import of a file that still
lists them (people or offences) does not bring them back."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from hhpu_shared.audit import AuditEntry
from hhpu_shared.events.contracts.case import PersonErased
from hhpu_shared.protection_api import apply_erasure
from hhpu_shared.runtime import ServiceRuntime
from hhpu_shared.testing.scan import find_strings
from ranking_service.handlers import PROTECTION
from ranking_service.models import RankOffence, RankPerson, RankRun
from ranking_service.settings import RankingSettings
from sqlmodel import col, select

PEOPLE = "records_id,given_name,family_name,date_of_birth,sex\n"
OFFENCES = "person_id,offence_code,offence_date,recorded_date,outcome,domestic_abuse\n"


def _erase(runtime: ServiceRuntime, ref: str) -> dict[str, int]:
    event = PersonErased(
        person_id=ref, references=(ref,), decision_id="d1", decided_by="user:dpo",
        reason_code="mopi_disposal", reason="no longer in the force's extract",
    )  # fmt: skip
    with runtime.unit_of_work() as uow:  # as the consumer applies person.erased
        return apply_erasure(uow, PROTECTION, event)


def test_an_erased_records_id_is_not_imported_again(
    rank_tools: Any, tmp_path: Path, rank_runtime: ServiceRuntime, rank_settings: RankingSettings
) -> None:
    first = tmp_path / "people1.csv"
    first.write_text(PEOPLE + "R-1,Idris,Quarrington,1932-05-06,M\nR-2,Amy,Hall,1990-02-03,F\n")
    rank_tools.import_into(rank_runtime, first, "people", settings=rank_settings)
    offences = tmp_path / "offences1.csv"
    offences.write_text(OFFENCES + "R-1,105/01,2025-01-02,2025-01-03,charged,false\n")
    rank_tools.import_into(rank_runtime, offences, settings=rank_settings)

    removed = _erase(rank_runtime, "R-1")
    assert (removed["people"], removed["offences"]) == (1, 1)
    needles = ["Quarrington", "1932-05-06"]
    assert find_strings(rank_runtime.engine, needles) == {}

    # The next monthly extract still lists them (a disposal elsewhere not yet applied there).
    later = tmp_path / "people2.csv"
    later.write_text(PEOPLE + "R-1,Idris,Quarrington,1932-05-06,M\nR-3,Zoe,Wood,1988-07-08,F\n")
    rep = rank_tools.import_into(rank_runtime, later, "people", settings=rank_settings)
    assert (rep.rows_total, rep.rows_accepted, rep.rows_rejected) == (2, 1, 0)
    more = tmp_path / "offences2.csv"
    more.write_text(
        OFFENCES
        + "R-1,008/67,2025-02-02,2025-02-03,charged,true\nR-3,105/01,2025-01-02,2025-01-03,charged,false\n"
    )
    rank_tools.import_into(rank_runtime, more, settings=rank_settings)

    assert find_strings(rank_runtime.engine, needles) == {}
    with rank_runtime.unit_of_work() as uow:
        s = uow.session
        assert sorted(s.exec(select(RankPerson.records_id)).all()) == ["R-2", "R-3"]
        assert list(s.exec(select(RankOffence.person_id).order_by(col(RankOffence.id))).all()) == ["R-3"]
        audit = s.exec(select(AuditEntry).where(AuditEntry.subject_type == "records_import")).all()
    skipped = [json.loads(a.detail or "{}").get("skipped_erased") for a in audit]
    assert skipped == [None, None, 1, 1]


def test_a_run_comparison_loses_the_erased_reference(rank_runtime: ServiceRuntime) -> None:
    comparison = {"big_movers": [{"person_ref": "R-1", "from": 40, "to": 2}, {"person_ref": "R-12"}]}
    with rank_runtime.unit_of_work() as uow:
        uow.session.add(
            RankRun(
                id="run-1", kind="production", trigger="on_demand", model="m", model_version="1", params="{}",
                weight_edition="e", weight_checksum="c", as_of=date(2026, 1, 1), import_ids="[]",
                fingerprint="f", created_by="user:ana", comparison=json.dumps(comparison),
            )
        )  # fmt: skip
    assert _erase(rank_runtime, "R-1")["runs_anonymised"] == 1
    with rank_runtime.unit_of_work() as uow:
        run = uow.session.get(RankRun, "run-1")
        assert run is not None
        movers = [m["person_ref"] for m in json.loads(run.comparison)["big_movers"]]
    assert movers[0].startswith("erased-") and movers[1] == "R-12"
