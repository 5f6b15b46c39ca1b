"""Events produced by the case-service (aggregates `assessment`, `case`, `person`)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from hhpu_shared.events.base import EventData, register
from hhpu_shared.events.contracts.common import Cohort, Decision, Trigger, Urgency

# How a person came to the unit (Home Office IOM and ViSOR returns).
IdentifiedBy = Literal["mappa", "iom_meeting", "algorithm", "partner_referral", "internal_referral"]


@register("assessment.opened", aggregate="assessment")
class AssessmentOpened(EventData):
    assessment_id: str
    person_id: str
    records_id: str | None = None
    person_label: str
    triggers: tuple[Trigger, ...]
    urgency: Urgency = "normal"
    summary: str | None = None


@register("assessment.trigger_added", aggregate="assessment")
class AssessmentTriggerAdded(EventData):
    assessment_id: str
    person_id: str
    trigger: Trigger
    urgency: Urgency | None = None  # the assessment's urgency after this trigger (it only rises)
    summary: str | None = None  # every trigger of the assessment now, e.g. "1 referral, 1 ranking candidate"


@register("assessment.trigger_withdrawn", aggregate="assessment")
class AssessmentTriggerWithdrawn(EventData):
    """A trigger's source went away (its referral was withdrawn): it no longer counts for the
    assessment. When nothing else keeps the assessment open, ``assessment.closed`` follows."""

    assessment_id: str
    person_id: str
    trigger: Trigger
    reason_code: str  # the referral's WithdrawalReason (a str, so a newer reason never dead-letters)
    remaining_triggers: int
    urgency: Urgency | None = None  # the assessment's urgency from its remaining triggers


@register("assessment.closed", aggregate="assessment")
class AssessmentClosed(EventData):
    """An assessment ended without a decision: every trigger withdrawn (``withdrawn``), or its person
    merged into another whose open assessment took its triggers (``merged``, with `merged_into`)."""

    assessment_id: str
    person_id: str
    records_id: str | None = None
    reason: str  # withdrawn | merged (a str, so a newer reason never dead-letters an older consumer)
    merged_into: str | None = None


@register("assessment.decided", aggregate="assessment")
class AssessmentDecided(EventData):
    assessment_id: str
    person_id: str
    records_id: str | None = None
    decision: Decision
    decided_by: str
    cohort: Cohort | None
    referral_ids: tuple[str, ...]
    reason: str | None = None


@register("case.adopted", aggregate="case")
class CaseAdopted(EventData):
    case_id: str
    person_id: str
    records_id: str | None = None
    cohort: Cohort
    identified_by: IdentifiedBy


@register("case.exited", aggregate="case")
class CaseExited(EventData):
    case_id: str
    person_id: str
    records_id: str | None = None
    reason_code: str


@register("case.manager_allocated", aggregate="case")
class ManagerAllocated(EventData):
    case_id: str
    manager_id: str
    reasons: tuple[str, ...]


@register("case.intervention_recorded", aggregate="case")
class InterventionRecorded(EventData):
    case_id: str
    intervention_code: str
    category: str
    agency: str
    started_on: date | None


@register("person.merged", aggregate="person")
class PersonMerged(EventData):
    surviving_person_id: str
    merged_person_id: str
    merged_by: str


@register("person.erased", aggregate="person")
class PersonErased(EventData):
    """A disposal or erasure decision (DPA 2018 s.47, MoPI disposal): every service deletes or
    irreversibly anonymises what it holds on the person, keeping the audit of the erasure itself.
    `references` are every reference the platform knows the person by (case person id, records id,
    referral ids), never a name or a date of birth. For a person the case-service never held (erased
    by reference: a referral screened out or awaiting a match review, someone only ranked),
    `person_id` is the first of the references given."""

    person_id: str
    references: tuple[str, ...]
    decision_id: str
    decided_by: str
    reason_code: str  # mopi_disposal | erasure_request | unlawful_processing | other
    reason: str


@register("person.restricted", aggregate="person")
class PersonRestricted(EventData):
    """Processing restricted (DPA 2018 s.47(2)) or the restriction lifted: a restricted person's
    records are kept but not processed further (not ranked as a candidate, not put on an agenda,
    not changed)."""

    person_id: str
    references: tuple[str, ...]
    restricted: bool
    decision_id: str
    decided_by: str
    reason_code: str
