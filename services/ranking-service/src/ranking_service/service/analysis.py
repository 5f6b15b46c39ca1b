"""Reading stored runs: entries, comparisons, per-person views, fairness, history, data quality.

Every per-person view is recorded in the audit trail with the caller's justification (s.62).
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow.compute as pc
from hhpu_shared.audit import AuditOperation
from hhpu_shared.errors import NotFound, Unprocessable
from hhpu_shared.uow import UnitOfWork

from ranking_service import repository as repo
from ranking_service.domain.compare import compare_runs
from ranking_service.domain.weights import load_edition
from ranking_service.models import RankRunEntry
from ranking_service.service.offence_store import load_offences
from ranking_service.service.runs import get_run
from ranking_service.settings import RankingSettings


def entries(
    uow: UnitOfWork, run_id: str, top_only: bool, limit: int, offset: int, justification: str
) -> tuple[list[RankRunEntry], int]:
    """A page of the ranking, best first (person references only; the consultation is audited)."""
    get_run(uow, run_id)
    rows = repo.entries(uow.session, run_id, top_only, limit, offset)
    uow.audit_people(
        AuditOperation.CONSULT,
        [e.person_ref for e in rows],
        subject_type="ranking_run",
        subject_id=run_id,
        justification=justification,
        detail={"view": "ranking list", "offset": offset},
    )
    return rows, repo.count_entries(uow.session, run_id, top_only)


def compare(
    uow: UnitOfWork, settings: RankingSettings, run_id: str, other_id: str | None, justification: str
) -> dict[str, Any]:
    """Compare `other_id` (before; default: the run's previous production run) with `run_id` (after)."""
    run = get_run(uow, run_id)
    other_id = other_id or run.previous_run_id
    if not other_id:
        raise Unprocessable("This run has no previous production run; name one to compare with.")
    other = get_run(uow, other_id)
    before, top_before = repo.rank_map(uow.session, other.id)
    after, top_after = repo.rank_map(uow.session, run.id)
    out = compare_runs(before, after, top_before, top_after, big_mover_places=settings.big_mover_places)
    shown = [p["person_ref"] for key in ("entrants", "leavers", "big_movers") for p in out[key]]
    uow.audit_people(
        AuditOperation.CONSULT,
        shown or [None],
        subject_type="ranking_run",
        subject_id=run.id,
        justification=justification,
        detail={"view": "run comparison", "with": other.id},
    )
    return {"before_run_id": other.id, "after_run_id": run.id, **out}


def trajectory(
    uow: UnitOfWork, ref: str, kind: str, limit: int, offset: int, justification: str
) -> tuple[list[dict[str, Any]], int]:
    """One person's rank and score across runs of `kind`, oldest first (audited consultation)."""
    points = []
    rows, total = repo.trajectory(uow.session, ref, kind, limit, offset)
    for run, e in rows:
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
    return points, total


def person_breakdown(uow: UnitOfWork, run_id: str, ref: str, justification: str) -> dict[str, Any]:
    """One person's score and the offences that contribute most (audited consultation)."""
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


def fairness(uow: UnitOfWork, run_id: str, justification: str) -> dict[str, Any]:
    """The run's fairness view (stored with the run) and, once back-tested, each group's later
    offending, precision and harm capture from the latest back-test (groups, no one person: the
    consultation is audited as one entry)."""
    run = get_run(uow, run_id)
    uow.audit(
        AuditOperation.CONSULT,
        subject_type="ranking_run",
        subject_id=run.id,
        justification=justification,
        detail={"view": "fairness by group"},
    )
    out: dict[str, Any] = json.loads(run.fairness)
    out["run_id"] = run.id
    out["as_of"] = run.as_of.isoformat()
    ev = repo.latest_evaluation(uow.session, run.id)
    res = json.loads(ev.result) if ev else {}
    out["outcomes"] = res.get("fairness")
    out["outcomes_follow_up_days"] = res.get("follow_up_days")
    if out["outcomes"] is None:
        out["outcomes_statement"] = "Later offending is not known until the run is back-tested."
    return out


def history(uow: UnitOfWork, kind: str, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Runs of `kind` in as-of order, each with its stability against the previous run and its
    latest back-test."""
    runs, total = repo.runs_in_order(uow.session, kind, limit, offset)
    points = []
    for run in runs:
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
                "evaluation": None if res is None else _history_evaluation(res),
            }
        )
    return points, total


def _history_evaluation(res: dict[str, Any]) -> dict[str, Any]:
    base = res.get("baselines", {}).get("prior_offence_count")
    return {
        "follow_up_days": res["follow_up_days"],
        "follow_up_complete": res["follow_up_complete"],
        "spearman_harm": res["spearman_harm"],
        "spearman_count": res["spearman_count"],
        "auc_high_harm": res["auc_high_harm"],
        "auc_ci95": res.get("auc_ci95"),
        "top_share_of_later_harm": res["top_share_of_later_harm"],
        "top_share_ci95": res.get("top_share_ci95"),
        "top_precision_any_later_offence": res.get("top_precision_any_later_offence"),
        "top_precision_ci95": res.get("top_precision_ci95"),
        "prior_count_baseline_top_share": base["top_share_of_later_harm"] if base else None,
        "versus_prior_offence_count": base["versus_model"]["top_share_of_later_harm"]
        if base and "versus_model" in base
        else None,
    }


def data_quality(
    uow: UnitOfWork, settings: RankingSettings, edition_name: str | None, justification: str
) -> dict[str, Any]:
    """Offence codes in the stored records that the weight edition does not map (fallback weight):
    counts over the offence records, no one person (the consultation is audited as one entry)."""
    uow.audit(
        AuditOperation.CONSULT,
        subject_type="offence_records",
        subject_id="data-quality",
        justification=justification,
        detail={"view": "data quality", "edition": edition_name},
    )
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
