"""Events in: agenda items from assessments and ranking runs; partner agencies from the referral-api.

Handlers call the service layer with the process's settings (time boxes, the new-case meeting
type): :func:`bind` registers them bound to one settings object, and the app's ``prepare`` hook
gives each runtime the registry bound to its own settings. The module-level ``handlers`` names the
events this service consumes (bound to the default settings, for the service declaration and the
contract checks).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hhpu_shared.audit import AuditOperation
from hhpu_shared.events.contracts.case import (
    AssessmentClosed,
    AssessmentDecided,
    AssessmentOpened,
    AssessmentTriggerAdded,
    AssessmentTriggerWithdrawn,
)
from hhpu_shared.events.contracts.ranking import RankingRunCompleted
from hhpu_shared.events.contracts.referral import AgencyChanged
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.messaging.consumer import HandlerRegistry
from hhpu_shared.protection import is_marked, marks
from hhpu_shared.protection_api import DataProtectionHooks, register_protection_handlers
from hhpu_shared.uow import UnitOfWork

from meeting_service.service import agenda, meetings, protection
from meeting_service.service.agenda import ItemSpec
from meeting_service.settings import MeetingSettings

NEW_CASE_WHY = "agenda item for a new suitability assessment (multi-agency meeting)"


def _trigger_text(source: str, ref: str, detail: str | None) -> str:
    return f"Trigger: {source} {ref}" + (f" ({detail})" if detail else "")


def on_assessment_opened(
    uow: UnitOfWork, settings: MeetingSettings, data: AssessmentOpened, env: Envelope
) -> None:
    """One ``new_case`` item on the next new-case meeting (once across the open meetings); none for
    a person whose processing is restricted or whose data was erased."""
    notes = "\n".join(_trigger_text(t.source, t.ref, t.detail) for t in data.triggers)
    if data.summary:
        notes = f"{data.summary}\n{notes}" if notes else data.summary
    spec = ItemSpec(
        key=f"assessment:{data.assessment_id}",
        kind="new_case",
        title=f"New case: suitability assessment for {data.person_label}"[:300],
        assessment_id=data.assessment_id,
        person_id=data.person_id,
        person_label=data.person_label,
        urgency=data.urgency,
        notes=notes or None,
    )
    # One statement in the common case (mark, open items and next meeting checked in it).
    meeting_id = agenda.insert_on_next_meeting(uow, settings, spec)
    if meeting_id is None:
        if is_marked(uow.session, data.person_id):
            return
        item, created = agenda.add_to_next_meeting(uow, settings, spec)
        if not created:
            return
        meeting_id = item.meeting_id
    uow.audit(
        AuditOperation.COLLECT,
        subject_type="person",
        subject_id=data.person_id,
        justification=NEW_CASE_WHY,
        detail={"meeting_id": meeting_id, "assessment_id": data.assessment_id},
    )


def on_trigger_added(
    uow: UnitOfWork, settings: MeetingSettings, data: AssessmentTriggerAdded, env: Envelope
) -> None:
    """The new trigger is noted on the case's open items; a more urgent one raises their urgency."""
    t = data.trigger
    agenda.append_note(uow, data.assessment_id, _trigger_text(t.source, t.ref, t.detail), data.summary)
    if data.urgency:
        agenda.raise_urgency(uow, data.assessment_id, data.urgency)


def on_trigger_withdrawn(
    uow: UnitOfWork, settings: MeetingSettings, data: AssessmentTriggerWithdrawn, env: Envelope
) -> None:
    """A trigger no longer counts (its referral was withdrawn): noted on the case's open items, whose
    urgency follows the remaining triggers. (``assessment.closed`` follows when none remain.)"""
    t = data.trigger
    note = f"Trigger withdrawn: {t.source} {t.ref} ({data.reason_code})"
    agenda.append_note(uow, data.assessment_id, note)
    if data.urgency and data.remaining_triggers:
        agenda.set_urgency(uow, data.assessment_id, data.urgency)


def on_assessment_closed(
    uow: UnitOfWork, settings: MeetingSettings, data: AssessmentClosed, env: Envelope
) -> None:
    """Closed without a decision: its undecided items leave the open agendas (withdrawn), or move to
    the assessment it was merged into (merged)."""
    if data.reason == "merged" and data.merged_into:
        agenda.follow_merge(uow, settings, data.assessment_id, data.merged_into, data.person_id)
        return
    note = "Removed: every referral behind this assessment was withdrawn; nothing else keeps it open."
    agenda.remove_undecided(uow, data.assessment_id, note)


def on_assessment_decided(
    uow: UnitOfWork, settings: MeetingSettings, data: AssessmentDecided, env: Envelope
) -> None:
    """Decided elsewhere (adopt/decline): undecided items of the assessment leave the open agendas."""
    if data.decision != "defer":
        agenda.withdraw_decided(uow, data.assessment_id, data.decision)


def on_ranking_run_completed(
    uow: UnitOfWork, settings: MeetingSettings, data: RankingRunCompleted, env: Envelope
) -> None:
    """One ``review`` item per big mover of a production run (a shadow or dry run proposes nothing)."""
    if data.kind != "production" or not data.big_movers:
        return
    held = marks(uow.session, data.big_movers)  # restricted or erased: not put on an agenda
    for n, person_ref in enumerate(data.big_movers):
        if person_ref in held:
            continue
        agenda.add_to_next_meeting(
            uow,
            settings,
            ItemSpec(
                key=f"review:{person_ref}",
                kind="review",
                title="Review: big move in the harm ranking",
                person_id=person_ref,
                person_label=person_ref,
                order_hint=n,  # the ranking lists the biggest movers first
                notes=f"Ranking run {data.run_id} ({data.as_of.isoformat()}): moved sharply in the ranking.",
            ),
        )


def on_agency_changed(uow: UnitOfWork, settings: MeetingSettings, data: AgencyChanged, env: Envelope) -> None:
    """Keep the partner agencies and their single points of contact in step with the referral-api."""
    meetings.upsert_agency(
        uow,
        data.agency_id,
        {
            "name": data.name,
            "spoc_name": data.contact_name,
            "spoc_email": data.contact_email,
            "spoc_phone": data.contact_phone,
            "active": data.active,
        },
    )


HANDLERS: tuple[tuple[type[Any], Callable[[UnitOfWork, MeetingSettings, Any, Envelope], None]], ...] = (
    (AssessmentOpened, on_assessment_opened),
    (AssessmentTriggerAdded, on_trigger_added),
    (AssessmentDecided, on_assessment_decided),
    (AssessmentTriggerWithdrawn, on_trigger_withdrawn),
    (AssessmentClosed, on_assessment_closed),
    (RankingRunCompleted, on_ranking_run_completed),
    (AgencyChanged, on_agency_changed),
)


# Subject access and erasure (person.erased / person.restricted from the case-service).
PROTECTION = DataProtectionHooks(
    export=protection.export, erase=protection.erase, restrict=agenda.set_aside_restricted
)


def bind(settings: MeetingSettings) -> HandlerRegistry:
    """The service's handlers, each called with `settings`."""
    registry = HandlerRegistry()
    for model, fn in HANDLERS:
        registry.handles(model)(_bound(fn, settings))
    register_protection_handlers(registry, PROTECTION)
    return registry


def _bound(
    fn: Callable[[UnitOfWork, MeetingSettings, Any, Envelope], None], settings: MeetingSettings
) -> Callable[[UnitOfWork, Any, Envelope], None]:
    def handler(uow: UnitOfWork, data: Any, env: Envelope) -> None:
        fn(uow, settings, data, env)

    handler.__name__ = fn.__name__
    handler.__doc__ = fn.__doc__
    return handler


handlers = bind(MeetingSettings.model_construct())
