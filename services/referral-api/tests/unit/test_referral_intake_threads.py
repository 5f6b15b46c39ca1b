"""The intake route's cost in the API process: one trip through the worker-thread pool per referral
(the identity, role, settings and justification dependencies run on the event loop), its unit of
work committed before the answer, and rolled back whole when the intake fails part way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio.to_thread
import pytest
from referral_api.models import Referral
from referral_api.service import matching
from sqlmodel import Session, func, select


def test_a_referral_takes_one_trip_through_the_thread_pool(ref_env, make_body, monkeypatch) -> None:
    agency = ref_env.agency()
    trips: list[str] = []
    real = anyio.to_thread.run_sync

    async def counted(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        trips.append(getattr(func, "__qualname__", repr(func)))
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    r = ref_env.submit(agency, make_body(), key="one-trip-1")
    assert r.status_code == 201, r.text
    assert len(trips) == 1, trips  # a sync route with UoWDep and sync dependencies took 7
    # Committed before the answer: the referral and its events are there once the 201 is back.
    with Session(ref_env.runtime.engine) as s:
        assert s.get(Referral, r.json()["id"]) is not None
    assert ref_env.event_types(r.json()["id"]) == [
        "referral.submitted",
        "referral.status_changed",
        "referral.screened",
    ]


def test_a_referral_failing_part_way_leaves_nothing_behind(ref_env, make_body, monkeypatch) -> None:
    agency = ref_env.agency()

    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("the known-person write failed")

    # The last write of the intake, after the referral, its history and its events were written.
    monkeypatch.setattr(matching, "remember_referral_subject", broken)
    with pytest.raises(RuntimeError):
        ref_env.submit(agency, make_body(partner_reference="ROLLBACK-1"), key="rollback-1")
    with Session(ref_env.runtime.engine) as s:
        assert s.exec(select(func.count()).select_from(Referral)).one() == 0
    assert [t for t in ref_env.event_types() if t.startswith("referral.")] == []
    monkeypatch.undo()
    r = ref_env.submit(agency, make_body(partner_reference="ROLLBACK-1"), key="rollback-1")
    assert r.status_code == 201, r.text  # the key was not left claimed by the failed attempt
    assert "Idempotent-Replayed" not in r.headers
