"""Case lifecycle: candidate -> under_assessment -> managed -> exited (with a coded reason)."""

from __future__ import annotations

from typing import Literal

CaseStatus = Literal["candidate", "under_assessment", "managed", "exited"]
STATUSES: tuple[CaseStatus, ...] = ("candidate", "under_assessment", "managed", "exited")

# Allowed moves. A case leaves only through `exited`, which is terminal: a person who comes
# back is a new case, so the old one's history stays as it was.
TRANSITIONS: dict[str, frozenset[str]] = {
    "candidate": frozenset({"under_assessment", "exited"}),
    "under_assessment": frozenset({"managed", "exited", "candidate"}),
    "managed": frozenset({"exited"}),
    "exited": frozenset(),
}

EXIT_REASONS: dict[str, str] = {
    "not_adopted": "Not adopted after the suitability assessment",
    "referral_withdrawn": "The referral that raised it was withdrawn before any decision",
    "risk_reduced": "Risk reduced: management no longer needed",
    "sentence_ended": "Statutory supervision ended",
    "long_custody": "Long custodial sentence",
    "moved_out_of_area": "Moved out of the force area",
    "transferred": "Transferred to another unit or agency",
    "deceased": "Deceased",
    "duplicate": "Duplicate record",
    "other": "Other (explained in a case note)",
}


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def transition_error(current: str, target: str, reason_code: str | None) -> str | None:
    """None when the move is allowed; otherwise why not (the API answers 409)."""
    if target not in TRANSITIONS:
        return f"unknown status {target!r}"
    if not can_transition(current, target):
        return f"a case cannot move from {current} to {target}"
    if target == "exited" and reason_code not in EXIT_REASONS:
        return "an exit needs a coded reason: " + ", ".join(sorted(EXIT_REASONS))
    return None
