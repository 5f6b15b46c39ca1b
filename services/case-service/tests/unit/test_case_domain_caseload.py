"""Allocation never picks an untrained manager for ViSOR and lowers the team's imbalance."""

from __future__ import annotations

import random
from datetime import date

from case_service.domain import caseload
from case_service.domain.caseload import CaseLoadItem, ManagerLoad, Training

TODAY = date(2026, 11, 26)
MOSOVO = Training("mosovo", date(2025, 1, 1))


def _cases(prefix: str, n: int, cohort: str = "hhpu", risk: str = "medium") -> list[CaseLoadItem]:
    return [CaseLoadItem(f"{prefix}{i}", cohort, risk) for i in range(n)]


def test_case_visor_never_goes_to_an_untrained_manager() -> None:
    # The untrained manager is empty; the trained ones are busy: still a trained one is chosen.
    team = [
        ManagerLoad("empty-untrained", 30, []),
        ManagerLoad("busy-trained", 30, _cases("a", 8), [MOSOVO]),
        ManagerLoad("busier-trained", 30, _cases("b", 9), [MOSOVO]),
        ManagerLoad("expired", 30, [], [Training("mosovo", date(2020, 1, 1), date(2023, 1, 1))]),
    ]
    s = caseload.suggest_allocation(team, CaseLoadItem("v1", "visor", "high", 1), TODAY)
    assert s.manager_id == "busy-trained"
    assert any("MOSOVO" in r for r in s.reasons)
    # A non-ViSOR case goes to the empty manager.
    assert (
        caseload.suggest_allocation(team, CaseLoadItem("h1", "hhpu"), TODAY).manager_id == "empty-untrained"
    )


def test_case_visor_with_no_trained_manager_is_not_allocated() -> None:
    team = [ManagerLoad("m1", 30, []), ManagerLoad("m2", 30, [])]
    s = caseload.suggest_allocation(team, CaseLoadItem("v", "visor"), TODAY)
    assert s.manager_id is None and "trained" in s.reasons[0]


def test_case_random_teams_visor_always_trained() -> None:
    rng = random.Random(7)
    for trial in range(200):
        team = []
        for i in range(rng.randint(1, 6)):
            tr = [MOSOVO] if rng.random() < 0.5 else []
            team.append(
                ManagerLoad(
                    f"m{i}", rng.choice([20.0, 30.0]), _cases(f"t{trial}m{i}c", rng.randint(0, 12)), tr
                )
            )
        s = caseload.suggest_allocation(team, CaseLoadItem("v", "visor", "very_high", 2), TODAY)
        trained = {m.manager_id for m in team if m.trained_for("visor", TODAY)}
        if trained:
            assert s.manager_id in trained
        else:
            assert s.manager_id is None


def test_case_allocating_new_cases_lowers_imbalance() -> None:
    team = [
        ManagerLoad("a", 30, _cases("a", 10), [MOSOVO]),
        ManagerLoad("b", 30, _cases("b", 4), [MOSOVO]),
        ManagerLoad("c", 30, _cases("c", 2)),
    ]
    before = caseload.coefficient_of_variation([m.utilisation for m in team])
    for i in range(6):
        case = CaseLoadItem(f"new{i}", "hhpu" if i % 2 else "visor", "high")
        s = caseload.suggest_allocation(team, case, TODAY)
        assert s.manager_id is not None
        next(m for m in team if m.manager_id == s.manager_id).cases.append(case)
    after = caseload.coefficient_of_variation([m.utilisation for m in team])
    assert after < before
    # Picking the most loaded manager instead would have raised it: the suggestion is the better choice.
    assert team[0].points == 10 * caseload.case_points("hhpu", "medium")


def test_case_rebalancing_lowers_imbalance_and_respects_training() -> None:
    team = [
        ManagerLoad("heavy", 30, _cases("h", 9) + [CaseLoadItem("v1", "visor", "high", 2)], [MOSOVO]),
        ManagerLoad("light-untrained", 30, _cases("l", 1)),
        ManagerLoad("mid", 30, _cases("m", 4), [MOSOVO]),
    ]
    before = caseload.equity(team)
    moves = caseload.rebalance(team, TODAY)
    assert moves
    for mv in moves:
        if mv["case_id"] == "v1":
            assert mv["to_manager_id"] != "light-untrained"
        assert float(str(mv["cv_after"])) < float(str(mv["cv_before"]))
    by_id = {m.manager_id: m for m in team}
    for mv in moves:  # apply the suggestions
        case = next(c for c in by_id[str(mv["from_manager_id"])].cases if c.case_id == mv["case_id"])
        by_id[str(mv["from_manager_id"])].cases.remove(case)
        by_id[str(mv["to_manager_id"])].cases.append(case)
    after = caseload.equity(team)
    assert float(str(after["coefficient_of_variation"])) < float(str(before["coefficient_of_variation"]))
    assert float(str(after["gini"])) < float(str(before["gini"]))


def test_case_points_weight_cohort_risk_and_mappa() -> None:
    assert caseload.case_points("visor", "very_high", 3) == 3.0 * 2.0 + 2.0
    assert caseload.case_points("iom_free", "low") == 1.5
    assert caseload.case_points("hhpu", None) == 3.75
    assert caseload.gini([1, 1, 1]) == 0.0
    assert caseload.gini([0, 0, 10]) > 0.6
