"""The synthetic force: deterministic, power-few harm, weakly predictive later period."""

from __future__ import annotations

from datetime import date

import numpy as np
from ranking_service.domain.weights import load_edition
from ranking_service.synthetic import CODES, generate, generate_arrays, to_day
from scipy import stats


def test_same_seed_same_force() -> None:
    a = generate(300, 2000, seed=9, include_scenario_people=True)
    b = generate(300, 2000, seed=9, include_scenario_people=True)
    c = generate(300, 2000, seed=10)
    assert a.people.equals(b.people) and a.offences.equals(b.offences)
    assert not a.offences.equals(c.offences)
    dean = [p for p in a.people.to_pylist() if p["records_id"] == "P-DEAN-MARSH"]
    assert dean and dean[0]["middle_names"] == "John" and dean[0]["date_of_birth"] == date(1991, 3, 14)
    assert "P-DEAN-MARSH" not in c.people["records_id"].to_pylist()


def test_harm_concentrates_in_a_few_and_the_past_predicts_weakly() -> None:
    arr = generate_arrays(20_000, 200_000, seed=4)
    ed = load_edition("cchi-2020")
    days = np.array([ed.days(c) or 1.0 for c in CODES])
    harm = days[arr.code]
    split = to_day(date(2025, 1, 1))
    past = arr.day < split
    h_past = np.bincount(arr.person[past], weights=harm[past], minlength=arr.n_people)
    h_later = np.bincount(arr.person[~past], weights=harm[~past], minlength=arr.n_people)
    offenders = np.sort(h_past[h_past > 0])[::-1]
    top7 = offenders[: int(0.07 * len(offenders))].sum() / offenders.sum()
    assert top7 > 0.6  # "7% of offenders caused 80% of harm" (Northamptonshire), roughly
    rho = stats.spearmanr(h_past, h_later).statistic
    assert 0.02 < rho < 0.5  # weak but positive
    assert (arr.recorded >= arr.day).all()
