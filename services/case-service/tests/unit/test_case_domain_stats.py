"""Chi-square equals scipy's on the same counts; monthly series; indicative costs."""

from __future__ import annotations

from datetime import date

import pytest
from case_service.domain import stats
from scipy.stats import chi2_contingency

TABLES = [
    [[30, 4, 6], [12, 0, 3], [40, 3, 12]],
    [[10, 20], [30, 5]],
    [[5, 1, 2], [7, 9, 1], [2, 3, 8]],
]


@pytest.mark.parametrize("table", TABLES)
def test_case_chi_square_equals_scipy(table: list[list[int]]) -> None:
    ours = stats.chi_square(
        table, [f"r{i}" for i in range(len(table))], [f"c{j}" for j in range(len(table[0]))]
    )
    assert ours is not None
    ref = chi2_contingency(table, correction=False)
    assert ours.statistic == pytest.approx(float(ref.statistic), rel=1e-12)
    assert ours.p_value == pytest.approx(float(ref.pvalue), rel=1e-9)
    assert ours.dof == ref.dof
    flat = [x for row in ref.expected_freq.tolist() for x in row]
    assert [x for row in ours.expected for x in row] == pytest.approx(flat, rel=1e-12)


def test_case_chi_square_drops_empty_rows_and_columns() -> None:
    table = [[10, 0, 5], [0, 0, 0], [4, 0, 9]]
    ours = stats.chi_square(table, ["IOM", "ViSOR", "HHPU"], ["d", "r", "b"])
    assert ours is not None
    assert ours.rows == ["IOM", "HHPU"] and ours.columns == ["d", "b"]
    ref = chi2_contingency([[10, 5], [4, 9]], correction=False)
    assert ours.statistic == pytest.approx(float(ref.statistic))
    assert stats.chi_square([[1, 2]], ["a"], ["x", "y"]) is None


def test_case_managed_by_month_counts_overlaps() -> None:
    spans = [
        ("hhpu", date(2026, 1, 15), None),
        ("visor", date(2026, 2, 1), date(2026, 3, 10)),
        ("hhpu", date(2026, 3, 31), date(2026, 4, 2)),
    ]
    rows = stats.managed_by_month(spans, date(2026, 1, 1), date(2026, 5, 31))
    assert [r["month"] for r in rows] == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05"]
    assert [r["total"] for r in rows] == [1, 2, 3, 2, 1]
    assert rows[2]["by_cohort"] == {"hhpu": 2, "visor": 1}


def test_case_indicative_costs() -> None:
    c = stats.indicative_costs(managers=8, trained=5, mosovo_cost=471.25, di_cost_per_year=73433, months=6)
    assert c["mosovo_training_spent"] == 2356.25
    assert c["mosovo_training_to_complete_team"] == 1413.75
    assert c["supervising_di_for_period"] == 36716.5
