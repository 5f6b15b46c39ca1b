"""Comparisons, trajectories, back-test evaluations and charts of stored runs."""

from __future__ import annotations

import io
import json
from datetime import date
from typing import Any

import numpy as np
from hhpu_shared.audit import AuditOperation
from hhpu_shared.errors import NotFound, Unprocessable
from hhpu_shared.uow import UnitOfWork

from ranking_service import repository as repo
from ranking_service.domain.catalog import ModelParams
from ranking_service.domain.compare import compare_runs
from ranking_service.domain.evaluation import evaluate
from ranking_service.domain.weights import DOMAIN_BITS, domain_mask, load_edition
from ranking_service.inputs import prepare
from ranking_service.models import RankEvaluation, RankRun
from ranking_service.settings import RankingSettings
from ranking_service.store import load_offences

EPOCH = date(1970, 1, 1)


def get_run(uow: UnitOfWork, run_id: str) -> RankRun:
    run = repo.get_run(uow.session, run_id)
    if run is None:
        raise NotFound(f"no ranking run {run_id}")
    return run


def compare(uow: UnitOfWork, settings: RankingSettings, run_id: str, other_id: str | None) -> dict[str, Any]:
    """Compare `other_id` (before; default: the run's previous production run) with `run_id` (after)."""
    run = get_run(uow, run_id)
    other_id = other_id or run.previous_run_id
    if not other_id:
        raise Unprocessable("This run has no previous production run; name one to compare with.")
    other = get_run(uow, other_id)
    before, top_before = repo.rank_map(uow.session, other.id)
    after, top_after = repo.rank_map(uow.session, run.id)
    out = compare_runs(before, after, top_before, top_after, big_mover_places=settings.big_mover_places)
    return {"before_run_id": other.id, "after_run_id": run.id, **out}


def trajectory(uow: UnitOfWork, ref: str, kind: str, justification: str) -> dict[str, Any]:
    points = []
    for run, e in repo.trajectory(uow.session, ref, kind):
        points.append(
            {
                "run_id": run.id,
                "as_of": run.as_of.isoformat(),
                "model": f"{run.model}@{run.model_version}",
                "people_scored": run.people_scored,
                "rank": e.rank if e else None,
                "score": e.score if e else None,
                "in_top": bool(e.in_top) if e else False,
            }
        )
    uow.audit(
        AuditOperation.CONSULT,
        subject_type="person",
        subject_id=ref,
        justification=justification,
        detail={"view": "ranking trajectory", "runs": len(points)},
    )
    return {"person_ref": ref, "kind": kind, "points": points}


def person_breakdown(uow: UnitOfWork, run_id: str, ref: str, justification: str) -> dict[str, Any]:
    get_run(uow, run_id)
    e = repo.entry(uow.session, run_id, ref)
    if e is None:
        raise NotFound(f"{ref} is not in run {run_id}")
    uow.audit(
        AuditOperation.CONSULT,
        subject_type="person",
        subject_id=ref,
        justification=justification,
        detail={"view": "ranking breakdown", "run_id": run_id},
    )
    return {
        "run_id": run_id,
        "person_ref": ref,
        "rank": e.rank,
        "score": e.score,
        "harm_total": e.harm_total,
        "offence_count": e.offence_count,
        "in_top": e.in_top,
        "provisional": e.provisional,
        "components": json.loads(e.components),
        "top_contributions": json.loads(e.contributions),
        "candidate_event_id": e.candidate_event_id,
    }


def evaluate_run(
    uow: UnitOfWork, settings: RankingSettings, run_id: str, follow_up_days: int, n_boot: int, seed: int
) -> RankEvaluation:
    """Back-test a stored run on what was recorded in the follow-up window after its as-of date."""
    s = uow.session
    run = get_run(uow, run_id)
    params = ModelParams.model_validate_json(run.params)
    edition = load_edition(run.weight_edition, settings.weights_dir)
    table = load_offences(s, repo.offence_imports(s))
    prep = prepare(table, edition, params.model_copy(update={"exclude_codes": ()}))
    t0 = (run.as_of - EPOCH).days
    later = (prep.arrays.day > t0) & (prep.arrays.day <= t0 + follow_up_days)
    n = prep.arrays.n_people
    count = np.bincount(prep.arrays.person[later], minlength=n)
    harm = np.bincount(prep.arrays.person[later], weights=prep.arrays.harm[later], minlength=n)
    hh_rows = later & ((prep.arrays.domains & np.uint8(domain_mask(params.domains))) != 0)
    high = np.bincount(prep.arrays.person[hh_rows], minlength=n) > 0
    entries = repo.entries(s, run.id)
    index = {p: i for i, p in enumerate(prep.people)}
    pos = np.array([index.get(e.person_ref, -1) for e in entries], dtype=np.int64)
    known = pos >= 0
    pick = np.where(known, pos, 0)

    def per_entry(a: np.ndarray) -> np.ndarray:
        return np.where(known, a[pick], 0)

    score = np.array([e.score for e in entries], dtype=np.float64)
    in_top = np.array([e.in_top for e in entries], dtype=bool)
    result = evaluate(
        score,
        np.arange(len(entries)),
        in_top,
        per_entry(count),
        per_entry(harm).astype(float),
        per_entry(high).astype(bool),
        n_boot=n_boot,
        seed=seed,
    )
    newest = int(prep.arrays.recorded.max()) if len(prep.arrays.recorded) else t0
    everyone_later = float(prep.arrays.harm[later].sum())
    result.update(
        {
            "run_id": run.id,
            "as_of": run.as_of.isoformat(),
            "follow_up_days": follow_up_days,
            "follow_up_complete": newest >= t0 + follow_up_days,
            "population": "people scored by the run",
            "later_harm_all_offenders": everyone_later,
            "top_share_of_all_later_harm": float(harm[pos[known & in_top]].sum()) / everyone_later
            if everyone_later > 0
            else 0.0,
            "high_harm_domains": list(params.domains),
            "domain_bits": {d: DOMAIN_BITS[d] for d in params.domains},
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


def fairness(uow: UnitOfWork, run_id: str) -> dict[str, Any]:
    run = get_run(uow, run_id)
    out: dict[str, Any] = json.loads(run.fairness)
    out["run_id"] = run.id
    out["as_of"] = run.as_of.isoformat()
    return out


def history(uow: UnitOfWork, kind: str = "production") -> dict[str, Any]:
    """Every run of `kind` with its stability against the previous one and its latest back-test."""
    runs, _ = repo.list_runs(uow.session, kind, 10_000, 0)
    points = []
    for run in sorted(runs, key=lambda r: (r.as_of, r.created_at)):
        cmp = json.loads(run.comparison)
        ev = repo.latest_evaluation(uow.session, run.id)
        res = json.loads(ev.result) if ev else None
        points.append(
            {
                "run_id": run.id,
                "as_of": run.as_of.isoformat(),
                "model": f"{run.model}@{run.model_version}",
                "people_scored": run.people_scored,
                "top_bracket_size": run.top_bracket_size,
                "provisional": run.provisional,
                "previous_run_id": cmp.get("previous_run_id"),
                "top_jaccard_vs_previous": cmp.get("top_jaccard"),
                "kendall_tau_vs_previous": cmp.get("kendall_tau"),
                "top_churn_vs_previous": cmp.get("top_churn"),
                "evaluation": None
                if res is None
                else {
                    "follow_up_days": res["follow_up_days"],
                    "follow_up_complete": res["follow_up_complete"],
                    "spearman_harm": res["spearman_harm"],
                    "spearman_count": res["spearman_count"],
                    "auc_high_harm": res["auc_high_harm"],
                    "top_share_of_later_harm": res["top_share_of_later_harm"],
                },
            }
        )
    return {"kind": kind, "runs": points}


def data_quality(uow: UnitOfWork, settings: RankingSettings, edition_name: str | None) -> dict[str, Any]:
    """Offence codes in the stored records that the weight edition does not map (fallback weight)."""
    import pyarrow.compute as pc

    try:
        edition = load_edition(edition_name or settings.weight_edition, settings.weights_dir)
    except KeyError as exc:
        raise NotFound(f"no weight edition {edition_name}") from exc
    table = load_offences(uow.session, repo.offence_imports(uow.session))
    counts = pc.value_counts(table["offence_code"]).to_pylist() if table.num_rows else []
    unmapped = sorted(
        (
            {"offence_code": c["values"], "rows": c["counts"]}
            for c in counts
            if c["values"] not in edition.entries
        ),
        key=lambda r: (-r["rows"], r["offence_code"]),
    )
    return {
        "edition": edition.edition,
        "fallback_days": edition.fallback_days,
        "rows": int(table.num_rows),
        "unmapped_rows": int(sum(r["rows"] for r in unmapped)),
        "unmapped_codes": unmapped,
    }
