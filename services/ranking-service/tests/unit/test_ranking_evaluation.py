"""Back-test figures equal scipy's; comparisons and fairness on constructed cases."""

from __future__ import annotations

import itertools
from datetime import date

import numpy as np
import pytest
from ranking_service.domain.compare import compare_runs, jaccard
from ranking_service.domain.evaluation import auc, bootstrap_spearman_ci, deciles, evaluate, spearman
from ranking_service.domain.fairness import age_band, fairness_view
from scipy import stats


def data(n: int = 400, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    score = np.round(rng.gamma(1.0, 50.0, n), 1)  # rounded: ties on purpose
    later_count = rng.poisson(0.2 + score / 100.0)
    later_harm = later_count * rng.choice([1.0, 10.0, 84.0, 547.5], size=n)
    return score, later_count, later_harm


def test_spearman_equals_scipy() -> None:
    score, count, harm = data()
    for y in (count.astype(float), harm):
        rho, p = spearman(score, y)
        ref = stats.spearmanr(score, y)
        assert rho == pytest.approx(ref.statistic, abs=1e-12)
        assert p == pytest.approx(ref.pvalue, rel=1e-9)


def test_auc_equals_mann_whitney_u_over_n1_n0_and_pairwise_count() -> None:
    score, count, harm = data()
    positive = harm >= 84
    n1, n0 = int(positive.sum()), int((~positive).sum())
    u = stats.mannwhitneyu(score[positive], score[~positive]).statistic
    assert auc(score, positive) == pytest.approx(u / (n1 * n0), abs=1e-12)
    small_s, small_p = score[:60], positive[:60]
    pairs = [
        1.0 if a > b else 0.5 if a == b else 0.0
        for a, b in itertools.product(small_s[small_p], small_s[~small_p])
    ]
    assert auc(small_s, small_p) == pytest.approx(sum(pairs) / len(pairs), abs=1e-12)
    assert auc(np.array([3.0, 2.0, 1.0]), np.array([True, False, False])) == 1.0


def test_bootstrap_interval_is_seeded_and_brackets_rho() -> None:
    score, _, harm = data()
    a = bootstrap_spearman_ci(score, harm, n_boot=300, seed=11)
    b = bootstrap_spearman_ci(score, harm, n_boot=300, seed=11)
    c = bootstrap_spearman_ci(score, harm, n_boot=300, seed=12)
    assert a == b and a != c
    rho, _ = spearman(score, harm)
    assert a[0] < rho < a[1]
    # same statistic as scipy's percentile bootstrap would resample: check one replicate by hand
    rng = np.random.default_rng(11)
    idx = rng.integers(0, len(score), size=(300, len(score)))[0]
    assert spearman(score[idx], harm[idx])[0] == pytest.approx(
        stats.spearmanr(score[idx], harm[idx]).statistic
    )


def test_evaluate_top_share_and_deciles() -> None:
    score = np.array([9.0, 8, 7, 6, 5, 4, 3, 2, 1, 0])
    later_harm = np.array([50.0, 0, 30, 0, 0, 10, 0, 0, 10, 0])
    count = (later_harm > 0).astype(int)
    in_top = np.arange(10) < 2
    out = evaluate(score, np.arange(10), in_top, count, later_harm, later_harm >= 30, n_boot=200, seed=1)
    assert out["top_share_of_later_harm"] == pytest.approx(0.5)
    assert out["top_precision_any_later_offence"] == pytest.approx(0.5)
    assert sum(d["harm_share"] for d in out["deciles"]) == pytest.approx(1.0)
    assert out["deciles"][0]["lift"] == pytest.approx(5.0)  # 50% of harm in 10% of people
    assert out["auc_high_harm"] == pytest.approx(auc(score, later_harm >= 30))
    assert len(deciles(np.arange(25), np.ones(25), np.ones(25))) == 10


def test_compare_constructed_case() -> None:
    before = {"A": 1, "B": 2, "C": 3, "D": 4, "E": 5, "F": 6}
    after = {"B": 1, "A": 2, "F": 3, "C": 4, "G": 5, "E": 6}
    out = compare_runs(before, after, {"A", "B", "C"}, {"B", "A", "F"}, big_mover_places=3)
    assert [e["person_ref"] for e in out["entrants"]] == ["F"]
    assert [e["person_ref"] for e in out["leavers"]] == ["C"]
    assert out["big_movers"] == [{"person_ref": "F", "rank_before": 6, "rank_after": 3, "change": 3}]
    assert out["top_jaccard"] == pytest.approx(2 / 4)
    common = ["A", "B", "C", "E", "F"]
    tau = stats.kendalltau([before[p] for p in common], [after[p] for p in common]).statistic
    assert out["kendall_tau"] == pytest.approx(tau)
    assert out["people_in_both"] == 5
    assert jaccard(set(), set()) == 1.0


def test_identical_runs_are_perfectly_stable() -> None:
    r = {f"P{i}": i + 1 for i in range(20)}
    top = {f"P{i}" for i in range(5)}
    out = compare_runs(r, r, top, top)
    assert out["kendall_tau"] == pytest.approx(1.0)
    assert out["top_jaccard"] == 1.0 and not out["entrants"] and not out["big_movers"]


def test_fairness_view_and_age_bands() -> None:
    in_top = np.array([True, True, False, False, False, False])
    view = fairness_view({"sex": ["M", "M", "M", "F", "F", "M"]}, in_top)
    rows = {r["group"]: r for r in view["dimensions"]["sex"]}
    assert rows["M"]["population"] == 4 and rows["M"]["top"] == 2
    assert rows["M"]["representation_ratio"] == pytest.approx(1.0 / (4 / 6))
    assert rows["F"]["top_share"] == 0.0
    assert age_band(date(1991, 3, 14), date(2026, 3, 13)) == "25-34"  # 34 the day before the birthday
    assert age_band(date(1991, 3, 14), date(2026, 3, 14)) == "35-44"
    assert age_band(None, date(2026, 1, 1), "18-24") == "18-24"
    assert age_band(None, date(2026, 1, 1)) == "unknown"


def test_vectorised_age_bands_equal_the_scalar_rule() -> None:
    import pyarrow as pa
    from ranking_service.domain.fairness import age_bands

    as_of = date(2026, 3, 14)
    dobs = [
        date(1991, 3, 14),
        date(1991, 3, 15),
        date(2009, 1, 1),
        date(2008, 3, 14),
        None,
        date(1960, 12, 31),
        None,
    ]
    recorded = ["unknown", "unknown", "unknown", "unknown", "18-24", "unknown", "unknown"]
    got = age_bands(pa.array(dobs, pa.date32()), as_of, recorded)
    assert got == [
        age_band(d, as_of, r if r != "unknown" else None) for d, r in zip(dobs, recorded, strict=True)
    ]
    assert got[:4] == ["35-44", "25-34", "under 18", "18-24"]
