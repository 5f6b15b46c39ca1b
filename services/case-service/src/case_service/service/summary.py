"""The case summary's data: one case gathered for print, with names instead of ids (audited)."""

from __future__ import annotations

from typing import Any

from hhpu_shared.uow import UnitOfWork

from case_service import repository as repo
from case_service.domain import interventions as catalogue
from case_service.models import now
from case_service.service.common import consult, get_or_404


def case_summary(uow: UnitOfWork, case_id: str, why: str) -> dict[str, Any]:
    """Everything the printed summary shows; printing is an audited consultation of the case."""
    s = uow.session
    c = get_or_404(repo.case(s, case_id), "case")
    person = get_or_404(repo.person(s, c.person_id), "person")
    consult(uow, "case", c.id, why, view="case_summary", person_id=person.id)
    names = {m.id: m.name for m in repo.managers(s)}
    notes, _ = repo.notes(s, c.id, limit=500, offset=0)
    a = repo.assessment(s, c.assessment_id) if c.assessment_id else None
    return {
        "printed_at": now().isoformat(),
        "case": c.model_dump(mode="json"),
        "person": {
            "name": person.label,
            "date_of_birth": person.date_of_birth.isoformat() if person.date_of_birth else None,
            "identifiers": [
                (i.kind, i.value) for i in repo.identifiers(s, person.id) if i.kind not in ("referral",)
            ],
        },
        "manager_name": names.get(c.manager_id or ""),
        "decision": None
        if a is None or a.decision is None
        else {"decision": a.decision, "decided_by": a.decided_by, "decided_at": a.decided_at},
        "risk": [r.model_dump(mode="json") for r in repo.risk_history(s, c.id)],
        "interventions": [
            {
                **i.model_dump(mode="json"),
                "name": t.name if (t := catalogue.CATALOGUE.get(i.code)) else i.code.replace("_", " "),
            }
            for i in repo.interventions(s, c.id)
        ],
        "notes": [n.model_dump(mode="json") for n in notes],
        "allocations": [
            {**a.model_dump(mode="json"), "manager_name": names.get(a.manager_id, a.manager_id)}
            for a in repo.allocations(s, c.id)
        ],
        "history": [h.model_dump(mode="json") for h in repo.status_changes(s, c.id)],
    }
