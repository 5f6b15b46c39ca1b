"""People: find or create from events, identifiers, changes with history, merging."""

from __future__ import annotations

from typing import Any

from hhpu_shared.audit import AuditOperation, keyed_terms
from hhpu_shared.errors import Conflict
from hhpu_shared.events.contracts.case import PersonMerged
from hhpu_shared.events.contracts.common import PersonDetails
from hhpu_shared.http import Page, PageParams
from hhpu_shared.protection import is_marked
from hhpu_shared.uow import UnitOfWork

from case_service import repository as repo
from case_service.domain import mopi
from case_service.domain import search as search_rules
from case_service.models import Person, PersonHistory, PersonIdentifier, now
from case_service.schemas import IdentifierPublic, PersonHistoryPublic, PersonMatch, PersonPublic
from case_service.service import assessments, cases, retention
from case_service.service.common import (
    actor,
    alter,
    collect,
    consult,
    get_or_404,
    insert_or_existing,
    note_created,
    person_ref,
)

PLACEHOLDER_GIVEN = "Unknown"  # a person known only by a records id (candidate without details)


def resolve(uow: UnitOfWork, person: Person) -> Person:
    """Follow `merged_into` to the surviving record."""
    seen = {person.id}
    while person.merged_into:
        nxt = repo.person(uow.session, person.merged_into)
        if nxt is None or nxt.id in seen:
            break
        seen.add(nxt.id)
        person = nxt
    return person


def history(uow: UnitOfWork, person_id: str, action: str, **detail: Any) -> None:
    uow.session.add(PersonHistory(person_id=person_id, actor=actor(uow), action=action, detail=detail))


def add_identifier(
    uow: UnitOfWork, person: Person, kind: str, value: str | None, source: str, *, unknown: bool = False
) -> None:
    """Record an identifier of the person unless it is known. `unknown`: the caller looked it up in
    this unit of work and found none (not read again; a concurrent insert still loses the race)."""
    if not value or (not unknown and repo.identifier(uow.session, kind, value) is not None):
        return
    key = search_rules.identifier_key(kind, value)
    ident = PersonIdentifier(person_id=person.id, kind=kind, value=value, search_value=key, source=source)
    _, created = insert_or_existing(
        uow, ident, lambda: repo.identifier(uow.session, kind, value), ["kind", "value"]
    )
    if created:
        history(uow, person.id, "identifier_added", kind=kind, source=source)


def create(
    uow: UnitOfWork, details: PersonDetails, *, records_id: str | None, source: str, why: str
) -> Person:
    rid = records_id or details.records_id
    p = Person(
        records_id=rid,
        given_name=details.given_name,
        family_name=details.family_name,
        middle_names=details.middle_names,
        aliases=list(details.aliases),
        date_of_birth=details.date_of_birth,
        area=details.area,
    )
    # Created just now: no mark and nothing linked to them yet, so their MoPI group is derived from
    # no facts without reading any (and written with the row).
    retention.rederive(p, mopi.Facts())
    if rid:
        p, created = insert_or_existing(
            uow, p, lambda: repo.person_by_records_id(uow.session, rid), ["records_id"]
        )
        if not created:
            return resolve(uow, p)
    else:
        uow.session.add(p)
        uow.session.flush()
    note_created(uow, p.id)
    keys = search_rules.name_keys(repo.person_names(p))
    repo.add_search_keys(uow.session, p.id, keys)
    history(uow, p.id, "created", source=source)
    collect(uow, "person", p.id, why, source=source)
    # find_or_create looked both up and found neither
    if rid:
        add_identifier(uow, p, "records_id", rid, source, unknown=True)
    add_identifier(uow, p, "pnc", details.pnc_number, source, unknown=True)
    return p


def find_or_create(
    uow: UnitOfWork, details: PersonDetails | None, *, records_id: str | None, source: str, why: str
) -> Person:
    """Match by records id, then by PNC number; otherwise create (never by name alone)."""
    s = uow.session
    rid = records_id or (details.records_id if details else None)
    found = repo.person_by_records_id(s, rid) if rid else None
    if found is None and rid:
        found = repo.person_by_identifier(s, "records_id", rid)
    if found is None and details and details.pnc_number:
        found = repo.person_by_identifier(s, "pnc", details.pnc_number)
    if found is not None:
        found = resolve(uow, found)
        if rid and found.records_id is None:
            found.records_id = rid
            found.updated_at = now()
            history(uow, found.id, "records_id_set", source=source)
            alter(uow, "person", found.id, why, field="records_id")
        if details and found.given_name == PLACEHOLDER_GIVEN:  # a records-only person gets its details
            found.given_name, found.family_name = details.given_name, details.family_name
            found.middle_names, found.date_of_birth = details.middle_names, details.date_of_birth
            found.updated_at = now()
            history(uow, found.id, "details_added", source=source)
            alter(uow, "person", found.id, why, field="details")
        if details:
            add_identifier(uow, found, "pnc", details.pnc_number, source)
        if rid:
            add_identifier(uow, found, "records_id", rid, source)
        return found
    if details is None:
        details = PersonDetails(given_name=PLACEHOLDER_GIVEN, family_name=f"(records {rid})", records_id=rid)
    return create(uow, details, records_id=rid, source=source, why=why)


def record(
    uow: UnitOfWork, details: PersonDetails, *, records_id: str | None, source: str, why: str
) -> Person:
    """A person recorded by hand: matched or created, and shown to the caller (an audited consultation)."""
    p = find_or_create(uow, details, records_id=records_id, source=source, why=why)
    consult(uow, "person", p.id, why, view="create_or_match")
    return p


def get(uow: UnitOfWork, person_id: str, justification: str) -> Person:
    p = get_or_404(repo.person(uow.session, person_id), "person")
    consult(uow, "person", p.id, justification)
    return p


def public(uow: UnitOfWork, p: Person, *, full: bool = True) -> PersonPublic:
    """The API view of a person; `full` adds identifiers, history and case ids."""
    out = PersonPublic.model_validate(p)
    if full:
        s = uow.session
        out.identifiers = [IdentifierPublic.model_validate(x) for x in repo.identifiers(s, p.id)]
        out.history = [PersonHistoryPublic.model_validate(h) for h in repo.person_history(s, p.id)]
        out.case_ids = [c.id for c in repo.cases_for_person(s, p.id)]
    return out


def listing(uow: UnitOfWork, page: PageParams, *, include_merged: bool, why: str) -> Page[PersonPublic]:
    """One page of people; each listed record is an audited consultation."""
    rows, total = repo.people(
        uow.session, limit=page.limit, offset=page.offset, include_merged=include_merged
    )
    for p in rows:
        consult(uow, "person", p.id, why, view="list")
    return Page[PersonPublic].of([public(uow, p, full=False) for p in rows], total, page)


def search(
    uow: UnitOfWork, page: PageParams, query: search_rules.Query, *, why: str, term_key: str
) -> Page[PersonPublic]:
    """People matching a name (spelling and sound tolerant, aliases too), a date of birth or an
    identifier, strongest first; the search and every record it returns are audited (the terms
    only as keyed hashes under `term_key`: no name or date of birth in the audit)."""
    s = uow.session
    wanted = query.identifier.strip()
    pool, idents_found = repo.search_pool(
        s,
        keys=search_rules.query_keys(query.name),
        identifiers=search_rules.identifier_lookups(wanted) if wanted else set(),
        date_of_birth=query.date_of_birth,
    )
    idents: dict[str, list[tuple[str, str]]] = {}
    for x in idents_found:
        idents.setdefault(x.person_id, []).append((x.kind, x.search_value or x.value))
    candidates = [
        search_rules.Candidate(
            p.id,
            repo.person_names(p),
            p.date_of_birth,
            idents.get(p.id, []) + ([("records_id", p.records_id)] if p.records_id else []),
        )
        for p in pool
    ]
    ranked = search_rules.rank(query, candidates)
    window = ranked[page.offset : page.offset + page.limit]
    criteria = {
        "name": query.name,
        "date_of_birth": str(query.date_of_birth or ""),
        "identifier": query.identifier,
    }
    uow.audit(
        AuditOperation.CONSULT,
        subject_type="person_search",
        subject_id="-",
        justification=why,
        detail={"criteria": keyed_terms(term_key, criteria), "found": len(ranked)},
    )
    out = []
    for m in window:
        consult(uow, "person", m.id, why, view="search")
        row = public(uow, get_or_404(repo.person(s, m.id), "person"), full=False)
        row.match = PersonMatch(score=m.score, reasons=m.reasons)
        out.append(row)
    return Page[PersonPublic].of(out, len(ranked), page)


UPDATABLE = ("given_name", "family_name", "middle_names", "aliases", "date_of_birth", "area")


def update(uow: UnitOfWork, person_id: str, changes: dict[str, Any], justification: str) -> Person:
    p = get_or_404(repo.person(uow.session, person_id), "person")
    if p.merged_into:
        raise Conflict("this record was merged; change the surviving record", code="person_merged")
    if is_marked(uow.session, p.id):
        raise Conflict("processing of this person's data is restricted", code="restricted")
    changed: dict[str, Any] = {}
    for k, v in changes.items():
        if k in UPDATABLE and getattr(p, k) != v:
            changed[k] = {"from": str(getattr(p, k)), "to": str(v)}
            setattr(p, k, list(v) if k == "aliases" else v)
    if changed:
        p.updated_at = now()
        history(uow, p.id, "changed", fields=changed)
        alter(uow, "person", p.id, justification, fields=sorted(changed))
    return p


def merge(uow: UnitOfWork, surviving_id: str, merged_id: str, justification: str) -> Person:
    """Merge `merged_id` into `surviving_id`: both rows kept, links moved with history, event emitted."""
    s = uow.session
    if surviving_id == merged_id:
        raise Conflict("a record cannot be merged into itself", code="same_person")
    keep = get_or_404(repo.person(s, surviving_id), "surviving person")
    gone = get_or_404(repo.person(s, merged_id), "merged person")
    if keep.merged_into or gone.merged_into:
        raise Conflict("one of the records was already merged", code="person_merged")
    moved: dict[str, list[str]] = {"identifiers": [], "cases": [], "assessments": []}
    for ident in repo.identifiers(s, gone.id):
        ident.person_id = keep.id
        moved["identifiers"].append(ident.kind)
    keep_active = repo.active_case(s, keep.id)
    for c in repo.cases_for_person(s, gone.id):
        if c.active_key is not None and keep_active is not None:
            cases.transition(uow, c, "exited", "duplicate", justification)
        c.person_id = keep.id
        if c.active_key is not None:
            c.active_key = keep.id
            keep_active = c
        moved["cases"].append(c.id)
    s.flush()
    for a in repo.assessments_for_person(s, gone.id):
        assessments.move_to_person(uow, a, keep)
        moved["assessments"].append(a.id)
    if keep.records_id is None and gone.records_id:
        rid = gone.records_id
        gone.records_id = None
        s.flush()
        keep.records_id = rid
    gone.merged_into = keep.id
    gone.updated_at = keep.updated_at = now()
    history(uow, keep.id, "merged_in", merged_person_id=gone.id, moved=moved)
    history(uow, gone.id, "merged_into", surviving_person_id=keep.id)
    retention.absorb(uow, keep, gone)
    for pid in (keep.id, gone.id):
        uow.audit(
            AuditOperation.COMBINE,
            subject_type="person",
            subject_id=pid,
            justification=justification,
            detail={"surviving": keep.id, "merged": gone.id},
        )
    uow.emit(
        PersonMerged(surviving_person_id=keep.id, merged_person_id=gone.id, merged_by=actor(uow)),
        aggregate_id=keep.id,
        subject=person_ref(keep.id),
    )
    return keep
