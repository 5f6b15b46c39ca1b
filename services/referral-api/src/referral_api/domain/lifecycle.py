"""The referral lifecycle: statuses, coded reasons and the legal transitions between them."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    SUBMITTED = "submitted"
    SCREENED = "screened"
    UNDER_ASSESSMENT = "under_assessment"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


TERMINAL = frozenset({Status.ACCEPTED, Status.DECLINED, Status.WITHDRAWN})

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.SUBMITTED: frozenset({Status.SCREENED, Status.WITHDRAWN}),
    # A decision can arrive for a screened referral whose assessment opening we have not seen yet.
    Status.SCREENED: frozenset({Status.UNDER_ASSESSMENT, Status.ACCEPTED, Status.DECLINED, Status.WITHDRAWN}),
    Status.UNDER_ASSESSMENT: frozenset({Status.ACCEPTED, Status.DECLINED, Status.WITHDRAWN}),
    Status.ACCEPTED: frozenset(),
    Status.DECLINED: frozenset(),
    Status.WITHDRAWN: frozenset(),
}


class Reason(StrEnum):
    """Coded reasons recorded with every status change."""

    RECEIVED = "received"
    ELIGIBLE = "eligible"
    NOT_ELIGIBLE = "not_eligible"
    ASSESSMENT_OPENED = "assessment_opened"
    ADOPTED = "adopted"
    DECLINED_AT_ASSESSMENT = "declined_at_assessment"
    DEFERRED = "deferred"


# What a referrer may give as the reason for withdrawing (after HMPPS interventions' coded reasons).
WITHDRAWAL_REASONS = (
    "no_longer_required",
    "mistaken_or_duplicate",
    "subject_moved_away",
    "subject_in_custody",
    "subject_deceased",
    "consent_or_gateway_withdrawn",
    "other",
)

OUTCOME_TEXT: dict[Status, str] = {
    Status.SUBMITTED: "Received; screening pending.",
    Status.SCREENED: "Screened as eligible; awaiting a suitability assessment.",
    Status.UNDER_ASSESSMENT: "Under assessment by the High Harm Perpetrator Unit.",
    Status.ACCEPTED: "Accepted: the person is managed by the High Harm Perpetrator Unit.",
    Status.DECLINED: "Declined.",
    Status.WITHDRAWN: "Withdrawn by the referring agency.",
}


class IllegalTransition(Exception):
    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"a referral cannot go from {current} to {target}")
        self.current = current
        self.target = target


def can_transition(current: str, target: str) -> bool:
    return Status(target) in TRANSITIONS[Status(current)]


def check_transition(current: str, target: str) -> None:
    """Raise IllegalTransition unless `current -> target` is allowed."""
    if not can_transition(current, target):
        raise IllegalTransition(current, target)
