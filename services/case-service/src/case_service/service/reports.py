"""The fortnightly suitability report and the evaluation's figures, computed live."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from hhpu_shared.http import PageParams
from hhpu_shared.uow import UnitOfWork

from case_service import repository as repo
from case_service.domain import interventions as catalogue
from case_service.domain import stats
from case_service.service import managers
from case_service.service.common import consult, today
from case_service.settings import CaseSettings

COHORT_GROUPS = {"iom_fixed": "IOM", "iom_flex": "IOM", "iom_free": "IOM", "visor": "ViSOR", "hhpu": "HHPU"}


def suitability(
    uow: UnitOfWork, since: date | None, days: int, why: str, page: PageParams | None = None
) -> dict[str, Any]:
    """People new to assess since a date, by source (algorithm, referral, both, manual).

    With `page`, each source's list is one page of it (the same limit and offset, each with its own
    total: the JSON answer); without, every row (the printable report, which must be whole). Each
    person shown is an audited consultation."""
    s = uow.session
    start = since or (today() - timedelta(days=days))
    rows = repo.assessments_opened_since(s, datetime.combine(start, time.min, tzinfo=UTC))
    groups: dict[str, list[dict[str, Any]]] = {"algorithm": [], "referral": [], "both": [], "manual": []}
    for a in rows:
        if a.status == "merged":
            continue
        person = repo.person(s, a.person_id)
        trig = repo.triggers(s, a.id)
        kinds = {t.source for t in trig}
        key = (
            "both"
            if {"ranking", "referral"} <= kinds
            else "algorithm"
            if "ranking" in kinds
            else "referral"
            if "referral" in kinds
            else "manual"
        )
        groups[key].append(
            {
                "assessment_id": a.id,
                "person_id": a.person_id,
                "person_label": person.label if person else "?",
                "records_id": person.records_id if person else None,
                "opened_at": a.opened_at.isoformat(),
                "urgency": a.urgency,
                "status": a.status,
                "decision": a.decision,
                "recommendation": a.recommendation,
                "triggers": [{"source": t.source, "ref": t.ref, "detail": t.detail} for t in trig],
            }
        )
    counts = {k: len(v) for k, v in groups.items()}
    if page is not None:
        groups = {k: v[page.offset : page.offset + page.limit] for k, v in groups.items()}
    for r in (r for v in groups.values() for r in v):
        consult(
            uow, "person", r["person_id"], why, view="suitability_report", assessment_id=r["assessment_id"]
        )
    out: dict[str, Any] = {
        "since": start.isoformat(),
        "generated_on": today().isoformat(),
        "counts": counts,
        "total": sum(counts.values()),
        "groups": groups,
    }
    if page is not None:
        out["groups"] = {
            k: {"items": v, "total": counts[k], "limit": page.limit, "offset": page.offset}
            for k, v in groups.items()
        }
    return out


def _interventions_by_cohort(uow: UnitOfWork) -> dict[str, Any]:
    rows = repo.interventions(uow.session)
    groups = ["IOM", "ViSOR", "HHPU"]
    cats: list[str] = list(catalogue.CATEGORIES)
    table = [[0] * len(cats) for _ in groups]
    by_type: Counter[tuple[str, str]] = Counter()
    for r in rows:
        g = COHORT_GROUPS.get(r.cohort, "HHPU")
        table[groups.index(g)][cats.index(r.category)] += 1
        by_type[(g, r.code)] += 1
    test = stats.chi_square(table, groups, cats)
    return {
        "groups": groups,
        "categories": cats,
        "counts": table,
        "by_type": [{"cohort_group": g, "code": c, "count": n} for (g, c), n in sorted(by_type.items())],
        "chi_square": None
        if test is None
        else {
            "statistic": round(test.statistic, 6),
            "dof": test.dof,
            "p_value": test.p_value,
            "rows": test.rows,
            "columns": test.columns,
            "expected": [[round(x, 4) for x in r] for r in test.expected],
            "note": "Pearson chi-square without continuity correction; low expected counts make p unreliable",
        },
    }


def evaluation(
    uow: UnitOfWork, settings: CaseSettings, start: date | None, end: date | None
) -> dict[str, Any]:
    """Aggregate figures only: no person is identified."""
    s = uow.session
    adopted = repo.adopted_cases(s)
    end = end or today()
    start = start or min((c.adopted_on for c in adopted if c.adopted_on), default=end)
    spans = [(c.cohort, c.adopted_on, c.exited_on) for c in adopted if c.adopted_on]
    coverage = managers.training_coverage(uow)
    months = max(1, (end.year - start.year) * 12 + end.month - start.month + 1)
    return {
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "capacity": team_capacity(uow),
        "managed_by_month": stats.managed_by_month(spans, start, end),  # type: ignore[arg-type, unused-ignore]
        "interventions": _interventions_by_cohort(uow),
        "training": coverage,
        "costs": stats.indicative_costs(
            int(coverage["managers"]),
            int(coverage["mosovo_trained"]),
            settings.mosovo_cost_gbp,
            settings.supervising_di_cost_gbp_per_year,
            float(months),
        ),
    }


def team_capacity(uow: UnitOfWork) -> dict[str, Any]:
    """The team's load against its capacity today (aggregate: no case or person is named)."""
    team = [m for m in managers.team_loads(uow) if m.active]
    cap = sum(m.capacity for m in team)
    load = sum(m.points for m in team)
    util = sorted(m.utilisation for m in team)
    return {
        "managers": len(team),
        "managed_cases": sum(len(m.cases) for m in team),
        "capacity_points": round(cap, 2),
        "load_points": round(load, 2),
        "utilisation": round(load / cap, 4) if cap > 0 else None,
        "median_manager_utilisation": round(statistics.median(util), 4) if util else None,
        "managers_over_capacity": sum(1 for u in util if u > 1.0),
    }
