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


OUTCOME_TEXT: dict[Status, str] = {
    Status.SUBMITTED: "Received; screening pending.",
    Status.SCREENED: "Screened as eligible; awaiting a suitability assessment.",
    Status.UNDER_ASSESSMENT: "Under assessment by the High Harm Perpetrator Unit.",
    Status.ACCEPTED: "Accepted: the person is managed by the High Harm Perpetrator Unit.",
    Status.DECLINED: "Declined.",
    Status.WITHDRAWN: "Withdrawn by the referring agency.",
}


def can_transition(current: str, target: str) -> bool:
    return Status(target) in TRANSITIONS[Status(current)]
