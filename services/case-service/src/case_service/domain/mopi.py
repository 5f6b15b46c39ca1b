"""MoPI review and retention (College of Policing APP, "Review, retention and disposal").

A person's record sits in one of four review groups, derived from what the unit knows about them:

- group 1, certain public protection matters: a ViSOR case or a MAPPA category, or a serious sexual
  offending or child abuse concern; retained until the subject is 100, reviewed every 10 years;
- group 2, other sexual, violent or serious matters: another high-harm concern (domestic abuse,
  serious violence, hate crime, stalking, exploitation) or a Risk Matrix 2000 / ARMS assessment;
  reviewed every 10 years;
- group 3, all other offences: a conviction, or offences held in police records (a ranking
  candidate); reviewed every 6 years;
- group 4, nothing proven: an unconvicted suspect (or anyone else) with none of the above; reviewed
  every 6 years, the minimum a police record is normally held for [assumption: see
  docs/data-protection.md].

Like MoPI's groups these cover people implicated as well as convicted, so an unconvicted domestic
abuse suspect is group 2. A group only ever goes up (1 is the highest): new information may raise
it, nothing lowers it. Pure functions over plain data; the service layer gathers the facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

GROUPS: dict[int, str] = {
    1: "certain public protection matters",
    2: "other sexual, violent or serious matters",
    3: "all other offences",
    4: "nothing proven",
}
REVIEW_YEARS: dict[int, int] = {1: 10, 2: 10, 3: 6, 4: 6}
RETAIN_UNTIL_AGE = 100  # group 1 is kept until the subject is 100
MINIMUM_YEARS = 6  # records are normally held for at least six years

GROUP_1_DOMAINS = {"serious_sexual_offending": "serious sexual offending", "child_abuse": "child abuse"}
GROUP_2_DOMAINS = {
    "domestic_abuse": "domestic abuse",
    "serious_violence": "serious violence",
    "hate_crime": "hate crime",
    "stalking": "stalking",
    "exploitation": "exploitation",
}
GROUP_2_TOOLS = {"rm2000": "Risk Matrix 2000", "arms": "ARMS"}

# National Retention Assessment Criteria: why a record is kept (one code per retain decision).
RETAIN_REASONS: dict[str, str] = {
    "serious_harm_capacity": "evidence of a capacity to inflict serious harm",
    "children_or_vulnerable_adults": "concerns in relation to children or vulnerable adults",
    "breach_of_trust": "the behaviour involved a breach of trust",
    "links_increasing_risk": "established links or associations which might increase the risk of harm",
    "substance_misuse": "concerns in relation to substance misuse",
    "mental_state": "concerns that the person's mental state might exacerbate risk",
    "other_policing_purpose": "another policing purpose, stated in the reason",
}
# Why a record is disposed of (MoPI: no longer necessary, adequate or proportionate).
DISPOSE_REASONS: dict[str, str] = {
    "no_policing_purpose": "no longer necessary for a policing purpose",
    "inadequate_or_out_of_date": "no longer adequate or up to date",
    "excessive_or_disproportionate": "excessive or not proportionate to the risk",
}


@dataclass(frozen=True)
class Facts:
    """What the unit knows about a person that bears on their group."""

    cohorts: frozenset[str] = frozenset()
    mappa_categories: frozenset[int] = frozenset()
    domains: frozenset[str] = frozenset()
    risk_tools: frozenset[str] = frozenset()
    convicted: bool = False
    offences_recorded: bool = False


@dataclass(frozen=True)
class Classification:
    group: int
    reasons: tuple[str, ...] = field(default_factory=tuple)


def classify(f: Facts) -> Classification:
    """The group the facts put a person in, with the facts that decided it."""
    g1 = ["ViSOR cohort"] if "visor" in f.cohorts else []
    g1 += [f"MAPPA category {c}" for c in sorted(f.mappa_categories)]
    g1 += [f"concern: {GROUP_1_DOMAINS[d]}" for d in sorted(f.domains) if d in GROUP_1_DOMAINS]
    if g1:
        return Classification(1, tuple(g1))
    g2 = [f"concern: {GROUP_2_DOMAINS[d]}" for d in sorted(f.domains) if d in GROUP_2_DOMAINS]
    g2 += [f"{GROUP_2_TOOLS[t]} assessment" for t in sorted(f.risk_tools) if t in GROUP_2_TOOLS]
    if g2:
        return Classification(2, tuple(g2))
    g3 = ["convicted"] if f.convicted else []
    g3 += ["offences in police records (ranking candidate)"] if f.offences_recorded else []
    if g3:
        return Classification(3, tuple(g3))
    return Classification(4, ("nothing proven",))


def add_years(d: date, years: int) -> date:
    """The same day `years` later (29 February becomes 28 February in a common year)."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def next_review(group: int, start: date, date_of_birth: date | None = None) -> date:
    """The review after `start`: the group's interval on, and for group 1 no later than the
    subject's 100th birthday (when it falls after `start`)."""
    due = add_years(start, REVIEW_YEARS[group])
    if group == 1 and date_of_birth is not None:
        hundred = add_years(date_of_birth, RETAIN_UNTIL_AGE)
        if start < hundred < due:
            return hundred
    return due


def raised(current: int | None, derived: int) -> int:
    """The group after new information: it only goes up (a smaller number is a higher group)."""
    return derived if current is None else min(current, derived)


def review_after_news(
    group: int, current_due: date | None, today: date, date_of_birth: date | None = None
) -> date:
    """A person came to notice again (a referral, a case, an assessment): the review is a clear
    period after today, never earlier than it already was."""
    due = next_review(group, today, date_of_birth)
    return due if current_due is None or current_due < due else current_due


def review_after_retain(
    group: int, previous_due: date | None, decided_on: date, date_of_birth: date | None = None
) -> date:
    """A retain decision moves the review on by the group's interval, counted from the date that
    was due or from the decision, whichever is later (a late review never shortens the period)."""
    start = decided_on if previous_due is None or previous_due < decided_on else previous_due
    return next_review(group, start, date_of_birth)


def age_on(date_of_birth: date, on: date) -> int:
    return on.year - date_of_birth.year - ((on.month, on.day) < (date_of_birth.month, date_of_birth.day))


def disposal_refusal(
    group: int, due: date | None, today: date, date_of_birth: date | None
) -> tuple[str, str] | None:
    """Why a review may not dispose of the record now (code, message), or None when it may."""
    if due is None:
        return "no_review_due", "this record has no review date"
    if due > today:
        return "review_not_due", f"the review is not due until {due.isoformat()}"
    if group == 1 and (date_of_birth is None or age_on(date_of_birth, today) < RETAIN_UNTIL_AGE):
        return "retained_until_100", "a group 1 record is retained until the subject is 100"
    return None


def reason_error(decision: str, reason_code: str) -> str | None:
    """None when the reason code fits the decision; otherwise what is wrong."""
    allowed = RETAIN_REASONS if decision == "retain" else DISPOSE_REASONS
    if reason_code in allowed:
        return None
    return f"a {decision} decision takes one of: " + ", ".join(allowed)


def overdue_days(due: date | None, today: date) -> int:
    return max(0, (today - due).days) if due is not None else 0
