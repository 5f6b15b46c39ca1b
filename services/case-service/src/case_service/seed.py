"""Demo data helpers: offender managers with training records (for the lead's demo and tests)."""

from __future__ import annotations

from datetime import date

from hhpu_shared.auth import system_principal
from hhpu_shared.runtime import ServiceRuntime

from case_service import repository as repo
from case_service.service import managers

DEMO_TEAM: tuple[tuple[str, str, float, tuple[tuple[str, date], ...]], ...] = (
    ("om-ann", "PC Ann Lee", 30.0, (("mosovo", date(2025, 3, 12)), ("iom", date(2024, 9, 1)))),
    ("om-raj", "PC Raj Patel", 30.0, (("mosovo", date(2025, 6, 2)),)),
    ("om-sue", "DC Sue Grant", 30.0, (("iom", date(2024, 1, 15)), ("domestic_abuse", date(2025, 2, 3)))),
    ("om-tom", "PC Tom Reid", 24.0, ()),
)


def seed_demo_managers(runtime: ServiceRuntime) -> list[str]:
    """Create the demo team (idempotent); returns the managers' ids."""
    why = "demo data: offender managers for the HHPU demonstration"
    ids = []
    with runtime.unit_of_work(system_principal("case-seed")) as uow:
        for staff_id, name, cap, courses in DEMO_TEAM:
            m = repo.manager_by_staff_id(uow.session, staff_id)
            if m is None:
                m = managers.create(uow, staff_id, name, cap, why)
                for course, on in courses:
                    managers.add_training(uow, m.id, course, on, None, why)
            ids.append(m.id)
    return ids


def backdate_adoptions(runtime: ServiceRuntime, adopted_on: dict[str, date]) -> None:
    """Demo only: date hand-seeded adoptions in the past, so the evaluation has a year of history."""
    from case_service.models import Case

    with runtime.unit_of_work(system_principal("case-seed")) as uow:
        for case_id, on in adopted_on.items():
            c = uow.session.get(Case, case_id)
            if c is not None and c.status == "managed":
                c.adopted_on = on
                uow.session.add(c)
