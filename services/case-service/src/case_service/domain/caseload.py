"""Weighted caseloads, team equity, allocation and rebalancing suggestions (pure functions).

After "Manage a Workforce": each case carries points by cohort and risk; a manager's capacity
is a number of points; the suggestion shows the load after allocation before anyone decides.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date

COHORT_POINTS: dict[str, float] = {
    "visor": 3.0,
    "hhpu": 3.0,
    "iom_fixed": 2.0,
    "iom_flex": 2.0,
    "iom_free": 1.5,
}
RISK_FACTOR: dict[str, float] = {"low": 1.0, "medium": 1.25, "high": 1.5, "very_high": 2.0}
UNKNOWN_RISK_FACTOR = 1.25
MAPPA_LEVEL_POINTS: dict[int, float] = {1: 0.0, 2: 1.0, 3: 2.0}
HIGH_RISK = frozenset({"high", "very_high"})
# A case kind that needs a course before anyone manages it (ViSOR cases need MOSOVO).
REQUIRED_TRAINING: dict[str, str] = {"visor": "mosovo"}


@dataclass(frozen=True)
class CaseLoadItem:
    case_id: str
    cohort: str
    risk: str | None = None
    mappa_level: int | None = None

    @property
    def points(self) -> float:
        return case_points(self.cohort, self.risk, self.mappa_level)

    @property
    def high_risk(self) -> bool:
        return self.risk in HIGH_RISK


@dataclass(frozen=True)
class Training:
    course: str
    completed_on: date
    expires_on: date | None = None

    def valid_on(self, day: date) -> bool:
        return self.completed_on <= day and (self.expires_on is None or self.expires_on >= day)


@dataclass
class ManagerLoad:
    manager_id: str
    capacity: float
    cases: list[CaseLoadItem] = field(default_factory=list)
    training: list[Training] = field(default_factory=list)
    active: bool = True

    @property
    def points(self) -> float:
        return round(sum(c.points for c in self.cases), 2)

    @property
    def utilisation(self) -> float:
        return self.points / self.capacity if self.capacity > 0 else float("inf")

    @property
    def high_risk_cases(self) -> int:
        return sum(1 for c in self.cases if c.high_risk)

    def trained_for(self, cohort: str, day: date) -> bool:
        course = REQUIRED_TRAINING.get(cohort)
        return course is None or any(t.course == course and t.valid_on(day) for t in self.training)


def case_points(cohort: str, risk: str | None, mappa_level: int | None = None) -> float:
    base = COHORT_POINTS.get(cohort, 2.0)
    factor = RISK_FACTOR.get(risk or "", UNKNOWN_RISK_FACTOR)
    return round(base * factor + MAPPA_LEVEL_POINTS.get(mappa_level or 1, 0.0), 2)


def gini(values: list[float]) -> float:
    """Gini coefficient (0 = equal, towards 1 = concentrated)."""
    xs = sorted(v for v in values if v >= 0)
    n = len(xs)
    total = sum(xs)
    if n == 0 or total == 0:
        return 0.0
    cum = sum((i + 1) * x for i, x in enumerate(xs))
    return round((2 * cum) / (n * total) - (n + 1) / n, 4)


def coefficient_of_variation(values: list[float]) -> float:
    if len(values) < 2:
        return 0.0
    mean = statistics.fmean(values)
    return round(statistics.pstdev(values) / mean, 4) if mean > 0 else 0.0


def equity(managers: list[ManagerLoad]) -> dict[str, object]:
    """Team equity on utilisation (load / capacity): CV, Gini, and each manager's ratio to the median."""
    active = [m for m in managers if m.active]
    util = [m.utilisation for m in active]
    median = statistics.median(util) if util else 0.0
    return {
        "managers": len(active),
        "median_utilisation": round(median, 4),
        "coefficient_of_variation": coefficient_of_variation(util),
        "gini": gini(util),
        "max_to_min": round(max(util) / min(util), 3) if util and min(util) > 0 else None,
        "per_manager": [
            {
                "manager_id": m.manager_id,
                "points": m.points,
                "capacity": m.capacity,
                "utilisation": round(m.utilisation, 4),
                "ratio_to_median": round(m.utilisation / median, 3) if median > 0 else None,
                "cases": len(m.cases),
                "high_risk_cases": m.high_risk_cases,
            }
            for m in active
        ],
    }


@dataclass(frozen=True)
class Suggestion:
    manager_id: str | None
    points_after: float | None
    utilisation_after: float | None
    reasons: tuple[str, ...]
    considered: tuple[dict[str, object], ...] = ()


def suggest_allocation(managers: list[ManagerLoad], case: CaseLoadItem, today: date) -> Suggestion:
    """The trained manager with the lowest utilisation after taking the case, with reasons.

    Never an untrained manager for a case kind that needs training (ViSOR: MOSOVO); prefers a
    manager who stays within capacity; ties go to fewer high-risk cases, then the id.
    """
    pts = case.points
    considered: list[dict[str, object]] = []
    eligible: list[ManagerLoad] = []
    for m in managers:
        if not m.active:
            considered.append({"manager_id": m.manager_id, "eligible": False, "why": "inactive"})
            continue
        if not m.trained_for(case.cohort, today):
            course = REQUIRED_TRAINING[case.cohort]
            considered.append({"manager_id": m.manager_id, "eligible": False, "why": f"no valid {course}"})
            continue
        after = (m.points + pts) / m.capacity if m.capacity > 0 else float("inf")
        considered.append(
            {"manager_id": m.manager_id, "eligible": True, "utilisation_after": round(after, 4)}
        )
        eligible.append(m)
    if not eligible:
        return Suggestion(
            None, None, None, ("no active manager is trained for this kind of case",), tuple(considered)
        )

    def key(m: ManagerLoad) -> tuple[bool, float, int, str]:
        after = (m.points + pts) / m.capacity if m.capacity > 0 else float("inf")
        return (after > 1.0, after, m.high_risk_cases + (1 if case.high_risk else 0), m.manager_id)

    best = min(eligible, key=key)
    after_pts = round(best.points + pts, 2)
    after_util = round(after_pts / best.capacity, 4) if best.capacity > 0 else None
    reasons = []
    needed = REQUIRED_TRAINING.get(case.cohort)
    if needed:
        reasons.append(f"holds valid {needed.upper()} training, required for {case.cohort} cases")
    reasons.append(
        f"load after allocation {after_pts} of {best.capacity} points "
        f"({(after_util or 0) * 100:.0f}%), lowest of {len(eligible)} eligible manager(s)"
    )
    reasons.append(f"high-risk cases after allocation: {best.high_risk_cases + (1 if case.high_risk else 0)}")
    if after_util is not None and after_util > 1.0:
        reasons.append("every eligible manager would be over capacity: review the team's capacity")
    return Suggestion(best.manager_id, after_pts, after_util, tuple(reasons), tuple(considered))


def rebalance(managers: list[ManagerLoad], today: date, max_moves: int = 5) -> list[dict[str, object]]:
    """Greedy moves from the most to the least loaded (trained) manager while the spread shrinks."""
    team = [
        ManagerLoad(m.manager_id, m.capacity, list(m.cases), list(m.training), m.active) for m in managers
    ]
    team = [m for m in team if m.active and m.capacity > 0]
    moves: list[dict[str, object]] = []
    for _ in range(max_moves):
        before = coefficient_of_variation([m.utilisation for m in team])
        best: tuple[float, ManagerLoad, ManagerLoad, CaseLoadItem] | None = None
        src = max(team, key=lambda m: m.utilisation, default=None)
        if src is None:
            break
        for case in src.cases:
            for dst in team:
                if dst is src or not dst.trained_for(case.cohort, today):
                    continue
                src.cases.remove(case)
                dst.cases.append(case)
                cv = coefficient_of_variation([m.utilisation for m in team])
                dst.cases.remove(case)
                src.cases.append(case)
                if cv < before - 1e-9 and (best is None or cv < best[0]):
                    best = (cv, src, dst, case)
        if best is None:
            break
        cv, s, d, case = best
        s.cases.remove(case)
        d.cases.append(case)
        moves.append(
            {
                "case_id": case.case_id,
                "from_manager_id": s.manager_id,
                "to_manager_id": d.manager_id,
                "points": case.points,
                "cv_before": before,
                "cv_after": cv,
                "reason": f"moves {case.points} points from the most loaded manager; CV {before} -> {cv}",
            }
        )
    return moves
