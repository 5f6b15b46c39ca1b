"""A run's data-quality report: offences scored by a class default (per code), an unmapped share above
the limit, and offence codes the import normalised or still rejected (per code, judged by class)."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hhpu_shared.runtime import ServiceRuntime
from ranking_service.app import build_runtime
from ranking_service.service.compute import Computation
from ranking_service.service.runs import DryRun, RunRequest, execute_run
from ranking_service.settings import RankingSettings

TODAY = datetime.now(UTC).date()


def _offences(path: Path, rows: list[tuple[str, str, int]]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["person_id", "offence_code", "offence_date", "recorded_date", "outcome"])
        for person, code, ago in rows:
            d = (TODAY - timedelta(days=ago)).isoformat()
            w.writerow([person, code, d, d, "charged"])
    return path


def _service(rank_tools: Any, tmp_path: Path, **settings: Any) -> tuple[ServiceRuntime, RankingSettings]:
    s = rank_tools.settings_for(f"sqlite:///{tmp_path}/rank.db", tmp_path / "data", **settings)
    return build_runtime(s, run_consumer=False), s


def _dry(runtime: ServiceRuntime, settings: RankingSettings, model: str | None = None) -> Computation:
    with runtime.unit_of_work() as uow:
        out = execute_run(uow, settings, RunRequest(kind="dry", model=model, as_of=TODAY))
    assert isinstance(out, DryRun)
    return out.computation


def test_offences_scored_by_a_class_default_are_counted_per_code(rank_tools: Any, tmp_path: Path) -> None:
    runtime, settings = _service(rank_tools, tmp_path)
    rows = [(f"P{i}", "008/01", 10 + i) for i in range(7)]  # s20 GBH without its variant: the default
    rows += [("Q", "008/01#minor", 5), ("Q", "008/67", 6), ("R", "029/00", 8)]
    rank_tools.import_into(runtime, _offences(tmp_path / "o.csv", rows))
    comp = _dry(runtime, settings)  # the production model
    assert comp.data_quality["default_variant_codes"] == {
        "008/01": {"rows": 7, "default_days": 547.5, "variant_days": [19.0, 912.5]}
    }
    assert comp.provisional_reasons == []


def test_an_unmapped_share_above_the_limit_makes_the_run_provisional(rank_tools: Any, tmp_path: Path) -> None:
    # 149/99: a criminal damage class (at most 1 day) the edition has no such code of: no serious harm
    rows = [(f"P{i}", "008/67", 10 + i) for i in range(20)] + [("U", "149/99", 3)]  # 1 row in 21
    runtime, settings = _service(rank_tools, tmp_path, max_unmapped_share=0.02)
    rank_tools.import_into(runtime, _offences(tmp_path / "o.csv", rows))
    comp = _dry(runtime, settings)
    assert comp.data_quality["unmapped_codes"] == {"149/99": 1}
    assert comp.data_quality["unmapped_codes_possible_serious_harm"] == []
    assert comp.provisional_reasons == ["unmapped_codes"]  # 1/21 = 4.8% > 2%
    lenient = settings.model_copy(update={"max_unmapped_share": 0.05})
    assert _dry(runtime, lenient).provisional_reasons == []  # 4.8% <= 5%


def test_codes_are_normalised_on_import_and_codes_still_rejected_are_reported_per_code(
    rank_tools: Any, tmp_path: Path
) -> None:
    runtime, settings = _service(rank_tools, tmp_path)
    rows = [(f"P{i}", "008/67", 10 + i) for i in range(200)]
    rows += [
        ("SHEET", "00801", 4),  # the sheet's own spelling: 008/01 (its class default, 547.5 days)
        ("UPPER", "008/01#Serious", 5),  # an upper-case variant: 008/01#serious
        ("ROBBER", "03401", 6),  # robbery, spelt without the slash
        ("SHOP", "046/00#Shop lifting", 7),  # not a code; its class (shoplifting) hides no serious harm
    ]
    report = rank_tools.import_into(runtime, _offences(tmp_path / "o.csv", rows))
    assert report.rows_rejected == 1 and report.rejected_codes == {"046/00#Shop lifting": 1}
    comp = _dry(runtime, settings)
    scored = dict(zip(comp.people, comp.harm.tolist(), strict=True))
    assert scored["SHEET"] == 547.5 and scored["UPPER"] == 547.5 and scored["ROBBER"] > 0
    assert "SHOP" not in scored
    quality = comp.data_quality
    assert quality["default_variant_codes"]["008/01"]["rows"] == 1  # only SHEET's: UPPER named its row
    assert quality["unmapped_codes"] == {}
    shop = quality["rejected_codes"]["046/00#Shop lifting"]
    assert shop["rows"] == 1 and shop["main_class"] == "046" and not shop["possible_serious_harm"]
    assert quality["rejected_codes_possible_serious_harm"] == []
    assert "rejected_codes_possible_serious_harm" not in comp.provisional_reasons

    # A code whose class cannot be read (or may hide serious harm) makes the run provisional.
    more = [("P0", "008/67", 3), ("X", "8/67", 2), ("Y", "019/16 (child)", 2), ("Z", "019/16 (child)", 1)]
    report = rank_tools.import_into(runtime, _offences(tmp_path / "more.csv", more))
    assert report.rejected_codes == {"019/16 (child)": 2, "8/67": 1}
    comp = _dry(runtime, settings)
    bad = comp.data_quality["rejected_codes"]
    assert bad["8/67"]["known_class"] is False and bad["019/16 (child)"]["possible_serious_harm"]
    assert bad["019/16 (child)"]["rows"] == 2
    assert comp.data_quality["rejected_codes_possible_serious_harm"] == ["019/16 (child)", "8/67"]
    assert "rejected_codes_possible_serious_harm" in comp.provisional_reasons
