"""Suitability assessments: one open per person gathering every trigger; decisions by a named person."""

from __future__ import annotations

from typing import Any

from hhpu_shared.errors import Conflict, ValidationProblem, field_error
from hhpu_shared.events.contracts.case import (
    AssessmentClosed,
    AssessmentDecided,
    AssessmentOpened,
    AssessmentTriggerAdded,
    AssessmentTriggerWithdrawn,
)
from hhpu_shared.events.contracts.common import Trigger, most_urgent
from hhpu_shared.http import Page, PageParams
from hhpu_shared.uow import UnitOfWork

from case_service import repository as repo
from case_service.domain import lifecycle, suitability
from case_service.models import Assessment, AssessmentDecision, AssessmentTrigger, Case, Person, now
from case_service.schemas import AssessmentPublic, DecisionPublic, TriggerPublic
from case_service.service import cases
from case_service.service.common import (
    actor,
    alter,
    collect,
    consult,
    created_here,
    get_or_404,
    insert_or_existing,
    person_ref,
)


def checklist() -> dict[str, str]:
    """The suitability checklist's items."""
    return dict(suitability.CHECKLIST)


def _trigger_model(t: AssessmentTrigger) -> Trigger:
    return Trigger(source=t.source, ref=t.ref, detail=t.detail)  # type: ignore[arg-type, unused-ignore]


def _open_or_get(uow: UnitOfWork, person: Person, urgency: str) -> tuple[Assessment, bool]:
    s = uow.session
    found = None if created_here(uow, person.id) else repo.open_assessment(s, person.id)
    if found is not None:
        return found, False
    row = Assessment(person_id=person.id, open_key=person.id, urgency=urgency)
    return insert_or_existing(uow, row, lambda: repo.open_assessment(s, person.id), ["open_key"])


def add_trigger(
    uow: UnitOfWork,
    person: Person,
    *,
    source: str,
    ref: str,
    origin: str | None,
    detail: str | None,
    urgency: str,
    data: dict[str, Any],
    why: str,
    statutory_status: str | None = None,
) -> tuple[Assessment, bool]:
    """Open the person's assessment or extend the open one; returns (assessment, trigger_was_new).

    `statutory_status` (a referral's): a new trigger records it on the person's active case when
    that case has none yet."""
    s = uow.session
    a, opened = _open_or_get(uow, person, urgency)
    if not opened and repo.trigger(s, a.id, source, ref) is not None:
        return a, False  # the same referral or candidate again: nothing new
    row = AssessmentTrigger(
        assessment_id=a.id, source=source, ref=ref, origin=origin, detail=detail, urgency=urgency, data=data
    )
    t, created = insert_or_existing(
        uow, row, lambda: repo.trigger(s, a.id, source, ref), ["assessment_id", "source", "ref"]
    )
    if not created:
        return a, False
    a.urgency = most_urgent([a.urgency, urgency])
    case: Case | None
    if opened:
        collect(uow, "assessment", a.id, why, person_id=person.id, trigger=source)
        case = cases.ensure_candidate(
            uow, person, a, source_key=f"{source}:{origin or ''}", why=why, statutory_status=statutory_status
        )
        a.case_id = case.id
        uow.emit(
            AssessmentOpened(
                assessment_id=a.id,
                person_id=person.id,
                records_id=person.records_id,
                person_label=person.label,
                triggers=(_trigger_model(t),),
                urgency=a.urgency,
                summary=suitability.summary([(source, detail)]) + (f": {detail}" if detail else ""),
            ),
            aggregate_id=a.id,
            subject=person_ref(person.id),
        )
    else:
        case = repo.active_case(s, person.id) if statutory_status is not None else None
        alter(uow, "assessment", a.id, why, trigger_added=source)
        uow.emit(
            AssessmentTriggerAdded(
                assessment_id=a.id,
                person_id=person.id,
                trigger=_trigger_model(t),
                urgency=a.urgency,
                summary=suitability.summary([(x.source, x.detail) for x in repo.triggers(s, a.id)]),
            ),
            aggregate_id=a.id,
            subject=person_ref(person.id),
        )
    if statutory_status is not None and case is not None and case.statutory_status is None:
        case.statutory_status = statutory_status
        case.subject_category = suitability.subject_category(statutory_status)
    return a, True


def withdraw_source(uow: UnitOfWork, source: str, ref: str, reason_code: str, why: str) -> int:
    """The source of a trigger went away (a referral withdrawn): the trigger stops counting on its open
    assessment; when nothing else keeps that assessment open it closes, undecided (``withdrawn``).
    Returns how many triggers were withdrawn (0: none open, e.g. already decided or never reached)."""
    s = uow.session
    found = repo.open_triggers_by_ref(s, source, ref)
    for t in found:
        a = get_or_404(repo.assessment(s, t.assessment_id), "assessment")
        t.withdrawn_at, t.withdrawn_reason = now(), reason_code[:64]
        s.add(t)
        remaining = [x for x in repo.triggers(s, a.id) if x.withdrawn_at is None and x.id != t.id]
        if remaining:
            a.urgency = most_urgent(x.urgency for x in remaining)
        alter(uow, "assessment", a.id, why, trigger_withdrawn=source, remaining=len(remaining))
        uow.emit(
            AssessmentTriggerWithdrawn(
                assessment_id=a.id,
                person_id=a.person_id,
                trigger=_trigger_model(t),
                reason_code=reason_code,
                remaining_triggers=len(remaining),
                urgency=a.urgency,
            ),
            aggregate_id=a.id,
            subject=person_ref(a.person_id),
        )
        if not remaining:
            a.status, a.open_key = "withdrawn", None
            a.decision_reason = f"every trigger withdrawn ({source} {ref}: {reason_code})"[:2000]
            cases.withdraw(uow, a, why)
            _emit_closed(uow, a, "withdrawn")
    return len(found)


def _emit_closed(
    uow: UnitOfWork,
    a: Assessment,
    reason: str,
    *,
    merged_into: str | None = None,
    records_id: str | None = None,
) -> None:
    """`records_id`: the records id the assessment was about (a merged-away person's own)."""
    person = repo.person(uow.session, a.person_id)
    uow.emit(
        AssessmentClosed(
            assessment_id=a.id,
            person_id=a.person_id,
            records_id=records_id or (person.records_id if person else None),
            reason=reason,
            merged_into=merged_into,
        ),
        aggregate_id=a.id,
        subject=person_ref(a.person_id),
    )


def get(uow: UnitOfWork, assessment_id: str, justification: str) -> Assessment:
    a = get_or_404(repo.assessment(uow.session, assessment_id), "assessment")
    consult(uow, "assessment", a.id, justification, person_id=a.person_id)
    return a


def public(uow: UnitOfWork, a: Assessment) -> AssessmentPublic:
    """The API view of an assessment, with its triggers and decisions."""
    out = AssessmentPublic.model_validate(a)
    out.triggers = [TriggerPublic.model_validate(t) for t in repo.triggers(uow.session, a.id)]
    out.decisions = [DecisionPublic.model_validate(d) for d in repo.decisions(uow.session, a.id)]
    return out


def listing(
    uow: UnitOfWork, page: PageParams, *, status: str | None, person_id: str | None, why: str
) -> Page[AssessmentPublic]:
    """One page of assessments, newest first; each listed one is an audited consultation."""
    rows, total = repo.assessments(
        uow.session, status=status, person_id=person_id, limit=page.limit, offset=page.offset
    )
    for a in rows:
        consult(uow, "assessment", a.id, why, person_id=a.person_id, view="list")
    return Page[AssessmentPublic].of([public(uow, a) for a in rows], total, page)


def _require_open(a: Assessment) -> None:
    if a.status != "open":
        raise Conflict(f"the assessment is {a.status}; it no longer takes changes", code="assessment_closed")


def update_checklist(
    uow: UnitOfWork, assessment_id: str, items: dict[str, bool | None], why: str
) -> Assessment:
    a = get_or_404(repo.assessment(uow.session, assessment_id), "assessment")
    _require_open(a)
    unknown = suitability.checklist_errors(items)
    if unknown:
        raise ValidationProblem(
            [field_error(f"items.{k}", "unknown_item", "not a checklist item") for k in unknown]
        )
    a.checklist = {**a.checklist, **items}
    alter(uow, "assessment", a.id, why, checklist=sorted(items))
    cases.start_assessment(uow, a, why)
    return a


def recommend(
    uow: UnitOfWork, assessment_id: str, recommendation: str, note: str | None, why: str
) -> Assessment:
    a = get_or_404(repo.assessment(uow.session, assessment_id), "assessment")
    _require_open(a)
    a.recommendation, a.recommendation_note, a.recommendation_by = recommendation, note, actor(uow)
    alter(uow, "assessment", a.id, why, recommendation=recommendation)
    cases.start_assessment(uow, a, why)
    return a


def decide(
    uow: UnitOfWork,
    assessment_id: str,
    *,
    decision: str,
    decided_by: str,
    cohort: str | None,
    reason: str | None,
    source: str,
    why: str,
    default_cohort: str = "hhpu",
) -> Assessment:
    """Record a human decision. Adopt: the case becomes managed and a manager is suggested and allocated."""
    s = uow.session
    a = get_or_404(repo.assessment(s, assessment_id), "assessment")
    if not decided_by.strip():
        raise ValidationProblem([field_error("decided_by", "required", "a decision names who made it")])
    _require_open(a)
    person = get_or_404(repo.person(s, a.person_id), "person")
    chosen = (cohort or default_cohort) if decision == "adopt" else cohort
    s.add(
        AssessmentDecision(
            assessment_id=a.id,
            decision=decision,
            decided_by=decided_by,
            recorded_by=actor(uow),
            cohort=chosen,
            reason=reason,
            source=source,
        )
    )
    a.decision, a.decided_by, a.decided_at, a.decision_reason = decision, decided_by, now(), reason
    a.cohort = chosen
    if decision != "defer":
        a.status, a.open_key = "decided", None
    alter(uow, "assessment", a.id, why, decision=decision, decided_by=decided_by)
    trig = repo.triggers(s, a.id)
    uow.emit(
        AssessmentDecided(
            assessment_id=a.id,
            person_id=person.id,
            records_id=person.records_id,
            decision=decision,  # type: ignore[arg-type, unused-ignore]
            decided_by=decided_by,
            cohort=chosen,  # type: ignore[arg-type, unused-ignore]
            referral_ids=tuple(t.ref for t in trig if t.source == "referral" and t.withdrawn_at is None),
            reason=reason,
        ),
        aggregate_id=a.id,
        subject=person_ref(person.id),
    )
    if decision == "adopt":
        sources = [f"{t.source}:{t.origin or ''}" for t in trig]
        if source.startswith("meeting") and not sources:
            sources = ["meeting:"]
        case = cases.adopt(uow, person, a, cohort=chosen or default_cohort, sources=sources, why=why)
        a.case_id = case.id
    elif decision == "decline":
        cases.decline(uow, a, why)
    return a


def adopt_by_hand(
    uow: UnitOfWork, case_id: str, decided_by: str | None, reason: str | None, why: str
) -> Case:
    """Move a case to managed through a recorded adopt decision (a MAPPA panel, an IOM meeting...).

    A case is never managed without a decision: the decision is recorded on the person's open
    suitability assessment (one is opened by hand if there is none), then adopted as any decision is.
    """
    s = uow.session
    c = get_or_404(repo.case(s, case_id), "case")
    if not (decided_by or "").strip():
        raise ValidationProblem(
            [
                field_error(
                    "decided_by", "required", "moving a case to managed records who decided to adopt it"
                )
            ]
        )
    err = lifecycle.transition_error(c.status, "managed", None)
    if err:
        raise Conflict(err, code="illegal_transition", extra={"from": c.status, "to": "managed"})
    cases.check_cohort(c.cohort, c.mappa_category, c.mappa_level, strict=True)
    a = repo.open_assessment(s, c.person_id) or open_manual(
        uow, c.person_id, f"adopted by hand ({c.identified_by})", "normal", why
    )
    decide(
        uow,
        a.id,
        decision="adopt",
        decided_by=str(decided_by),
        cohort=c.cohort,
        reason=reason,
        source="api:case-transition",
        why=why,
    )
    return c


def open_manual(uow: UnitOfWork, person_id: str, detail: str | None, urgency: str, why: str) -> Assessment:
    """Open (or extend) a person's assessment by hand (404 for an unknown person)."""
    person = get_or_404(repo.person(uow.session, person_id), "person")
    a, _ = add_trigger(
        uow,
        person,
        source="manual",
        ref=f"manual:{actor(uow)}:{now().isoformat()}",
        origin=actor(uow),
        detail=detail,
        urgency=urgency,
        data={},
        why=why,
    )
    return a


def move_to_person(uow: UnitOfWork, a: Assessment, keep: Person) -> None:
    """On a merge: re-point an assessment; two open ones become one (triggers moved, history kept)."""
    s = uow.session
    if a.open_key is None:
        a.person_id = keep.id
        return
    target = repo.open_assessment(s, keep.id)
    if target is None:
        a.person_id, a.open_key = keep.id, None
        s.flush()
        a.open_key = keep.id
        return
    gone = repo.person(s, a.person_id)
    for t in repo.triggers(s, a.id):
        if repo.trigger(s, target.id, t.source, t.ref) is None:
            t.assessment_id = target.id
    a.person_id, a.open_key, a.status = keep.id, None, "merged"
    a.decision_reason = f"merged into assessment {target.id}"
    target.urgency = most_urgent([target.urgency, a.urgency])
    s.flush()
    # its agenda item and the ranking's "under assessment" follow the surviving assessment
    _emit_closed(uow, a, "merged", merged_into=target.id, records_id=gone.records_id if gone else None)
