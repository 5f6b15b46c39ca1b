"""Reproducibility: the engine version is the scoring code's, and `reproduce` fails on another weight
edition under the same name and on an input file that is no longer the one the run recorded."""

from __future__ import annotations

import csv
import json
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ranking_service import __version__
from ranking_service.app import build_runtime
from ranking_service.engine import ENGINE_SOURCES, ENGINE_VERSION, engine_version, source_digest
from ranking_service.models import RankImport, RankRun
from ranking_service.service.runs import RunRequest, execute_run, reproduce
from sqlmodel import select

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "ranking_service"
TODAY = datetime.now(UTC).date()


def test_the_engine_version_is_the_package_version_and_a_digest_of_the_scoring_code(tmp_path: Path) -> None:
    for rel in ("domain/scoring.py", "domain/ordering.py", "domain/inputs.py", "domain/weights.py"):
        assert rel in ENGINE_SOURCES
    assert "domain/catalog.py" in ENGINE_SOURCES and all((PACKAGE / r).is_file() for r in ENGINE_SOURCES)
    assert re.fullmatch(re.escape(__version__) + r"\+[0-9a-f]{12}", ENGINE_VERSION)
    assert ENGINE_VERSION == f"{__version__}+{source_digest()[:12]}"
    copy = tmp_path / "ranking_service"
    for rel in ENGINE_SOURCES:
        (copy / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PACKAGE / rel, copy / rel)
    assert engine_version(copy) == ENGINE_VERSION  # the same sources: the same engine
    ordering = copy / "domain" / "ordering.py"
    ordering.write_text(ordering.read_text() + "\n# a changed tie-break\n")
    assert engine_version(copy) != ENGINE_VERSION  # any change to them: another engine
    assert len(ENGINE_VERSION) <= 32  # the column that stores it


def _edition(directory: Path, days: float) -> None:
    directory.mkdir()
    doc = {
        "edition": "local-test",
        "fallback_days": 1,
        "weights": [
            {"code": "008/67", "days": days, "domains": ["domestic_abuse"]},
            {"code": "046/00", "days": 2},
        ],
    }
    (directory / "local-test.json").write_text(json.dumps(doc))


def _offences(path: Path) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["person_id", "offence_code", "offence_date", "recorded_date", "outcome"])
        for i in range(12):
            d = (TODAY - timedelta(days=10 + 7 * i)).isoformat()
            w.writerow([f"P{i % 5}", "008/67" if i % 2 else "046/00", d, d, "charged"])
    return path


def test_reproduce_fails_on_another_edition_under_the_same_name_and_on_a_changed_input_file(
    rank_tools: Any, tmp_path: Path
) -> None:
    _edition(tmp_path / "weights-a", 200)
    _edition(tmp_path / "weights-b", 201)  # the same edition name, other bytes
    url = f"sqlite:///{tmp_path}/rank.db"
    settings = rank_tools.settings_for(url, tmp_path / "data", weights_dir=str(tmp_path / "weights-a"))
    runtime = build_runtime(settings, run_consumer=False)
    rank_tools.import_into(runtime, _offences(tmp_path / "offences.csv"), "offences")
    req = RunRequest(kind="shadow", model="total_harm@1", weight_edition="local-test", as_of=TODAY)
    with runtime.unit_of_work() as uow:
        run = execute_run(uow, settings, req)
        assert isinstance(run, RankRun)
        run_id = run.id
    assert run.engine_version == ENGINE_VERSION
    with runtime.unit_of_work() as uow:
        same = reproduce(uow, settings, run_id)
    assert same["identical"] and all(same["checks"].values())

    other = settings.model_copy(update={"weights_dir": str(tmp_path / "weights-b")})
    with runtime.unit_of_work() as uow:
        rep = reproduce(uow, other, run_id)
    assert not rep["identical"] and rep["weight_edition_match"] is False
    assert rep["checks"]["weight_edition"] is False and rep["checks"]["engine_version"]
    assert rep["checks"]["entries"] is False  # 201 days, not 200: other scores

    with runtime.unit_of_work() as uow:  # the import's record now names another file
        (imp,) = uow.session.exec(select(RankImport).where(RankImport.id == json.loads(run.import_ids)[0]))
        imp.sha256 = "0" * 64
        uow.session.add(imp)
    with runtime.unit_of_work() as uow:
        rep = reproduce(uow, settings, run_id)
    assert not rep["identical"] and rep["checks"]["input_files"] is False
    assert {k for k, ok in rep["checks"].items() if not ok} == {"input_files"}
    assert rep["input_files"][0]["sha256"] != "0" * 64  # what the run recorded
