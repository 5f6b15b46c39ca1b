"""MoPI review and retention: each person's group and next review date, the review queue, and the
retain or dispose decisions (a disposal is an erasure with reason code ``mopi_disposal``).

The group is derived from what the case-service holds (cases, referral triggers, ranking
candidates, risk assessments) by ``domain.mopi`` and refreshed whenever that changes; it only goes
up. Every decision is kept in ``case_retention_review`` and audited.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, Protocol

from hhpu_shared.audit import AuditOperation
from hhpu_shared.errors import Conflict
from hhpu_shared.http import Page, PageParams
from hhpu_shared.protection import MarkState, is_marked, marks
from hhpu_shared.uow import UnitOfWork

from case_service import repository as repo
from case_service.domain import mopi, suitability
from case_service.metrics import REVIEWS_OVERDUE
from case_service.models import Person, RetentionReview, now
from case_service.schemas_retention import (
    RetentionReviewPublic,
    RetentionStatus,
    ReviewOutcome,
)
from case_service.service.common import actor, alter, consult, get_or_404, today

QUEUE_SUBJECT = "retention_review_queue"


Trigger = tuple[str, dict[str, Any]]  # a trigger's source and data


class CaseFacts(Protocol):
    """What a case tells about its person's group (a `Case`, or one about to be inserted)."""

    @property
    def cohort(self) -> str: ...
    @property
    def mappa_category(self) -> int | None: ...
    @property
    def subject_category(self) -> str: ...


class MopiFields(Protocol):
    """A person's MoPI fields (a `Person`, or the row of one about to be inserted)."""

    date_of_birth: date | None
    mopi_group: int
    mopi_basis: list[str]
    mopi_review_on: date | None


def facts(uow: UnitOfWork, person_id: str, *, only_trigger: Trigger | None = None) -> mopi.Facts:
    """What the case-service knows about the person that bears on their MoPI group.

    `only_trigger`: the person was created by this unit of work, whose trigger (in hand) is the only
    one of their only assessment, and whose cases are new, so triggers and risk tools are not read."""
    s = uow.session
    cases = repo.cases_for_person(s, person_id)
    if only_trigger is None:
        found = repo.triggers_of_person(s, person_id)
        triggers = [(t.source, t.data) for t in found if t.withdrawn_at is None]
        risk_tools = repo.risk_tools_of(s, [c.id for c in cases])
    else:
        triggers, risk_tools = [only_trigger], set()
    return known_facts(cases, triggers, risk_tools)


def known_facts(
    cases: Sequence[CaseFacts], triggers: Sequence[Trigger], risk_tools: Iterable[str]
) -> mopi.Facts:
    """The facts of a person from their cases, their counted triggers and their cases' risk tools."""
    referrals = [data for source, data in triggers if source == "referral"]
    statuses = [str(d.get("statutory_status") or "") for d in referrals]
    return mopi.Facts(
        cohorts=frozenset(c.cohort for c in cases),
        mappa_categories=frozenset(c.mappa_category for c in cases if c.mappa_category is not None),
        domains=frozenset(str(x) for d in referrals for x in d.get("domains") or ()),
        risk_tools=frozenset(risk_tools),
        convicted=any(c.subject_category == "convicted" for c in cases)
        or any(suitability.subject_category(x) == "convicted" for x in statuses),
        offences_recorded=any(source == "ranking" for source, _ in triggers),
    )


def refresh(
    uow: UnitOfWork, person: Person, *, erased: bool | None = None, only_trigger: Trigger | None = None
) -> None:
    """The person came to notice (created, a referral, a candidate, a case or an assessment): their
    group is derived again (it only goes up) and their review is a clear period from today.
    `erased`: whether the person carries an erasure mark, when the caller has just read it;
    `only_trigger`: see `facts`."""
    if erased is None:
        erased = is_marked(uow.session, person.id, MarkState.ERASED)
    if erased:
        return  # disposed of: never reviewed again
    rederive(person, facts(uow, person.id, only_trigger=only_trigger))
    uow.session.add(person)


def rederive(person: MopiFields, known: mopi.Facts) -> None:
    """Set the person's group, its basis and their review date from what is `known` about them."""
    derived = mopi.classify(known)
    old = person.mopi_group
    group = mopi.raised(old, derived.group)
    if derived.group == group:  # the basis of the group held: what decided it, gathered over time
        kept = person.mopi_basis if group == old else []
        person.mopi_basis = list(dict.fromkeys([*kept, *derived.reasons]))
    person.mopi_group = group
    person.mopi_review_on = mopi.review_after_news(
        group, person.mopi_review_on, today(), person.date_of_birth
    )


def refresh_person(uow: UnitOfWork, person_id: str) -> None:
    p = repo.person(uow.session, person_id)
    if p is not None:
        refresh(uow, p)


def absorb(uow: UnitOfWork, keep: Person, gone: Person) -> None:
    """A merge: the surviving record takes the higher group and the later review of the two."""
    if gone.mopi_group < keep.mopi_group:
        keep.mopi_group, keep.mopi_basis = gone.mopi_group, list(gone.mopi_basis)
    if gone.mopi_review_on and (keep.mopi_review_on is None or keep.mopi_review_on < gone.mopi_review_on):
        keep.mopi_review_on = gone.mopi_review_on
    refresh(uow, keep)


def publish_overdue(uow: UnitOfWork) -> dict[str, int]:
    """People overdue for review by group ("1".."4"), set on the dashboards' gauge."""
    counts = repo.reviews_overdue_by_group(uow.session, today())
    out = {str(g): counts.get(g, 0) for g in mopi.GROUPS}
    for g, n in out.items():
        REVIEWS_OVERDUE.labels(g).set(n)
    return out


def _status(p: Person, on: date, restricted: bool) -> RetentionStatus:
    return RetentionStatus(
        person_id=p.id,
        records_id=p.records_id,
        name=p.label,
        date_of_birth=p.date_of_birth,
        mopi_group=p.mopi_group,
        group_name=mopi.GROUPS[p.mopi_group],
        basis=list(p.mopi_basis),
        review_due_on=p.mopi_review_on,
        overdue_days=mopi.overdue_days(p.mopi_review_on, on),
        last_reviewed_on=p.mopi_reviewed_on,
        restricted=restricted,
    )


def queue(
    uow: UnitOfWork, page: PageParams, *, due_before: date | None, groups: Sequence[int], why: str
) -> Page[RetentionStatus]:
    """People whose review is due by `due_before` (default today), soonest first; one audit entry
    per person shown (bulk-inserted)."""
    on = today()
    until = due_before or on
    rows, total = repo.review_queue(
        uow.session, due_before=until, groups=groups, limit=page.limit, offset=page.offset
    )
    state = marks(uow.session, [p.id for p in rows])
    uow.audit_people(
        AuditOperation.CONSULT,
        [p.id for p in rows] or [None],
        subject_type=QUEUE_SUBJECT,
        subject_id=until.isoformat(),
        justification=why,
        detail={"view": "mopi_review_queue", "groups": list(groups), "offset": page.offset},
    )
    items = [_status(p, on, state.get(p.id) == MarkState.RESTRICTED) for p in rows]
    return Page[RetentionStatus].of(items, total, page)


def _live_person(uow: UnitOfWork, person_id: str, *, lock: bool = False) -> Person:
    find = repo.person_for_update if lock else repo.person
    p = get_or_404(find(uow.session, person_id), "person")
    if is_marked(uow.session, p.id, MarkState.ERASED):
        raise Conflict("This person's data has already been erased.", code="already_erased")
    if p.merged_into:
        raise Conflict(
            "this record was merged; review the surviving record",
            code="person_merged",
            extra={"surviving_person_id": p.merged_into},
        )
    return p


def status(uow: UnitOfWork, person_id: str, why: str) -> RetentionStatus:
    """One person's review state (an audited consultation; an erased person is 409)."""
    p = _live_person(uow, person_id)
    consult(uow, "person", p.id, why, view="mopi_review")
    return _status(p, today(), is_marked(uow.session, p.id, MarkState.RESTRICTED))


def decide(
    uow: UnitOfWork, person_id: str, decision: str, reason_code: str, reason: str, why: str
) -> ReviewOutcome:
    """Retain (the review moves on by the group's interval) or dispose (the erasure path, reason code
    `mopi_disposal`, applied here and in every service by `person.erased`). Both are recorded."""
    from case_service.service import protection  # local: protection's erase hook clears the review

    p = _live_person(uow, person_id, lock=True)
    on = today()
    previous = p.mopi_review_on
    erasure: dict[str, object] | None = None
    if decision == "retain":
        following: date | None = mopi.review_after_retain(p.mopi_group, previous, on, p.date_of_birth)
    else:
        refusal = mopi.disposal_refusal(p.mopi_group, previous, on, p.date_of_birth)
        if refusal:
            raise Conflict(refusal[1], code=refusal[0], extra={"mopi_group": p.mopi_group})
        following = None
    row = RetentionReview(
        person_id=p.id,
        decision=decision,
        reason_code=reason_code,
        reason=reason,
        mopi_group=p.mopi_group,
        previous_review_on=previous,
        next_review_on=following,
        decided_by=actor(uow),
    )
    alter(
        uow,
        "person",
        p.id,
        why,
        mopi_review=decision,
        reason_code=reason_code,
        mopi_group=p.mopi_group,
        previous_review_on=previous.isoformat() if previous else None,
        next_review_on=following.isoformat() if following else None,
    )
    if decision == "dispose":
        erasure = protection.decide_erasure(uow, p.id, "mopi_disposal", f"{reason_code}: {reason}")
        row.decision_id = str(erasure["decision_id"])
    p.mopi_review_on, p.mopi_reviewed_on, p.updated_at = following, on, now()
    uow.session.add_all([p, row])
    uow.session.flush()
    restricted = is_marked(uow.session, p.id, MarkState.RESTRICTED)
    return ReviewOutcome(
        review=RetentionReviewPublic.model_validate(row), status=_status(p, on, restricted), erasure=erasure
    )


def history(uow: UnitOfWork, person_id: str, page: PageParams, why: str) -> Page[RetentionReviewPublic]:
    """Every review decision on the person, oldest first (kept after a disposal); audited."""
    p = get_or_404(repo.person(uow.session, person_id), "person")
    consult(uow, "person", p.id, why, view="mopi_review_history")
    rows, total = repo.retention_reviews(uow.session, p.id, limit=page.limit, offset=page.offset)
    items = [RetentionReviewPublic.model_validate(r) for r in rows]
    return Page[RetentionReviewPublic].of(items, total, page)
