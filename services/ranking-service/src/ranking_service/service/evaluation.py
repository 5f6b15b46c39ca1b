"""Back-tests of stored runs against what was recorded after their as-of date, and their chart."""

from __future__ import annotations

import io
import json
from datetime import date
from typing import Any

import numpy as np
from hhpu_shared.errors import NotFound
from hhpu_shared.uow import UnitOfWork

from ranking_service import repository as repo
from ranking_service.domain.catalog import ModelParams
from ranking_service.domain.evaluation import calibration, deciles, evaluate_many
from ranking_service.domain.fairness import outcome_view
from ranking_service.domain.inputs import PreparedInputs, prepare
from ranking_service.domain.weights import DOMAIN_BITS, domain_mask, load_edition
from ranking_service.models import RankEvaluation
from ranking_service.service.compute import demographic_groups
from ranking_service.service.offence_store import load_offences
from ranking_service.service.runs import get_run
from ranking_service.settings import RankingSettings

EPOCH = date(1970, 1, 1)


def later_outcomes(
    prep: PreparedInputs, t0: int, follow_up_days: int, domains: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per person (prepared index): later offence count, later harm, any later offence in
    `domains`, from offences dated in ``(t0, t0 + follow_up]``; and the rows that are later."""
    a = prep.arrays
    later = (a.day > t0) & (a.day <= t0 + follow_up_days)
    n = a.n_people
    count = np.bincount(a.person[later], minlength=n)
    harm = np.bincount(a.person[later], weights=a.row_harm(later), minlength=n)
    hh_rows = later & ((a.row_domains() & np.uint16(domain_mask(domains))) != 0)
    high = np.bincount(a.person[hh_rows], minlength=n) > 0
    return count, harm, high, later


def prior_counts(prep: PreparedInputs, t0: int, lookback_days: int) -> np.ndarray:
    """Baseline: each person's count of offences known at t0 in the look-back window (any code)."""
    a = prep.arrays
    known = (a.recorded <= t0) & (a.day <= t0) & (a.day > t0 - lookback_days)
    return np.bincount(a.person[known], minlength=a.n_people).astype(np.float64)


def top_by(score: np.ndarray, k: int, seed: int) -> np.ndarray:
    """The k highest scores (ties broken at random, seeded) as a mask."""
    tie = np.random.default_rng(seed).random(len(score))
    order = np.lexsort((tie, -score))
    mask = np.zeros(len(score), dtype=bool)
    mask[order[:k]] = True
    return mask


def baselines(prior: np.ndarray, k: int, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The two baselines every back-test scores on the same population: the count of prior offences
    and a random ranking (seeded)."""
    rand = np.random.default_rng(seed + 7).random(len(prior))
    return {
        "prior_offence_count": (prior, top_by(prior, k, seed)),
        "random": (rand, top_by(rand, k, seed)),
    }


def evaluate_run(
    uow: UnitOfWork, settings: RankingSettings, run_id: str, follow_up_days: int, n_boot: int, seed: int
) -> RankEvaluation:
    """Back-test a stored run on what was recorded in the follow-up window after its as-of date,
    beside the baselines scored on the same people, with intervals and the fairness of outcomes."""
    s = uow.session
    run = get_run(uow, run_id)
    params = ModelParams.model_validate_json(run.params)
    edition = load_edition(run.weight_edition, settings.weights_dir)
    table = load_offences(s, repo.offence_imports(s))
    prep = prepare(table, edition, params.model_copy(update={"exclude_codes": ()}))
    t0 = (run.as_of - EPOCH).days
    count, harm, high, later = later_outcomes(prep, t0, follow_up_days, params.domains)
    prior = prior_counts(prep, t0, params.lookback_days)
    entries = repo.entries(s, run.id)
    index = {p: i for i, p in enumerate(prep.people)}
    pos = np.array([index.get(e.person_ref, -1) for e in entries], dtype=np.int64)
    known = pos >= 0
    pick = np.where(known, pos, 0)

    def per_entry(a: np.ndarray) -> np.ndarray:
        return np.where(known, a[pick], 0)

    score = np.array([e.score for e in entries], dtype=np.float64)
    in_top = np.array([e.in_top for e in entries], dtype=bool)
    later_count, later_harm = per_entry(count), per_entry(harm).astype(float)
    positive = per_entry(high).astype(bool)
    scorers = {"model": (score, in_top), **baselines(per_entry(prior).astype(float), int(in_top.sum()), seed)}
    many = evaluate_many(scorers, later_count, later_harm, positive, n_boot=n_boot, seed=seed)
    result = many["model"]
    result["deciles"] = deciles(np.arange(len(entries)), later_harm, later_count)
    result["calibration"] = calibration(
        score, later_count, later_harm, n_boot=max(100, n_boot // 2), seed=seed
    )
    result["baselines"] = {name: many[name] for name in scorers if name != "model"}
    groups, people_fp, _ = demographic_groups(s, [e.person_ref for e in entries], run.as_of)
    result["fairness"] = outcome_view(
        groups, in_top, later_count, later_harm, min_group=settings.fairness_min_group, seed=seed
    )
    newest = int(prep.arrays.recorded.max()) if len(prep.arrays.recorded) else t0
    everyone_later = float(prep.arrays.row_harm(later).sum())
    result.update(
        {
            "run_id": run.id,
            "as_of": run.as_of.isoformat(),
            "follow_up_days": follow_up_days,
            "follow_up_complete": newest >= t0 + follow_up_days,
            "population": "people scored by the run (the baselines rank the same people)",
            "later_harm_all_offenders": everyone_later,
            "top_share_of_all_later_harm": float(harm[pos[known & in_top]].sum()) / everyone_later
            if everyone_later > 0
            else 0.0,
            "high_harm_domains": list(params.domains),
            "domain_bits": {d: DOMAIN_BITS[d] for d in params.domains},
            "people_fingerprint": people_fp,
        }
    )
    ev = RankEvaluation(
        run_id=run.id,
        follow_up_days=follow_up_days,
        result=json.dumps(result),
        created_by=uow.principal.subject,
    )
    s.add(ev)
    s.flush()
    return ev


def latest_evaluation(uow: UnitOfWork, run_id: str) -> dict[str, Any]:
    get_run(uow, run_id)
    ev = repo.latest_evaluation(uow.session, run_id)
    if ev is None:
        raise NotFound(f"run {run_id} has no evaluation yet")
    out: dict[str, Any] = json.loads(ev.result)
    out["evaluation_id"] = ev.id
    out["created_at"] = ev.created_at.isoformat()
    return out


def decile_chart(result: dict[str, Any]) -> bytes:
    """PNG: share of later harm per score decile, with the lift line."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    rows = result["deciles"]
    x = [r["decile"] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    ax.bar(x, [100 * r["harm_share"] for r in rows], color="#1d4e89", label="share of later harm (%)")
    ax.axhline(10, color="#999999", linestyle="--", linewidth=1, label="no skill (10%)")
    ax.set_xlabel("score decile (1 = highest ranked)")
    ax.set_ylabel("share of later harm (%)")
    ax.set_xticks(x)
    ax2 = ax.twinx()
    ax2.plot(x, [r["lift"] for r in rows], color="#d1495b", marker="o", label="lift")
    ax2.set_ylabel("lift")
    rho = result["spearman_harm"]["rho"]
    ax.set_title(
        f"Run {result['run_id']} as of {result['as_of']}, follow-up {result['follow_up_days']} days\n"
        f"Spearman rho (harm) {rho:.3f}, AUC {result['auc_high_harm']:.3f}",
        fontsize=9,
    )
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
