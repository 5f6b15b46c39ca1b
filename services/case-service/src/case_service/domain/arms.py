"""ARMS (Active Risk Management System): 7 risk and 4 protective factors, output a priority for work.

The national tool rates each factor and the assessor sets the priority; this function gives
the suggested priority [I: design inference, the scoring bands are not published], which the
assessor may override with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass

RISK_FACTORS = (
    "opportunity_to_offend",
    "sexual_preoccupation",
    "offence_related_sexual_interest",
    "emotional_congruence_with_children",
    "hostile_orientation",
    "poor_self_management",
    "negative_social_influences",
)
PROTECTIVE_FACTORS = (
    "positive_routine",
    "social_investment",
    "commitment_to_desist",
    "positive_social_influences",
)
RATINGS = {"absent": 0, "some": 1, "present": 2}
PRIORITIES = ("low", "medium", "high", "very_high")


@dataclass(frozen=True)
class ArmsResult:
    risk_total: int
    protective_total: int
    priority: str
    rationale: str

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def validate(risk: dict[str, str], protective: dict[str, str]) -> list[tuple[str, str, str]]:
    errs: list[tuple[str, str, str]] = []
    for group, names, given in (("risk", RISK_FACTORS, risk), ("protective", PROTECTIVE_FACTORS, protective)):
        for name in names:
            if name not in given:
                errs.append((f"{group}.{name}", "missing", "every factor needs a rating"))
            elif given[name] not in RATINGS:
                errs.append((f"{group}.{name}", "invalid_choice", "rating is absent, some or present"))
        for name in given:
            if name not in names:
                errs.append((f"{group}.{name}", "unknown_factor", f"not an ARMS {group} factor"))
    return errs


def score(risk: dict[str, str], protective: dict[str, str], static_band: str | None = None) -> ArmsResult:
    """Suggested priority for work from factor ratings and, if known, the static (RM2000) band."""
    r = sum(RATINGS[risk[n]] for n in RISK_FACTORS)
    p = sum(RATINGS[protective[n]] for n in PROTECTIVE_FACTORS)
    net = r - p // 2
    level = 0 if net <= 2 else 1 if net <= 5 else 2 if net <= 8 else 3
    why = [f"risk factors {r}/14, protective factors {p}/8, net {net}"]
    if static_band in PRIORITIES and PRIORITIES.index(static_band) >= 2 and level < 1:
        level = 1
        why.append(f"raised to medium: static risk {static_band}")
    if static_band == "very_high" and level < 2:
        level = 2
        why.append("raised to high: static risk very_high")
    return ArmsResult(r, p, PRIORITIES[level], "; ".join(why))
