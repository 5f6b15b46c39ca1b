"""Restriction in the ranking-service (DPA 2018 s.47): a restricted person is still scored (the run
stays a faithful, reproducible computation over the records as imported) but is never proposed: no
candidate event, no disclosure to the case-service, and not named as a big mover for review. Lifting
the restriction lets the next run propose them again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from hhpu_shared.audit import AuditEntry
from hhpu_shared.events.contracts.case import PersonRestricted
from hhpu_shared.testing.plugin import identity_headers
from ranking_service.synthetic import SyntheticForce
from sqlmodel import Session, select

ANALYST = identity_headers("analyst", subject="user:ana") | {"X-Justification": "test: restriction"}
RUNS = "/api/v1/ranking-runs"


def restriction(ref: str, on: bool) -> PersonRestricted:
    return PersonRestricted(
        person_id="case-person-9",
        references=(ref,),
        restricted=on,
        decision_id=f"d-{on}",
        decided_by="user:dpo",
        reason_code="accuracy_contested",
    )


def proposed(client: TestClient, run_id: str, tools: Any) -> list[str]:
    return [
        e["data"]["person_ref"]
        for e in tools.ranking_events(client, "ranking.candidate_identified")
        if e["data"]["run_id"] == run_id
    ]


def test_a_restricted_person_is_ranked_but_never_proposed(
    rank_client: TestClient, rank_force: SyntheticForce, tmp_path: Path, rank_tools: Any
) -> None:
    rank_tools.load_force(rank_client, rank_force, tmp_path)
    dry = rank_client.post(RUNS, json={"kind": "dry", "top_n": 10}, headers=ANALYST).json()
    held = dry["top"][0]["person_ref"]
    rank_tools.publish_case_event(rank_client, restriction(held, True), "case-person-9")

    run = rank_client.post(RUNS, json={"kind": "production", "top_n": 10}, headers=ANALYST).json()
    top = rank_client.get(f"{RUNS}/{run['id']}/entries?top_only=true", headers=ANALYST).json()["items"]
    assert held in [e["person_ref"] for e in top]  # still scored and ranked
    sent = proposed(rank_client, run["id"], rank_tools)
    assert held not in sent and len(sent) == 9 == run["candidates_emitted"]
    engine = rank_client.app.state.runtime.engine  # type: ignore[attr-defined]
    with Session(engine) as s:
        disclosed = s.exec(select(AuditEntry).where(AuditEntry.operation == "disclose")).all()
    assert held not in {e.person_ref for e in disclosed}

    rank_tools.publish_case_event(rank_client, restriction(held, False), "case-person-9")
    again = rank_client.post(RUNS, json={"kind": "production", "top_n": 10}, headers=ANALYST).json()
    assert held in proposed(rank_client, again["id"], rank_tools)
