"""Typed event handling across versions: a rolling deploy never dead-letters a good event."""

from __future__ import annotations

from pathlib import Path

import pytest
from case_service.models import Assessment
from case_testing import client_for, consume, envelope, publish, screened
from hhpu_shared.events.contracts.referral import ReferralScreened
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.events.registry import dlt_topic
from hhpu_shared.messaging.consumer import HandlerRegistry
from sqlmodel import Session, select


def test_consumer_of_todays_contract_handles_an_event_with_an_extra_field(tmp_path: Path) -> None:
    """A newer producer added an optional field; today's case-service consumer still applies it."""
    with client_for(f"sqlite:///{tmp_path}/case.db") as (_client, runtime):
        env = envelope(screened("ref-newer"), aggregate_id="ref-newer")
        newer = Envelope.model_validate(
            {**env.model_dump(mode="json"), "data": {**env.data, "risk_flag_added_in_v1_1": "amber"}}
        )
        publish(runtime, newer)
        assert consume(runtime) == 1
        with Session(runtime.engine) as s:
            assessments = s.exec(select(Assessment)).all()
        assert len(assessments) == 1
        assert runtime.bus is not None
        assert runtime.bus.messages(dlt_topic("hhpu.referral.events")) == []


def test_a_second_handler_for_one_event_is_refused_at_start_up() -> None:
    registry = HandlerRegistry()

    @registry.handles(ReferralScreened)
    def first(uow, event, env) -> None:  # type: ignore[no-untyped-def]
        return None

    with pytest.raises(ValueError, match="already registered"):

        @registry.handles(ReferralScreened)
        def second(uow, event, env) -> None:  # type: ignore[no-untyped-def]
            return None
