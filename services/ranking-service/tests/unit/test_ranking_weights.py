"""Harm weights: the published CCHI 2020 values (handbook domain.md), as versioned data."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from ranking_service.domain.catalog import resolve
from ranking_service.domain.inputs import prepare
from ranking_service.domain.weights import available_editions, load_edition, parse_edition

PUBLISHED = {
    "001/01": 5475, "002/00": 3285, "004/01": 730, "019/08": 1825, "019/08#multiple": 2555, "019/10": 1825,
    "019/16": 2920, "019/17": 2920, "020/03": 730, "020/05": 19, "017/15": 19, "020/06": 182,
    "005/01": 1460, "008/01#serious": 547.5, "008/01": 19, "008/06": 10, "105/01": 1, "003/01": 10,
    "008/67": 84, "008/66": 252, "008/65": 84, "195/94": 10, "008/30": 5, "008/31": 5, "066/39": 5,
    "036/01": 1460, "036/03": 1460, "008/52": 1460, "035/00": 365, "034/01": 365, "028/03": 19,
    "028/03#distraction": 365, "029/00": 730, "031/00": 730, "030/02": 10, "056/01": 365, "056/02": 5,
    "149/00": 1, "058/00": 2, "057/00": 365, "092/35": 547.5, "092/71": 547.5, "092/41": 5, "092/50": 3,
    "092/61": 2, "092/66": 1, "008/11": 5, "008/26": 5, "008/64": 182.5, "005/14": 1825, "039/00": 2,
    "046/00": 1, "048/01": 10, "066/01": 10, "065/00": 182, "125/09": 3, "125/12": 1, "086/10": 19,
    "086/02": 547.5,
}  # fmt: skip


def test_cchi_2020_matches_the_published_table() -> None:
    ed = load_edition("cchi-2020")
    for code, days in PUBLISHED.items():
        assert ed.days(code) == days, code
    assert ed.days("001/01") == 15 * 365  # murder: 15 years starting point


def test_domains_and_wildcards() -> None:
    ed = load_edition("cchi-2020")
    assert ed.entries["008/67"].domains == ("domestic_abuse",)
    assert "serious_sexual_offending" in ed.entries["019/16"].domains
    assert all(ed.days(f"092/3{d}") == 547.5 for d in "0123456789")
    assert ed.days("092/40") is None


def test_unmapped_codes_get_the_fallback_and_are_reported() -> None:
    ed = load_edition("cchi-2020")
    table = pa.table(
        {
            "person_id": ["A", "A", "B"],
            "offence_code": ["008/67", "999/99", "999/99"],
            "offence_date": pa.array([0, 1, 2], pa.int32()).cast(pa.date32()),
            "recorded_date": pa.array([0, 1, 2], pa.int32()).cast(pa.date32()),
            "outcome": ["charged"] * 3,
            "domestic_abuse": [False] * 3,
            "hate_crime": [False] * 3,
            "victim_ref": [None, None, None],
        }
    )
    prep = prepare(table, ed, resolve("total_harm@1"))
    assert prep.arrays.harm.tolist() == [84.0, 1.0, 1.0]
    assert prep.unmapped == {"999/99": 2}
    prep = prepare(table, ed, resolve("total_harm@1", {"fallback_days": 7}))
    assert prep.arrays.harm.tolist() == [84.0, 7.0, 7.0]


def test_other_weight_sets_can_be_added_as_data(tmp_path: Path) -> None:
    doc = {"edition": "local-test", "fallback_days": 2, "weights": [{"code": "008/67", "days": 200}]}
    (tmp_path / "local-test.json").write_text(json.dumps(doc))
    assert "local-test" in available_editions(str(tmp_path))
    assert load_edition("local-test", str(tmp_path)).days("008/67") == 200
    with pytest.raises(ValueError, match="twice"):
        parse_edition(json.dumps({"edition": "x", "weights": [{"code": "1", "days": 1}] * 2}).encode())
    with pytest.raises(KeyError):
        load_edition("../etc/passwd")
