"""Every query of the case-service (plain functions taking the session); nothing else builds SQL.

One module per area; every function is also a name of this package, so callers write
`from case_service import repository as repo` and `repo.person(s, id)`. `search` registers the
listener that keeps a person's search keys in step with their names.
"""

from __future__ import annotations

from case_service.repository._base import page_of
from case_service.repository.assessing import (
    assessment,
    assessments,
    assessments_for_person,
    assessments_opened_since,
    decisions,
    open_assessment,
    open_triggers_by_ref,
    trigger,
    triggers,
)
from case_service.repository.casework import (
    active_case,
    adopted_cases,
    case,
    cases,
    cases_for_person,
    managed_cases,
    status_changes,
)
from case_service.repository.inserts import (
    insert_or_existing,
)
from case_service.repository.newcomers import (
    Seen,
    candidate_lookup,
    defer_opened,
    insert_history,
    insert_identifiers,
    insert_person,
    referral_lookup,
)
from case_service.repository.persons import (
    identifier,
    identifiers,
    people,
    person,
    person_by_identifier,
    person_by_records_id,
    person_history,
)
from case_service.repository.protection import (
    delete_in,
    people_named_by,
    rows_in,
)
from case_service.repository.records import (
    all_risk_assessments,
    case_interventions,
    corrections_of,
    intervention,
    interventions,
    note,
    notes,
    risk_history,
    risk_page,
)
from case_service.repository.retention import (
    person_for_update,
    retention_reviews,
    review_queue,
    reviews_overdue_by_group,
    risk_tools_of,
    triggers_of_person,
)
from case_service.repository.search import (
    NAME_FIELDS,
    add_search_keys,
    person_names,
    search_pool,
    write_search_keys,
)
from case_service.repository.staffing import (
    allocations,
    manager,
    manager_by_staff_id,
    managers,
    managers_page,
    training,
)

__all__ = [
    "NAME_FIELDS",
    "Seen",
    "active_case",
    "add_search_keys",
    "adopted_cases",
    "all_risk_assessments",
    "allocations",
    "assessment",
    "assessments",
    "assessments_for_person",
    "assessments_opened_since",
    "candidate_lookup",
    "case",
    "case_interventions",
    "cases",
    "cases_for_person",
    "corrections_of",
    "decisions",
    "defer_opened",
    "delete_in",
    "identifier",
    "identifiers",
    "insert_history",
    "insert_identifiers",
    "insert_or_existing",
    "insert_person",
    "intervention",
    "interventions",
    "managed_cases",
    "manager",
    "manager_by_staff_id",
    "managers",
    "managers_page",
    "note",
    "notes",
    "open_assessment",
    "open_triggers_by_ref",
    "page_of",
    "people",
    "people_named_by",
    "person",
    "person_by_identifier",
    "person_by_records_id",
    "person_for_update",
    "person_history",
    "person_names",
    "referral_lookup",
    "retention_reviews",
    "review_queue",
    "reviews_overdue_by_group",
    "risk_history",
    "risk_page",
    "risk_tools_of",
    "rows_in",
    "search_pool",
    "status_changes",
    "training",
    "trigger",
    "triggers",
    "triggers_of_person",
    "write_search_keys",
]
