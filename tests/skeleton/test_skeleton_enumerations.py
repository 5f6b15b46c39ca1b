"""Every enumeration that travels in an event is defined once, in the contracts, and its producers
emit only its values (so typing the event field with it dead-letters nothing); consumers use the
contract's values, e.g. an agenda orders new cases by the Urgency a referral was given."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, get_args, get_origin

import pytest
from case_testing import client_for, consume, envelope, publish, screened
from hhpu_shared.auth import system_principal
from hhpu_shared.events.contracts import case, common, meeting, ranking, referral
from hhpu_shared.events.contracts.case import IdentifiedBy
from hhpu_shared.events.contracts.common import URGENCIES, PersonDetails, Urgency, most_urgent, urgency_rank
from hhpu_shared.events.contracts.ranking import RunKind
from hhpu_shared.events.contracts.referral import MatchGrade, Route, StatutoryStatus
from hhpu_shared.testing.databases import migrated
from hhpu_shared.uow import unit_of_work

ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS = ("frozenset", "set", "tuple")
SOURCES = sorted((ROOT / "services").glob("*/src/*/**/*.py"))


def _contract_enumerations() -> dict[str, set[str]]:
    """Every Literal the contract modules define (an imported one counted once, by its name)."""
    modules: list[ModuleType] = [case, common, meeting, ranking, referral]
    return {
        name: set(get_args(value))
        for m in modules
        for name, value in vars(m).items()
        if get_origin(value) is Literal
    }


def _strings(node: ast.expr) -> tuple[set[str], bool] | None:
    """The string values of a ``Literal[...]``, a tuple, list or set of strings or a dict's string
    keys (True: a table of something per value), else None."""
    table = isinstance(node, ast.Dict)
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "Literal":
        node = node.slice
    elif isinstance(node, ast.Call) and getattr(node.func, "id", "") in COLLECTIONS and node.args:
        node = node.args[0]
    elif isinstance(node, ast.Dict):
        node = ast.Tuple(elts=[k for k in node.keys if k is not None])
    if isinstance(node, ast.Tuple | ast.List | ast.Set) and len(node.elts) > 1:
        values = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
        return (set(values), table) if len(values) == len(node.elts) else None
    return None


def test_no_service_defines_an_enumeration_of_the_contracts_again() -> None:
    """No Literal, tuple or set repeats a contract's values; a table keyed by them (labels, weights)
    has no key the contract does not have (the meeting's urgency ranks once had "critical")."""
    contracts = _contract_enumerations()
    assert {"Urgency", "RunKind", "Route", "MatchGrade", "IdentifiedBy", "Cohort"} <= set(contracts)
    copies = []
    for path in SOURCES:
        for node in ast.parse(path.read_text()).body:
            value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
            found = _strings(value) if value is not None else None
            if not found:
                continue
            values, table = found
            for name, contract in contracts.items():
                if len(contract) > 1 and values >= contract and not (table and values == contract):
                    copies.append(f"{path.relative_to(ROOT)}:{node.lineno} repeats {name}")
    assert copies == []


def test_the_producers_take_their_values_from_the_contracts() -> None:
    from case_service.domain.suitability import identified_by
    from case_service.schemas import CaseCreate
    from meeting_service.schemas import AgendaItemCreate
    from ranking_service.domain.schedule import jobs
    from ranking_service.schemas import RunCreate
    from referral_api.domain.matching import GRADE_ORDER, Grade
    from referral_api.schemas import ReferralCreate

    fields = ReferralCreate.model_fields
    assert fields["urgency"].annotation is Urgency
    assert fields["route"].annotation is Route
    assert fields["statutory_status"].annotation is StatutoryStatus
    assert [g.value for g in sorted(Grade, key=GRADE_ORDER.__getitem__, reverse=True)] == list(
        get_args(MatchGrade)
    )
    assert RunCreate.model_fields["kind"].annotation is RunKind
    assert {kind for kind, _model, _key in jobs("2026-03-a", "chi@1", ["rfg@1"])} <= set(get_args(RunKind))
    assert CaseCreate.model_fields["identified_by"].annotation is IdentifiedBy
    sources = [[], ["ranking"], ["referral:police"], ["referral:das"], ["meeting"], ["mappa"], ["other"]]
    assert {identified_by(s) for s in sources} == set(get_args(IdentifiedBy))
    assert AgendaItemCreate.model_fields["urgency"].annotation is Urgency


def test_urgency_is_ordered_and_the_most_urgent_wins() -> None:
    assert URGENCIES == ("low", "normal", "high", "urgent")
    assert [urgency_rank(u) for u in URGENCIES] == [0, 1, 2, 3]
    assert urgency_rank("critical") == urgency_rank(None) == urgency_rank("normal")  # no such urgency
    assert most_urgent(["low", "urgent", "high"]) == "urgent"
    assert most_urgent([]) == most_urgent(["routine"]) == "normal"


@pytest.mark.parametrize("first", ["least", "most"])
def test_a_referrals_urgency_orders_the_new_cases_on_the_agenda(tmp_path: Path, first: str) -> None:
    """A referral of each Urgency reaches the case-service; the assessments it opens reach the
    meeting-service over the same bus; the agenda's new cases come most urgent first, whatever order
    the referrals came in."""
    from meeting_service.app import create_app as meeting_app
    from meeting_service.migrations import MIGRATIONS
    from meeting_service.seed import seed_demo
    from meeting_service.service import agenda, meetings
    from meeting_service.settings import MeetingSettings

    order = URGENCIES if first == "least" else tuple(reversed(URGENCIES))
    with client_for(f"sqlite:///{tmp_path}/case.db") as (_case, case_rt):
        for n, urgency in enumerate(order):
            person = PersonDetails(
                given_name="Test", family_name=f"Person{n}", date_of_birth=date(1990, 1, n + 1)
            )
            publish(case_rt, envelope(screened(f"ref-{urgency}", urgency=urgency, subject=person)))
        assert consume(case_rt) == len(order)
        case_rt.build_relay().drain()
        settings = MeetingSettings(
            database_url=migrated(MIGRATIONS, f"sqlite:///{tmp_path}/meeting.db"), environment="test"
        )
        app = meeting_app(settings, bus=case_rt.bus, run_consumer=False)
        mtg_rt: Any = app.state.runtime
        try:
            seed_demo(mtg_rt)
            consume(mtg_rt)
            with unit_of_work(
                mtg_rt.engine, service="meeting-service", principal=system_principal("t")
            ) as uow:
                plan = agenda.plan(uow, meetings.next_meeting_for_new_cases(uow, settings)).plan
                kept = [i.urgency for i in plan.kept if i.kind == "new_case"]
        finally:
            mtg_rt.stop()
            mtg_rt.engine.dispose()
    assert kept == ["urgent", "high", "normal", "low"]
