"""Model comparison on ONE common population, and the summary of the ranking history.

``compare_models`` scores several catalogue models as of one date on the same people (everyone with
an offence known at that date in the longest look-back of the models, whatever its domain: a model
that leaves someone out ranks them last), beside the baselines (prior-offence count, random), and
back-tests them all on the same follow-up window with the same bootstrap resamples, so differences
between models have paired intervals. Nothing is stored and nobody is proposed for assessment.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
from hhpu_shared.errors import ValidationProblem, field_error
from hhpu_shared.uow import UnitOfWork
from pydantic import ValidationError

from ranking_service import repository as repo
from ranking_service.domain.catalog import ModelParams, resolve
from ranking_service.domain.evaluation import calibration, evaluate_many
from ranking_service.domain.history import summarise
from ranking_service.domain.inputs import prepare
from ranking_service.domain.scoring import score, top_bracket_size
from ranking_service.domain.weights import HIGH_HARM_DOMAINS, load_edition
from ranking_service.service.analysis import history
from ranking_service.service.evaluation import EPOCH, baselines, later_outcomes, prior_counts
from ranking_service.service.offence_store import load_offences
from ranking_service.settings import RankingSettings


def _params(models: list[str]) -> dict[str, ModelParams]:
    out = {}
    for ref in models:
        try:
            out[ref] = resolve(ref)
        except (KeyError, ValidationError) as exc:
            raise ValidationProblem([field_error("models", "unknown_model", f"no model {ref}")]) from exc
    return out


def compare_models(
    uow: UnitOfWork,
    settings: RankingSettings,
    *,
    as_of: date,
    models: list[str],
    follow_up_days: int,
    top_n: int | None,
    n_boot: int,
    seed: int,
) -> dict[str, Any]:
    """Back-test `models` and the baselines on one population as of `as_of` (see the module)."""
    params = _params(models)
    edition = load_edition(settings.weight_edition, settings.weights_dir)
    table = load_offences(uow.session, repo.offence_imports(uow.session))
    base = prepare(table, edition, resolve("total_harm@1"))
    t0 = (as_of - EPOCH).days
    lookback = max(p.lookback_days for p in params.values())
    a = base.arrays
    known = (a.recorded <= t0) & (a.day <= t0) & (a.day > t0 - lookback)
    population = np.flatnonzero(np.bincount(a.person[known], minlength=a.n_people) > 0)
    k = top_bracket_size(len(population), top_n or settings.top_n, None if top_n else settings.top_share)
    count, harm, high, later = later_outcomes(base, t0, follow_up_days, HIGH_HARM_DOMAINS)
    scorers: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    scored_by: dict[str, int] = {}
    for ref, p in params.items():
        prep = prepare(table, edition, p)  # same table: the same person index as `base`
        res = score(prep.arrays, t0, p)
        s = np.where(res.scored, res.score, 0.0)[population]
        order = np.lexsort((base.key_rank[population], -res.components["harm"][population], -s))
        in_top = np.zeros(len(population), dtype=bool)
        in_top[order[:k]] = True
        scorers[ref] = (s, in_top)
        scored_by[ref] = int(res.scored[population].sum())
    prior = prior_counts(base, t0, lookback)[population]
    scorers.update(baselines(prior, k, seed))
    lc, lh, pos = count[population], harm[population].astype(float), high[population]
    many = evaluate_many(scorers, lc, lh, pos, n_boot=n_boot, seed=seed)
    for ref in params:
        many[ref]["people_scored_by_model"] = scored_by[ref]
        many[ref]["calibration"] = calibration(
            scorers[ref][0], lc, lh, n_boot=max(100, n_boot // 2), seed=seed
        )
    newest = int(a.recorded.max()) if len(a.recorded) else t0
    first = models[0]
    return {
        "as_of": as_of.isoformat(),
        "follow_up_days": follow_up_days,
        "follow_up_complete": newest >= t0 + follow_up_days,
        "population": {
            "definition": (
                f"everyone with an offence known on {as_of.isoformat()} dated in the last {lookback} "
                "days, any code or domain; people a model does not score get 0 and rank last"
            ),
            "people": int(len(population)),
        },
        "top_bracket": k,
        "outcome": f"later harm and offences in the {follow_up_days} days after the as-of date; AUC: "
        f"any later offence in {', '.join(HIGH_HARM_DOMAINS)}",
        "reference_model": first,
        "models": {ref: many[ref] for ref in params},
        "baselines": {b: many[b] for b in ("prior_offence_count", "random")},
        "weight_edition": edition.edition,
        "later_rows": int(later.sum()),
    }


def history_summary(uow: UnitOfWork, kind: str) -> dict[str, Any]:
    """Trends and intervals across every run of `kind` (see ``domain.history``)."""
    _, total = history(uow, kind, 1, 0)
    points, _ = history(uow, kind, max(total, 1), 0)
    return {"kind": kind, **summarise(points)}
