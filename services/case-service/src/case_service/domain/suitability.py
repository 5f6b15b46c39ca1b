"""Suitability assessment helpers: the checklist, trigger summaries, how a case was identified."""

from __future__ import annotations

from collections.abc import Sequence

from hhpu_shared.events.contracts.case import IdentifiedBy

CHECKLIST: dict[str, str] = {
    "in_high_harm_scope": "Offending or concern is in a high-harm domain",
    "recent_offending": "Offending or concern in the last 12 months",
    "escalation": "Frequency or gravity is escalating",
    "victims_identified": "Current or potential victims identified",
    "not_managed_elsewhere": "Not already managed under MAPPA/IOM elsewhere",
    "partner_information": "Partner agencies' information gathered",
    "capacity_to_manage": "The unit can add value by managing",
}


def checklist_errors(items: dict[str, bool | None]) -> list[str]:
    return [k for k in items if k not in CHECKLIST]


# Statutory statuses that mean a conviction (DPA 2018 s.38 category "convicted"); anything else,
# including the referral-api's "unconvicted_suspect" and an unknown value, is a suspect.
CONVICTED_STATUSES = frozenset(
    {"convicted", "on_licence", "notification_requirements", "post_sentence_supervision"}
)


def subject_category(statutory_status: str | None) -> str:
    """The s.38 category a statutory status implies: "convicted" only for a known conviction."""
    return "convicted" if (statutory_status or "").strip().lower() in CONVICTED_STATUSES else "suspect"


def referral_detail(agency: str, domains: Sequence[str], urgency: str, statutory_status: str) -> str:
    """`agency`: the referring agency's name (its id when an older event carries no name)."""
    scope = ", ".join(d.replace("_", " ") for d in domains) or "no domain"
    return f"referral from {agency}: {scope}; urgency {urgency}; {statutory_status.replace('_', ' ')}"


def offence_text(c: dict[str, object]) -> str:
    """'008/66 Stalking, serious alarm/distress': the code with its name when the event carries it."""
    name = c.get("offence_name")
    return f"{c['offence_code']} {name}" if name else str(c["offence_code"])


def ranking_detail(rank: int, score: float, as_of: str, contributions: Sequence[dict[str, object]]) -> str:
    top = ", ".join(f"{offence_text(c)} ({float(str(c['weighted'])):.1f})" for c in contributions[:3])
    return f"ranked {rank} (score {score:.1f}) on {as_of}" + (f"; top contributions: {top}" if top else "")


def identified_by(
    sources: Sequence[str], internal_agencies: frozenset[str] = frozenset({"police"})
) -> IdentifiedBy:
    """How a person came to the unit, from the first trigger (e.g. ``referral:agency``, ``ranking``)."""
    for s in sources:
        kind, _, agency = s.partition(":")
        if kind == "ranking":
            return "algorithm"
        if kind == "referral":
            return "internal_referral" if agency in internal_agencies else "partner_referral"
        if kind == "meeting":
            return "iom_meeting"
        if kind == "mappa":
            return "mappa"
    return "internal_referral"


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def summary(triggers: Sequence[tuple[str, str | None]]) -> str:
    """Every trigger of an assessment in words: '2 triggers: 1 referral, 1 ranking candidate'."""
    refs = sum(1 for s, _ in triggers if s == "referral")
    ranks = sum(1 for s, _ in triggers if s == "ranking")
    parts = []
    if refs:
        parts.append(_count(refs, "referral", "referrals"))
    if ranks:
        parts.append(_count(ranks, "ranking candidate", "ranking candidates"))
    manual = len(triggers) - refs - ranks
    if manual:
        parts.append(_count(manual, "opened by hand", "opened by hand"))
    if not parts:
        return "no trigger"
    return f"{_count(len(triggers), 'trigger', 'triggers')}: " + ", ".join(parts)
