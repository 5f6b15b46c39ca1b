"""Validity on constructed data: fairness against chance, intervals and baselines against scipy,
calibration, the history summary, and an RFG whose top bracket is not decided by ties."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from ranking_service.domain.catalog import resolve
from ranking_service.domain.evaluation import calibration, evaluate_many
from ranking_service.domain.fairness import fairness_view, holm, outcome_view
from ranking_service.domain.history import summarise, trend
from ranking_service.domain.intervals import clopper_pearson, mean_interval
from ranking_service.domain.scoring import OffenceArrays, rank_order, score
from ranking_service.synthetic import EPOCH, generate_arrays
from scipy import stats


def _population(seed: int, n: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    risk = rng.gamma(1.0, 1.0, n)
    return rng, risk


def _labels(rng: np.random.Generator, n: int) -> dict[str, list[str]]:
    sex = rng.choice(["M", "F"], size=n, p=[0.8, 0.2])
    eth = rng.choice(
        ["White", "Asian", "Black", "Mixed", "Other", "Tiny"], size=n, p=[0.78, 0.1, 0.06, 0.03, 0.025, 0.005]
    )
    age = rng.choice(["18-24", "25-34", "35-44", "45-54", "55+"], size=n)
    return {"sex": sex.tolist(), "ethnicity": eth.tolist(), "age_band": age.tolist()}


def test_independent_demographics_flag_no_group() -> None:
    """Demographics drawn independently of the score: a group is flagged only by chance, at the
    family-wise 5% level (Holm over all groups), so about one dataset in twenty flags anything."""
    flagged_sets = 0
    for seed in range(1, 21):
        rng, risk = _population(seed)
        in_top = np.zeros(len(risk), dtype=bool)
        in_top[np.argsort(-risk)[:200]] = True
        view = fairness_view(_labels(rng, len(risk)), in_top)
        flagged_sets += bool(view["flagged_groups"])
        tiny = next(r for r in view["dimensions"]["ethnicity"] if r["group"] == "Tiny")
        assert tiny["too_small"] and "Too few people" in tiny["statement"]
        for r in (r for rows in view["dimensions"].values() for r in rows if not r["too_small"]):
            assert r["ratio_ci95"][0] <= r["representation_ratio"] <= r["ratio_ci95"][1]
            assert r["flagged"] or r["chance_ratio_range"][0] <= 1.0 <= r["chance_ratio_range"][1]
    assert flagged_sets <= 2
    rng, risk = _population(1)
    in_top = np.zeros(len(risk), dtype=bool)
    in_top[np.argsort(-risk)[:200]] = True
    assert fairness_view(_labels(rng, len(risk)), in_top)["flagged_groups"] == []


def test_a_planted_bias_is_flagged() -> None:
    rng, risk = _population(11)
    labels = _labels(rng, len(risk))
    black = np.array(labels["ethnicity"]) == "Black"
    biased = risk * np.where(black, 2.5, 1.0)  # the same risk, scored higher for one group
    in_top = np.zeros(len(risk), dtype=bool)
    in_top[np.argsort(-biased)[:200]] = True
    view = fairness_view(labels, in_top)
    assert {"dimension": "ethnicity", "group": "Black"} in view["flagged_groups"]
    row = next(r for r in view["dimensions"]["ethnicity"] if r["group"] == "Black")
    assert (
        row["representation_ratio"] > row["chance_ratio_range"][1] and "more than chance" in row["statement"]
    )
    assert row["ratio_ci95"][0] > 1.0


def test_chance_range_is_the_permutation_distribution_and_p_values_match_scipy() -> None:
    rng, risk = _population(21, 1000)
    labels = {"g": rng.choice(["a", "b"], size=1000, p=[0.3, 0.7]).tolist()}
    in_top = np.zeros(1000, dtype=bool)
    in_top[np.argsort(-risk)[:100]] = True
    row = next(r for r in fairness_view(labels, in_top)["dimensions"]["g"] if r["group"] == "a")
    is_a = np.array(labels["g"]) == "a"
    sims = np.array([is_a[rng.permutation(1000)[:100]].sum() for _ in range(4000)])  # shuffle the top places
    share = is_a.mean()
    lo, hi = np.quantile(sims, [0.025, 0.975]) / 100 / share
    assert row["chance_ratio_range"][0] == pytest.approx(lo, abs=0.06)
    assert row["chance_ratio_range"][1] == pytest.approx(hi, abs=0.06)
    table = [
        [row["top"], 100 - row["top"]],
        [int(is_a.sum()) - row["top"], int((~is_a).sum()) - 100 + row["top"]],
    ]
    assert row["p_value"] == pytest.approx(stats.fisher_exact(table).pvalue, rel=1e-6)
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])


def test_outcome_view_gives_precision_and_harm_capture_per_group() -> None:
    in_top = np.array([True, True, False, False, True, False])
    later_count = np.array([1, 0, 1, 0, 1, 1])
    later_harm = np.array([10.0, 0, 5, 0, 20, 5])
    out = outcome_view({"sex": ["M", "M", "M", "F", "F", "F"]}, in_top, later_count, later_harm, min_group=2)
    m = next(r for r in out["sex"] if r["group"] == "M")
    f = next(r for r in out["sex"] if r["group"] == "F")
    assert m["top_precision"] == 0.5 and m["harm_capture"] == pytest.approx(10 / 15)
    assert f["top_precision"] == 1.0 and f["harm_capture"] == pytest.approx(20 / 25)
    assert m["later_offender_share"] == pytest.approx(2 / 4) and f["later_harm_share"] == pytest.approx(
        25 / 40
    )
    assert m["top_precision_ci95"] == pytest.approx(list(clopper_pearson(1, 2)))


def test_intervals_and_baselines_match_scipy() -> None:
    rng = np.random.default_rng(3)
    n = 600
    model = np.round(rng.gamma(1.0, 50.0, n), 1)
    later_count = rng.poisson(0.2 + model / 100.0)
    later_harm = later_count * rng.choice([1.0, 10.0, 84.0, 547.5], size=n)
    positive = later_harm >= 84
    prior = rng.poisson(1 + model / 50).astype(float)
    top = np.zeros(n, dtype=bool)
    top[np.argsort(-model)[:60]] = True
    top_prior = np.zeros(n, dtype=bool)
    top_prior[np.argsort(-prior, kind="stable")[:60]] = True
    res = evaluate_many(
        {"model": (model, top), "prior": (prior, top_prior)},
        later_count,
        later_harm,
        positive,
        n_boot=300,
        seed=4,
    )
    for name, s in (("model", model), ("prior", prior)):
        r = res[name]
        ref = stats.spearmanr(s, later_harm)
        assert r["spearman_harm"]["rho"] == pytest.approx(ref.statistic, abs=1e-12)
        u = stats.mannwhitneyu(s[positive], s[~positive]).statistic
        assert r["auc_high_harm"] == pytest.approx(u / (positive.sum() * (~positive).sum()), abs=1e-12)
        hits = int((later_count[r_top(name, top, top_prior)] > 0).sum())
        ci = stats.binomtest(hits, 60).proportion_ci(confidence_level=0.95, method="exact")
        assert r["top_precision_ci95"] == pytest.approx([ci.low, ci.high], abs=1e-9)
        lo, hi = r["top_share_ci95"]
        assert lo <= r["top_share_of_later_harm"] <= hi
        assert r["auc_ci95"][0] <= r["auc_high_harm"] <= r["auc_ci95"][1]
        assert r["bootstrap"]["replicates"] == 300
    vs = res["prior"]["versus_model"]["top_share_of_later_harm"]
    assert vs["difference"] == pytest.approx(
        res["model"]["top_share_of_later_harm"] - res["prior"]["top_share_of_later_harm"]
    )
    assert vs["ci95"][0] <= vs["difference"] <= vs["ci95"][1]
    again = evaluate_many({"model": (model, top)}, later_count, later_harm, positive, n_boot=300, seed=4)
    assert again["model"]["top_share_ci95"] == res["model"]["top_share_ci95"]  # seeded and shared
    # Each ranking's interval is scipy's percentile bootstrap on the same resamples of people (one
    # generator seeded as the back-test's; scipy draws the same index matrix).
    for name in ("model", "prior"):
        ref = stats.bootstrap(
            (later_harm, r_top(name, top, top_prior)),
            _harm_share,
            paired=True,
            vectorized=True,
            n_resamples=300,
            method="percentile",
            rng=np.random.default_rng(4),
        ).confidence_interval
        assert res[name]["top_share_ci95"] == pytest.approx([ref.low, ref.high], abs=1e-12)


def _harm_share(harm: np.ndarray, in_top: np.ndarray, axis: int = -1) -> np.ndarray:
    """The top bracket's share of later harm (per resample along `axis`)."""
    return np.asarray((harm * in_top).sum(axis=axis) / harm.sum(axis=axis))


def test_outcome_view_harm_capture_interval_is_scipys_percentile_bootstrap_per_group() -> None:
    rng = np.random.default_rng(11)
    n = 300
    sex = rng.choice(["F", "M"], size=n, p=[0.3, 0.7])
    later_count = rng.poisson(1.5, n)
    later_harm = later_count * rng.choice([1.0, 10.0, 84.0], size=n)
    in_top = rng.random(n) < 0.2
    out = outcome_view({"sex": sex.tolist()}, in_top, later_count, later_harm, n_boot=400, seed=6)
    gen = np.random.default_rng(6)  # the view's one generator, drawn group after group (sorted)
    for row in out["sex"]:
        sel = sex == row["group"]
        ref = stats.bootstrap(
            (later_harm[sel], in_top[sel]),
            _harm_share,
            paired=True,
            vectorized=True,
            n_resamples=400,
            method="percentile",
            rng=gen,
        ).confidence_interval
        assert row["harm_capture_ci95"] == pytest.approx([ref.low, ref.high], abs=1e-12), row["group"]
        assert ref.low < row["harm_capture"] < ref.high
    assert [r["group"] for r in out["sex"]] == ["F", "M"]


def r_top(name: str, top: np.ndarray, top_prior: np.ndarray) -> np.ndarray:
    return top if name == "model" else top_prior


def test_calibration_bands_keep_ties_together_and_bracket_the_mean() -> None:
    score = np.repeat(np.arange(20, dtype=float), 10)
    harm = score * 2 + np.tile(np.arange(10, dtype=float), 20)
    rows = calibration(score, (harm > 10).astype(int), harm, bands=5, n_boot=200, seed=1)
    assert sum(r["people"] for r in rows) == 200 and len(rows) == 5
    assert [r["score_max"] for r in rows] == sorted((r["score_max"] for r in rows), reverse=True)
    for r in rows:
        assert r["people"] % 10 == 0  # tied scores never split between bands
        lo, hi = r["mean_later_harm_ci95"]
        assert lo <= r["mean_later_harm"] <= hi
    assert rows[0]["mean_later_harm"] > rows[-1]["mean_later_harm"]


def test_history_summary_trend_and_mean_match_scipy() -> None:
    days = [date(2025, 1, 6).toordinal() + 14 * i for i in range(6)]
    values = [0.10, 0.12, 0.15, 0.16, 0.19, 0.22]
    t = trend(days, values)
    fit = stats.linregress(np.array(days) / 365.0, values)
    assert t["slope_per_year"] == pytest.approx(fit.slope) and t["statement"] == "rising"
    m = mean_interval(values)
    ref = stats.t.interval(0.95, 5, loc=np.mean(values), scale=stats.sem(values))
    assert m["ci95"] == pytest.approx(list(ref))
    points = [
        {
            "run_id": f"r{i}",
            "as_of": date.fromordinal(d).isoformat(),
            "provisional": False,
            "top_jaccard_vs_previous": None if i == 0 else 0.5,
            "top_churn_vs_previous": None if i == 0 else 0.5,
            "evaluation": {
                "follow_up_complete": i < 5,
                "spearman_harm": {"rho": v, "ci95": [v - 0.05, v + 0.05]},
                "top_share_of_later_harm": v,
                "top_share_ci95": [v - 0.02, v + 0.02],
                "auc_high_harm": 0.6,
                "auc_ci95": [0.55, 0.65],
                "top_precision_any_later_offence": 0.4,
                "top_precision_ci95": [0.3, 0.5],
                "versus_prior_offence_count": {"difference": 0.01, "ci95": [-0.01, 0.03]},
            },
        }
        for i, (d, v) in enumerate(zip(days, values, strict=True))
    ]
    s = summarise(points)
    assert s["runs"] == 6 and s["evaluated_runs"] == 5
    sp = s["figures"]["spearman_harm"]
    assert len(sp["per_run"]) == 5 and sp["per_run"][0]["ci95"] == pytest.approx([0.05, 0.15])
    assert sp["across_runs"]["mean"] == pytest.approx(np.mean(values[:5]))
    assert s["figures"]["top_jaccard_vs_previous"]["across_runs"]["n"] == 5
    assert summarise(points[:2])["figures"]["spearman_harm"]["trend"]["statement"].startswith("too few runs")


def _arrays(n_people: int = 15_000, n_offences: int = 120_000) -> OffenceArrays:
    from ranking_service.domain.weights import load_edition
    from ranking_service.synthetic import CODES

    a = generate_arrays(n_people, n_offences, seed=9)
    days, masks, _ = load_edition("cchi-2020").lookup(list(CODES))
    return OffenceArrays(
        person=a.person,
        n_people=a.n_people,
        day=a.day,
        recorded=a.recorded,
        harm=days[a.code],
        domains=masks[a.code],
        victim=a.victim,
    )


def test_continuous_rfg_tells_people_apart_and_its_top_bracket_is_not_decided_by_ties() -> None:
    off = _arrays()
    as_of = (date(2025, 1, 1) - EPOCH).days
    key = np.arange(off.n_people)
    for ref, k in (("rfg@2", 50), ("rfgv@2", 50), ("rfgv@2", 500)):
        res = score(off, as_of, resolve(ref))
        order = rank_order(res.score, res.scored, res.components["harm"], key)
        s = res.score[order]
        assert len(np.unique(s)) > 0.5 * len(s), ref  # banded rfg@1 gives a few dozen values
        assert s[k - 1] > s[k], (ref, k)  # the k-th and the (k+1)-th differ: no tie decides the bracket
        assert (s[:k] == s[k - 1]).sum() == 1
    banded = score(off, as_of, resolve("rfgv@1"))
    assert len(np.unique(banded.score[banded.scored])) < 60
