"""Harm weights: the whole published CCHI 2020 sheet, as the versioned edition the script builds."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pyarrow as pa
import pytest
from ranking_service.domain.catalog import resolve
from ranking_service.domain.inputs import prepare
from ranking_service.domain.weights import (
    DOMAIN_BITS,
    UNMAPPED_BIT,
    available_editions,
    load_edition,
    parse_edition,
)

SERVICE = Path(__file__).resolve().parents[2]
DATA = SERVICE / "data" / "cchi"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_cchi_edition", SERVICE / "scripts" / "build_cchi_edition.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_every_row_of_the_published_sheet_maps_to_its_published_score() -> None:
    ed = load_edition("cchi-2020")
    sheet = _rows("cchi-2020.csv")
    variants = {v["athena_urn"]: v["suffix"] for v in _rows("cchi-variants.csv")}
    assert len(sheet) == 698
    codes = set()
    labels: dict[str, set[str]] = {}
    mod = _script()
    for row in sheet:
        code = mod.normal_code(row["ho_code"])
        codes.add(code)
        key = f"{code}#{variants[row['athena_urn']]}" if row["athena_urn"] in variants else code
        assert ed.days(key) == float(row["cchi_days"]), (row["athena_urn"], key)
        labels.setdefault(key, set()).add(mod._label(row))
    for key, names in labels.items():  # an entry is named after one of its own rows
        assert ed.entries[key].label in names, key
    assert codes <= set(ed.entries) and len(codes) == 516  # 517 spellings: "00200" is 002/00
    assert ed.days("001/01") == 15 * 365  # murder: 15 years starting point
    assert "Cambridge Crime Harm Index 2020" in ed.source


def test_classes_with_several_scores_default_to_their_most_serious_general_completed_row() -> None:
    ed = load_edition("cchi-2020")
    expected = {  # plain code -> default (documented rule); the variants keep their own scores
        "008/01": 547.5, "005/01": 1460, "019/08": 1825, "008/06": 10, "028/03": 19, "099/99": 10,
        "067/01": 182.5, "079/05": 42, "069/05": 19, "125/12": 1, "810/90": 2,
    }  # fmt: skip
    for code, days in expected.items():
        e = ed.entries[code]
        assert e.days == days and e.default_of and ed.ambiguous(code), code
        assert all(v.startswith(code + "#") for v in e.default_of)
    assert ed.days("008/01#minor") == 19 and ed.days("008/01#serious") == 547.5
    assert ed.days("008/01#police_serious") == 912.5
    assert ed.days("019/08#multiple") == 2555 and ed.days("028/03#distraction") == 365
    assert sum(1 for e in ed.entries.values() if e.default_of) == 11
    assert not ed.ambiguous("008/67")


def test_the_packaged_edition_is_what_the_script_builds_from_the_sheet() -> None:
    mod = _script()
    packaged = (SERVICE / "src" / "ranking_service" / "data" / "weights" / "cchi-2020.json").read_text()
    assert mod.render(mod.build()) == packaged, "run services/ranking-service/scripts/build_cchi_edition.py"
    assert mod.main(["--check"]) == 0


def test_domains_come_from_the_home_office_groups() -> None:
    ed = load_edition("cchi-2020")
    doms = {c: set(e.domains) for c, e in ed.entries.items()}
    assert doms["008/67"] == {"domestic_abuse"}
    assert {"serious_sexual_offending", "child_abuse"} <= doms["019/16"]
    assert doms["034/01"] == {"robbery"} and doms["008/66"] == {"stalking"} and doms["195/94"] == {"stalking"}
    assert "serious_violence" in doms["029/00"] and "serious_violence" in doms["031/00"]
    assert "serious_violence" in doms["008/01#minor"] and "hate_crime" in doms["008/59"]
    assert {"child_abuse", "serious_sexual_offending"} <= doms["086/10"]
    assert doms["046/00"] == set()  # shoplifting: no high-harm domain
    # A plain code carries only the domains every row it may stand for shares: its default's.
    assert doms["099/99"] == set()  # mostly fraud: not the hate crime and violence of an outcomes row
    assert doms["099/99#racial_gbh"] == {"hate_crime", "serious_violence"}
    assert doms["099/99#sexual_conspiracy"] == {"serious_sexual_offending"}
    assert doms["002/00"] == {"serious_violence"}  # not child abuse: one row of three has an infant victim
    assert doms["001/02"] == {"serious_violence", "child_abuse"}  # murder of an infant: its own code
    assert doms["195/12"] == {"stalking"}  # its non-notifiable duplicate row takes nothing away
    # Breaches of orders made to prevent sexual harm are sexual offending; failures to notify are not.
    assert doms["068/07"] == doms["068/08"] == {"serious_sexual_offending"}
    assert doms["066/17"] == set()
    prefix = "default (no variant in the export): "
    for code, e in ed.entries.items():
        if e.default_of and code != "099/99":  # every other default: exactly its default row's domains
            row = [v for v in e.default_of if ed.entries[v].label == e.label.removeprefix(prefix)]
            assert len(row) == 1 and doms[code] == doms[row[0]], code
    by_group = {(r["group"], r["sub_group"]) for r in _rows("cchi-2020.csv")}
    sheet = _rows("cchi-2020.csv")
    need = {
        ("SEXUAL OFFENCES", None): "serious_sexual_offending",
        ("ROBBERY", None): "robbery",
        ("VIOLENCE AGAINST THE PERSON", "HOMICIDE"): "serious_violence",
        ("VIOLENCE AGAINST THE PERSON", "VIOLENCE WITH INJURY"): "serious_violence",
        ("VIOLENCE AGAINST THE PERSON", "STALKING AND HARASSMENT"): "stalking",
    }
    assert {g for g, _ in need} <= {g for g, _ in by_group}
    mod = _script()
    variants = {v["athena_urn"]: v["suffix"] for v in _rows("cchi-variants.csv")}
    for row in sheet:  # each row's own entry (its variant's, if its class has several scores)
        code = mod.normal_code(row["ho_code"])
        key = f"{code}#{variants[row['athena_urn']]}" if row["athena_urn"] in variants else code
        for (group, sub), domain in need.items():
            if row["group"] == group and (sub is None or row["sub_group"] == sub):
                assert domain in doms[key], (row["athena_urn"], domain)


def _offences(rows: list[tuple[str, str, int]]) -> pa.Table:
    """(person, code, day) rows, charged, no flags, no victims."""
    days = pa.array([d for _, _, d in rows], pa.int32()).cast(pa.date32())
    return pa.table(
        {
            "person_id": [p for p, _, _ in rows],
            "offence_code": [c for _, c, _ in rows],
            "offence_date": days,
            "recorded_date": days,
            "outcome": ["charged"] * len(rows),
            "domestic_abuse": [False] * len(rows),
            "hate_crime": [False] * len(rows),
            "victim_ref": [None] * len(rows),
        }
    )


def test_the_production_model_scores_robbery_stalking_and_aggravated_burglary() -> None:
    """Problem 6: the production scope takes in people whose only in-window offences are robbery,
    stalking or aggravated burglary (17% of in-window harm was left out before); shoplifting stays out."""
    from ranking_service.domain.scoring import score
    from ranking_service.settings import RankingSettings

    production = RankingSettings().production_model
    assert production == "hh_recency_harm@2"
    ed, params = load_edition("cchi-2020"), resolve(production)
    as_of = 20_000
    only = {
        "ROB": "034/01",
        "STALK": "008/66",
        "AGG-DWELLING": "029/00",
        "AGG-OTHER": "031/00",
        "SHOP": "046/00",
    }
    rows = [(p, c, as_of - 100) for p, c in only.items()] + [("ROB", "034/01", as_of - 2000)]  # 2nd: out
    prep = prepare(_offences(rows), ed, params)
    result = score(prep.arrays, as_of, params)
    got = dict(zip(prep.people, zip(result.scored.tolist(), result.score.tolist(), strict=True), strict=True))
    for person, code in only.items():
        days = ed.days(code)
        assert days is not None and days > 0, code
        if person == "SHOP":
            assert got[person] == (False, 0.0)
            continue
        assert got[person][0], (person, code)
        assert got[person][1] == pytest.approx(days * 2 ** (-100 / 365)), (person, code)
    assert not prep.unmapped  # scored under their own weights, not the fallback
    # The Surrey scope of @1 leaves out robbery and stalking; aggravated burglary is serious violence
    # in the whole edition, so @1 takes it in too.
    narrower = score(prep.arrays, as_of, resolve("hh_recency_harm@1"))
    assert {p for p, hit in zip(prep.people, narrower.scored.tolist(), strict=True) if hit} == {
        "AGG-DWELLING",
        "AGG-OTHER",
    }


def test_unmapped_codes_get_the_fallback_pass_the_filter_and_are_judged_by_their_class() -> None:
    ed = load_edition("cchi-2020")
    table = pa.table(
        {
            "person_id": ["A", "A", "B"],
            "offence_code": ["008/67", "999/99", "149/99"],
            "offence_date": pa.array([0, 1, 2], pa.int32()).cast(pa.date32()),
            "recorded_date": pa.array([0, 1, 2], pa.int32()).cast(pa.date32()),
            "outcome": ["charged"] * 3,
            "domestic_abuse": [False] * 3,
            "hate_crime": [False] * 3,
            "victim_ref": [None, None, None],
        }
    )
    prep = prepare(table, ed, resolve("total_harm@1"))
    assert prep.arrays.harm.tolist() == [84.0, ed.fallback_days, ed.fallback_days]
    assert prep.unmapped == {"999/99": 1, "149/99": 1}
    assert prep.arrays.domains.tolist() == [DOMAIN_BITS["domestic_abuse"], UNMAPPED_BIT, UNMAPPED_BIT]
    prep = prepare(table, ed, resolve("total_harm@1", {"fallback_days": 7}))
    assert prep.arrays.harm.tolist() == [84.0, 7.0, 7.0]
    scope = resolve("hh_recency_harm@2").domains
    assert ed.unmapped_risk("999/99", scope)["possible_serious_harm"]  # unknown class: cannot rule out
    assert ed.unmapped_risk("019/99", scope)["possible_serious_harm"]  # a rape class
    assert ed.unmapped_risk("008/99", scope)["possible_serious_harm"]
    minor = ed.unmapped_risk("149/99", scope)  # criminal damage under 5,000 pounds: at most 1 day
    assert not minor["possible_serious_harm"] and minor["class_max_days"] == 1.0
    assert np.isclose(ed.fallback_days, 10.0)


def test_other_weight_sets_can_be_added_as_data(tmp_path: Path) -> None:
    doc = {"edition": "local-test", "fallback_days": 2, "weights": [{"code": "008/67", "days": 200}]}
    (tmp_path / "local-test.json").write_text(json.dumps(doc))
    assert "local-test" in available_editions(str(tmp_path))
    assert load_edition("local-test", str(tmp_path)).days("008/67") == 200
    wild = parse_edition(json.dumps({"edition": "w", "weights": [{"code": "092/3x", "days": 5}]}).encode())
    assert all(wild.days(f"092/3{d}") == 5 for d in "0123456789")
    with pytest.raises(ValueError, match="twice"):
        parse_edition(json.dumps({"edition": "x", "weights": [{"code": "1", "days": 1}] * 2}).encode())
    with pytest.raises(KeyError):
        load_edition("../etc/passwd")
