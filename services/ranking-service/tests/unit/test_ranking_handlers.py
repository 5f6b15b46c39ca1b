"""Consumed case-service events keep rank_person_status right (managed, open assessment)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from hhpu_shared.events.contracts.case import AssessmentDecided, AssessmentOpened, CaseAdopted, CaseExited
from hhpu_shared.runtime import ServiceRuntime
from ranking_service.models import RankPersonStatus


def status(client: TestClient, ref: str) -> RankPersonStatus | None:
    runtime: ServiceRuntime = client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.unit_of_work() as uow:
        return uow.session.get(RankPersonStatus, ref)


def decided(aid: str, decision: str) -> AssessmentDecided:
    return AssessmentDecided(
        assessment_id=aid,
        person_id="p",
        records_id="R-1",
        decision=decision,
        decided_by="di",
        cohort=None,
        referral_ids=(),
    )


def test_assessment_and_case_lifecycle(rank_client: TestClient, rank_tools: Any) -> None:
    pub = rank_tools.publish_case_event
    pub(
        rank_client,
        AssessmentOpened(assessment_id="a1", person_id="p", records_id="R-1", person_label="x", triggers=()),
        "a1",
    )
    assert status(rank_client, "R-1").open_assessment_id == "a1"  # type: ignore[union-attr]
    pub(rank_client, decided("a1", "defer"), "a1")
    assert status(rank_client, "R-1").open_assessment_id == "a1"  # type: ignore[union-attr]
    pub(rank_client, decided("a1", "adopt"), "a1")
    st = status(rank_client, "R-1")
    assert st is not None and st.open_assessment_id is None and st.last_decision == "adopt"
    pub(
        rank_client,
        CaseAdopted(case_id="c1", person_id="p", records_id="R-1", cohort="hhpu", identified_by="algorithm"),
        "c1",
    )
    pub(
        rank_client,
        CaseAdopted(case_id="c2", person_id="p", records_id="R-1", cohort="hhpu", identified_by="algorithm"),
        "c2",
    )
    pub(rank_client, CaseExited(case_id="c1", person_id="p", records_id="R-1", reason_code="merged"), "c1")
    assert status(rank_client, "R-1").managed  # type: ignore[union-attr]
    pub(rank_client, CaseExited(case_id="c2", person_id="p", records_id="R-1", reason_code="completed"), "c2")
    assert not status(rank_client, "R-1").managed  # type: ignore[union-attr]
    pub(
        rank_client,
        CaseAdopted(case_id="c3", person_id="p", records_id=None, cohort="hhpu", identified_by="algorithm"),
        "c3",
    )
    with rank_client.app.state.runtime.unit_of_work() as uow:  # type: ignore[attr-defined]
        assert uow.session.get(RankPersonStatus, "p") is None  # no records id: nothing to track
