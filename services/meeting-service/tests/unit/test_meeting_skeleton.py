"""Built through the shared skeleton: bounded paging, one justification rule, settings checks."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute
from hhpu_shared.audit import AuditEntry
from hhpu_shared.http import Page
from meeting_service.app import SERVICE
from meeting_service.routes import ROUTERS
from meeting_service.settings import MeetingSettings
from meeting_service.workers import OVERDUE_SWEEP
from pydantic import ValidationError
from sqlmodel import Session, select

API = "/api/v1"
BAD_PAGING = [{"offset": 2**70}, {"limit": -1}, {"limit": 10**9}]
LISTS = {
    "/api/v1/meeting-types",
    "/api/v1/meeting-agencies",
    "/api/v1/series",
    "/api/v1/meetings",
    "/api/v1/meetings/{meeting_id}/outcomes",
    "/api/v1/meetings/{meeting_id}/addenda",
    "/api/v1/actions",
}


def list_paths() -> set[str]:
    """The GET routes whose answer is a Page."""
    return {
        API + r.path
        for router in ROUTERS
        for r in router.routes
        if isinstance(r, APIRoute) and "GET" in r.methods
        if isinstance(r.response_model, type) and issubclass(r.response_model, Page)
    }


def test_every_list_endpoint_answers_422_problem_json_to_bad_paging(harness: Any) -> None:
    h = harness
    assert list_paths() == LISTS  # every list is a Page (a new list joins this test)
    for template in sorted(LISTS):
        path = template.replace("{meeting_id}", h.seed["next_meeting_id"])
        ok = h.client.get(path, params={"limit": 1, "offset": 0}, headers=h.chair())
        assert ok.status_code == 200, (path, ok.text)
        assert set(ok.json()) == {"items", "total", "limit", "offset"} and ok.json()["limit"] == 1
        for params in BAD_PAGING:
            r = h.client.get(path, params=params, headers=h.chair())
            assert r.status_code == 422, (path, params, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert {e["field"].rsplit(".", 1)[-1] for e in r.json()["errors"]} == set(params), (path, params)


def test_an_offset_past_the_end_is_an_empty_page(harness: Any) -> None:
    r = harness.client.get(f"{API}/meetings", params={"offset": 10_000}, headers=harness.chair())
    assert r.status_code == 200 and r.json()["items"] == [] and r.json()["total"] == 2


def test_staff_give_a_justification_to_read_an_agenda_and_it_is_audited(harness: Any) -> None:
    h = harness
    url = f"{API}/meetings/{h.seed['next_meeting_id']}/agenda"
    bare = {k: v for k, v in h.chair().items() if k != "X-Justification"}
    r = h.client.get(url, headers=bare)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "X-Justification"
    r = h.client.get(url, headers={**bare, "X-Justification": "  chairing   the meeting "})
    assert r.status_code == 200
    with Session(h.runtime.engine) as s:
        rows = s.exec(select(AuditEntry).where(AuditEntry.subject_type == "meeting_agenda")).all()
    assert [(a.operation, a.justification) for a in rows] == [("consult", "chairing the meeting")]


def test_settings_fail_closed_and_the_sweep_interval_comes_from_them(harness: Any) -> None:
    with pytest.raises(ValidationError, match="development internal secret"):
        MeetingSettings(environment="production")
    assert MeetingSettings(environment="test").port == 8004
    assert list(SERVICE.workers) == [OVERDUE_SWEEP] and OVERDUE_SWEEP.elected
    assert OVERDUE_SWEEP.interval(harness.runtime) == 0 and OVERDUE_SWEEP.loop(harness.runtime) is None
    assert OVERDUE_SWEEP.interval_s(MeetingSettings(environment="test")) == 3600  # type: ignore[operator]
