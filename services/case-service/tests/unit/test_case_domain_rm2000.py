"""Risk Matrix 2000 scoring checked against worked examples (points from the handbook, domain.md s.4)."""

from __future__ import annotations

import pytest
from case_service.domain import rm2000
from case_service.domain.rm2000 import Rm2000Inputs

# Worked by hand from the published scoring:
#  /S step 1: age 18-24 = 2, 25-34 = 1, 35+ = 0; sexual appearances 1/2/3-4/5+ = 0/1/2/3;
#             criminal appearances 5+ = 1; 0 L, 1-2 M, 3-4 H, 5-6 VH.
#  /S step 2: 2-3 aggravating factors raise one level, 4 raise two.
#  /V: age 18-24 = 3, 25-34 = 2, 35-44 = 1, 45+ = 0; violent appearances 0/1/2-3/4+ = 0/1/2/3;
#      burglary = 2; 0-1 L, 2-3 M, 4-5 H, 6-8 VH.
#  /C: L1 M2 H3 VH4 summed: 2-3 L, 4-5 M, 6 H, 7-8 VH.
EXAMPLES = [
    # A: 22-year-old, 2 sexual / 6 criminal appearances, male stranger victim, 1 violent appearance.
    #    S = 2+1+1 = 4 (high) + 2 factors -> very high. V = 3+1 = 4 -> high. C = 4+3 = 7 -> very high.
    (
        Rm2000Inputs(22, 2, 6, 1, False, male_victim=True, stranger_victim=True),
        (4, "high", 2, "very_high", 4, "high", 7, "very_high"),
    ),
    # B: 50-year-old, 1 sexual / 1 criminal appearance, one factor only.
    #    S = 0 -> low (1 factor: no raise). V = 0 -> low. C = 1+1 = 2 -> low.
    (Rm2000Inputs(50, 1, 1, 0, False, never_married=True), (0, "low", 1, "low", 0, "low", 2, "low")),
    # C: 30-year-old, 3 sexual / 3 criminal, 2 violent, burglary, all four factors.
    #    S = 1+2+0 = 3 (high) + 2 levels -> capped very high. V = 2+2+2 = 6 -> very high. C = 8 -> very high.
    (
        Rm2000Inputs(30, 3, 3, 2, True, True, True, True, True),
        (3, "high", 4, "very_high", 6, "very_high", 8, "very_high"),
    ),
    # D: 40-year-old, 2 sexual / 5 criminal, no violence, burglary, 3 factors.
    #    S = 0+1+1 = 2 (medium) + 1 level -> high. V = 1+0+2 = 3 -> medium. C = 3+2 = 5 -> medium.
    (
        Rm2000Inputs(40, 2, 5, 0, True, male_victim=True, stranger_victim=True, non_contact_offence=True),
        (2, "medium", 3, "high", 3, "medium", 5, "medium"),
    ),
    # E: 45-year-old, 5 sexual / 12 criminal, 4 violent appearances, no factors.
    #    S = 0+3+1 = 4 -> high. V = 0+3 = 3 -> medium. C = 3+2 = 5 -> medium.
    (Rm2000Inputs(45, 5, 12, 4, False), (4, "high", 0, "high", 3, "medium", 5, "medium")),
    # F: 25-year-old, 1 sexual / 2 criminal, 1 violent: S = 1 -> medium; V = 2+1 = 3 -> medium;
    #    C = 2+2 = 4 -> medium.
    (Rm2000Inputs(25, 1, 2, 1, False), (1, "medium", 0, "medium", 3, "medium", 4, "medium")),
    # G: 34-year-old, 4 sexual / 7 criminal, 4 violent, burglary, 2 factors:
    #    S = 1+2+1 = 4 (high) + 1 -> very high; V = 2+3+2 = 7 -> very high; C = 8 -> very high.
    (
        Rm2000Inputs(34, 4, 7, 4, True, stranger_victim=True, never_married=True),
        (4, "high", 2, "very_high", 7, "very_high", 8, "very_high"),
    ),
]


@pytest.mark.parametrize(("inputs", "expected"), EXAMPLES)
def test_case_rm2000_worked_examples(inputs: Rm2000Inputs, expected: tuple[object, ...]) -> None:
    r = rm2000.score(inputs)
    got = (
        r.s_points,
        r.s_step1,
        r.aggravating_factors,
        r.s_category,
        r.v_points,
        r.v_category,
        r.c_points,
        r.c_category,
    )
    assert got == expected


def test_case_rm2000_band_boundaries() -> None:
    # /V 1 point is low, 2 is medium (age 45+, 1 violent appearance = 1; 2 appearances = 2).
    assert rm2000.score(Rm2000Inputs(45, 1, 1, 1, False)).v_category == "low"
    assert rm2000.score(Rm2000Inputs(45, 1, 2, 2, False)).v_category == "medium"
    # /S 5 points is very high before aggravating factors.
    assert rm2000.score(Rm2000Inputs(18, 5, 9, 0, False)).s_step1 == "very_high"


def test_case_rm2000_refuses_out_of_scope_inputs() -> None:
    errs = rm2000.validate(Rm2000Inputs(17, 0, 0, 0, False))
    fields = {f for f, _, _ in errs}
    assert {"age", "sexual_appearances"} <= fields
