"""Evaluation statistics: chi-square test of independence, monthly series, indicative costs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class ChiSquare:
    statistic: float
    dof: int
    p_value: float
    expected: list[list[float]]
    rows: list[str]
    columns: list[str]


def chi_square(table: Sequence[Sequence[float]], rows: list[str], columns: list[str]) -> ChiSquare | None:
    """Pearson's chi-square test of independence (no continuity correction).

    Rows or columns that sum to zero are dropped (their expected counts would be zero).
    None when fewer than two rows or columns remain.
    """
    keep_r = [i for i, r in enumerate(table) if sum(r) > 0]
    keep_c = [j for j in range(len(columns)) if sum(table[i][j] for i in keep_r) > 0]
    if len(keep_r) < 2 or len(keep_c) < 2:
        return None
    obs = [[float(table[i][j]) for j in keep_c] for i in keep_r]
    row_t = [sum(r) for r in obs]
    col_t = [sum(obs[i][j] for i in range(len(obs))) for j in range(len(keep_c))]
    n = sum(row_t)
    expected = [[row_t[i] * col_t[j] / n for j in range(len(col_t))] for i in range(len(row_t))]
    stat = sum(
        (obs[i][j] - expected[i][j]) ** 2 / expected[i][j] for i in range(len(obs)) for j in range(len(col_t))
    )
    dof = (len(obs) - 1) * (len(col_t) - 1)
    # Imported here, not with the module: scipy.stats takes 1.4 s to import (more without bytecode),
    # and every case-service process (its consumer too) imports this module through its routes, while
    # only the evaluation report asks for a p-value.
    from scipy.stats import chi2

    return ChiSquare(
        statistic=stat,
        dof=dof,
        p_value=float(chi2.sf(stat, dof)),
        expected=expected,
        rows=[rows[i] for i in keep_r],
        columns=[columns[j] for j in keep_c],
    )


def month_starts(start: date, end: date) -> list[date]:
    out = []
    d = date(start.year, start.month, 1)
    while d <= end:
        out.append(d)
        d = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return out


def month_end(d: date) -> date:
    nxt = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return date.fromordinal(nxt.toordinal() - 1)


def managed_by_month(
    spans: list[tuple[str, date, date | None]], start: date, end: date
) -> list[dict[str, object]]:
    """Cases managed per month by cohort; a span (cohort, adopted, exited) counts in months it overlaps."""
    cohorts = sorted({c for c, _, _ in spans})
    out: list[dict[str, object]] = []
    for m in month_starts(start, end):
        last = month_end(m)
        counts = dict.fromkeys(cohorts, 0)
        for cohort, adopted, exited in spans:
            if adopted <= last and (exited is None or exited >= m):
                counts[cohort] += 1
        out.append({"month": m.strftime("%Y-%m"), "by_cohort": counts, "total": sum(counts.values())})
    return out


def indicative_costs(
    managers: int, trained: int, mosovo_cost: float, di_cost_per_year: float, months: float = 12.0
) -> dict[str, float]:
    """Indicative costs: MOSOVO training (spent and to train the rest) and a supervising DI."""
    return {
        "mosovo_cost_per_person": mosovo_cost,
        "mosovo_training_spent": round(trained * mosovo_cost, 2),
        "mosovo_training_to_complete_team": round((managers - trained) * mosovo_cost, 2),
        "supervising_di_per_year": di_cost_per_year,
        "supervising_di_for_period": round(di_cost_per_year * months / 12.0, 2),
        "period_months": months,
    }
