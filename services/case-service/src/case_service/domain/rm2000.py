"""Risk Matrix 2000 (scales /S, /V and /C), scored as set out in the handbook (domain.md, section 4).

For men aged 18 or over with a conviction for a sexual offence; not for alleged offenders.
"""

from __future__ import annotations

from dataclasses import dataclass

BANDS = ("low", "medium", "high", "very_high")


@dataclass(frozen=True)
class Rm2000Inputs:
    age: int  # age at commencement of risk (usually the release date or the assessment date)
    sexual_appearances: int  # court appearances for sexual offences (at least 1)
    criminal_appearances: int  # court appearances for any offence (including the sexual ones)
    violent_appearances: int  # appearances for non-sexual violence
    burglary: bool  # any conviction for burglary
    male_victim: bool = False
    stranger_victim: bool = False
    never_married: bool = False  # never lived with an adult partner for two years or more
    non_contact_offence: bool = False


@dataclass(frozen=True)
class Rm2000Result:
    s_points: int
    s_step1: str
    aggravating_factors: int
    s_category: str
    v_points: int
    v_category: str
    c_points: int
    c_category: str

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def validate(inp: Rm2000Inputs) -> list[tuple[str, str, str]]:
    """Field errors (field, code, message); empty when the inputs can be scored."""
    errs: list[tuple[str, str, str]] = []
    if inp.age < 18:
        errs.append(("age", "out_of_scope", "Risk Matrix 2000 applies to people aged 18 or over"))
    if inp.sexual_appearances < 1:
        errs.append(("sexual_appearances", "out_of_scope", "needs at least one sexual conviction"))
    if inp.criminal_appearances < inp.sexual_appearances:
        errs.append(("criminal_appearances", "inconsistent", "cannot be fewer than sexual appearances"))
    if inp.violent_appearances < 0:
        errs.append(("violent_appearances", "too_small", "cannot be negative"))
    return errs


def _s_points(inp: Rm2000Inputs) -> int:
    age = 2 if inp.age <= 24 else 1 if inp.age <= 34 else 0
    n = inp.sexual_appearances
    sexual = 0 if n <= 1 else 1 if n == 2 else 2 if n <= 4 else 3
    criminal = 1 if inp.criminal_appearances >= 5 else 0
    return age + sexual + criminal


def _s_band(points: int) -> int:
    return 0 if points == 0 else 1 if points <= 2 else 2 if points <= 4 else 3


def _v_points(inp: Rm2000Inputs) -> int:
    age = 3 if inp.age <= 24 else 2 if inp.age <= 34 else 1 if inp.age <= 44 else 0
    n = inp.violent_appearances
    violent = 0 if n == 0 else 1 if n == 1 else 2 if n <= 3 else 3
    return age + violent + (2 if inp.burglary else 0)


def _v_band(points: int) -> int:
    return 0 if points <= 1 else 1 if points <= 3 else 2 if points <= 5 else 3


def _c_band(points: int) -> int:
    return 0 if points <= 3 else 1 if points <= 5 else 2 if points == 6 else 3


def score(inp: Rm2000Inputs) -> Rm2000Result:
    """Score the three scales from their inputs."""
    s_points = _s_points(inp)
    step1 = _s_band(s_points)
    factors = sum((inp.male_victim, inp.stranger_victim, inp.never_married, inp.non_contact_offence))
    raise_by = 2 if factors >= 4 else 1 if factors >= 2 else 0
    s_band = min(3, step1 + raise_by)
    v_points = _v_points(inp)
    v_band = _v_band(v_points)
    c_points = (s_band + 1) + (v_band + 1)
    c_band = _c_band(c_points)
    return Rm2000Result(
        s_points=s_points,
        s_step1=BANDS[step1],
        aggravating_factors=factors,
        s_category=BANDS[s_band],
        v_points=v_points,
        v_category=BANDS[v_band],
        c_points=c_points,
        c_category=BANDS[c_band],
    )
