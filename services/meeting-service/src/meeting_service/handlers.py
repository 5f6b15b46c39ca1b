"""Event handlers: agenda items from assessments and ranking runs."""

from __future__ import annotations

from hhpu_shared.audit import AuditOperation
from hhpu_shared.events.contracts.case import AssessmentDecided, AssessmentOpened, AssessmentTriggerAdded
from hhpu_shared.events.contracts.ranking import RankingRunCompleted
from hhpu_shared.events.contracts.referral import AgencyChanged
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.messaging.consumer import HandlerRegistry
from hhpu_shared.uow import UnitOfWork

from meeting_service.service import MeetingService
from meeting_service.service_agenda import AgendaService, ItemSpec
from meeting_service.settings import MeetingSettings

handlers = HandlerRegistry()

# Set by create_app: handlers run with the service's settings (time boxes, meeting type).
_settings: dict[str, MeetingSettings] = {}
SKIPPED_RUN_KINDS = ("shadow", "dry", "what_if", "whatif", "rerun", "replay", "backtest")


def configure(settings: MeetingSettings) -> None:
    _settings["current"] = settings


def settings() -> MeetingSettings:
    return _settings.get("current") or MeetingSettings()


def _trigger_text(source: str, ref: str, detail: str | None) -> str:
    return f"Trigger: {source} {ref}" + (f" ({detail})" if detail else "")


@handlers.handles(AssessmentOpened)
def on_assessment_opened(uow: UnitOfWork, data: AssessmentOpened, env: Envelope) -> None:
    agenda = AgendaService(uow, settings())
    notes = "\n".join(_trigger_text(t.source, t.ref, t.detail) for t in data.triggers)
    if data.summary:
        notes = f"{data.summary}\n{notes}" if notes else data.summary
    item, created = agenda.add_to_next_meeting(
        ItemSpec(
            key=f"assessment:{data.assessment_id}",
            kind="new_case",
            title=f"New case: suitability assessment for {data.person_label}"[:300],
            assessment_id=data.assessment_id,
            person_id=data.person_id,
            person_label=data.person_label,
            urgency=data.urgency,
            notes=notes or None,
        )
    )
    if created:
        uow.audit(
            AuditOperation.COLLECT,
            subject_type="person",
            subject_id=data.person_id,
            justification="agenda item for a new suitability assessment (multi-agency meeting)",
            detail={"meeting_id": item.meeting_id, "assessment_id": data.assessment_id},
        )


@handlers.handles(AssessmentTriggerAdded)
def on_trigger_added(uow: UnitOfWork, data: AssessmentTriggerAdded, env: Envelope) -> None:
    t = data.trigger
    agenda = AgendaService(uow, settings())
    agenda.append_note(data.assessment_id, _trigger_text(t.source, t.ref, t.detail))
    if data.urgency:
        agenda.raise_urgency(data.assessment_id, data.urgency)


@handlers.handles(AssessmentDecided)
def on_assessment_decided(uow: UnitOfWork, data: AssessmentDecided, env: Envelope) -> None:
    """Decided elsewhere (adopt/decline): undecided items of the assessment leave the open agendas."""
    if data.decision != "defer":
        AgendaService(uow, settings()).withdraw_decided(data.assessment_id, data.decision)


@handlers.handles(RankingRunCompleted)
def on_ranking_run_completed(uow: UnitOfWork, data: RankingRunCompleted, env: Envelope) -> None:
    kind = data.kind.lower()
    if any(s in kind for s in SKIPPED_RUN_KINDS) or not data.big_movers:
        return
    agenda = AgendaService(uow, settings())
    for n, person_ref in enumerate(data.big_movers):
        agenda.add_to_next_meeting(
            ItemSpec(
                key=f"review:{person_ref}",
                kind="review",
                title="Review: big move in the harm ranking",
                person_id=person_ref,
                person_label=person_ref,
                order_hint=n,  # the ranking lists the biggest movers first
                notes=f"Ranking run {data.run_id} ({data.as_of.isoformat()}): moved sharply in the ranking.",
            )
        )


@handlers.handles(AgencyChanged)
def on_agency_changed(uow: UnitOfWork, data: AgencyChanged, env: Envelope) -> None:
    """Keep the partner agencies and their single points of contact in step with the referral-api."""
    MeetingService(uow, settings()).upsert_agency(
        data.agency_id,
        {
            "name": data.name,
            "spoc_name": data.contact_name,
            "spoc_email": data.contact_email,
            "spoc_phone": data.contact_phone,
            "active": data.active,
        },
    )
