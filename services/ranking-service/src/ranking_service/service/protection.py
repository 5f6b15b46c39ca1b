"""What the ranking-service holds on a person (by records id) and how it erases them.

Erasure deletes the person's demographics, offences (database store) and status, and replaces
their reference in stored rankings by a random token (scores and ranks stay, so other people's
runs remain reproducible; nothing links the token back to the person), in the runs' comparisons
(big movers, entrants) too.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from hhpu_shared.protection import replace_references
from hhpu_shared.uow import UnitOfWork

from ranking_service import repository as repo

RUN_JSON = ("comparison", "data_quality", "fairness", "provisional_reasons")  # may name people by reference


def export(uow: UnitOfWork, refs: list[str]) -> dict[str, Any]:
    s = uow.session
    people = repo.people_of(s, refs)
    offences = repo.offences_of(s, refs)
    entries = repo.entries_of(s, refs)
    status = repo.statuses_of(s, refs)
    return {
        "people": [p.model_dump(mode="json", exclude={"import_id"}) for p in people],
        "offences": [o.model_dump(mode="json", exclude={"id", "import_seq", "row_no"}) for o in offences],
        "ranking_entries": [
            e.model_dump(
                mode="json", include={"run_id", "person_ref", "rank", "score", "in_top", "harm_total"}
            )
            for e in entries
        ],
        "status": [st.model_dump(mode="json") for st in status],
    }


def erase(uow: UnitOfWork, refs: list[str]) -> dict[str, int]:
    s = uow.session
    out = repo.delete_person_data(s, refs)
    token = f"erased-{uuid.uuid4().hex[:16]}"
    entries = repo.entries_of(s, refs)
    for e in entries:
        e.person_ref = token
    out["ranking_entries_anonymised"] = len(entries)
    out["runs_anonymised"] = _anonymise_runs(uow, refs, token)
    repo.save(s, *entries)
    return out


def _anonymise_runs(uow: UnitOfWork, refs: list[str], token: str) -> int:
    """Replace the references in the runs' stored JSON (a comparison lists movers and entrants)."""
    s, wanted = uow.session, set(refs)
    runs = repo.runs_mentioning(s, RUN_JSON, refs)
    changed = 0
    for run in runs:
        for f in RUN_JSON:
            before = json.loads(getattr(run, f) or "null")
            after = replace_references(before, wanted, token)
            if after != before:
                setattr(run, f, json.dumps(after))
                changed += 1
    repo.save(s, *runs)
    return changed
